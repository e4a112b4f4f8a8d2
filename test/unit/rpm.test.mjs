// The RPM (packaging/rpm/pcp-pmda-json.spec, built by packaging/rpm.sh
// with rpmbuild -bb) and the Debian package (packaging/deb.sh), both built
// from this checkout: the same files, with the same modes, owners and link
// targets; the RPM's directories are the .deb's; the same configuration
// files; and both take the PMDA out of pmcd before they go.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, SYSTEM_PATH } from '../helpers/harness.mjs';

const ENV = { ...process.env, PATH: SYSTEM_PATH, LC_ALL: 'C' };
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { env: ENV }).status === 0;
const built = fs.existsSync(path.join(ROOT, 'build', 'Release', 'pmda_json.node')) && fs.existsSync(path.join(ROOT, 'dist', 'pmda', 'main.js'));
const why = !has('rpmbuild') ? 'needs rpmbuild (Debian: apt-get install rpm)'
  : !has('dpkg-deb') ? 'needs dpkg-deb'
  : !fs.existsSync('/etc/pcp.conf') ? 'needs PCP'
  : !built ? 'needs a built checkout (npm run build)'
  : undefined;

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', env: ENV, timeout: 300000, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: status ${r.status}\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

(why ? test.skip : test)('rpmbuild -bb builds the RPM, and it holds the files of the .deb', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmda-json-rpm-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  run('bash', ['packaging/deb.sh', dir]);
  run('bash', ['packaging/rpm.sh', dir]);
  const deb = path.join(dir, fs.readdirSync(dir).find((f) => f.endsWith('.deb')));
  const rpm = path.join(dir, fs.readdirSync(dir).find((f) => f.endsWith('.rpm')));

  // "perms owner path [-> target]" of every entry: dpkg-deb -c, and rpm -qp
  const debEntries = run('dpkg-deb', ['-c', deb]).split('\n').filter(Boolean).map((l) => {
    const m = l.match(/^(\S{10}) (\S+)\/\S+\s+\d+ \S+ \S+ \.(\/\S*?)\/?(?: -> (\S+))?$/);
    if (!m) throw new Error(`cannot read dpkg-deb -c line: ${l}`);
    return { perms: m[1], owner: m[2], path: m[3] === '/' ? '/' : m[3], to: m[4] ?? '' };
  });
  const rpmEntries = run('rpm', ['-qp', '--qf', '[%{FILEMODES:perms}\t%{FILEUSERNAME}\t%{FILENAMES}\t%{FILELINKTOS}\n]', rpm]).split('\n').filter(Boolean).map((l) => {
    const [perms, owner, p, to] = l.split('\t');
    return { perms, owner, path: p, to };
  });
  const show = (e) => `${e.perms} ${e.owner} ${e.path}${e.to ? ` -> ${e.to}` : ''}`;
  const files = (entries) => entries.filter((e) => !e.perms.startsWith('d')).map(show).sort();
  const debFiles = files(debEntries);
  t.true(debFiles.length > 100, `${debFiles.length} files in the .deb`);
  t.deepEqual(files(rpmEntries), debFiles, 'the same files, modes, owners and link targets');
  for (const tool of ['pmdajson-check', 'pmdajson-generate']) t.true(debFiles.some((f) => f.includes(`/bin/${tool} -> `)), `${tool} on PATH`);

  // the RPM owns its own directories only: the tree's, and those the .deb makes for it
  const debDirs = new Set(debEntries.filter((e) => e.perms.startsWith('d')).map((e) => e.path));
  const rpmDirs = rpmEntries.filter((e) => e.perms.startsWith('d'));
  t.true(rpmDirs.length > 10);
  for (const d of rpmDirs) t.true(debDirs.has(d.path), `${d.path} is a directory of the .deb too`);
  t.false(rpmDirs.some((d) => ['/usr', '/usr/bin', '/etc/pcp', '/var/lib/pcp'].includes(d.path)), 'no directory of the system or of PCP is the RPM\'s');

  // configuration files: the .deb's conffiles are the RPM's %config files
  const conffiles = run('sh', ['-c', `dpkg-deb --ctrl-tarfile '${deb}' | tar -xOf - ./conffiles`]);
  t.deepEqual(run('rpm', ['-qpc', rpm]).split('\n').filter(Boolean).sort(), conffiles.split('\n').filter(Boolean).sort());

  // both take the PMDA out of pmcd with its Remove before their files go
  t.regex(run('rpm', ['-qp', '--scripts', rpm]), /preuninstall scriptlet[\s\S]*\.\/Remove/);
  t.regex(run('sh', ['-c', `dpkg-deb --ctrl-tarfile '${deb}' | tar -xOf - ./prerm`]), /\.\/Remove/);
  t.regex(run('rpm', ['-qp', '--qf', '%{NAME} %{EPOCH}:%{VERSION}', rpm]), new RegExp(`^pcp-pmda-json 1:${JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version}$`));
});
