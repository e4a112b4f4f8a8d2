// The command scheduler (src/pmda/commands/commands.ts) alone, with real
// commands run through the native shepherd: run waits up to exec_wait,
// take gives an output once, a slow command loses its standing, one
// killed at exec_timeout rests, exec_max_running is shared per author,
// and runToEnd runs to the end.
//
// The tests are serial: every Commands collects the commands of the
// process (native execWait answers for all), so one test's scheduler must
// be done before the next one starts.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';

const require = createRequire(import.meta.url);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmda-json-commands-'));
// untrusted commands run as nobody, in their source's directory
fs.chmodSync(dir, 0o755);
process.env.PCP_VAR_DIR = dir;
fs.mkdirSync(path.join(dir, 'config', 'pmda'), { recursive: true });
const { native } = require('../../dist/pmda/native.js');
const { DEFAULTS } = require('../../dist/pmda/config.js');
const { Commands } = require('../../dist/pmda/commands/commands.js');
const { Source } = require('../../dist/pmda/sources/source.js');
const { readMetadata } = require('../../dist/pmda/sources/describe.js');
const { ROOT, nobody } = require('../../dist/pmda/sources/access.js');
native.setDomain(251);
const asRoot = process.getuid() === 0;

/** Wait until every command of the process was collected, and the collectors stopped. */
async function drained() {
  for (let i = 0; i < 100 && native.execRunning() > 0; i++) await sleep(100);
  await sleep(250);
}
test.afterEach.always(drained);
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

let n = 0;
/**
 * A source whose data-exec is `sh cmd.sh`, the script `script` in its
 * directory; trusted (run as root, payer root) unless an author is given.
 * @param {string} script
 * @param {{ author?: import('../../dist/pmda/sources/access.js').Author, command?: string }} [opts]
 */
function source(script, { author, command = 'sh cmd.sh' } = {}) {
  const d = path.join(dir, `s${n++}`);
  fs.mkdirSync(d, { mode: 0o755 });
  fs.writeFileSync(path.join(d, 'cmd.sh'), script, { mode: 0o644 });
  fs.writeFileSync(path.join(d, 'metadata.json'), JSON.stringify({ 'data-exec': command, metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] }));
  const desc = readMetadata(d);
  if (!('md' in desc)) throw new Error(desc.error);
  return new Source(d, author === undefined, author ?? ROOT, path.basename(d), desc.md, desc.stamp);
}

const config = (over = {}) => ({ ...DEFAULTS, execWaitMs: 1000, execTimeoutMs: 5000, ...over });
/** The sources a scheduler shares exec_max_running between: what the registry would hold. */
let everyone = [];
const scheduler = (cfg) => new Commands(cfg, () => everyone);
test.beforeEach(() => {
  everyone = [];
});
const text = (out) => (out && out !== 'resting' && out.ok ? out.output.toString('utf8') : out);

/** Wait until `f()` holds, polling every 20 ms, at most `ms` (the assertions after it tell if it did not). */
async function until(f, ms = 5000) {
  for (const end = Date.now() + ms; !f() && Date.now() < end;) await sleep(20);
}

/** Time `f`, ms. */
function timed(f) {
  const start = Date.now();
  f();
  return Date.now() - start;
}

/**
 * Take the source's output once it has come (the collector gathers it between runs), within `ms`.
 * @returns {Promise<any>}
 */
async function outputOf(cmds, src, ms = 5000) {
  for (const until = Date.now() + ms; Date.now() < until; await sleep(50)) {
    const out = cmds.take(src);
    if (out !== undefined) return out;
  }
  return undefined;
}

test.serial('run starts the command and waits for it; take gives its output once, then undefined', (t) => {
  const cmds = scheduler(config());
  const src = source('sleep 0.2; echo \'{"v": 1}\'\n');
  t.is(cmds.take(src), undefined, 'nothing before a run');
  const ms = timed(() => cmds.run([src], 1));
  t.true(ms >= 150, `run waited for the command (${ms} ms)`);
  const out = /** @type {any} */ (cmds.take(src));
  t.true(out.ok);
  t.is(text(out), '{"v": 1}\n');
  t.is(cmds.take(src), undefined, 'the output is taken once');
});

