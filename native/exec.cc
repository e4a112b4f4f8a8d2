// data-exec commands, run in the background and contained.
//
// JavaScript starts a command (execStart) and later collects what finished
// (execWait), waiting at most as long as it chooses: a fetch never has to
// wait for a command that another user left hanging.
//
// Each command runs under a shepherd (native/shepherd.cc), a small root
// program. This file starts it once, with posix_spawn (a vfork and an
// exec: the PMDA's memory is neither copied nor made copy-on-write, as a
// fork of a Node.js process would make it), as a server on a socket; for
// each command the server forks a shepherd and sends back its pidfd. The
// shepherd is a child subreaper: it runs the command as its author, and
// when the command exits, or at its deadline, or when the PMDA asks or
// goes away, it kills every process left below it, reaps them all, and
// only then reports and exits. No process of a command outlives its run,
// or the PMDA. The report is the end of a command's run; the server reaps
// the shepherd a moment later.
#include "exec.h"
#include "shepherd.h"
#include "fdpass.h"

#include <spawn.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

namespace pmdajson {
namespace {

long long nowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct Job {
  int id = 0;
  int out = -1, statusFd = -1, pidfd = -1;  // pidfd: the shepherd's
  long long deadline = 0;
  size_t maxBytes = 0;
  std::string output;
  bool eof = false, exited = false, overflow = false, stopped = false;
  // the shepherd wrote its report: everything below it is gone, and it is
  // about to exit (the server reaps it, off the fetch's path)
  bool reported = false;
  Report report{0, 0, 0};
  bool done() const { return exited || reported; }
};

std::unordered_map<int, Job> jobs;
// room left after a command's output: at least simdjson's padding (64)
constexpr size_t kOutputPadding = 64;
// the server (native/shepherd.cc, serve): its pid, and the PMDA's end of its socket
pid_t serverPid = -1;
int serverSock = -1;

void stopServer() {
  if (serverSock >= 0) close(serverSock);
  serverSock = -1;
  if (serverPid > 0) {
    kill(serverPid, SIGKILL);
    waitpid(serverPid, nullptr, 0);
  }
  serverPid = -1;
}

// a server that went away is reaped (and started again at the next command)
void reapServer() {
  if (serverPid > 0 && waitpid(serverPid, nullptr, WNOHANG) == serverPid) {
    serverPid = -1;
    if (serverSock >= 0) close(serverSock);
    serverSock = -1;
  }
}

void signalJob(Job &job, int sig) {
  if (job.pidfd >= 0) syscall(SYS_pidfd_send_signal, job.pidfd, sig, nullptr, 0);
}

int nextId = 1;
// native/shepherd.cc, built beside this module
std::string shepherdPath;

// Start the server, if it is not running: 0-2 on /dev/null, 3 its socket
int startServer() {
  reapServer();
  if (serverSock >= 0) return 0;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return -errno;
  int theirs = fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
  close(sv[1]);
  if (theirs < 0) {
    int e = errno;
    close(sv[0]);
    return -e;
  }
  std::string parent = std::to_string(getpid());
  char *argv[] = {(char *)shepherdPath.c_str(), (char *)"--serve", (char *)parent.c_str(), nullptr};
  char *noEnv[] = {nullptr};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDWR, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_RDWR, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_RDWR, 0);
  posix_spawn_file_actions_adddup2(&fa, theirs, 3);
  posix_spawnattr_t sa;
  posix_spawnattr_init(&sa);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&sa, &none);
  posix_spawnattr_setsigdefault(&sa, &all);
  posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  int e = posix_spawn(&pid, shepherdPath.c_str(), &fa, &sa, argv, noEnv);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&sa);
  close(theirs);
  if (e != 0) {
    close(sv[0]);
    return -e;
  }
  serverPid = pid;
  serverSock = sv[0];
  return 0;
}

// Ask the server for a shepherd of `words` with these two pipes: its pidfd, or -errno
int requestShepherd(const std::string &words, int out, int status) {
  int fds[2] = {out, status};
  if (sendWithFds(serverSock, words.data(), words.size(), fds, 2) < 0) return -errno;
  // the answer: a fork away; a server that does not answer is stopped
  struct pollfd p = {serverSock, POLLIN, 0};
  if (poll(&p, 1, 2000) <= 0) return -ETIMEDOUT;
  int value = 0, got[kMaxPassed], ngot = 0;
  bool cut = false;
  ssize_t n = recvWithFds(serverSock, &value, sizeof(value), got, &ngot, &cut);
  if (n != (ssize_t)sizeof(value)) {
    for (int i = 0; i < ngot; i++) close(got[i]);
    return n < 0 ? -errno : -EPIPE;
  }
  for (int i = 1; i < ngot; i++) close(got[i]);
  int pidfd = ngot > 0 ? got[0] : -1;
  if (value < 0) {
    if (pidfd >= 0) close(pidfd);
    return value;
  }
  return pidfd >= 0 ? pidfd : -ESRCH;
}

