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
#include <string>
#include <system_error>
#include <thread>
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

// Does `st` say what the stamp says (all but whether a link was followed)?
bool stampSays(const uint64_t *stamp, const struct stat &st) {
  uint64_t now[STAMP_LENGTH];
  writeStamp(now, st);
  for (int i = 0; i < ST_LINKED; i++)
    if (now[i] != stamp[i]) return false;
  return true;
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

// The calling thread's filesystem credentials switched to a user's for
// as long as it lives (a uid below 0: kept as they are), and back at its
// end. ok() says whether the switch happened.
class AsUser {
 public:
  AsUser(int uid, gid_t gid, const std::vector<gid_t> &groups) : uid_(uid) {
    if (uid < 0) return;
    // the PMDA's own groups, looked up once: only this class changes
    // them, and it puts them back
    static gid_t saved[256];
    static int nsaved = getgroups(256, saved);
    saved_ = saved;
    nsaved_ = nsaved;
    if (nsaved_ < 0 || syscall(SYS_setgroups, groups.size(), groups.data()) < 0) {
      uid_ = -1;
      failed_ = true;
      return;
    }
    setfsgid(gid);
    setfsuid((uid_t)uid);
    // setfsuid reports the previous value; check that the switch happened
    failed_ = setfsuid((uid_t)uid) != uid;
  }
  ~AsUser() {
    if (uid_ < 0) return;
    setfsuid(0);
    setfsgid(0);
    syscall(SYS_setgroups, nsaved_, saved_);
  }
  bool ok() const { return !failed_; }

 private:
  int uid_;
  bool failed_ = false;
  const gid_t *saved_ = nullptr;
  int nsaved_ = 0;
};

std::vector<gid_t> groupsOf(const Napi::Value &v) {
  std::vector<gid_t> groups;
  if (v.IsArray()) {
    Napi::Array g = v.As<Napi::Array>();
    for (uint32_t i = 0; i < g.Length() && i < 256; i++) groups.push_back((gid_t)g.Get(i).As<Napi::Number>().Uint32Value());
  }
  return groups;
}

constexpr int OPEN_FLAGS = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;

// openAs(path, uid, gid, groups, nofollow, stamp?) => fd, or -errno, or
// NOT_REGULAR. A uid below 0 opens with the PMDA's own credentials
// (trusted sources).
Napi::Value OpenAs(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int uid = info[1].As<Napi::Number>().Int32Value();
  gid_t gid = (gid_t)info[2].As<Napi::Number>().Int32Value();
  bool nofollow = info[4].IsBoolean() && info[4].As<Napi::Boolean>().Value();
  uint64_t *stamp = stampOf(info[5], info[6]);
  int flags = OPEN_FLAGS | (nofollow ? O_NOFOLLOW : 0);
  int fd, err = 0;
  {
    AsUser as(uid, gid, groupsOf(info[3]));
    fd = as.ok() ? openFile(path.c_str(), flags, stamp) : -1;
    err = as.ok() ? (fd < 0 ? errno : 0) : EPERM;
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

// One file read by ReadFilesAs: its text, or why not.
struct FileRead {
  int err = 0;  // -errno, NOT_REGULAR, or 0
  bool tooBig = false;
  bool grew = false;
  struct stat st {};
  std::string text;
};

// Read an open regular file to its end, at most `max` bytes, as
// src/pmda/sources/read.ts readInto does: one read when fstat's size
// holds. `buf` is the scratch space, kept between files.
void readWhole(int fd, double max, std::vector<char> &buf, FileRead &r) {
  size_t size = (size_t)r.st.st_size, length = 0;
  if (buf.size() < size + 1) buf.resize(size + 1);
  for (;;) {
    if (buf.size() - length < 4096) buf.resize(buf.size() * 2);
    size_t asked = buf.size() - length;
    ssize_t n = read(fd, buf.data() + length, asked);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    length += (size_t)n;
    if ((double)length > max) {
      r.grew = true;
      return;
    }
    if (size > 0 && length >= size && (size_t)n < asked) break;
  }
  r.text.assign(buf.data(), length);
}

// readFilesAs(paths, from, uid, gid, groups, maxBytes, budget) => for
// paths from `from` on, each one's text and stamp [text, dev, ino, size,
// mtime s, mtime ns], or -errno or NOT_REGULAR, or [null, size] when it
// is bigger than maxBytes, or [false, max] when it grew past it while
// read; as many as are read before their texts pass `budget` bytes (at
// least one). Every file is opened as openAs opens it (no O_NOFOLLOW),
// with one switch of credentials for all.
Napi::Value ReadFilesAs(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Array paths = info[0].As<Napi::Array>();
  uint32_t from = info[1].As<Napi::Number>().Uint32Value();
  int uid = info[2].As<Napi::Number>().Int32Value();
  gid_t gid = (gid_t)info[3].As<Napi::Number>().Int32Value();
  double max = info[5].As<Napi::Number>().DoubleValue();
  double budget = info[6].As<Napi::Number>().DoubleValue();
  std::vector<std::string> names;
  for (uint32_t i = from; i < paths.Length(); i++) names.push_back(paths.Get(i).As<Napi::String>().Utf8Value());
  std::vector<FileRead> reads;
  reads.reserve(names.size());
  {
    AsUser as(uid, gid, groupsOf(info[4]));
    std::vector<char> buf(65536);
    double total = 0;
    for (size_t i = 0; i < names.size() && (i == 0 || total < budget); i++) {
      FileRead &r = reads.emplace_back();
      int fd = as.ok() ? open(names[i].c_str(), OPEN_FLAGS) : -1;
      if (fd < 0) {
        r.err = as.ok() ? -errno : -EPERM;
        continue;
      }
      if (fstat(fd, &r.st) < 0 || !S_ISREG(r.st.st_mode)) r.err = NOT_REGULAR;
      else if ((double)r.st.st_size > max) r.tooBig = true;
      else readWhole(fd, max, buf, r);
      close(fd);
      total += (double)r.text.size();
    }
  }
  Napi::Array out = Napi::Array::New(env, reads.size());
  for (size_t i = 0; i < reads.size(); i++) {
    const FileRead &r = reads[i];
    if (r.err != 0) {
      out.Set(i, Napi::Number::New(env, r.err));
      continue;
    }
    Napi::Array a = Napi::Array::New(env);
    if (r.tooBig || r.grew) {
      a.Set(0u, r.tooBig ? env.Null() : Napi::Boolean::New(env, false));
      a.Set(1u, Napi::Number::New(env, r.tooBig ? (double)r.st.st_size : max));
    } else {
      a.Set(0u, Napi::String::New(env, r.text.data(), r.text.size()));
      a.Set(1u, Napi::Number::New(env, (double)r.st.st_dev));
      a.Set(2u, Napi::Number::New(env, (double)r.st.st_ino));
      a.Set(3u, Napi::Number::New(env, (double)r.st.st_size));
      a.Set(4u, Napi::Number::New(env, (double)r.st.st_mtim.tv_sec));
      a.Set(5u, Napi::Number::New(env, (double)r.st.st_mtim.tv_nsec));
    }
    out.Set(i, a);
  }
  return out;
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
  return Napi::Number::New(env, stampSays(stamp, st) ? 1 : 0);
}

// samePath(path, stamps, at) => 1 if lstat finds at `path` the file of
// the stamp at `at`, unchanged; 0 if not; -errno. As the PMDA, not as an
// author: it reads nothing, and tells only whether the data read from
// that file (as its author) is still what the file holds.
Napi::Value SamePath(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  uint64_t *stamp = stampOf(info[1], info[2]);
  if (!stamp) return Napi::Number::New(env, -EINVAL);
  struct stat st;
  if (lstat(path.c_str(), &st) < 0) return Napi::Number::New(env, -errno);
  return Napi::Number::New(env, S_ISREG(st.st_mode) && stampSays(stamp, st) ? 1 : 0);
}

// owners(paths, follow) => per path, the owner and mode of what lstat
// (stat with `follow`) says it is, two numbers each, or -errno and 0:
// thousands of sources' owners at start, with no fs.Stats made for each.
Napi::Value Owners(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Array paths = info[0].As<Napi::Array>();
  bool follow = info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
  uint32_t n = paths.Length();
  Napi::Float64Array out = Napi::Float64Array::New(env, 2 * (size_t)n);
  for (uint32_t i = 0; i < n; i++) {
    std::string path = paths.Get(i).As<Napi::String>().Utf8Value();
    struct stat st;
    if ((follow ? stat(path.c_str(), &st) : lstat(path.c_str(), &st)) < 0) {
      out[2 * i] = -errno;
      out[2 * i + 1] = 0;
    } else {
      out[2 * i] = st.st_uid;
      out[2 * i + 1] = st.st_mode;
    }
  }
  return out;
}

// stamps(paths) => per path, STAT_FIELDS numbers of what lstat says:
// owner (or -errno), mode, group, the device's and inode's high and low
// 32 bits, size, and the modification and change times' seconds and
// nanoseconds: exact, and compared a number at a time, with no fs.Stats
// or string made for each (thousands of them at a warm start).
enum { SF_UID, SF_MODE, SF_GID, SF_DEV_HI, SF_DEV_LO, SF_INO_HI, SF_INO_LO, SF_SIZE, SF_MTIME_S, SF_MTIME_NS, SF_CTIME_S, SF_CTIME_NS, STAT_FIELDS };

void stampOne(const std::string &path, double *o) {
  struct stat st;
  if (lstat(path.c_str(), &st) < 0) {
    o[SF_UID] = -errno;
    return;
  }
  o[SF_UID] = st.st_uid;
  o[SF_MODE] = st.st_mode;
  o[SF_GID] = st.st_gid;
  o[SF_DEV_HI] = (double)((uint64_t)st.st_dev >> 32);
  o[SF_DEV_LO] = (double)((uint64_t)st.st_dev & 0xffffffffu);
  o[SF_INO_HI] = (double)((uint64_t)st.st_ino >> 32);
  o[SF_INO_LO] = (double)((uint64_t)st.st_ino & 0xffffffffu);
  o[SF_SIZE] = (double)st.st_size;
  o[SF_MTIME_S] = (double)st.st_mtim.tv_sec;
  o[SF_MTIME_NS] = (double)st.st_mtim.tv_nsec;
  o[SF_CTIME_S] = (double)st.st_ctim.tv_sec;
  o[SF_CTIME_NS] = (double)st.st_ctim.tv_nsec;
}

// Thousands of lstats are shared with a second thread: the system calls
// are most of the cost, and take as long again on this thread alone.
const uint32_t STAMPS_SHARED = 512;

Napi::Value Stamps(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Array paths = info[0].As<Napi::Array>();
  uint32_t n = paths.Length();
  Napi::Float64Array out = Napi::Float64Array::New(env, STAT_FIELDS * (size_t)n);
  std::vector<std::string> names(n);
  for (uint32_t i = 0; i < n; i++) names[i] = paths.Get(i).As<Napi::String>().Utf8Value();
  stampPaths(names.data(), names.size(), out.Data());
  return out;
}

}  // namespace

const int STAT_FIELDS_COUNT = STAT_FIELDS;

void stampPaths(const std::string *names, size_t n, double *o, bool share) {
  auto stamp = [names, o](size_t from, size_t to) {
    for (size_t i = from; i < to; i++) stampOne(names[i], o + i * STAT_FIELDS);
  };
  if (!share || n < STAMPS_SHARED) return stamp(0, n);
  std::thread other;
  try {
    other = std::thread(stamp, n / 2, n);
  } catch (const std::system_error &) {
    // no thread to be had (a limit reached): all of them on this one
    return stamp(0, n);
  }
  stamp(0, n / 2);
  other.join();
}

// What this file adds to the module, one name a line (the same shape in
// each native/*.cc: a registration table, not repeated logic).
void RegisterAccess(Napi::Env env, Napi::Object exports) {
  exports.Set("openAs", Napi::Function::New(env, OpenAs));
  exports.Set("owners", Napi::Function::New(env, Owners));
  exports.Set("stamps", Napi::Function::New(env, Stamps));
  exports.Set("STAT_FIELDS", Napi::Number::New(env, STAT_FIELDS));
  exports.Set("readFilesAs", Napi::Function::New(env, ReadFilesAs));
  exports.Set("NOT_REGULAR", Napi::Number::New(env, NOT_REGULAR));
  exports.Set("sameFile", Napi::Function::New(env, SameFile));
  exports.Set("samePath", Napi::Function::New(env, SamePath));
  exports.Set("STAMP_LENGTH", Napi::Number::New(env, STAMP_LENGTH));
  exports.Set("STAMP_SIZE", Napi::Number::New(env, ST_SIZE));
  exports.Set("STAMP_DATA", Napi::Number::New(env, ST_CTIME_S));
  exports.Set("STAMP_LINKED", Napi::Number::New(env, ST_LINKED));
}

}  // namespace pmdajson