test.serial('a source refreshed in a round is not started again in it, nor, while it is quick, while its output waits to be taken', (t) => {
  const cmds = scheduler(config());
  // counts its runs in a file of its directory
  const src = source('n=$(cat runs 2>/dev/null || echo 0); n=$((n+1)); echo $n > runs; echo "{\\"v\\": $n}"\n');
  cmds.run([src], 1);
  t.is(text(cmds.take(src)), '{"v": 1}\n');
  // what Source.refresh does with the output, for round 1
  src.refreshedAt = 1;
  cmds.run([src], 1);
  t.is(native.execRunning(), 0, 'not started again in the same round');
  t.is(cmds.take(src), undefined);
  cmds.run([src], 2);
  t.is(text(cmds.take(src)), '{"v": 2}\n');
  cmds.run([src], 3);
  // output not taken: the next round does not run it again
  cmds.run([src], 4);
  t.is(text(cmds.take(src)), '{"v": 3}\n');
  t.is(cmds.take(src), undefined);
});

test.serial('a source that is not commanded is never started', (t) => {
  const cmds = scheduler(config());
  const d = path.join(dir, 'file-source');
  fs.mkdirSync(d);
  fs.writeFileSync(path.join(d, 'metadata.json'), JSON.stringify({ metrics: [{ name: 'v', pointer: '/v', type: 'integer' }] }));
  const { md, stamp } = /** @type {any} */ (readMetadata(d));
  const src = new Source(d, true, ROOT, 'file-source', md, stamp);
  t.is(timed(() => cmds.run([src], 1)) < 500, true);
  t.is(native.execRunning(), 0);
  t.is(cmds.take(src), undefined);
});

test.serial('a command slower than exec_wait loses its standing: later runs do not wait for it, until one of its runs is quick', async (t) => {
  const cmds = scheduler(config({ execWaitMs: 2000 }));
  // its first run takes 4 s, every later one 1 s (by a count of its runs in
  // a file of its directory): what each run takes does not depend on when
  // it starts, and a run that is quick is well within exec_wait
  const src = source('n=$(cat runs 2>/dev/null || echo 0); n=$((n+1)); echo $n > runs; if [ $n -eq 1 ]; then sleep 4; else sleep 1; fi; echo \'{"v": 1}\'\n');
  let ms = timed(() => cmds.run([src], 1));
  t.true(ms >= 1900, `the first run waited up to exec_wait (${ms} ms)`);
  t.is(cmds.take(src), undefined, 'not finished');
  ms = timed(() => cmds.run([src], 2));
  t.true(ms < 1000, `the next run did not wait (${ms} ms)`);
  t.is(native.execRunning(), 1, 'and did not start it a second time');
  // its output comes between runs, for the next one (and, asked for by
  // run 2, it runs again as soon as it is collected)
  t.is(text(await outputOf(cmds, src)), '{"v": 1}\n');
  // that run was slow: the run of 1 s now under way is not waited for
  ms = timed(() => cmds.run([src], 3));
  t.true(ms < 500, `a run without standing did not wait (${ms} ms)`);
  t.is(cmds.take(src), undefined, 'no standing yet');
  t.is(text(await outputOf(cmds, src)), '{"v": 1}\n');
  // that run was quick (within exec_wait): the standing is back, and a run
  // waits for it once more (the run of 1 s that run 3 asked for)
  ms = timed(() => cmds.run([src], 4));
  t.true(ms >= 250, `waited for it again (${ms} ms)`);
  t.is(text(cmds.take(src)), '{"v": 1}\n', 'its output is there when the run returns');
});

test.serial('after a slow command, its author\'s new sources start without standing; another scheduler\'s would be waited for', async (t) => {
  const cmds = scheduler(config({ execWaitMs: 300 }));
  const slow = source('sleep 0.8; echo \'{"v": 1}\'\n');
  cmds.run([slow], 1);
  t.is(cmds.take(slow), undefined);
  const later = source('sleep 0.3; echo \'{"v": 2}\'\n');
  everyone = [slow, later];
  cmds.added(later);
  cmds.run([later], 2);
  t.is(cmds.take(later), undefined, 'not waited for');
  t.is(text(await outputOf(cmds, later)), '{"v": 2}\n');
  t.is(text(await outputOf(cmds, slow)), '{"v": 1}\n');
  await drained();
  // the same source in a scheduler that saw nothing slow
  const fresh = scheduler(config({ execWaitMs: 1000 }));
  const other = source('sleep 0.3; echo \'{"v": 3}\'\n');
  fresh.added(other);
  fresh.run([other], 1);
  t.is(text(fresh.take(other)), '{"v": 3}\n');
});

