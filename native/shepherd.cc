// The shepherd of a data-exec command: a small program of its own. The
// PMDA (native/exec.cc) starts it once, with posix_spawn (a vfork and an
// exec: no copy of the PMDA's page tables, and no copy-on-write faults in
// the PMDA afterwards, as a fork of a Node.js process would cost), as a
// server on a socket; for each command the server forks, and the child is
// that command's shepherd (a fork of this small process costs less than
// starting the program again).
//
// A shepherd is a child subreaper (PR_SET_CHILD_SUBREAPER). It starts the
// command (vfork), which takes the author's uid, gid and groups, its own
// session, the default signal dispositions and the resource limits before
// exec. Whatever the command forks, however often it forks or calls
// setsid, stays below the shepherd: when the command exits, or at its
// deadline, or when the PMDA asks (SIGTERM) or goes away (and the server
// with it), the shepherd kills every process left below it, reaps them
// all, and only then reports and exits.
//
//   pmdajson-shepherd --serve PMDA_PID
//       descriptor 3 is the PMDA's socket (SOCK_SEQPACKET). A request is
//       the words TIMEOUT_MS ... ARGV below, NUL-separated, with the output
//       and status pipes (SCM_RIGHTS); the answer is the shepherd's pid,
//       or -errno, with its pidfd.
//   pmdajson-shepherd PARENT TIMEOUT_MS UID GID GROUPS AS NOFILE NPROC CPU FSIZE CWD NENV ENV... ARGV...
//       one command, descriptors 3 and 4 the pipes (bench/experiments/spawn.c)
//
// GROUPS is a comma-separated list ("-" for none); a limit of -1 is left
// as it is; UID -1 keeps root's credentials. Descriptor 3 is the output
// pipe (the command's standard output), 4 the status pipe: the shepherd
// writes one Report there when it is done. Everything else is closed.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fcntl.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shepherd.h"
#include "fdpass.h"

