// data-exec commands, run in the background and contained.
//
// JavaScript starts a command (execStart) and later collects what finished
// (execWait), waiting at most as long as it chooses: a fetch never has to
// wait for a command that another user left hanging.
//
// Each command runs under a shepherd: a root process, forked from the
// PMDA, that is a child subreaper (PR_SET_CHILD_SUBREAPER). The shepherd
// forks the command, which takes the author's uid, gid and groups, its own
// session, the default signal dispositions and the resource limits before
// exec. Whatever the command forks, however often it forks or calls
// setsid, stays below the shepherd: when the command exits, or at its
// deadline, or when the PMDA asks or goes away, the shepherd kills every
// process left below it, reaps them all, and only then exits and reports.
// No process of a command outlives its run, or the PMDA.
#include "exec.h"

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

struct Limits {
  long long as = -1, nofile = -1, nproc = -1, cpu = -1, fsize = -1;
};

// What the shepherd reports on its status pipe when it is done.
struct Report {
  int spawnErrno;  // the command could not be started (chdir, credentials, exec)
  int status;      // the command's wait status
  int timedOut;    // killed at the deadline
};

struct Job {
  int id = 0;
  pid_t pid = -1;  // the shepherd
  int out = -1, statusFd = -1, pidfd = -1;
  long long deadline = 0;
  size_t maxBytes = 0;
  std::string output;
  bool eof = false, exited = false, overflow = false, stopped = false;
  Report report{0, 0, 0};
};

std::unordered_map<int, Job> jobs;
int nextId = 1;

volatile sig_atomic_t stopNow = 0;
void onStop(int) { stopNow = 1; }

void setLimit(int resource, long long value) {
  if (value < 0) return;
  struct rlimit rl;
  rl.rlim_cur = rl.rlim_max = (rlim_t)value;
  setrlimit(resource, &rl);
}

void defaultSignals() {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

// The command, between fork and exec: async-signal-safe calls only.
[[noreturn]] void command(char *const argv[], char *const envp[], const char *cwd, int uid, int gid,
                          const std::vector<gid_t> &groups, const Limits &lim, int out, int devnull, int errfd) {
  setsid();
  defaultSignals();
  dup2(devnull, 0);
  dup2(out, 1);
  dup2(devnull, 2);
  int e = 0;
  setLimit(RLIMIT_AS, lim.as);
  setLimit(RLIMIT_NOFILE, lim.nofile);
  setLimit(RLIMIT_NPROC, lim.nproc);
  setLimit(RLIMIT_CPU, lim.cpu);
  setLimit(RLIMIT_FSIZE, lim.fsize);
  setLimit(RLIMIT_CORE, 0);
  if (!e && uid >= 0) {
    if (setgroups(groups.size(), groups.data()) < 0 || setgid(gid) < 0 || setuid(uid) < 0) e = errno;
  }
  // entered as the author: a directory they cannot reach stays closed
  if (!e && chdir(cwd) < 0) e = errno;
  if (!e) {
    const char *cmd = argv[0];
    if (strchr(cmd, '/') != nullptr) {
      execve(cmd, argv, envp);
      e = errno;
    } else {
      static const char *dirs[] = {"/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"};
      char path[4096];
      e = ENOENT;
      for (const char *d : dirs) {
        size_t dl = strlen(d), cl = strlen(cmd);
        if (dl + 1 + cl + 1 > sizeof(path)) continue;
        memcpy(path, d, dl);
        path[dl] = '/';
        memcpy(path + dl + 1, cmd, cl + 1);
        execve(path, argv, envp);
        if (errno != ENOENT) e = errno;
      }
    }
  }
  ssize_t w = write(errfd, &e, sizeof(e));
  (void)w;
  _exit(127);
}

// SIGKILL every child of the calling process (as /proc lists them).
void killChildren() {
  char path[64];
  snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)syscall(SYS_gettid));
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  char buf[4096];
  long pid = 0;
  bool in = false;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; i++) {
      if (buf[i] >= '0' && buf[i] <= '9') {
        pid = pid * 10 + (buf[i] - '0');
        in = true;
      } else if (in) {
        kill((pid_t)pid, SIGKILL);
        pid = 0;
        in = false;
      }
    }
  }
  if (in) kill((pid_t)pid, SIGKILL);
  close(fd);
}

