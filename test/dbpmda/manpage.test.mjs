// man/pmdajson.1: renders cleanly, and documents the options the PMDA
// really accepts (those of `node dist/pmda/main.js --help`) and the control
// metrics it really serves.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, PMDA, SYSTEM_PATH } from '../helpers/harness.mjs';
import { STATIC } from '../../dist/pmda/control.js';

const PAGE = path.join(ROOT, 'man', 'pmdajson.1');
// no hyphenation (-rHY=0, for man through MANROFFOPT): groff 1.23 and later
// break words such as "json.de-bug" at the end of a line; the indentation
// and the spaces between words, which also differ between groff versions
// (7 columns in 1.22, 5 in 1.24), are normalized below
const ENV = { ...process.env, PATH: SYSTEM_PATH, LC_ALL: 'C', LANG: 'C', MANWIDTH: '80', MAN_KEEP_FORMATTING: '', MANROFFOPT: '-rHY=0' };

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { env: ENV }).status === 0;

/** The page as a reader sees it: man -l, else groff, else the source stripped of its markup. */
function render() {
  let text;
  if (has('man')) {
    const r = spawnSync('man', ['-l', PAGE], { env: ENV, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`man -l failed: ${r.stderr}`);
    text = r.stdout;
  } else if (has('groff')) {
    text = spawnSync('groff', ['-man', '-Tascii', '-rHY=0', PAGE], { env: ENV, encoding: 'utf8' }).stdout;
  } else {
    text = fs.readFileSync(PAGE, 'utf8').split('\n').map((l) => {
      if (/^\.(SH|SS) /.test(l)) return l.replace(/^\.S[HS] "?([^"]*)"?$/, '$1');
      if (/^\.(BR|B|I|IR) /.test(l)) return `       ${l.replace(/^\.\w+ /, '').replace(/ \(/, '(')}`;
      if (l.startsWith('.')) return '';
      return `       ${l}`;
    }).join('\n').replace(/\\f[1-4BIRP]/g, '').replace(/\\-/g, '-').replace(/\\\(em/g, '--').replace(/\\ /g, ' ');
  }
  // overstrike (bold, underline) if a pager's formatting came through
  // eslint-disable-next-line no-control-regex
  return text.replace(/.\x08/g, '');
}

/** Text with every run of white space (line breaks, justification) as one space. */
const flat = (text) => text.replace(/\s+/g, ' ');

/** Sections of the rendered page: heading -> body. */
function sections(text) {
  const out = {};
  let cur = null;
  for (const line of text.split('\n')) {
    if (/^[A-Z][A-Z ]+$/.test(line)) {
      cur = line.trim();
      out[cur] = '';
    } else if (cur) out[cur] += `${line}\n`;
  }
  return out;
}

/** The options in `node dist/pmda/main.js --help`: [{ short, long, value }]. */
function helpOptions() {
  const r = spawnSync(process.execPath, [PMDA, '--help'], { encoding: 'utf8' });
  const text = r.stdout + r.stderr;
  const opts = [...text.matchAll(/^\s+-(\S), --([a-z]+)(=(\S+))?/gm)].map((m) => ({ short: m[1], long: m[2], value: m[4] }));
  if (opts.length === 0) throw new Error(`no options in --help:\n${text}`);
  return opts;
}

/** Does the PMDA accept these arguments (followed by --help, so it stops there)? */
function accepts(args) {
  const r = spawnSync(process.execPath, [PMDA, ...args, '--help'], { encoding: 'utf8' });
  return r.status === 0 ? true : (r.stderr || r.stdout).split('\n')[0];
}

const SAMPLE = { domain: '137', root: 'json', config: '/nonexistent/config.json', logfile: '/nonexistent/json.log', debug: 'appl0', username: 'pcp' };

test('the page renders, with the sections of a PCP agent page', (t) => {
  const text = render();
  // the words of PCP's own page, which its QA (test 1251) finds with man -k
  t.is(flat(sections(text).NAME).trim(), 'pmdajson - JavaScript Object Notation (JSON) performance metrics domain agent (PMDA)');
  const names = Object.keys(sections(text));
  for (const s of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'OPTIONS', 'CONFIGURATION', 'METADATA', 'ARRAYS', 'LABELS',
    'CONTROL METRICS', 'SECURITY', 'INSTALLATION', 'FILES', 'PCP ENVIRONMENT', 'SEE ALSO']) {
    t.true(names.includes(s), `section ${s} in ${names.join(', ')}`);
  }
});