namespace {

using pmdajson::kMaxPassed;
using pmdajson::Limits;
using pmdajson::recvWithFds;
using pmdajson::Report;
using pmdajson::sendWithFds;

volatile sig_atomic_t stopNow = 0;
void onStop(int) { stopNow = 1; }

// Catch `sig` with `fn`, without SA_RESTART: the call it interrupts
// (waitpid, recvmsg) returns EINTR.
void catchSignal(int sig, void (*fn)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = fn;
  sigaction(sig, &sa, nullptr);
}

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
  // glibc keeps two real-time signals for itself and refuses to change
  // them, and posix_spawn leaves them ignored: the kernel is asked directly
  struct {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    unsigned long mask;
  } kdfl = {SIG_DFL, 0, nullptr, 0};
  for (int sig = 32; sig < SIGRTMIN; sig++) syscall(SYS_rt_sigaction, sig, &kdfl, nullptr, sizeof(kdfl.mask));
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

// The command, between vfork and exec: system calls only (it shares the
// shepherd's memory), and no return.
[[noreturn]] void command(char *const argv[], char *const envp[], const char *cwd, int uid, int gid,
                          const std::vector<gid_t> &groups, const Limits &lim, int out, int devnull, int errfd) {
  setsid();
  // every disposition is already the default (the shepherd reset them),
  // but for the shepherd's own two handlers, which exec resets; signals
  // were blocked for the vfork, and the command starts with none blocked
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
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
  // the PMDA gone (exited, killed): stop as at the deadline, killing all below
  prctl(PR_SET_PDEATHSIG, SIGTERM);
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
  catchSignal(SIGTERM, onStop);  // waitpid returns EINTR
  catchSignal(SIGALRM, onStop);
  if (getppid() != parent) stopNow = 1;
  struct itimerval it;
  memset(&it, 0, sizeof(it));
  it.it_value.tv_sec = timeoutMs / 1000;
  it.it_value.tv_usec = (timeoutMs % 1000) * 1000;
  if (timeoutMs > 0) setitimer(ITIMER_REAL, &it, nullptr);

  // vfork: the shepherd waits, sharing its memory, until the command has
  // called exec (or failed); no copy of its page tables, which costs more
  // than a quarter of a millisecond on a virtual machine. The command sees
  // no signal until it has reset every handler (defaultSignals, in command)
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &all, nullptr);
  pid_t child = vfork();
  if (child == 0) command(argv, envp, cwd, uid, gid, groups, lim, out, devnull, ep[1]);
  sigprocmask(SIG_SETMASK, &none, nullptr);
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

long long num(const char *s) {
  char *end = nullptr;
  long long v = strtoll(s, &end, 10);
  if (end == s || *end != '\0') {
    fprintf(stderr, "pmdajson-shepherd: bad number '%s'\n", s);
    exit(2);
  }
  return v;
}

// The command line after the program's name, as words: run it as a
// shepherd whose parent is `parent` (descriptors 3 and 4 in place).
[[noreturn]] void run(int argc, char **argv, pid_t parent) {
  if (argc < 13) {
    fprintf(stderr, "pmdajson-shepherd: started by the JSON PMDA only\n");
    _exit(2);
  }
  long long timeoutMs = num(argv[1]);
  int uid = (int)num(argv[2]), gid = (int)num(argv[3]);
  std::vector<gid_t> groups;
  if (strcmp(argv[4], "-") != 0) {
    for (char *p = argv[4]; *p;) {
      char *end = nullptr;
      groups.push_back((gid_t)strtoul(p, &end, 10));
      p = *end == ',' ? end + 1 : end;
      if (end == p && *p) break;
    }
  }
  Limits lim;
  lim.as = num(argv[5]);
  lim.nofile = num(argv[6]);
  lim.nproc = num(argv[7]);
  lim.cpu = num(argv[8]);
  lim.fsize = num(argv[9]);
  const char *cwd = argv[10];
  int nenv = (int)num(argv[11]);
  if (nenv < 0 || 12 + nenv >= argc) _exit(2);
  std::vector<char *> envp(argv + 12, argv + 12 + nenv);
  envp.push_back(nullptr);
  std::vector<char *> args(argv + 12 + nenv, argv + argc);
  args.push_back(nullptr);
  shepherd(args.data(), envp.data(), cwd, uid, gid, groups, lim, 3, 4, timeoutMs, parent);
}

// only to interrupt recvmsg, so that the loop reaps
void onChild(int) {}

// Send the answer to a request: a pid (or -errno), and the pidfd of the
// shepherd started, whose process the PMDA then signals and polls.
void answer(int sock, int value, int pidfd) {
  ssize_t w = sendWithFds(sock, &value, sizeof(value), &pidfd, pidfd >= 0 ? 1 : 0);
  (void)w;
}

// The server: one per PMDA, started once, with the PMDA's socket on
// descriptor 3. Each request is a shepherd's words and its two pipes;
// the server forks (a small static process: far cheaper than starting
// the program again) and the child is that command's shepherd.
int serve(pid_t pmda) {
  // the PMDA gone: so is the server, and each shepherd then stops (their
  // PR_SET_PDEATHSIG), killing all below it
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != pmda) return 0;
  syscall(SYS_close_range, 4U, ~0U, 0);
  fcntl(3, F_SETFD, FD_CLOEXEC);
  catchSignal(SIGCHLD, onChild);  // recvmsg returns EINTR
  const pid_t self = getpid();
  static char words[1 << 18];
  for (;;) {
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    int fds[kMaxPassed] = {-1, -1};
    int nfds = 0;
    bool cut = false;
    ssize_t n = recvWithFds(3, words, sizeof(words) - 1, fds, &nfds, &cut);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;  // the PMDA closed its end
    if (nfds != 2 || cut) {
      for (int i = 0; i < nfds; i++) close(fds[i]);
      answer(3, -EINVAL, -1);
      continue;
    }
    // the words, NUL-separated
    words[n] = '\0';
    std::vector<char *> argv;
    argv.push_back(const_cast<char *>("pmdajson-shepherd"));
    for (ssize_t i = 0; i < n; i += (ssize_t)strlen(words + i) + 1) argv.push_back(words + i);
    pid_t child = fork();
    if (child == 0) {
      // the command's shepherd: the two pipes on 3 and 4, nothing else
      dup2(fds[0], 3);
      dup2(fds[1], 4);
      syscall(SYS_close_range, 5U, ~0U, 0);
      fcntl(3, F_SETFD, FD_CLOEXEC);
      fcntl(4, F_SETFD, FD_CLOEXEC);
      run((int)argv.size(), argv.data(), self);
    }
    int e = errno;
    close(fds[0]);
    close(fds[1]);
    int pidfd = child > 0 ? (int)syscall(SYS_pidfd_open, child, 0) : -1;
    answer(3, child > 0 ? (int)child : -e, pidfd);
    if (pidfd >= 0) close(pidfd);
  }
}

}  // namespace

//   pmdajson-shepherd --serve PMDA_PID       (socket on descriptor 3)
//   pmdajson-shepherd PARENT TIMEOUT_MS ...  (pipes on 3 and 4: one command)
int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--serve") == 0) return serve((pid_t)num(argv[2]));
  // nothing else the PMDA holds (or pmcd left open) reaches the command
  syscall(SYS_close_range, 5U, ~0U, 0);
  // and the output and status pipes do not reach it either (the command
  // gets the output as its standard output, never the status pipe)
  fcntl(3, F_SETFD, FD_CLOEXEC);
  fcntl(4, F_SETFD, FD_CLOEXEC);
  if (argc < 2) {
    fprintf(stderr, "pmdajson-shepherd: started by the JSON PMDA only\n");
    return 2;
  }
  run(argc - 1, argv + 1, (pid_t)num(argv[1]));
}