// The shepherd: runs the command, then kills and reaps everything below it.
[[noreturn]] void shepherd(char *const argv[], char *const envp[], const char *cwd, int uid, int gid,
                           const std::vector<gid_t> &groups, const Limits &lim, int out, int statusFd,
                           long long timeoutMs, pid_t parent) {
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  defaultSignals();
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  // not pmcd's pipe, not the PMDA's log
  dup2(devnull, 0);
  dup2(devnull, 1);
  dup2(devnull, 2);
  int ep[2];
  Report rep{0, 0, 0};
  if (pipe2(ep, O_CLOEXEC) < 0) {
    rep.spawnErrno = errno;
    ssize_t w = write(statusFd, &rep, sizeof(rep));
    (void)w;
    _exit(0);
  }
  // nothing else the PMDA holds (or pmcd left open) reaches the command
  int keep[] = {out, statusFd, devnull, ep[0], ep[1]};
  for (int fd = 3; fd < 1024; fd++) {
    bool kept = false;
    for (int k : keep) kept = kept || fd == k;
    if (!kept) close(fd);
  }
  syscall(SYS_close_range, 1024U, ~0U, 0);
  struct sigaction stop;
  memset(&stop, 0, sizeof(stop));
  stop.sa_handler = onStop;  // no SA_RESTART: waitpid returns EINTR
  sigaction(SIGTERM, &stop, nullptr);
  sigaction(SIGALRM, &stop, nullptr);
  // the PMDA gone (exited, killed): stop as at the deadline, killing all below
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != parent) stopNow = 1;
  struct itimerval it;
  memset(&it, 0, sizeof(it));
  it.it_value.tv_sec = timeoutMs / 1000;
  it.it_value.tv_usec = (timeoutMs % 1000) * 1000;
  if (timeoutMs > 0) setitimer(ITIMER_REAL, &it, nullptr);

  pid_t child = fork();
  if (child == 0) command(argv, envp, cwd, uid, gid, groups, lim, out, devnull, ep[1]);
  close(ep[1]);
  close(out);  // only the command (and what it starts) holds the output pipe
  if (child < 0) {
    rep.spawnErrno = errno;
  } else {
    if (stopNow) kill(child, SIGKILL);
    for (;;) {
      int st;
      pid_t p = waitpid(child, &st, 0);
      if (p == child) {
        rep.status = st;
        break;
      }
      if (p < 0 && errno == EINTR && stopNow) {
        rep.timedOut = 1;
        kill(child, SIGKILL);
      } else if (p < 0 && errno != EINTR) {
        break;
      }
    }
    int e = 0;
    if (read(ep[0], &e, sizeof(e)) == (ssize_t)sizeof(e)) rep.spawnErrno = e;
  }
  // everything the command left behind, however it got here
  for (;;) {
    killChildren();
    int st;
    pid_t p = waitpid(-1, &st, 0);
    if (p < 0 && errno == ECHILD) break;
  }
  ssize_t w = write(statusFd, &rep, sizeof(rep));
  (void)w;
  _exit(0);
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

  std::vector<char *> argv, envp;
  for (auto &a : args) argv.push_back((char *)a.c_str());
  argv.push_back(nullptr);
  for (auto &e : envs) envp.push_back((char *)e.c_str());
  envp.push_back(nullptr);

  int p[2], s[2];
  if (pipe2(p, O_CLOEXEC) < 0) return Napi::Number::New(env, -errno);
  if (pipe2(s, O_CLOEXEC) < 0) {
    int e = errno;
    close(p[0]);
    close(p[1]);
    return Napi::Number::New(env, -e);
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    close(s[0]);
    shepherd(argv.data(), envp.data(), cwd.c_str(), uid, gid, groups, lim, p[1], s[1], timeoutMs, parent);
  }
  int e = errno;
  close(p[1]);
  close(s[1]);
  if (pid < 0) {
    close(p[0]);
    close(s[0]);
    return Napi::Number::New(env, -e);
  }
  Job job;
  job.id = nextId++;
  job.pid = pid;
  job.out = p[0];
  job.statusFd = s[0];
  job.pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  // the PMDA's own deadline is a little later than the shepherd's
  job.deadline = nowMs() + timeoutMs + 1000;
  job.maxBytes = (size_t)number(o, "maxBytes", 16 << 20);
  fcntl(job.out, F_SETFL, O_NONBLOCK);
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
        if (!job.stopped) kill(job.pid, SIGTERM);
        job.stopped = true;
      }
      continue;
    }
    if (r == 0) job.eof = true;
    break;
  }
}

void reap(Job &job) {
  if (job.exited) return;
  int st;
  if (waitpid(job.pid, &st, WNOHANG) == job.pid) {
    job.exited = true;
    Report rep;
    if (read(job.statusFd, &rep, sizeof(rep)) == (ssize_t)sizeof(rep)) job.report = rep;
    else job.report.timedOut = job.stopped ? 1 : 0;
  }
}

// execWait(ids: number[], waitMs) => [{id, status, signal, output, timedOut,
// overflow, errno, error}] for every command that finished (any, not only
// those in ids), waiting up to waitMs for all of ids to finish.
Napi::Value ExecWait(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
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
      if (!job.exited && now >= job.deadline) {
        // the shepherd did not finish in time: stop it (it kills the rest)
        kill(job.pid, job.stopped ? SIGKILL : SIGTERM);
        job.stopped = true;
        job.deadline = now + 1000;
      }
      if (!job.eof) fds.push_back({job.out, POLLIN, 0});
      if (!job.exited && job.pidfd >= 0) fds.push_back({job.pidfd, POLLIN, 0});
    }
    bool pending = false;
    for (int id : want) {
      auto it = jobs.find(id);
      if (it != jobs.end() && !(it->second.exited && it->second.eof)) pending = true;
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
    if (job.exited) drain(job);
    if (!job.exited) {
      ++it;
      continue;
    }
    Napi::Object r = Napi::Object::New(env);
    int st = job.report.status;
    r.Set("id", job.id);
    r.Set("status", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    r.Set("signal", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    r.Set("output", Napi::Buffer<char>::Copy(env, job.output.data(), job.output.size()));
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

// execRunning() => number of commands not yet collected
Napi::Value ExecRunning(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), (double)jobs.size());
}

}  // namespace

// What this file adds to the module, one name a line (the same shape in
// each native/*.cc: a registration table, not repeated logic).
void RegisterExec(Napi::Env env, Napi::Object exports) {
  exports.Set("execStart", Napi::Function::New(env, ExecStart));
  exports.Set("execWait", Napi::Function::New(env, ExecWait));
  exports.Set("execRunning", Napi::Function::New(env, ExecRunning));
}

}  // namespace pmdajson
