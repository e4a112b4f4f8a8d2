// Directory change notification (inotify), read synchronously.
//
// Discovery walks the source directories only when something in them
// changed: the kernel queues the events as the changes happen, so reading
// the queue at the start of a fetch misses nothing that happened before.
// watchNotify also has libuv call JavaScript when events are queued,
// between PDUs, so that a data file replaced can be read before the next
// fetch asks for it (src/pmda/agent.ts, prefetch).
#include "watch.h"

#include <cerrno>
#include <cstdio>
#include <string>
#include <unordered_set>
#include <vector>
#include <uv.h>
#include <linux/magic.h>
#include <sys/inotify.h>
#include <sys/vfs.h>
#include <unistd.h>

namespace pmdajson {
namespace {

int inotifyFd = -1;

Napi::Value WatchInit(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), openWatchQueue());
}

// the events of a source directory's watch
const uint32_t DIR_EVENTS = IN_ATTRIB | IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF |
                            IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR;

// watchAdd(dir) => its watch descriptor, or -errno
Napi::Value WatchAdd(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (inotifyFd < 0) return Napi::Number::New(env, -EBADF);
  return Napi::Number::New(env, watchDirectory(info[0].As<Napi::String>().Utf8Value().c_str()));
}

// File systems whose every change to a file's inode inotify reports,
// whoever makes it: local ones. On a network file system another host's
// writes raise no event, so a file there is checked with fstat instead.
bool localFs(long type) {
  switch (type) {
    case EXT4_SUPER_MAGIC:  // also ext2 and ext3
    case XFS_SUPER_MAGIC:
    case BTRFS_SUPER_MAGIC:
    case TMPFS_MAGIC:
    case RAMFS_MAGIC:
    case F2FS_SUPER_MAGIC:
      return true;
    default:
      return false;
  }
}

// watchFile(fd) => watch descriptor of the open file's own inode, or
// -errno (-EXDEV: not a local file system). Its events say that the file
// was written, truncated, had its times, mode or links changed, through
// any of its names (src/pmda/sources/datafile.ts).
Napi::Value WatchFile(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (inotifyFd < 0) return Napi::Number::New(env, -EBADF);
  int fd = info[0].As<Napi::Number>().Int32Value();
  struct statfs fs;
  if (fstatfs(fd, &fs) < 0) return Napi::Number::New(env, -errno);
  if (!localFs((long)fs.f_type)) return Napi::Number::New(env, -EXDEV);
  // the descriptor's own file, whatever its name now leads to
  char proc[64];
  snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
  const uint32_t mask = IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF;
  int wd = inotify_add_watch(inotifyFd, proc, mask);
  return Napi::Number::New(env, wd < 0 ? -errno : wd);
}

// watchRemove(wd) => 0 or -errno
Napi::Value WatchRemove(const Napi::CallbackInfo &info) {
  if (inotifyFd < 0) return Napi::Number::New(info.Env(), -EBADF);
  int wd = info[0].As<Napi::Number>().Int32Value();
  return Napi::Number::New(info.Env(), inotify_rm_watch(inotifyFd, wd) < 0 ? -errno : 0);
}

// Events read by onNotify that JavaScript has not yet read (watchRead
// gives them first), at most PENDING_MAX bytes (the rest stays queued).
std::vector<char> pending;
constexpr size_t PENDING_MAX = 1 << 20;
// The names of the files whose events JavaScript must hear of
// (watchNames'), once `filtering`.
std::unordered_set<std::string> wakeNames;
bool filtering = false;

// Read what is queued, up to `max` bytes in all, onto the end of `to`.
void readEvents(std::vector<char> &to, size_t max) {
  alignas(struct inotify_event) char buf[16384];
  while (to.size() < max) {
    ssize_t len = read(inotifyFd, buf, sizeof(buf));
    if (len <= 0) break;
    to.insert(to.end(), buf, buf + len);
  }
}

// Call f on each event of `events`.
template <typename F>
void eachEvent(const std::vector<char> &events, F f) {
  for (size_t at = 0; at + sizeof(struct inotify_event) <= events.size();) {
    const struct inotify_event *ev = reinterpret_cast<const struct inotify_event *>(events.data() + at);
    f(ev);
    at += sizeof(struct inotify_event) + ev->len;
  }
}

// Must JavaScript hear of this event? Not of one about a file (not a
// directory) whose name is none of wakeNames (the files that describe
// sources, and the names of data files): a walk looks only for
// directories and for those files, and what happens to other files
// concerns no source. A producer that writes a temporary file and
// renames it over its data file then wakes the PMDA once (the rename),
// not three times (the create, the close, the rename). Events of a
// directory itself, of a kept file's inode and of the queue name no file.
bool heard(const struct inotify_event *ev) {
  return ev->len == 0 || (ev->mask & (IN_ISDIR | IN_Q_OVERFLOW)) || wakeNames.count(ev->name) > 0;
}

