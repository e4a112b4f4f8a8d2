/*
 * What starting a command costs, without Node.js: 300 runs each of
 * /bin/true by fork+exec, by posix_spawn, and under the shepherd
 * (native/shepherd.cc, started as native/exec.cc starts it: descriptors
 * 3 and 4 the output and status pipes), with the latency and the
 * children's CPU time per run. Not a benchmark (bench/run.mjs's
 * data-exec is).
 *   gcc -O2 bench/experiments/spawn.c -o /tmp/spawn
 *   /tmp/spawn build/Release/pmdajson-shepherd
 */
#include <spawn.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>

extern char **environ;

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static double children_cpu_ms(void) {
    struct rusage r;
    getrusage(RUSAGE_CHILDREN, &r);
    return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e3 + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e3;
}

static void report(const char *what, double t0, double c0, int n) {
    printf("%s: %.3f ms a run, children's CPU %.3f ms\n", what, (now_ms() - t0) / n, (children_cpu_ms() - c0) / n);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: spawn SHEPHERD\n");
        return 2;
    }
    const int n = 300;
    char *true_argv[] = {"true", NULL};
    double t0 = now_ms(), c0 = children_cpu_ms();
    for (int i = 0; i < n; i++) {
        pid_t c = fork();
        if (c == 0) {
            execv("/bin/true", true_argv);
            _exit(127);
        }
        waitpid(c, NULL, 0);
    }
    report("fork+exec /bin/true", t0, c0, n);

    t0 = now_ms(), c0 = children_cpu_ms();
    for (int i = 0; i < n; i++) {
        pid_t c;
        posix_spawn(&c, "/bin/true", NULL, NULL, true_argv, environ);
        waitpid(c, NULL, 0);
    }
    report("posix_spawn /bin/true", t0, c0, n);

    /* the shepherd's arguments: PARENT TIMEOUT_MS UID GID GROUPS AS NOFILE NPROC CPU FSIZE CWD NENV ARGV... */
    char parent[16];
    snprintf(parent, sizeof(parent), "%d", (int)getpid());
    char *shepherd_argv[] = {"pmdajson-shepherd", parent, "2000", "-1", "-1", "-", "-1", "-1", "-1", "-1", "-1", "/tmp", "0", "/bin/true", NULL};
    t0 = now_ms(), c0 = children_cpu_ms();
    for (int i = 0; i < n; i++) {
        int out[2], status[2];
        if (pipe(out) < 0 || pipe(status) < 0) return 1;
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, out[1], 3);
        posix_spawn_file_actions_adddup2(&fa, status[1], 4);
        pid_t c;
        posix_spawn(&c, argv[1], &fa, NULL, shepherd_argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        close(out[1]);
        close(status[1]);
        char buf[64];
        while (read(out[0], buf, sizeof(buf)) > 0) {}
        while (read(status[0], buf, sizeof(buf)) > 0) {}
        waitpid(c, NULL, 0);
        close(out[0]);
        close(status[0]);
    }
    report("the shepherd running /bin/true", t0, c0, n);
    return 0;
}
