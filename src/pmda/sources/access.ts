// Access: who a source's author is, and opening its files as that user.
//
// The PMDA runs as root and the default source directory is world
// writable, so a file named by an untrusted source must not become a way
// to read what its author could not (say /root/.docker/config.json). The
// author of a source is the owner of its metadata.json (as lstat shows
// it: the owner of a link, not of what it points to). Every file of an
// untrusted source is opened by the kernel with the author's credentials
// (native/access.cc), never checked first and opened as root afterwards;
// its commands run as the author too (src/pmda/commands/exec.ts).
//
// A hard link lends no identity: a link to alice's metadata.json in
// bob's directory is alice's inode, but bob chose what sits beside it
// (the run.sh its data-exec names, the data files). So the metadata.json
// of an untrusted source must have the owner of the directory holding it
// (sourceAuthor); a source that does not is refused. The number of links
// is not looked at: anyone may link to anyone's file (where
// fs.protected_hardlinks is 0), and alice's own source must not go down
// because bob linked to her file somewhere else.
//
// Two corner cases, decided here:
// - a metadata.json owned by root in an untrusted directory: root never
//   lends its rights to a world-writable tree, so such a source is served
//   as user nobody (root's sources belong in trusted_directory_list);
// - an owner uid with no passwd entry: served as that uid, with the
//   nobody account's group and no supplementary groups.
import * as fs from 'fs';
import * as path from 'path';
import { native } from '../native';
import type { Found } from './discovery';

/** The credentials a source's files are opened, and its commands run, with. */
export interface Author {
  uid: number;
  gid: number;
  groups: number[];
  /** For the log: a user name, or the uid. */
  name: string;
}

interface Accounts {
  loaded: number;
  users: Map<number, { name: string; gid: number }>;
  members: Map<string, number[]>;
}

let db: Accounts | undefined;

function accounts(): Accounts {
  const now = Date.now();
  if (db && now - db.loaded < 60000) return db;
  const users = new Map<number, { name: string; gid: number }>();
  const members = new Map<string, number[]>();
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length >= 4 && !users.has(Number(f[2]))) users.set(Number(f[2]), { name: f[0]!, gid: Number(f[3]) });
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
    /* no databases: every owner is a uid with no account */
  }
  db = { loaded: now, users, members };
  return db;
}

const NOBODY_UID = 65534;

/** The nobody account (uid and gid), from the passwd database. */
export function nobody(): Author {
  for (const [uid, u] of accounts().users) if (u.name === 'nobody') return { uid, gid: u.gid, groups: [u.gid], name: 'nobody' };
  return { uid: NOBODY_UID, gid: NOBODY_UID, groups: [], name: 'nobody' };
}

/** The credentials of the user owning a file with owner `uid`. */
export function authorOf(uid: number): Author {
  if (uid === 0) return nobody();
  const a = accounts();
  const user = a.users.get(uid);
  if (!user) {
    const gid = nobody().gid;
    return { uid, gid, groups: [], name: `uid ${uid}` };
  }
  const groups = new Set<number>([user.gid, ...(a.members.get(user.name) ?? [])]);
  return { uid, gid: user.gid, groups: [...groups], name: user.name };
}

/**
 * The author of the untrusted source in `dir` described by `file`
 * (metadata.json or schema.json), or why it has none: the owner of the
 * file (of the link, if it is one), who must also own `dir`. `dir` is
 * looked at without following a link unless it is one of the configured
 * directories (`followDir`): a link swapped in for a source directory
 * between the two looks belongs to whoever made the link.
 */
export function sourceAuthor(dir: string, file: string, followDir = false): Author | { error: string } {
  const meta = path.join(dir, file);
  let owner: number;
  let dirOwner: number;
  try {
    owner = fs.lstatSync(meta).uid;
    dirOwner = (followDir ? fs.statSync(dir) : fs.lstatSync(dir)).uid;
  } catch (e) {
    return { error: `cannot read ${meta}: ${(e as Error).message}` };
  }
  return authorOwning(dir, file, owner, dirOwner);
}

