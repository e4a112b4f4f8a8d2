// The npm package serves producers: `npm pack`, installed into a scratch
// project (its install scripts run: there must be no native build), and
// with any build/ gone, both require('pmda-json') and import give a
// Producer that writes a source -- and the native module is never loaded.
// Its tools, as npx runs them: pmdajson-generate works, pmdajson-check
// (which runs the PMDA's own code) says in one line what it needs.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { ROOT } from '../helpers/harness.mjs';

const npm = (args, cwd) => execFileSync('npm', args, { cwd, encoding: 'utf8', timeout: 120000, env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' } });

/** Write a source with the package's Producer; report what was loaded. */
const PRODUCE = (dir) => `
const p = new Producer(${JSON.stringify(dir)}, { prefix: 'pkg' });
p.integer('requests', { semantics: 'counter', units: 'count', description: 'Requests' }).set(9007199254740993n);
p.array('disk', { index: 'dev' }).double('util').set('sda', 'util', 0.5);
p.write();
const parsed = parseMetadata({ metrics: [{ name: 'n', pointer: '/n', type: 'integer' }, { name: 'u', pointer: '/u', type: 'integer', units: 'count' }] }, 'x');
process.stdout.write(JSON.stringify({
  native: Object.keys(cache).filter((f) => f.endsWith('.node') || /pmda[\\\\/]native/.test(f)),
  generator: typeof schemaToMetadataJson,
  parsed: parsed.entries.length,
  problems: parsed.problems,
}));
`;

test('npm pack: installed without PCP bits, require and import give a working Producer and never load the native module', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmda-json-package-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

  const tarball = npm(['pack', '--silent', '--pack-destination', dir], ROOT).trim().split('\n').pop();
  const files = execFileSync('tar', ['-tzf', path.join(dir, tarball)], { encoding: 'utf8' }).split('\n');
  for (const f of ['dist/index.js', 'dist/index.mjs', 'dist/index.d.ts', 'dist/index.d.mts', 'Install', 'Remove', 'pmns', 'domain.h', 'help']) {
    t.true(files.includes(`package/${f}`), `${f} is packed`);
  }
  t.false(files.some((f) => f.startsWith('package/build/')), 'no build/ is packed');

  const app = path.join(dir, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  npm(['install', '--prefer-offline', '--no-package-lock', path.join(dir, tarball)], app);
  const installed = path.join(app, 'node_modules', 'pmda-json');
  t.false(fs.existsSync(path.join(installed, 'build')), 'npm install built nothing');
  fs.rmSync(path.join(installed, 'build'), { recursive: true, force: true });
  t.false(fs.existsSync(path.join(app, 'node_modules', 'node-gyp')), 'no build-time dependency is installed');

  const check = (kind, out) => {
    const src = path.join(dir, kind);
    const r = JSON.parse(execFileSync(process.execPath, kind === 'esm' ? ['--input-type=module', '-e', out(src)] : ['-e', out(src)], { cwd: app, encoding: 'utf8' }));
    t.deepEqual(r.native, [], `${kind}: no native module loaded`);
    t.is(r.generator, 'function', `${kind}: the generator API`);
    t.is(r.parsed, 2, `${kind}: metadata parses, units unchecked`);
    t.regex(r.problems.join('\n'), /units 'count' not checked: parsing units needs libpcp/, `${kind}: units say why they are not checked`);
    const metadata = JSON.parse(fs.readFileSync(path.join(src, 'metadata.json'), 'utf8'));
    t.is(metadata.prefix, 'pkg');
    t.deepEqual(metadata.metrics.map((m) => m.name), ['requests', 'disk']);
    t.regex(fs.readFileSync(path.join(src, 'data.json'), 'utf8'), /"requests": ?9007199254740993\b[\s\S]*"util": ?0\.5/);
  };
  check('cjs', (src) => `const { Producer, parseMetadata, schemaToMetadataJson } = require('pmda-json'); const { cache } = require;${PRODUCE(src)}`);
  const bin = (tool, args, input) => spawnSync(path.join(app, 'node_modules', '.bin', tool), args, { cwd: app, encoding: 'utf8', timeout: 60000, input });
  const gen = bin('pmdajson-generate', ['--from-data', '-', '--prefix', 'pkg'], '{"requests": 42}');
  t.is(gen.status, 0, gen.stderr);
  t.like(JSON.parse(gen.stdout), { prefix: 'pkg', metrics: [{ name: 'requests', pointer: '/requests', type: 'integer' }] });
  t.regex(bin('pmdajson-generate', ['--help']).stdout, /^Usage: pmdajson-generate/);
  t.regex(bin('pmdajson-check', ['--help']).stderr, /^Usage: pmdajson-check/, 'pmdajson-check --help needs no native module');
  const checked = bin('pmdajson-check', [dir]);
  t.is(checked.status, 1);
  t.is(checked.stderr.trim().split('\n').length, 1, `one line, no stack trace:\n${checked.stderr}`);
  t.regex(checked.stderr, /^pmdajson-check: needs the JSON PMDA's native module \(build\/Release\/pmda_json\.node, built against PCP's libpcp_pmda\), which the npm package does not build: use the pmdajson-check of the pcp-pmda-json package/);
  check('esm', (src) => `import { Producer, parseMetadata, schemaToMetadataJson } from 'pmda-json'; import { createRequire } from 'node:module'; const { cache } = createRequire(import.meta.url);${PRODUCE(src)}`);
});

test('help documents the metrics the PMDA serves about itself, as packaging/help.mjs writes it', (t) => {
  const expected = execFileSync(process.execPath, [path.join(ROOT, 'packaging', 'help.mjs')], { encoding: 'utf8' });
  t.is(fs.readFileSync(path.join(ROOT, 'help'), 'utf8'), expected, 'run: node packaging/help.mjs > help');
});
