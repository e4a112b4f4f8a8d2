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
#include "access.h"

#include <cerrno>
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

// openAs(path, uid, gid, groups, nofollow) => fd, or -errno, or NOT_REGULAR.
// A uid below 0 opens with the PMDA's own credentials (trusted sources).
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
  int flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0);
  int fd, err = 0;
  if (uid < 0) {
    fd = open(path.c_str(), flags);
    if (fd < 0) err = errno;
  } else {
    gid_t saved[256];
    int nsaved = getgroups(256, saved);
    if (nsaved < 0 || syscall(SYS_setgroups, groups.size(), groups.data()) < 0) return Napi::Number::New(env, -EPERM);
    setfsgid((gid_t)gid);
    setfsuid((uid_t)uid);
    // setfsuid reports the previous value; check that the switch happened
    bool switched = setfsuid((uid_t)uid) == uid;
    fd = switched ? open(path.c_str(), flags) : -1;
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
  return Napi::Number::New(env, fd);
}

}  // namespace

// What this file adds to the module, one name a line (the same shape in
// each native/*.cc: a registration table, not repeated logic).
void RegisterAccess(Napi::Env env, Napi::Object exports) {
  exports.Set("openAs", Napi::Function::New(env, OpenAs));
  exports.Set("NOT_REGULAR", Napi::Number::New(env, NOT_REGULAR));
}

}  // namespace pmdajson