/** sourceAuthor, with the owners of `file` and of `dir` looked up already (the walk looks up thousands at once). */
export function authorOwning(dir: string, file: string, owner: number, dirOwner: number): Author | { error: string } {
  if (owner !== dirOwner) {
    const meta = path.join(dir, file);
    const who = (uid: number): string => (uid === 0 ? 'root' : authorOf(uid).name);
    return { error: `refusing source ${dir}: ${meta} is owned by ${who(owner)}, but its directory ${dir} by ${who(dirOwner)}: a source's ${file} must have the owner of its directory (a hard link to another user's file lends no identity)` };
  }
  return authorOf(owner);
}

/** The PMDA's own credentials, for trusted sources (and a PMDA not run as root). */
export const ROOT: Author = { uid: -1, gid: -1, groups: [], name: 'root' };

const asRoot = process.getuid !== undefined && process.getuid() === 0;

export class OpenError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

const ERRNO: Record<number, [string, string]> = {
  1: ['EPERM', 'operation not permitted'],
  2: ['ENOENT', 'no such file or directory'],
  13: ['EACCES', 'permission denied'],
  20: ['ENOTDIR', 'not a directory'],
  21: ['EISDIR', 'is a directory'],
  40: ['ELOOP', 'too many levels of symbolic links'],
  36: ['ENAMETOOLONG', 'file name too long'],
};

/**
 * Open `file` for reading as `author` (the PMDA's own credentials for
 * ROOT): never blocking, regular files only. With `stamp`, what fstat
 * says of it is written there, from element `stampAt` (src/pmda/sources/datafile.ts). Returns the descriptor;
 * throws an OpenError whose message is what the author could have
 * learnt by trying themselves.
 */
export function openAs(author: Author, file: string, nofollow = false, stamp?: BigUint64Array, stampAt = 0): number {
  const r = native.openAs(file, uidOf(author), author.gid, author.groups, nofollow, stamp, stampAt);
  if (r >= 0) return r;
  throw openError(r);
}

/** The uid the shim opens files of `author` with: -1 for the PMDA's own credentials. */
export function uidOf(author: Author): number {
  return asRoot ? author.uid : -1;
}

/** The OpenError of what the shim answered for an open (-errno, or NOT_REGULAR). */
export function openError(r: number): OpenError {
  if (r === native.NOT_REGULAR) return new OpenError('not a regular file', 'ENOTREG');
  const [code, text] = ERRNO[-r] ?? [`errno ${-r}`, `error ${-r}`];
  return new OpenError(text, code);
}

/**
 * The owners of the untrusted sources' metadata (lstat) and of their
 * directories (the walk's lstat, or lstat now), looked up at once:
 * two numbers per source, -1 for one not looked up here (a configured
 * directory, followed, and trusted sources), below 0 if it cannot be.
 */
export function ownersOf(found: Found[], directoryList: readonly string[]): Float64Array {
  const files: string[] = [];
  const dirs: string[] = [];
  const top = new Set(directoryList.map((d) => path.resolve(d)));
  for (const f of found) if (!f.trusted) files.push(path.join(f.dir, f.describedBy));
  for (const f of found) if (!f.trusted && f.owner === undefined && !top.has(f.dir)) dirs.push(f.dir);
  const fileOwners = native.owners(files, false);
  const dirOwners = native.owners(dirs, false);
  const out = new Float64Array(2 * found.length).fill(-1);
  let file = 0;
  let dir = 0;
  found.forEach((f, i) => {
    if (f.trusted) return;
    out[2 * i] = fileOwners[2 * file++]!;
    if (f.owner !== undefined) out[2 * i + 1] = f.owner;
    else if (!top.has(f.dir)) out[2 * i + 1] = dirOwners[2 * dir++]!;
  });
  return out;
}