// execShepherd(path): where the shepherd program is
Napi::Value ExecShepherd(const Napi::CallbackInfo &info) {
  shepherdPath = info[0].As<Napi::String>().Utf8Value();
  return info.Env().Undefined();
}

std::vector<std::string> strings(Napi::Value v) {
  std::vector<std::string> out;
  if (!v.IsArray()) return out;
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(a.Get(i).As<Napi::String>().Utf8Value());
  return out;
}

long long number(Napi::Object o, const char *key, long long dflt) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Int64Value() : dflt;
}

// execStart({argv, cwd, uid, gid, groups, env, timeoutMs, maxBytes,
//            limits: {as, nofile, nproc, cpu, fsize}}) => id, or -errno
Napi::Value ExecStart(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Object o = info[0].As<Napi::Object>();
  std::vector<std::string> args = strings(o.Get("argv"));
  std::vector<std::string> envs = strings(o.Get("env"));
  std::string cwd = o.Get("cwd").As<Napi::String>().Utf8Value();
  int uid = (int)number(o, "uid", -1), gid = (int)number(o, "gid", -1);
  std::vector<gid_t> groups;
  if (o.Get("groups").IsArray()) {
    Napi::Array g = o.Get("groups").As<Napi::Array>();
    for (uint32_t i = 0; i < g.Length() && i < 256; i++) groups.push_back((gid_t)g.Get(i).As<Napi::Number>().Uint32Value());
  }
  Limits lim;
  if (o.Get("limits").IsObject()) {
    Napi::Object l = o.Get("limits").As<Napi::Object>();
    lim.as = number(l, "as", -1);
    lim.nofile = number(l, "nofile", -1);
    lim.nproc = number(l, "nproc", -1);
    lim.cpu = number(l, "cpu", -1);
    lim.fsize = number(l, "fsize", -1);
  }
  long long timeoutMs = number(o, "timeoutMs", 2000);
  if (args.empty()) return Napi::Number::New(env, -EINVAL);
  if (shepherdPath.empty()) throw Napi::Error::New(env, "execStart: execShepherd(path) was not called");

  int p[2], s[2];
  if (pipe2(p, O_CLOEXEC) < 0) return Napi::Number::New(env, -errno);
  // room for a whole document of up to 1 MiB: the command writes it at
  // once instead of waiting for the PMDA to read each 64 KiB
  fcntl(p[0], F_SETPIPE_SZ, 1 << 20);
  if (pipe2(s, O_CLOEXEC) < 0) {
    int e = errno;
    close(p[0]);
    close(p[1]);
    return Napi::Number::New(env, -e);
  }
  // the shepherd's words (native/shepherd.cc, run), NUL-separated
  std::string groupList;
  for (gid_t g : groups) groupList += (groupList.empty() ? "" : ",") + std::to_string(g);
  std::vector<std::string> list = {std::to_string(timeoutMs), std::to_string(uid), std::to_string(gid), groupList.empty() ? "-" : groupList,
                                   std::to_string(lim.as), std::to_string(lim.nofile), std::to_string(lim.nproc),
                                   std::to_string(lim.cpu), std::to_string(lim.fsize), cwd, std::to_string(envs.size())};
  for (auto &e : envs) list.push_back(e);
  for (auto &a : args) list.push_back(a);
  std::string words;
  for (auto &w : list) {
    words += w;
    words.push_back('\0');
  }
  // a server that went away since the last command is started again, once
  auto ask = [&]() {
    int e = startServer();
    return e < 0 ? e : requestShepherd(words, p[1], s[1]);
  };
  int pidfd = ask();
  if (pidfd < 0 && pidfd != -E2BIG && pidfd != -EMSGSIZE) {
    stopServer();
    pidfd = ask();
  }
  close(p[1]);
  close(s[1]);
  if (pidfd < 0) {
    close(p[0]);
    close(s[0]);
    return Napi::Number::New(env, pidfd);
  }
  Job job;
  job.id = nextId++;
  job.out = p[0];
  job.statusFd = s[0];
  job.pidfd = pidfd;
  // the PMDA's own deadline is a little later than the shepherd's
  job.deadline = nowMs() + timeoutMs + 1000;
  job.maxBytes = (size_t)number(o, "maxBytes", 16 << 20);
  fcntl(job.out, F_SETFL, O_NONBLOCK);
  fcntl(job.statusFd, F_SETFL, O_NONBLOCK);
  int id = job.id;
  jobs[id] = std::move(job);
  return Napi::Number::New(env, id);
}

