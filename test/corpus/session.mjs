// A dbpmda session for big outputs: like the harness's Dbpmda (one PMDA
// under dbpmda, one command at a time), but each command's output is kept
// as a list of chunks and only the newest chunk is searched for the end
// marker, so a 10 MB traverse or a 100,000-instance fetch stays linear.
import { spawn } from 'node:child_process';
import { PMDA, alive, children, sleep } from '../helpers/harness.mjs';

export class Session {
  /**
   * `inheritFd`: also give dbpmda (and so the PMDA it starts) this descriptor, a pipe left open.
   * @param {import('../helpers/harness.mjs').Scratch} scratch
   * @param {{ args?: string[], inheritFd?: number }} [options]
   */
  constructor(scratch, { args = [], inheritFd = undefined } = {}) {
    this.scratch = scratch;
    /** @type {Array<'pipe'>} */
    const stdio = ['pipe', 'pipe', 'pipe'];
    let cmd = 'dbpmda';
    let argv = ['-n', scratch.pmns, '-e'];
    if (inheritFd !== undefined) {
      // the pipe comes as fd 3 and bash moves it to inheritFd before it
      // becomes dbpmda: an stdio array reaching up to a high descriptor
      // makes libuv abort the spawn (Node 24 allows 30 entries at most)
      const fd = Number(inheritFd);
      if (!Number.isInteger(fd) || fd < 3) throw new Error(`inheritFd ${inheritFd}: a descriptor above 2`);
      stdio.push('pipe');
      argv = ['-c', fd === 3 ? 'exec "$@"' : `exec ${fd}<&3 3<&-; exec "$@"`, 'bash', cmd, ...argv];
      cmd = '/bin/bash';
    }
    this.proc = spawn(cmd, argv, { cwd: scratch.dir, env: scratch.env, stdio });
    this.proc.stdin.on('error', () => {}); // a dbpmda that died is reported by run()
    this.proc.stdout.setEncoding('utf8');
    this.proc.stderr.setEncoding('utf8');
    this.chunks = [];
    this.err = '';
    this.exited = false;
    this.seq = 0;
    this.proc.stdout.on('data', (d) => { this.chunks.push(d); this.wake?.(); });
    this.proc.stderr.on('data', (d) => { this.err += d; this.wake?.(); });
    this.proc.on('exit', () => { this.exited = true; this.wake?.(); });
    // dbpmda waits 3 s for a new agent's version exchange: on a loaded
    // machine a start can take longer, and the late answer is then taken
    // as the answer to the next command; one PDU of our own takes it
    this.ready = this.run(`open pipe ${process.execPath} ${PMDA} -l ${scratch.log} ${args.join(' ')}`).then(async (out) => {
      if (/no version exchange/.test(out)) await this.run('desc 137.0.0');
      return out;
    });
  }

  /** Send one command; its output (stdout, then what came on stderr meanwhile). */
  async run(command, timeoutMs = 60000) {
    const marker = `# done ${++this.seq}\n`;
    const out = [];
    let tail = '';
    this.chunks = [];
    const errStart = this.err.length;
    this.proc.stdin.write(`${command}\n${marker}`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.chunks.length > 0) {
        const c = this.chunks.shift();
        const joined = tail + c;
        const at = joined.indexOf(marker);
        if (at >= 0) {
          out.push(joined.slice(0, at));
          this.chunks.unshift(joined.slice(at + marker.length));
          let text = out.join('');
          if (text.startsWith(command)) text = text.slice(command.length + 1);
          return text + this.err.slice(errStart);
        }
        // keep a marker's length of text back, it may straddle two chunks
        const keep = Math.max(0, joined.length - marker.length);
        out.push(joined.slice(0, keep));
        tail = joined.slice(keep);
      }
      if (this.exited) throw new Error(`dbpmda exited during '${command.slice(0, 200)}':\n${(out.join('') + tail).slice(-2000)}\n${this.err.slice(errStart)}`);
      if (Date.now() > deadline) throw new Error(`dbpmda timed out on '${command.slice(0, 200)}':\n${(out.join('') + tail).slice(-2000)}`);
      await new Promise((r) => { this.wake = r; setTimeout(r, 100); });
    }
  }

  /** Quit dbpmda, and wait for its PMDA to be gone too: it keeps its warm start as it exits, in the scratch directory a test removes next. */
  async close() {
    if (this.exited) return;
    const agents = children(this.proc.pid);
    this.proc.stdin.end('quit\n');
    await new Promise((r) => { if (this.exited) r(); else this.proc.on('exit', r); setTimeout(r, 5000); });
    if (!this.exited) this.proc.kill('SIGKILL');
    for (const deadline = Date.now() + 5000; agents.some(alive) && Date.now() < deadline;) await sleep(20);
  }
}
