// The dependency rule between the folders of src/ (docs/ARCHITECTURE.md):
//   format/    the metadata format: imports nothing else of the project
//   producer/  may import format/
//   pmda/      the agent: may import format/
//   cli/       tools: may import any of them
//   index.ts   the library: format/ and producer/; pmda/ only lazily, inside functions
// and only src/pmda/native.ts loads the native module. Inside pmda/, the
// folders are layers (PMDA_LAYERS below).
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../helpers/harness.mjs';

const SRC = path.join(ROOT, 'src');

function files(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

/** Project-relative imports of a file: [{ to: 'format/json', lazy, typeOnly }]. */
function importsOf(file, text = fs.readFileSync(file, 'utf8')) {
  const out = [];
  const add = (spec, lazy, typeOnly) => {
    if (!spec.startsWith('.')) return;
    const to = path.relative(SRC, path.resolve(path.dirname(file), spec));
    out.push({ to, lazy, typeOnly });
  };
  for (const m of text.matchAll(/^(import|export)( type)? [^;]*? from '([^']+)'/gms)) add(m[3], false, !!m[2]);
  for (const m of text.matchAll(/require\('([^']+)'\)/g)) add(m[1], true, false);
  for (const m of text.matchAll(/typeof import\('([^']+)'\)/g)) add(m[1], true, true);
  return out;
}

const folderOf = (rel) => (rel.includes(path.sep) ? rel.split(path.sep)[0] : rel.replace(/\.ts$/, ''));
const ALLOWED = { format: ['format'], producer: ['producer', 'format'], pmda: ['pmda', 'format'], cli: ['cli', 'format', 'producer', 'pmda', 'index'] };

test('each folder of src/ imports only what the dependency rule allows', (t) => {
  const all = files(SRC);
  t.true(all.length > 20, 'the sources are found');
  for (const file of all) {
    const from = folderOf(path.relative(SRC, file));
    for (const imp of importsOf(file)) {
      const to = folderOf(imp.to);
      if (from === 'index') {
        if (to === 'pmda') t.true(imp.lazy, `${path.relative(ROOT, file)} reaches ${imp.to} only lazily`);
        else t.true(['format', 'producer'].includes(to), `${path.relative(ROOT, file)} imports ${imp.to}`);
        continue;
      }
      t.true(ALLOWED[from].includes(to), `${path.relative(ROOT, file)} (${from}/) imports ${imp.to} (${to}/)`);
    }
  }
});

// Inside src/pmda/, folders by concept, in layers (docs/ARCHITECTURE.md):
// a file imports values only from its own layer or those below it; types
// may be imported from anywhere in pmda/ (a type is no dependency at run time).
const PMDA_LAYERS = [
  ['native', 'config', 'options', 'control'], // the binding, the configuration, the control metrics' table
  ['limits'], // budgets and the log
  ['numbering'], // clusters, items and instance ids, and their cache files
  ['data'], // what metrics see of a document: query, view, instances
  ['commands'], // when data-exec and data-url commands run, and running them
  ['sources'], // a source, its files and its author; discovery and the registry
  ['records'], // a metric's record: encoder, decoder, records kept
  ['round', 'agent', 'tables', 'labels', 'memory', 'main'], // the protocol: a fetch round, the PDU handlers, start-up
];
const layerOf = (rel) => PMDA_LAYERS.findIndex((names) => names.includes(rel.split(path.sep)[1].replace(/\.ts$/, '')));

test('inside src/pmda/, each folder imports values only from its own layer or below', (t) => {
  const pmda = files(path.join(SRC, 'pmda'));
  t.true(pmda.length > 25);
  for (const file of pmda) {
    const rel = path.relative(SRC, file);
    const from = layerOf(rel);
    t.true(from >= 0, `${rel} is in a layer of PMDA_LAYERS`);
    for (const imp of importsOf(file)) {
      if (folderOf(imp.to) !== 'pmda' || imp.typeOnly) continue;
      const to = layerOf(imp.to);
      t.true(to >= 0 && to <= from, `${rel} (layer ${from}) imports ${imp.to} (layer ${to})`);
    }
  }
  // the rule can fail
  t.true(layerOf(path.join('pmda', 'limits', 'log')) < layerOf(path.join('pmda', 'records', 'records')));
});

test('src/pmda/ has at most 12 files at its top, and no unit of src/ or native/ is longer than 450 lines', (t) => {
  const top = fs.readdirSync(path.join(SRC, 'pmda')).filter((f) => f.endsWith('.ts'));
  t.true(top.length <= 12, `${top.length} files at the top of src/pmda: ${top.join(' ')}`);
  const native = fs.readdirSync(path.join(ROOT, 'native')).filter((f) => /\.(cc|h)$/.test(f)).map((f) => path.join(ROOT, 'native', f));
  for (const file of [...files(SRC), ...native]) {
    const lines = fs.readFileSync(file, 'utf8').split('\n').length - 1;
    t.true(lines <= 450, `${path.relative(ROOT, file)} has ${lines} lines`);
  }
});

test('only src/pmda/native.ts loads the native module', (t) => {
  for (const file of files(SRC)) {
    const loads = /require\(.*pmda_json\.node/.test(fs.readFileSync(file, 'utf8'));
    t.is(loads, file === path.join(SRC, 'pmda', 'native.ts'), path.relative(ROOT, file));
  }
});

test('the rule can fail: a format/ file importing pmda/ is caught', (t) => {
  // the checker on made-up text, so that a broken parser cannot pass silently
  const probe = path.join(SRC, 'format', 'probe.ts');
  const bad = importsOf(probe, "import { native } from '../pmda/native';\nimport type { X } from './json';\n").filter((i) => !ALLOWED.format.includes(folderOf(i.to)));
  t.deepEqual(bad.map((i) => i.to), [path.join('pmda', 'native')]);
});