void drain(Job &job) {
  char buf[65536];
  while (!job.eof) {
    ssize_t r = read(job.out, buf, sizeof(buf));
    if (r > 0) {
      if (!job.overflow) job.output.append(buf, (size_t)r);
      if (job.output.size() > job.maxBytes && !job.overflow) {
        job.overflow = true;
        job.output.clear();
        if (!job.stopped) signalJob(job, SIGTERM);
        job.stopped = true;
      }
      continue;
    }
    if (r == 0) job.eof = true;
    break;
  }
}

void reap(Job &job) {
  if (job.done()) return;
  Report rep;
  ssize_t n = read(job.statusFd, &rep, sizeof(rep));
  if (n == (ssize_t)sizeof(rep)) {
    job.report = rep;
    job.reported = true;
    return;
  }
  // only the shepherd holds the status pipe: at its end without a report,
  // the shepherd is gone (killed)
  if (n == 0) {
    job.exited = true;
    job.report.timedOut = job.stopped ? 1 : 0;
  }
}

// execWait(ids: number[], waitMs) => [{id, status, signal, output, timedOut,
// overflow, errno, error}] for every command that finished (any, not only
// those in ids), waiting up to waitMs for all of ids to finish.
Napi::Value ExecWait(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  reapServer();
  std::vector<int> want;
  if (info[0].IsArray()) {
    Napi::Array a = info[0].As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) want.push_back(a.Get(i).As<Napi::Number>().Int32Value());
  }
  long long waitMs = info[1].IsNumber() ? info[1].As<Napi::Number>().Int64Value() : 0;
  long long until = nowMs() + waitMs;
  for (;;) {
    long long now = nowMs();
    std::vector<struct pollfd> fds;
    for (auto &kv : jobs) {
      Job &job = kv.second;
      drain(job);
      reap(job);
      if (!job.done() && now >= job.deadline) {
        // the shepherd did not finish in time: stop it (it kills the rest)
        signalJob(job, job.stopped ? SIGKILL : SIGTERM);
        job.stopped = true;
        job.deadline = now + 1000;
      }
      if (!job.eof) fds.push_back({job.out, POLLIN, 0});
      if (!job.done() && job.pidfd >= 0) fds.push_back({job.pidfd, POLLIN, 0});
      if (!job.done()) fds.push_back({job.statusFd, POLLIN, 0});
    }
    bool pending = false;
    for (int id : want) {
      auto it = jobs.find(id);
      if (it != jobs.end() && !(it->second.done() && it->second.eof)) pending = true;
    }
    long long left = until - now;
    if (!pending || left <= 0 || fds.empty()) break;
    poll(fds.data(), fds.size(), (int)(left < 50 ? left : 50));
  }
  Napi::Array results = Napi::Array::New(env);
  uint32_t n = 0;
  for (auto it = jobs.begin(); it != jobs.end();) {
    Job &job = it->second;
    // a shepherd reports after every process below it is gone, so once it
    // has exited the output is complete: whatever is still unread is read now
    if (job.done()) drain(job);
    if (!job.done()) {
      ++it;
      continue;
    }
    Napi::Object r = Napi::Object::New(env);
    int st = job.report.status;
    r.Set("id", job.id);
    r.Set("status", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    r.Set("signal", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    // the output with zeroed room after it for simdjson (native/query.cc
    // parses it where it is): a view of the first `size` bytes
    size_t size = job.output.size();
    Napi::ArrayBuffer room = Napi::ArrayBuffer::New(env, size + kOutputPadding);
    std::memcpy(room.Data(), job.output.data(), size);
    std::memset(static_cast<char *>(room.Data()) + size, 0, kOutputPadding);
    r.Set("output", Napi::Uint8Array::New(env, size, room, 0));
    r.Set("timedOut", job.report.timedOut != 0 && !job.overflow);
    r.Set("overflow", job.overflow);
    r.Set("errno", job.report.spawnErrno);
    r.Set("error", job.report.spawnErrno ? Napi::String::New(env, strerror(job.report.spawnErrno)) : env.Null());
    results[n++] = r;
    close(job.out);
    close(job.statusFd);
    if (job.pidfd >= 0) close(job.pidfd);
    it = jobs.erase(it);
  }
  return results;
}

// execRunning() => commands not yet collected
Napi::Value ExecRunning(const Napi::CallbackInfo &info) {
  reapServer();
  return Napi::Number::New(info.Env(), (double)jobs.size());
}

}  // namespace

// What this file adds to the module, one name a line (the same shape in
// each native/*.cc: a registration table, not repeated logic).
void RegisterExec(Napi::Env env, Napi::Object exports) {
  exports.Set("execStart", Napi::Function::New(env, ExecStart));
  exports.Set("execWait", Napi::Function::New(env, ExecWait));
  exports.Set("execShepherd", Napi::Function::New(env, ExecShepherd));
  exports.Set("execRunning", Napi::Function::New(env, ExecRunning));
}

}  // namespace pmdajson
