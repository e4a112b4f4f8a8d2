// Real programs from Debian packages (iproute2, sysstat, util-linux, jc),
// as a user would serve them: pmdajson-generate runs the program and
// writes the metadata, the source runs the program as its data-exec
// command, and every value a fetch serves is checked against what the
// program printed just before and just after that fetch. The metadata is
// read here by a resolver of its own (pointers, arrays, nested arrays,
// trees, numeric-strings, maps), not by the PMDA's code.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { Scratch, ROOT, SYSTEM_PATH, parseDesc, parseInstances, parseTraverse, session } from '../helpers/harness.mjs';

const GEN = path.join(ROOT, 'dist', 'cli', 'generate.js');
const asRoot = process.getuid() === 0;

/** Is `program` on the system PATH? */
function has(program) {
  return spawnSync('sh', ['-c', `command -v ${program}`], { env: { PATH: SYSTEM_PATH } }).status === 0;
}

/** Run `cmd` (split on spaces, no shell) and parse what it prints. */
function run(cmd) {
  const [file, ...args] = cmd.split(' ');
  return JSON.parse(execFileSync(file, args, { encoding: 'utf8', env: { PATH: SYSTEM_PATH, LANG: 'C.UTF-8' } }));
}

function unescapeToken(t) {
  return t.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** What JSON pointer `ptr` finds in `doc` (undefined: nothing). */
function at(doc, ptr) {
  if (ptr === '') return doc;
  let v = doc;
  for (const raw of ptr.slice(1).split('/')) {
    const k = unescapeToken(raw);
    if (v === null || typeof v !== 'object') return undefined;
    if (Array.isArray(v)) {
      if (!/^(0|[1-9][0-9]*)$/.test(k)) return undefined;
      v = v[Number(k)];
    } else v = Object.prototype.hasOwnProperty.call(v, k) ? v[k] : undefined;
  }
  return v;
}

/** A value as the metric `m` should serve it: a number, a string, or undefined (none). */
function served(m, v) {
  if (v === undefined || v === null) {
    if (m.map && v === null && 'null' in m.map) return m.map.null;
    return undefined;
  }
  if (m.type === 'string') return typeof v === 'string' ? v : typeof v === 'object' ? undefined : String(v);
  if (m.map) {
    const key = typeof v === 'string' ? v : JSON.stringify(v);
    if (Object.prototype.hasOwnProperty.call(m.map, key)) return m.map[key];
  }
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && m['numeric-strings'] && v.trim() !== '' && !Number.isNaN(Number(v.trim()))) return Number(v.trim());
  return undefined;
}

/** The elements of an array entry's container: [instance name part, element]. */
function elements(e, container) {
  if (Array.isArray(container)) {
    if (e.index === undefined) return [];
    return container.flatMap((el) => {
      const n = at(el, e.index);
      return typeof n === 'string' || typeof n === 'number' ? [[String(n), el]] : [];
    });
  }
  if (container !== null && typeof container === 'object') {
    return Object.entries(container).flatMap(([k, el]) => {
      const n = e.index === undefined ? k : at(el, e.index);
      return typeof n === 'string' || typeof n === 'number' ? [[String(n), el]] : [];
    });
  }
  return [];
}

/**
 * Every value `md` describes in `doc`: metric name -> Map(instance name
 * or null -> value). Nested arrays and trees name instances by each
 * level's name joined with '/' (a tree's "leaf" names: its own).
 */
function expected(md, doc) {
  const out = new Map();
  const put = (name, inst, v) => {
    if (!out.has(name)) out.set(name, new Map());
    if (v !== undefined) out.get(name).set(inst, v);
  };
  const array = (e, name, container, outer) => {
    const visit = (c, path) => {
      for (const [part, el] of elements(e, c)) {
        const inst = e['instance-names'] === 'leaf' ? part : [...outer, ...path, part].join('/');
        for (const m of e.metrics) {
          if (m.type === 'array') array(m, `${name}.${m.name}`, at(el, m.pointer), [inst]);
          else put(`${name}.${m.name}`, inst, served(m, at(el, m.pointer)));
        }
        if (e.children !== undefined) visit(at(el, e.children), [...path, part]);
      }
    };
    visit(container, []);
  };
  for (const e of md.metrics) {
    if (e.type === 'array') array(e, e.name, at(doc, e.pointer), []);
    else put(e.name, null, served(e, at(doc, e.pointer)));
  }
  return out;
}

/**
 * Does `got` (what dbpmda printed) agree with one of `a`, `b` and
 * `early`, or lie near them? Strings must be one of them. Numbers may lie as far outside
 * them as a quarter of their size, or of how far they moved: free memory
 * moves both ways between two runs, and the generator's guess of what is
 * a counter, from samples a moment apart, can be wrong.
 */
