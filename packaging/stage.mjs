// Writes the PMDA's own tree -- what pmcd runs, and nothing else -- into a
// directory, from a built checkout (npm run build):
//   dist/                          the code
//   build/Release/pmda_json.node   the native module
//   build/Release/pmdajson-shepherd  the shepherd of data-exec commands
//   node_modules/                  the run-time dependencies only (ajv and
//                                  its own), as package-lock.json has them
//   Install Remove pmns domain.h help README package.json
//   generate_ceph_metadata         pmdajson's, on pmdajson-generate
// Used by packaging/install-tree.sh and packaging/deb.sh:
//   node packaging/stage.mjs DIR
// DIR must not exist yet. Modes are 755 for directories, the scripts and
// the tools (dist/cli/check.js, dist/cli/generate.js: pmdajson-check and
// pmdajson-generate, linked from PATH by the packages), 644 for the rest;
// the owner is whoever runs this.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dest = process.argv[2];
if (!dest) {
  process.stderr.write('usage: node packaging/stage.mjs DIR\n');
  process.exit(2);
}
const fail = (msg) => {
  process.stderr.write(`stage: ${msg}\n`);
  process.exit(1);
};
if (fs.existsSync(dest)) fail(`${dest} exists`);
for (const f of ['dist/pmda/main.js', 'dist/index.mjs', 'build/Release/pmda_json.node', 'build/Release/pmdajson-shepherd']) {
  if (!fs.existsSync(path.join(root, f))) fail(`${f} is missing: build first (npm run build)`);
}

/** Copy a file or a tree, skipping what `skip` says (relative paths). */
function copy(from, to, skip = () => false, rel = '') {
  const st = fs.lstatSync(from);
  if (st.isSymbolicLink()) return; // .bin links and the like: nothing pmcd runs
  if (st.isDirectory()) {
    fs.mkdirSync(to, { mode: 0o755 });
    fs.chmodSync(to, 0o755);
    for (const e of fs.readdirSync(from).sort()) {
      const r = rel ? `${rel}/${e}` : e;
      if (!skip(r)) copy(path.join(from, e), path.join(to, e), skip, r);
    }
  } else if (st.isFile()) {
    fs.copyFileSync(from, to);
    fs.chmodSync(to, 0o644);
  }
}

fs.mkdirSync(dest, { recursive: true, mode: 0o755 });
fs.chmodSync(dest, 0o755);
copy(path.join(root, 'dist'), path.join(dest, 'dist'));
fs.mkdirSync(path.join(dest, 'build', 'Release'), { recursive: true, mode: 0o755 });
copy(path.join(root, 'build', 'Release', 'pmda_json.node'), path.join(dest, 'build', 'Release', 'pmda_json.node'));
copy(path.join(root, 'build', 'Release', 'pmdajson-shepherd'), path.join(dest, 'build', 'Release', 'pmdajson-shepherd'));
fs.chmodSync(path.join(dest, 'build', 'Release', 'pmdajson-shepherd'), 0o755);

// run-time dependencies: every package of the lock that is not dev-only
const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
const packages = Object.entries(lock.packages ?? {})
  .filter(([p, info]) => p.startsWith('node_modules/') && !info.dev && !info.link)
  .map(([p, info]) => ({ p, optional: Boolean(info.optional || info.devOptional) }))
  .sort((a, b) => a.p.localeCompare(b.p));
fs.mkdirSync(path.join(dest, 'node_modules'), { mode: 0o755 });
for (const { p, optional } of packages) {
  const from = path.join(root, p);
  if (!fs.existsSync(from)) {
    if (optional) continue;
    fail(`${p} is missing: npm ci first`);
  }
  const to = path.join(dest, p);
  fs.mkdirSync(path.dirname(to), { recursive: true, mode: 0o755 });
  // nested node_modules are packages of their own in the lock
  copy(from, to, (r) => r === 'node_modules' || r.startsWith('node_modules/'));
}

for (const f of ['Install', 'Remove', 'pmns', 'domain.h', 'help']) copy(path.join(root, f), path.join(dest, f));
copy(path.join(root, 'packaging', 'README.tree'), path.join(dest, 'README'));
copy(path.join(root, 'packaging', 'generate_ceph_metadata'), path.join(dest, 'generate_ceph_metadata'));
for (const f of ['Install', 'Remove', 'generate_ceph_metadata', 'dist/cli/check.js', 'dist/cli/generate.js']) fs.chmodSync(path.join(dest, f), 0o755);

// what this tree is, for the administrator (node needs none of it)
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const meta = { name: pkg.name, version: pkg.version, description: pkg.description, license: pkg.license, private: true, engines: pkg.engines, dependencies: pkg.dependencies };
fs.writeFileSync(path.join(dest, 'package.json'), `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o644 });
process.stdout.write(`stage: ${dest}: dist, native module, ${packages.length} run-time packages\n`);