test.serial('a slow command runs again as soon as its output is collected if a fetch asked for it meanwhile, and a fetch starts it though an output waits', async (t) => {
  const cmds = scheduler(config({ execWaitMs: 100 }));
  // counts its runs in a file of its directory, and takes 0.4 s
  const src = source('n=$(cat runs 2>/dev/null || echo 0); n=$((n+1)); echo $n > runs; sleep 0.4; echo "{\\"v\\": $n}"\n');
  const runs = () => Number(fs.readFileSync(path.join(src.dir, 'runs'), 'utf8'));
  cmds.run([src], 1);
  t.is(cmds.take(src), undefined, 'slower than exec_wait');
  // a fetch while run 1 is under way: run 2 starts when run 1 is collected
  cmds.run([src], 2);
  await until(() => runs() >= 2);
  t.is(runs(), 2, 'run 2 started without another fetch');
  t.is(text(cmds.take(src)), '{"v": 1}\n');
  // run 2 ends with its output waiting (collected: nothing runs); a fetch starts run 3 all the same, and takes run 2's
  await until(() => native.execRunning() === 0);
  cmds.run([src], 3);
  t.is(text(cmds.take(src)), '{"v": 2}\n');
  await until(() => runs() >= 3);
  t.is(runs(), 3, 'run 3 started');
  // no fetch asked during run 3: nothing runs after it
  t.is(text(await outputOf(cmds, src)), '{"v": 3}\n');
  await sleep(600);
  t.is(runs(), 3);
});

test.serial('a command killed at exec_timeout says so once, then take answers \'resting\' and it is not started, until the rest is over', async (t) => {
  // exec_timeout 1 s: a run that waited for it takes 800 ms longer than exec_wait, more than a loaded machine holds one up
  const cmds = scheduler(config({ execWaitMs: 200, execTimeoutMs: 1000 }));
  const src = source('sleep 30\n');
  const ms = timed(() => cmds.run([src], 1));
  t.true(ms < 700, `waited exec_wait, not exec_timeout (${ms} ms)`);
  const out = await outputOf(cmds, src);
  t.false(out.ok);
  t.true(out.timedOut);
  t.regex(out.error, /^data-exec command 'sh cmd.sh' killed after 1000 ms \(in .*\/s\d+\)$/);
  t.is(cmds.take(src), 'resting');
  cmds.run([src], 2);
  t.is(native.execRunning(), 0, 'a resting command is not started');
  t.is(cmds.take(src), 'resting');
  // the rest is max(5 s, 5 exec_timeout)
  await sleep(5100);
  t.is(cmds.take(src), undefined);
  fs.writeFileSync(path.join(src.dir, 'cmd.sh'), 'echo \'{"v": 4}\'\n');
  cmds.run([src], 3);
  t.is(text(await outputOf(cmds, src)), '{"v": 4}\n', 'started again after the rest');
});

test.serial('a command killed at exec_timeout is not started again by the next fetch before its source has taken the kill: it rests from then', async (t) => {
  const cmds = scheduler(config({ execWaitMs: 200, execTimeoutMs: 1000 }));
  const src = source('sleep 30\n');
  cmds.run([src], 1);
  // the kill is collected between fetches (the scheduler's collector: its list of runs empties), and not yet taken
  await until(() => native.execRunning() === 0 && cmds['running'].size === 0, 5000);
  t.is(native.execRunning(), 0, 'killed at exec_timeout');
  t.is(cmds['running'].size, 0, 'and collected');
  // the next fetch runs the commands it needs before it refreshes its sources
  cmds.run([src], 2);
  t.is(native.execRunning(), 0, 'a killed command is not started again at once');
  const out = cmds.take(src);
  t.true(typeof out === 'object' && out.ok === false && out.timedOut === true, 'the source then takes the kill');
  cmds.run([src], 3);
  t.is(native.execRunning(), 0, 'and the command rests');
  t.is(cmds.take(src), 'resting');
});