// needs groff: skipped (ava's skip) where it is not installed
(has('groff') ? test : test.skip)('groff finds nothing to warn about, in this page or the tools\' pages', (t) => {
  for (const page of ['pmdajson.1', 'pmdajson-check.1', 'pmdajson-generate.1']) {
    const r = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z', path.join(ROOT, 'man', page)], { env: ENV, encoding: 'utf8' });
    t.is(r.status, 0, page);
    t.is(r.stderr, '', page);
  }
});

test('the synopsis shows the installed path, SEE ALSO the tools, and the security notes are cited where the packages install them', (t) => {
  const s = sections(render());
  t.regex(flat(s.SYNOPSIS), /^ ?node \$PCP_PMDAS_DIR\/json\/dist\/pmda\/main\.js \[-d domain\]/);
  t.notRegex(flat(render()), /checkout\/dist/);
  t.regex(flat(s['SEE ALSO']), /^ ?pmdajson-check\(1\), pmdajson-generate\(1\),/);
  t.regex(flat(s.SECURITY), /described in \/usr\/share\/doc\/pcp-pmda-json\/SECURITY\.md, installed by the packages/);
});

test('OPTIONS documents every option of --help, and the PMDA accepts every option documented', (t) => {
  const options = sections(render()).OPTIONS;
  // a tag is a line at the section's own indentation (its least) starting with -
  const lines = options.split('\n').filter((l) => l.trim() !== '');
  const indent = Math.min(...lines.map((l) => l.length - l.trimStart().length));
  const tags = lines.filter((l) => l.length - l.trimStart().length === indent && l.trimStart().startsWith('-')).map((l) => l.trim());
  t.true(tags.length >= 5, `option tags in OPTIONS:\n${options}`);
  for (const o of helpOptions()) {
    const tag = tags.find((l) => l.startsWith(`-${o.short}`));
    t.truthy(tag, `-${o.short} is documented`);
    t.true(tag?.includes(`--${o.long}`), `-${o.short} is documented with --${o.long}: ${tag}`);
  }
  for (const tag of tags) {
    const m = tag.match(/^-(\S)(?: (\w+))?, --([a-z]+)(?:=(\w+))?$/);
    t.truthy(m, `tag '${tag}' reads "-x value, --long=value"`);
    if (!m) continue;
    const [, short, value, long] = m;
    if (short === '?') continue;
    t.truthy(SAMPLE[value], `a sample value for ${value}`);
    t.is(accepts([`-${short}`, SAMPLE[value]]), true, `node dist/pmda/main.js -${short} ${SAMPLE[value]}`);
    t.is(accepts([`--${long}=${SAMPLE[value]}`]), true, `node dist/pmda/main.js --${long}=${SAMPLE[value]}`);
  }
  // and the check can tell: an option the PMDA does not have is refused
  t.regex(String(accepts(['-x', '1'])), /unknown option -x/);
});

test('CONTROL METRICS names every metric the PMDA serves about itself', (t) => {
  const body = sections(render())['CONTROL METRICS'];
  t.true(STATIC.length >= 10);
  for (const m of STATIC) t.regex(body, new RegExp(`\\bjson\\.${m.name.replace(/\./g, '\\.')}\\b`), `json.${m.name}`);
});

test('SYNOPSIS and FILES agree with the defaults of --help', (t) => {
  const s = sections(render());
  const help = spawnSync(process.execPath, [PMDA, '--help'], { encoding: 'utf8' }).stderr;
  t.regex(help, /default 137/);
  t.regex(flat(s.OPTIONS), /The default is 137/);
  t.regex(help, /\$PCP_PMDAS_DIR\/json\/config\.json/);
  t.regex(flat(s.FILES), /\$PCP_PMDAS_DIR\/json\/config\.json/);
  t.regex(help, /\$PCP_LOG_DIR\/pmcd\/<root>\.log/);
  t.regex(flat(s.FILES), /\$PCP_LOG_DIR\/pmcd\/json\.log/);
  const synopsis = flat(s.SYNOPSIS);
  for (const o of helpOptions().filter((x) => x.value)) t.regex(synopsis, new RegExp(`\\[-${o.short} \\w+\\]`));
  t.regex(synopsis, /--help/);
});
