// Opening an untrusted source's files as their author would.
//
// The PMDA runs as root, but a file that an untrusted source names must
// be opened with the permissions of the source's author. Checking the
// permission bits first and opening as root afterwards leaves a window in
// which a link can be swapped; so the open itself is done by the kernel
// with the author's credentials: the calling thread's filesystem uid and
// gid (setfsuid, setfsgid) and supplementary groups (the raw setgroups
// system call, which, unlike glibc's wrapper, changes this thread only)
// are switched for the one open call and switched back at once. Node's
// other threads keep root's credentials throughout.
//
// The open never blocks (O_NONBLOCK: a FIFO answers at once) and only a
// regular file is accepted, as the open descriptor shows it.
//
// A data file's open also writes its stamp: what fstat says of the open
// descriptor, and whether its name was a symbolic link. sameFile compares
// a descriptor kept open with such a stamp, in one fstat and no change of
// credentials (src/pmda/sources/datafile.ts says when that is enough).
#include "access.h"

#include <cerrno>
#include <cstdint>
#include <vector>

#include <fcntl.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace pmdajson {
namespace {

// What openAs answers for a file that is not a regular file.
constexpr int NOT_REGULAR = -10000;

// The stamp's fields: STAMP_LENGTH elements of a BigUint64Array, from
// element `at` (the data files' stamps share one array).
enum { ST_DEV, ST_INO, ST_SIZE, ST_MTIME_S, ST_MTIME_NS, ST_CTIME_S, ST_CTIME_NS, ST_NLINK, ST_LINKED, STAMP_LENGTH };

uint64_t *stampOf(const Napi::Value &v, const Napi::Value &atArg) {
  if (!v.IsTypedArray()) return nullptr;
  Napi::TypedArray t = v.As<Napi::TypedArray>();
  int64_t at = atArg.IsNumber() ? atArg.As<Napi::Number>().Int64Value() : 0;
  if (t.TypedArrayType() != napi_biguint64_array || at < 0 || t.ElementLength() < (size_t)at + STAMP_LENGTH) return nullptr;
  return t.As<Napi::TypedArrayOf<uint64_t>>().Data() + at;
}

void writeStamp(uint64_t *s, const struct stat &st) {
  s[ST_DEV] = st.st_dev;
  s[ST_INO] = st.st_ino;
  s[ST_SIZE] = (uint64_t)st.st_size;
  s[ST_MTIME_S] = (uint64_t)st.st_mtim.tv_sec;
  s[ST_MTIME_NS] = (uint64_t)st.st_mtim.tv_nsec;
  s[ST_CTIME_S] = (uint64_t)st.st_ctim.tv_sec;
  s[ST_CTIME_NS] = (uint64_t)st.st_ctim.tv_nsec;
  s[ST_NLINK] = st.st_nlink;
}

// With a stamp, a name that is not a link is opened with O_NOFOLLOW, and
// one that is, again without it: no extra system call for a plain file.
int openFile(const char *path, int flags, uint64_t *stamp) {
  if (!stamp || (flags & O_NOFOLLOW)) return open(path, flags);
  stamp[ST_LINKED] = 0;
  int fd = open(path, flags | O_NOFOLLOW);
  if (fd < 0 && errno == ELOOP) {
    stamp[ST_LINKED] = 1;
    fd = open(path, flags);
  }
  return fd;
}

// openAs(path, uid, gid, groups, nofollow, stamp?) => fd, or -errno, or
// NOT_REGULAR. A uid below 0 opens with the PMDA's own credentials
// (trusted sources).
Napi::Value OpenAs(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int uid = info[1].As<Napi::Number>().Int32Value();
  int gid = info[2].As<Napi::Number>().Int32Value();
  std::vector<gid_t> groups;
  if (info[3].IsArray()) {
    Napi::Array g = info[3].As<Napi::Array>();
    for (uint32_t i = 0; i < g.Length() && i < 256; i++) groups.push_back((gid_t)g.Get(i).As<Napi::Number>().Uint32Value());
  }
  bool nofollow = info[4].IsBoolean() && info[4].As<Napi::Boolean>().Value();
  uint64_t *stamp = stampOf(info[5], info[6]);
  int flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0);
  int fd, err = 0;
  if (uid < 0) {
    fd = openFile(path.c_str(), flags, stamp);
    if (fd < 0) err = errno;
  } else {
    gid_t saved[256];
    int nsaved = getgroups(256, saved);
    if (nsaved < 0 || syscall(SYS_setgroups, groups.size(), groups.data()) < 0) return Napi::Number::New(env, -EPERM);
    setfsgid((gid_t)gid);
    setfsuid((uid_t)uid);
    // setfsuid reports the previous value; check that the switch happened
    bool switched = setfsuid((uid_t)uid) == uid;
    fd = switched ? openFile(path.c_str(), flags, stamp) : -1;
    err = switched ? (fd < 0 ? errno : 0) : EPERM;
    setfsuid(0);
    setfsgid(0);
    syscall(SYS_setgroups, nsaved, saved);
  }
  if (fd < 0) return Napi::Number::New(env, -err);
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return Napi::Number::New(env, NOT_REGULAR);
  }
  if (stamp) writeStamp(stamp, st);
  return Napi::Number::New(env, fd);
}

// sameFile(fd, stamps, at) => 1 if fstat of fd says what the stamp at
// `at` says, 0 if not, -errno if fstat fails.
Napi::Value SameFile(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  uint64_t *stamp = stampOf(info[1], info[2]);
  if (!stamp) return Napi::Number::New(env, -EINVAL);
  struct stat st;
  if (fstat(fd, &st) < 0) return Napi::Number::New(env, -errno);
  uint64_t now[STAMP_LENGTH];
  writeStamp(now, st);
  for (int i = 0; i < ST_LINKED; i++)
    if (now[i] != stamp[i]) return Napi::Number::New(env, 0);
  return Napi::Number::New(env, 1);
}

}  // namespace

// What this file adds to the module, one name a line (the same shape in
// each native/*.cc: a registration table, not repeated logic).
void RegisterAccess(Napi::Env env, Napi::Object exports) {
  exports.Set("openAs", Napi::Function::New(env, OpenAs));
  exports.Set("NOT_REGULAR", Napi::Number::New(env, NOT_REGULAR));
  exports.Set("sameFile", Napi::Function::New(env, SameFile));
  exports.Set("STAMP_LENGTH", Napi::Number::New(env, STAMP_LENGTH));
  exports.Set("STAMP_SIZE", Napi::Number::New(env, ST_SIZE));
  exports.Set("STAMP_DATA", Napi::Number::New(env, ST_CTIME_S));
  exports.Set("STAMP_LINKED", Napi::Number::New(env, ST_LINKED));
}

}  // namespace pmdajson
