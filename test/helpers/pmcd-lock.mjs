// The lock taken by everything that reconfigures the live pmcd: tests
// (lockPmcd in harness.mjs), the benchmark and the soak (bench/). A
// directory, made atomically, holding the owner's pid.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const PMCD_LOCK = path.join(os.tmpdir(), 'pmda-json-pmcd.lock');

/**
 * Take a lock directory if it is free or left by a process that is gone;
 * false if held (also when this process holds it). The useradd lock of
 * the adversarial tests (users.mjs) is one too.
 */
export function tryTakeLock(dir) {
  for (;;) {
    try {
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'pid'), String(process.pid));
      return true;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      try {
        const pid = Number(fs.readFileSync(path.join(dir, 'pid'), 'utf8'));
        if (pid && pid !== process.pid) process.kill(pid, 0);
      } catch (err) {
        if (err.code === 'ESRCH') {
          fs.rmSync(dir, { recursive: true, force: true }); // stale
          continue;
        }
      }
      return false;
    }
  }
}

/** Take the pmcd lock if it is free or left by a process that is gone; false if held. */
export const tryTakePmcdLock = () => tryTakeLock(PMCD_LOCK);

export function releasePmcdLock() {
  fs.rmSync(PMCD_LOCK, { recursive: true, force: true });
}