// watchRead() => null when nothing happened, else [[mask, name, wd], ...]
// (at most 1024; an overflow is reported as one IN_Q_OVERFLOW entry)
Napi::Value WatchRead(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (inotifyFd < 0) return env.Null();
  std::vector<char> events;
  events.swap(pending);
  readEvents(events, SIZE_MAX);
  if (events.empty()) return env.Null();
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  eachEvent(events, [&](const struct inotify_event *ev) {
    if (n < 1024) {
      Napi::Array e = Napi::Array::New(env, 3);
      e[0u] = ev->mask;
      e[1u] = Napi::String::New(env, ev->len ? ev->name : "");
      e[2u] = ev->wd;
      out[n++] = e;
    } else if (n == 1024) {
      Napi::Array e = Napi::Array::New(env, 3);
      e[0u] = (uint32_t)IN_Q_OVERFLOW;
      e[1u] = Napi::String::New(env, "");
      e[2u] = -1;
      out[n++] = e;
    }
  });
  return out;
}

uv_poll_t notifyHandle;
bool notifying = false;
// never destroyed: a static reference would be released after Node's
// environment is gone, at exit
Napi::FunctionReference *notifyFn = nullptr;

void onNotify(uv_poll_t *, int status, int) {
  if (status < 0 || !notifyFn) return;
  // JavaScript is not called for events it need not hear of
  readEvents(pending, PENDING_MAX);
  bool any = false;
  eachEvent(pending, [&](const struct inotify_event *ev) { any = any || !filtering || heard(ev); });
  if (!any) {
    pending.clear();
    return;
  }
  Napi::Env env = notifyFn->Env();
  Napi::HandleScope scope(env);
  try {
    notifyFn->MakeCallback(env.Global(), {});
  } catch (const Napi::Error &e) {
    fprintf(stderr, "watchNotify: %s\n", e.Message().c_str());
  }
}

// watchNames(names): the names of files whose events wake JavaScript
// (see heard()); until the first call, every name's.
Napi::Value WatchNames(const Napi::CallbackInfo &info) {
  Napi::Array names = info[0].As<Napi::Array>();
  std::unordered_set<std::string> next;
  for (uint32_t i = 0; i < names.Length(); i++) next.insert(names.Get(i).As<Napi::String>().Utf8Value());
  wakeNames.swap(next);
  filtering = true;
  return info.Env().Undefined();
}

// watchNotify(fn) => 0, or -errno: fn() is called whenever events are
// queued that it must hear of (see heard()); it must read them, with
// watchRead, or it is called again.
Napi::Value WatchNotify(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (inotifyFd < 0) return Napi::Number::New(env, -EBADF);
  if (!notifyFn) notifyFn = new Napi::FunctionReference();
  *notifyFn = Napi::Persistent(info[0].As<Napi::Function>());
  if (notifying) return Napi::Number::New(env, 0);
  uv_loop_t *loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  int rc = uv_poll_init(loop, &notifyHandle, inotifyFd);
  if (rc == 0) rc = uv_poll_start(&notifyHandle, UV_READABLE, onNotify);
  if (rc != 0) return Napi::Number::New(env, rc);
  // the PMDA exits when pmcd closes its pipe, whatever else is watched
  uv_unref(reinterpret_cast<uv_handle_t *>(&notifyHandle));
  notifying = true;
  // and JavaScript is not called while Node shuts down
  napi_add_env_cleanup_hook(env, [](void *) {
    if (!notifying) return;
    notifying = false;
    uv_poll_stop(&notifyHandle);
    uv_close(reinterpret_cast<uv_handle_t *>(&notifyHandle), nullptr);
  }, nullptr);
  return Napi::Number::New(env, 0);
}

}  // namespace

// What this file adds to the module, one name a line (the same shape in
// each native/*.cc: a registration table, not repeated logic).
int openWatchQueue() {
  if (inotifyFd < 0) inotifyFd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  return inotifyFd < 0 ? -errno : inotifyFd;
}

int watchDirectory(const char *dir) {
  if (inotifyFd < 0) return -EBADF;
  int wd = inotify_add_watch(inotifyFd, dir, DIR_EVENTS);
  return wd < 0 ? -errno : wd;
}

void RegisterWatch(Napi::Env env, Napi::Object exports) {
  exports.Set("watchInit", Napi::Function::New(env, WatchInit));
  exports.Set("watchAdd", Napi::Function::New(env, WatchAdd));
  exports.Set("watchRead", Napi::Function::New(env, WatchRead));
  exports.Set("watchNames", Napi::Function::New(env, WatchNames));
  exports.Set("watchFile", Napi::Function::New(env, WatchFile));
  exports.Set("watchRemove", Napi::Function::New(env, WatchRemove));
  exports.Set("watchNotify", Napi::Function::New(env, WatchNotify));
  // the event bits discovery tells apart, beside the module's other constants
  Napi::Object c = exports.Get("constants").As<Napi::Object>();
  c.Set("IN_ISDIR", (double)IN_ISDIR);
  c.Set("IN_CLOSE_WRITE", (double)IN_CLOSE_WRITE);
  c.Set("IN_IGNORED", (double)IN_IGNORED);
  c.Set("IN_Q_OVERFLOW", (double)IN_Q_OVERFLOW);
}

}  // namespace pmdajson