(asRoot ? test.serial : test.skip)('exec_max_running is shared per author: with one author\'s share used, another author\'s command still starts', async (t) => {
  const cmds = scheduler(config({ execMaxRunning: 2, execWaitMs: 3000 }));
  const script = 'sleep 0.2; echo "{\\"v\\": $(id -u)}"\n';
  const r1 = source(script);
  const r2 = source(script);
  const u = source(script, { author: nobody() });
  t.not(u.payer, r1.payer);
  const all = [r1, r2, u];
  everyone = all;
  cmds.run(all, 1);
  t.is(text(cmds.take(r1)), '{"v": 0}\n');
  t.is(cmds.take(r2), undefined, 'root\'s share (1 of 2) was used by r1');
  t.is(text(cmds.take(u)), `{"v": ${nobody().uid}}\n`, 'nobody\'s command started, as nobody');
  // the next round: the one that waited longest (r2) goes first
  cmds.run(all, 2);
  t.is(text(cmds.take(r2)), '{"v": 0}\n');
  t.is(cmds.take(r1), undefined);
  t.truthy(cmds.take(u));
  // with only root's sources, root has all of exec_max_running
  everyone = [r1, r2];
  cmds.run([r1, r2], 3);
  t.truthy(cmds.take(r1));
  t.truthy(cmds.take(r2));
});

test.serial('exec_max_running bounds the commands running at once', (t) => {
  const cmds = scheduler(config({ execMaxRunning: 2, execWaitMs: 3000 }));
  const srcs = [0, 1, 2, 3].map(() => source('echo \'{"v": 1}\'\n'));
  everyone = srcs;
  cmds.run(srcs, 1);
  t.is(srcs.filter((s) => cmds.take(s) !== undefined).length, 2);
});

test.serial('runToEnd runs every command to its end, past exec_wait', (t) => {
  const cmds = scheduler(config({ execWaitMs: 100 }));
  const a = source('sleep 0.5; echo \'{"v": 1}\'\n');
  const b = source('sleep 0.2; echo \'{"v": 2}\'\n');
  const ms = timed(() => cmds.runToEnd([a, b], 1));
  t.true(ms >= 400, `it waited for the slower one (${ms} ms)`);
  t.is(text(cmds.take(a)), '{"v": 1}\n');
  t.is(text(cmds.take(b)), '{"v": 2}\n');
  t.is(native.execRunning(), 0);
});

test.serial('runToEnd runs every source even past exec_max_running, a share at a time', (t) => {
  const cmds = scheduler(config({ execMaxRunning: 1 }));
  const srcs = [1, 2, 3].map((v) => source(`echo '{"v": ${v}}'\n`));
  cmds.runToEnd(srcs, 1);
  t.deepEqual(srcs.map((s) => text(cmds.take(s))), ['{"v": 1}\n', '{"v": 2}\n', '{"v": 3}\n']);
});

test.serial('a command that cannot start gives its reason as its output', (t) => {
  const cmds = scheduler(config());
  const unparsed = source('', { command: 'echo \'unclosed' });
  const missing = source('', { command: '/nonexistent/program' });
  cmds.run([unparsed, missing], 1);
  const a = /** @type {any} */ (cmds.take(unparsed));
  t.false(a.ok);
  t.regex(a.error, /cannot parse data-exec command 'echo 'unclosed': no closing quotation/);
  const b = /** @type {any} */ (cmds.take(missing));
  t.false(b.ok);
  t.regex(b.error, /cannot run data-exec command '\/nonexistent\/program': command not found/);
});

test.serial('a removed source\'s command is not collected for it', async (t) => {
  const cmds = scheduler(config({ execWaitMs: 100 }));
  const src = source('sleep 0.3; echo \'{"v": 1}\'\n');
  cmds.run([src], 1);
  cmds.removed(src);
  await sleep(600);
  t.is(cmds.take(src), undefined);
});

test.serial('a removed source\'s command still counts in its author\'s share of exec_max_running until it ends', async (t) => {
  const cmds = scheduler(config({ execMaxRunning: 1, execWaitMs: 1000 }));
  const gone = source('sleep 0.6; echo \'{"v": 1}\'\n');
  const next = source('echo \'{"v": 2}\'\n');
  everyone = [gone];
  // found: its command starts
  cmds.added(gone);
  cmds.removed(gone);
  // the same author's new source (its metadata.json rewritten): no room while the old command runs
  everyone = [next];
  cmds.added(next);
  cmds.run([next], 2);
  t.is(cmds.take(next), undefined, 'not started beside the removed source\'s command');
  // until the removed source's command has ended (and been collected)
  await until(() => native.execRunning() === 0);
  cmds.run([next], 3);
  t.is(text(await outputOf(cmds, next)), '{"v": 2}\n', 'started once it ended');
  t.is(cmds.take(gone), undefined);
});