function agrees(got, a, b, early) {
  const candidates = [a, b, early].filter((v) => v !== undefined);
  if (candidates.length === 0) return false;
  if (typeof candidates[0] === 'string') return candidates.some((c) => got === JSON.stringify(c) || got === `"${c}"`);
  const g = Number(got);
  const lo = Math.min(...candidates);
  const hi = Math.max(...candidates);
  // a live gauge moves between runs, near zero too (meminfo's Writeback: 0, 8, 0 kB)
  const slack = Math.max(hi - lo, Math.max(Math.abs(lo), Math.abs(hi)) / 4, 64);
  return g >= lo - slack && g <= hi + slack;
}

const PROGRAMS = [
  { prefix: 'iplink', cmd: 'ip -j -s link', needs: 'ip' },
  { prefix: 'ipaddr', cmd: 'ip -j addr', needs: 'ip' },
  { prefix: 'iostat', cmd: 'iostat -o JSON -d', needs: 'iostat' },
  { prefix: 'lsblk', cmd: 'lsblk -J -b', needs: 'lsblk' },
  { prefix: 'findmnt', cmd: 'findmnt -J -b', needs: 'findmnt' },
  { prefix: 'lscpu', cmd: 'lscpu -J -e', needs: 'lscpu' },
  { prefix: 'meminfo', cmd: 'jc /proc/meminfo', needs: 'jc' },
  { prefix: 'diskstats', cmd: 'jc /proc/diskstats', needs: 'jc' },
  { prefix: 'jcdf', cmd: 'jc df', needs: 'jc' },
  { prefix: 'jcfree', cmd: 'jc -r free', needs: 'jc' },
];

for (const { prefix, cmd, needs } of PROGRAMS) {
  test(`${cmd}: generated metadata, served as a data-exec source, gives what the program prints`, async (t) => {
    if (!has(needs) || !asRoot) {
      t.log(`skipped: ${!asRoot ? 'needs root (a trusted source)' : `${needs} is not installed`}`);
      t.pass();
      return;
    }
    const s = new Scratch();
    // each fetch waits for its own run of the program (a slow machine's
    // python, for jc, still counts as quick)
    s.config({ directory_list: [s.src], trusted_directory_list: [s.trusted], exec_wait: 5, exec_timeout: 10, log_user_lines: 1000, log_lines: 1000 });
    const dir = s.source(prefix, undefined, undefined, { under: s.trusted });
    const file = path.join(dir, 'metadata.json');
    const g = spawnSync(process.execPath, [GEN, '--data-exec', cmd, '--samples', '3', '--interval', '0.2', '--prefix', prefix, '-o', file], { encoding: 'utf8', env: { ...process.env, PATH: SYSTEM_PATH } });
    t.is(g.status, 0, g.stderr);
    t.log(`generator said: ${g.stderr.trim().split('\n').slice(0, 4).join(' | ')}`);
    const md = JSON.parse(fs.readFileSync(file, 'utf8'));
    t.is(md['data-exec'], cmd);
    const d = await session(t, s);
    const names = parseTraverse(await d.run(`traverse json.${prefix}`));
    t.true(names.length > 0, 'metrics are served');
    // the output of the run made when the source was found goes first; a
    // run the PMDA starts again as soon as it collects one (a command it
    // finds slow, on a loaded machine) may begin before `before`: `early`
    // is printed before that
    const early = expected(md, run(cmd));
    await d.fetch(...names);
    const before = expected(md, run(cmd));
    const fetched = await d.fetch(...names);
    const after = expected(md, run(cmd));
    // every name the metadata gives is served, and nothing else
    t.deepEqual(names, [...before.keys()].map((n) => `json.${prefix}.${n}`).sort());
    let checked = 0;
    for (const name of names) {
      const short = name.slice(`json.${prefix}.`.length);
      const desc = parseDesc(await d.run(`desc ${name}`));
      const r = fetched[desc.pmid];
      const b = before.get(short);
      const a = after.get(short);
      if (!r || r.error) {
        t.true(b.size === 0 && a.size === 0, `${name}: ${r?.error ?? 'no answer'}, but the program printed ${JSON.stringify([...b])}`);
        continue;
      }
      /** @type {Map<number, string>} */
      const instNames = new Map();
      if (!desc.indom.startsWith('PM_INDOM_NULL')) for (const [i, n] of parseInstances(await d.run(`instance ${desc.indom}`))) instNames.set(i, n);
      const got = new Map(r.values.map((v) => /** @type {[string | null | undefined, string]} */ ([v.inst === null ? null : instNames.get(v.inst), v.value])));
      // instances: every one served was printed; every one printed both times is served
      for (const inst of got.keys()) t.true(b.has(inst) || a.has(inst), `${name} [${inst}] is served but was not printed`);
      for (const inst of b.keys()) if (a.has(inst)) t.true(got.has(inst), `${name} [${inst}] was printed but is not served`);
      for (const [inst, v] of got) {
        const e = early.get(short)?.get(inst);
        t.true(agrees(v, b.get(inst), a.get(inst), e), `${name} [${inst}]: served ${v}, printed ${JSON.stringify(e)}, ${JSON.stringify(b.get(inst))} then ${JSON.stringify(a.get(inst))}`);
        checked++;
      }
    }
    t.log(`${names.length} metrics, ${checked} values checked`);
    t.true(checked > 0);
  });
}
