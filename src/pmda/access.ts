// Access: may the user who wrote an untrusted source read its data file?
//
// The PMDA runs as root and the default source directory is world
// writable, so a metadata.json's data-path must not become a way to read
// files its author could not (say /root/.docker/config.json). For an
// untrusted source the data file is read only if the owner of the
// metadata.json could read it: every directory on the way searchable by
// that user, the file itself readable, symbolic links followed as the
// kernel would. The check uses the uid and groups from the passwd and
// group databases, the way the kernel checks permission bits (ACLs and
// capabilities are ignored, so the answer errs on the side of "no").
import * as fs from 'fs';
import * as path from 'path';

interface Groups {
  loaded: number;
  primary: Map<number, number>;
  members: Map<string, number[]>;
  names: Map<number, string>;
}

let db: Groups | undefined;

function load(): Groups {
  const now = Date.now();
  if (db && now - db.loaded < 60000) return db;
  const primary = new Map<number, number>();
  const names = new Map<number, string>();
  const members = new Map<string, number[]>();
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length < 4) continue;
      primary.set(Number(f[2]), Number(f[3]));
      names.set(Number(f[2]), f[0]!);
    }
    for (const line of fs.readFileSync('/etc/group', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length < 4 || !f[3]) continue;
      for (const user of f[3].split(',')) {
        const list = members.get(user) ?? [];
        list.push(Number(f[2]));
        members.set(user, list);
      }
    }
  } catch {
    /* no databases: only the uid itself and "other" bits count */
  }
  db = { loaded: now, primary, members, names };
  return db;
}

/** The groups of `uid`: its primary group and those that list it. */
export function groupsOf(uid: number): Set<number> {
  const g = load();
  const out = new Set<number>();
  const p = g.primary.get(uid);
  if (p !== undefined) out.add(p);
  const name = g.names.get(uid);
  if (name) for (const gid of g.members.get(name) ?? []) out.add(gid);
  return out;
}

function permits(st: fs.Stats, uid: number, groups: Set<number>, bit: number): boolean {
  if (uid === 0) return true;
  if (st.uid === uid) return (st.mode & (bit << 6)) !== 0;
  if (groups.has(st.gid)) return (st.mode & (bit << 3)) !== 0;
  return (st.mode & bit) !== 0;
}

export type Access = { ok: true; dev: number; ino: number } | { ok: false; why: string; missing?: boolean };

/**
 * Whether `uid` could read `file`, and if so which file that is (device
 * and inode, for the caller to compare with what it then opens, so a link
 * swapped in between is caught). Symbolic links are resolved one
 * component at a time, each checked as `uid`.
 */
export function readableBy(uid: number, file: string): Access {
  const groups = groupsOf(uid);
  let hops = 0;
  const walk = (target: string): Access => {
    const parts = path.resolve(target).split('/').filter(Boolean);
    let cur = '/';
    for (let i = 0; i < parts.length; i++) {
      const last = i === parts.length - 1;
      const dirSt = fs.statSync(cur);
      if (!permits(dirSt, uid, groups, 1)) return { ok: false, why: `${cur} is not searchable by uid ${uid}` };
      const next = path.join(cur, parts[i]!);
      const lst = fs.lstatSync(next);
      if (lst.isSymbolicLink()) {
        if (++hops > 40) return { ok: false, why: `too many symbolic links at ${next}` };
        const to = path.resolve(cur, fs.readlinkSync(next));
        const rest = parts.slice(i + 1).join('/');
        return walk(rest ? path.join(to, rest) : to);
      }
      if (last) {
        return permits(lst, uid, groups, 4) ? { ok: true, dev: lst.dev, ino: lst.ino } : { ok: false, why: `${next} is not readable by uid ${uid}` };
      }
      cur = next;
    }
    return { ok: false, why: `${file} is not a file` };
  };
  try {
    return walk(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { ok: false, why: err.message, missing: err.code === 'ENOENT' };
  }
}
