/*
 * fetchbench: fetch the same metrics from pmcd again and again, and
 * report throughput, latency, the PMDA's CPU time and memory, as JSON on
 * stdout.
 *
 * Usage: fetchbench [options] name ...
 *   -h host      pmcd to ask (default local:)
 *   -t seconds   measure for at least this long (default 2)
 *   -N count     ... and at least this many fetches (default 1)
 *   -n count     stop after this many fetches (default: no limit)
 *   -w seconds   warm up for this long first, at least one fetch (default 0)
 *   -p pid       the PMDA process: CPU time per fetch, RSS
 *   -q pid       the pmcd process: CPU time per fetch
 *   -x           the values follow the int64-range ("exotic") rules
 *   -C           do not check values
 *   -S           print every latency sample
 *   -W file      churn: before every fetch write the next variant to
 *                file (a temporary file, then rename)
 *   -V g:file    a churn variant: file holds generation g of the data
 *   -G g,g,...   changing data written by another process (a producer):
 *                a fetch's generation is not known in advance, but it
 *                must be one of these (checked against one value, then
 *                all others of the fetch against it); the number of
 *                fetches whose generation differs from the one before
 *                is reported as "changes"
 *   -R pid       ready mode: send SIGHUP to pid (pmcd), then fetch the
 *                names until every one has values; print how long it took
 *   -T seconds   ready-mode timeout (default 60)
 *
 * Each name is expanded with pmTraversePMNS (a leaf stands for itself).
 * Names have the shape <root>.<source>.<leaf>, leaf sJ, mJ or aA.vK,
 * with instances iI, and every value is checked against the rules that
 * bench/cpmda.c and bench/run.mjs share: all values of one fetch must
 * belong to one generation g, and under churn g must be the generation
 * just written (else the fetch counts as stale). A fetch with any wrong
 * value (mixed generations among them) also counts in "wrong_fetches".
 */
#include <pcp/pmapi.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

enum { KIND_OTHER, KIND_STRING, KIND_INT, KIND_MEMBER };

typedef struct {
    char *name;
    char source[64];
    int kind;
    int j, k;
    int members;            /* number of members of the metric's array */
    pmDesc desc;
    int *inst_index;        /* instance id -> i of "iI", -1 if unknown */
    int ninst_index;
} metric_t;

typedef struct {
    long long gen;
    char *data;
    size_t len;
} variant_t;

static char **names;
static int nnames, maxnames;
static metric_t *metrics;
static pmID *pmids;
static int exotic;
static variant_t variants[256];
static int nvariants;
static const char *churn_target;
static long long allowed_gens[256];
static int nallowed;

static long long checked_values, check_errors, stale_fetches, wrong_fetches, gen_changes;
static char first_error[256];

static double
now_s(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
add_name(const char *name)
{
    if (nnames == maxnames) {
        maxnames = maxnames ? maxnames * 2 : 64;
        names = realloc(names, maxnames * sizeof(char *));
        if (names == NULL) { fprintf(stderr, "out of memory\n"); exit(1); }
    }
    names[nnames++] = strdup(name);
}

static void
collect(const char *name)
{
    add_name(name);
}

static void
fail(const char *what, int sts)
{
    fprintf(stderr, "fetchbench: %s: %s\n", what, pmErrStr(sts));
    exit(1);
}

/* ---- /proc -------------------------------------------------------------- */

typedef struct {
    double sched_ms;        /* on-CPU time of all threads, /proc/pid/task/N/schedstat */
    double tick_ms;         /* utime + stime, /proc/pid/stat */
    double child_ms;        /* cutime + cstime: reaped children (data-exec),
                             * and all the CPU of children still running
                             * (pmda-json's command server and what it reaped) */
    long rss_kb, hwm_kb;
    int ok;
} proc_t;

/* utime + stime + cutime + cstime of `pid`, in ms; 0 if it is gone */
static double
stat_cpu_ms(pid_t pid, double *self_ms, double *children_ms)
{
    char path[64], buf[4096], *s;
    FILE *f;
    double tick = (double)sysconf(_SC_CLK_TCK);
    int ok = 0;

    *self_ms = *children_ms = 0;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if ((f = fopen(path, "r")) == NULL) return 0;
    if (fgets(buf, sizeof(buf), f) && (s = strrchr(buf, ')')) != NULL) {
        unsigned long long v[20];
        int n = 0;
        char *tok, *save = NULL;
        for (tok = strtok_r(s + 2, " ", &save); tok && n < 20; tok = strtok_r(NULL, " ", &save))
            v[n++] = strtoull(tok, NULL, 10);
        /* after "pid (comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt
         * cmajflt utime stime cutime cstime */
        if (n >= 15) {
            *self_ms = (v[11] + v[12]) * 1000.0 / tick;
            *children_ms = (v[13] + v[14]) * 1000.0 / tick;
            ok = 1;
        }
    }
    fclose(f);
    return ok;
}

static void
read_proc(pid_t pid, proc_t *p)
{
    char path[512], buf[4096];
    FILE *f;
    DIR *d;
    struct dirent *e;

    memset(p, 0, sizeof(*p));
    if (pid <= 0) return;
    p->ok = stat_cpu_ms(pid, &p->tick_ms, &p->child_ms);
    if (!p->ok) return;
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    if ((d = opendir(path)) != NULL) {
        while ((e = readdir(d)) != NULL) {
            unsigned long long ns;
            long child;
            if (e->d_name[0] == '.') continue;
            /* the children still running, and what they reaped */
            snprintf(path, sizeof(path), "/proc/%d/task/%s/children", (int)pid, e->d_name);
            if ((f = fopen(path, "r")) != NULL) {
                while (fscanf(f, "%ld", &child) == 1) {
                    double self_ms, children_ms;
                    if (stat_cpu_ms((pid_t)child, &self_ms, &children_ms)) p->child_ms += self_ms + children_ms;
                }
                fclose(f);
            }
            snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
            if ((f = fopen(path, "r")) == NULL) continue;
            if (fscanf(f, "%llu", &ns) == 1) p->sched_ms += ns / 1e6;
            fclose(f);
        }
        closedir(d);
    }
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if ((f = fopen(path, "r")) != NULL) {
        while (fgets(buf, sizeof(buf), f)) {
            if (strncmp(buf, "VmRSS:", 6) == 0) p->rss_kb = atol(buf + 6);
            else if (strncmp(buf, "VmHWM:", 6) == 0) p->hwm_kb = atol(buf + 6);
        }
        fclose(f);
    }
}

/* ---- expected values (the rules of bench/cpmda.c) ------------------------ */

static void
expected_int(const metric_t *m, int i, int64_t *base, int *sign)
{
    *sign = 1;
    if (m->kind == KIND_INT) {
        if (exotic && m->j == 0) { *base = INT64_C(9007199254740993); return; }
        if (exotic && m->j == 1) { *base = INT64_MAX; *sign = -1; return; }
        if (exotic && m->j == 2) { *base = INT64_MIN; return; }
        *base = (int64_t)m->j * 1000;
        return;
    }
    if (exotic && m->k == m->members - 1) {
        *base = (INT64_C(1) << 60) + (int64_t)i * 1000;
        return;
    }
    *base = (int64_t)i * 100000 + (int64_t)m->k * 1000;
}

static void
check_error(const char *fmt, ...)
{
    va_list ap;
    check_errors++;
    if (first_error[0]) return;
    va_start(ap, fmt);
    vsnprintf(first_error, sizeof(first_error), fmt, ap);
    va_end(ap);
}

static void
parse_names(void)
{
    int i;
    for (i = 0; i < nnames; i++) {
        metric_t *m = &metrics[i];
        const char *p = strchr(names[i], '.'), *leaf;
        size_t n;
        m->name = names[i];
        m->kind = KIND_OTHER;
        if (p == NULL || (leaf = strchr(p + 1, '.')) == NULL) continue;
        n = (size_t)(leaf - p - 1);
        if (n >= sizeof(m->source)) continue;
        memcpy(m->source, p + 1, n);
        m->source[n] = '\0';
        leaf++;
        if (sscanf(leaf, "s%d", &m->j) == 1 && strchr(leaf, '.') == NULL) m->kind = KIND_STRING;
        else if (sscanf(leaf, "m%d", &m->j) == 1 && strchr(leaf, '.') == NULL) m->kind = KIND_INT;
        else if (sscanf(leaf, "a%d.v%d", &m->j, &m->k) == 2) m->kind = KIND_MEMBER;
    }
    /* members per array: the highest member number seen + 1 */
    for (i = 0; i < nnames; i++) {
        int x, max = -1;
        if (metrics[i].kind != KIND_MEMBER) continue;
        for (x = 0; x < nnames; x++)
            if (metrics[x].kind == KIND_MEMBER && metrics[x].j == metrics[i].j &&
                strcmp(metrics[x].source, metrics[i].source) == 0 && metrics[x].k > max)
                max = metrics[x].k;
        metrics[i].members = max + 1;
    }
}

static void
load_instances(metric_t *m)
{
    int *ids = NULL, n, x, max = -1;
    char **inames = NULL;

    if (m->desc.indom == PM_INDOM_NULL || m->inst_index) return;
    /* metrics of one source share the indom: reuse an earlier lookup */
    for (x = 0; &metrics[x] != m; x++) {
        if (metrics[x].inst_index && metrics[x].desc.indom == m->desc.indom) {
            m->inst_index = metrics[x].inst_index;
            m->ninst_index = metrics[x].ninst_index;
            return;
        }
    }
    n = pmGetInDom(m->desc.indom, &ids, &inames);
    if (n < 0) fail("pmGetInDom", n);
    for (x = 0; x < n; x++) if (ids[x] > max) max = ids[x];
    m->ninst_index = max + 1;
    m->inst_index = malloc((max + 1 > 0 ? max + 1 : 1) * sizeof(int));
    for (x = 0; x <= max; x++) m->inst_index[x] = -1;
    for (x = 0; x < n; x++) {
        int i;
        if (ids[x] >= 0 && sscanf(inames[x], "i%d", &i) == 1) m->inst_index[ids[x]] = i;
    }
    free(ids);
    free(inames);
}

/* Check one result; returns the generation found, or -1. */
static long long
check_result(const pmResult *r)
{
    int v, x;
    int have_gen = 0;
    int64_t gen = 0;

    for (v = 0; v < r->numpmid; v++) {
        const pmValueSet *vs = r->vset[v];
        metric_t *m = &metrics[v];
        if (vs->numval <= 0) {
            check_error("%s: %s", m->name, vs->numval < 0 ? pmErrStr(vs->numval) : "no values");
            continue;
        }
        if (m->kind == KIND_OTHER) continue;
        for (x = 0; x < vs->numval; x++) {
            pmAtomValue a;
            int sts = pmExtractValue(vs->valfmt, &vs->vlist[x], m->desc.type, &a, m->desc.type);
            checked_values++;
            if (sts < 0) {
                check_error("%s: pmExtractValue: %s", m->name, pmErrStr(sts));
                continue;
            }
            if (m->kind == KIND_STRING) {
                char want[128];
                snprintf(want, sizeof(want), "%s-s%d", m->source, m->j);
                if (m->desc.type != PM_TYPE_STRING || strcmp(a.cp, want) != 0)
                    check_error("%s: got \"%s\", expected \"%s\"", m->name, m->desc.type == PM_TYPE_STRING ? a.cp : "?", want);
                if (m->desc.type == PM_TYPE_STRING) free(a.cp);
                continue;
            }
            if (m->desc.type != PM_TYPE_64) {
                check_error("%s: type %d, expected 64-bit integer", m->name, m->desc.type);
                continue;
            }
            {
                int i = 0, sign;
                int64_t base, g, want;
                if (m->kind == KIND_MEMBER) {
                    int inst = vs->vlist[x].inst;
                    if (inst < 0 || inst >= m->ninst_index || m->inst_index[inst] < 0) {
                        check_error("%s: unknown instance %d", m->name, inst);
                        continue;
                    }
                    i = m->inst_index[inst];
                }
                expected_int(m, i, &base, &sign);
                /* wrapping arithmetic: the value is base + sign * g */
                g = (int64_t)((uint64_t)a.ll - (uint64_t)base);
                if (sign < 0) g = (int64_t)(0 - (uint64_t)g);
                if (!have_gen) {
                    have_gen = 1;
                    gen = g;
                }
                want = (int64_t)((uint64_t)base + (uint64_t)(sign < 0 ? -gen : gen));
                if (a.ll != want || g != gen)
                    check_error("%s[%d]: got %" PRId64 ", expected %" PRId64, m->name, i, a.ll, want);
            }
        }
    }
    return have_gen ? (long long)gen : -1;
}

/* ---- churn ----------------------------------------------------------------- */

static void
load_variant(const char *arg)
{
    const char *colon = strchr(arg, ':');
    FILE *f;
    variant_t *v;
    long size;

    if (colon == NULL || nvariants >= 256) {
        fprintf(stderr, "fetchbench: bad -V %s\n", arg);
        exit(1);
    }
    v = &variants[nvariants++];
    v->gen = atoll(arg);
    if ((f = fopen(colon + 1, "r")) == NULL) {
        fprintf(stderr, "fetchbench: %s: %s\n", colon + 1, strerror(errno));
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    rewind(f);
    v->data = malloc(size > 0 ? size : 1);
    v->len = fread(v->data, 1, size, f);
    fclose(f);
}

static long long
churn_write(long long n)
{
    variant_t *v = &variants[n % nvariants];
    char tmp[4096];
    int fd;
    size_t off = 0;

    snprintf(tmp, sizeof(tmp), "%s.tmp%d", churn_target, (int)getpid());
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0) {
        fprintf(stderr, "fetchbench: %s: %s\n", tmp, strerror(errno));
        exit(1);
    }
    while (off < v->len) {
        ssize_t w = write(fd, v->data + off, v->len - off);
        if (w < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "fetchbench: write %s: %s\n", tmp, strerror(errno));
            exit(1);
        }
        off += (size_t)w;
    }
    fchmod(fd, 0644);
    close(fd);
    if (rename(tmp, churn_target) < 0) {
        fprintf(stderr, "fetchbench: rename %s: %s\n", tmp, strerror(errno));
        exit(1);
    }
    return v->gen;
}

/* ---- producer (-G) ------------------------------------------------------------ */

static void
parse_allowed(const char *arg)
{
    const char *p = arg;
    char *end;

    while (*p) {
        long long g = strtoll(p, &end, 10);
        if (end == p || nallowed >= 256) {
            fprintf(stderr, "fetchbench: bad -G %s\n", arg);
            exit(1);
        }
        allowed_gens[nallowed++] = g;
        p = end;
        if (*p == ',') p++;
    }
    if (nallowed == 0) {
        fprintf(stderr, "fetchbench: -G needs at least one generation\n");
        exit(1);
    }
}

static int
allowed(long long g)
{
    int x;
    for (x = 0; x < nallowed; x++)
        if (allowed_gens[x] == g) return 1;
    return 0;
}

/* ---- main -------------------------------------------------------------------- */

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double
percentile(const double *sorted, long n, double p)
{
    double at;
    long lo;
    if (n == 0) return 0;
    at = p * (n - 1);
    lo = (long)at;
    if (lo + 1 >= n) return sorted[n - 1];
    return sorted[lo] + (sorted[lo + 1] - sorted[lo]) * (at - lo);
}

static int
ready_mode(const char *host, pid_t hup, double timeout)
{
    double t0, t;
    long attempts = 0;
    int ctx = -1, sts, v;

    pmids = calloc(nnames, sizeof(pmID));
    t0 = now_s(CLOCK_MONOTONIC);
    if (hup > 0 && kill(hup, SIGHUP) < 0) {
        fprintf(stderr, "fetchbench: kill -HUP %d: %s\n", (int)hup, strerror(errno));
        return 1;
    }
    for (;;) {
        pmResult *r = NULL;
        int good = 0;
        attempts++;
        if (ctx < 0)
            ctx = pmNewContext(PM_CONTEXT_HOST, host);
        if (ctx >= 0 && (sts = pmLookupName(nnames, (const char **)names, pmids)) >= 0 &&
            (sts = pmFetch(nnames, pmids, &r)) >= 0) {
            good = 1;
            for (v = 0; v < r->numpmid; v++)
                if (r->vset[v]->numval <= 0) good = 0;
            pmFreeResult(r);
        }
        t = now_s(CLOCK_MONOTONIC);
        if (good) {
            printf("{\"ready_ms\": %.3f, \"attempts\": %ld}\n", (t - t0) * 1000, attempts);
            return 0;
        }
        if (t - t0 > timeout) {
            printf("{\"ready_ms\": null, \"attempts\": %ld, \"error\": \"timeout\"}\n", attempts);
            return 1;
        }
        usleep(2000);
    }
}

static void
json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20) printf("\\u%04x", *s);
        else putchar(*s);
    }
    putchar('"');
}

int
main(int argc, char **argv)
{
    const char *host = "local:";
    double seconds = 2, warmup = 0, ready_timeout = 60;
    long min_fetches = 1, max_fetches = -1;
    pid_t pmda_pid = 0, pmcd_pid = 0, hup_pid = 0;
    int check = 1, print_samples = 0, ready = 0;
    int c, i, ctx, sts;
    double *samples = NULL, t_start, sum = 0;
    long nsamples = 0, maxsamples = 0;
    long long values_per_fetch = 0, last_gen = -1;
    proc_t pb, pa, qb, qa;
    struct rusage ub, ua;

    pmSetProgname(argv[0]);
    while ((c = getopt(argc, argv, "h:t:N:n:w:p:q:xCSW:V:G:R:T:")) != -1) {
        switch (c) {
        case 'h': host = optarg; break;
        case 't': seconds = atof(optarg); break;
        case 'N': min_fetches = atol(optarg); break;
        case 'n': max_fetches = atol(optarg); break;
        case 'w': warmup = atof(optarg); break;
        case 'p': pmda_pid = atoi(optarg); break;
        case 'q': pmcd_pid = atoi(optarg); break;
        case 'x': exotic = 1; break;
        case 'C': check = 0; break;
        case 'S': print_samples = 1; break;
        case 'W': churn_target = optarg; break;
        case 'V': load_variant(optarg); break;
        case 'G': parse_allowed(optarg); break;
        case 'R': ready = 1; hup_pid = atoi(optarg); break;
        case 'T': ready_timeout = atof(optarg); break;
        default:
            fprintf(stderr, "Usage: fetchbench [-h host] [-t s] [-N n] [-n n] [-w s] [-p pid] [-q pid] [-x] [-C] [-S]\n"
                            "                  [-W file -V g:file ...] [-G g,g,...] [-R pmcd-pid [-T s]] name ...\n");
            return 1;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "fetchbench: no metric names\n");
        return 1;
    }
    if (churn_target && nvariants < 2) {
        fprintf(stderr, "fetchbench: -W needs at least two -V variants\n");
        return 1;
    }

    if (ready) {
        for (i = optind; i < argc; i++) add_name(argv[i]);
        return ready_mode(host, hup_pid, ready_timeout);
    }

    if ((ctx = pmNewContext(PM_CONTEXT_HOST, host)) < 0) fail("pmNewContext", ctx);
    for (i = optind; i < argc; i++) {
        int before = nnames;
        if ((sts = pmTraversePMNS(argv[i], collect)) < 0) fail(argv[i], sts);
        if (nnames == before) {
            fprintf(stderr, "fetchbench: no metrics below %s\n", argv[i]);
            return 1;
        }
    }
    metrics = calloc(nnames, sizeof(metric_t));
    pmids = calloc(nnames, sizeof(pmID));
    parse_names();
    /* in chunks: pmcd limits the size of a client's request PDU */
    for (i = 0; i < nnames; i += 1000) {
        int n = nnames - i < 1000 ? nnames - i : 1000;
        if ((sts = pmLookupName(n, (const char **)names + i, pmids + i)) < 0) fail("pmLookupName", sts);
    }
    for (i = 0; i < nnames; i++) {
        if ((sts = pmLookupDesc(pmids[i], &metrics[i].desc)) < 0) fail(names[i], sts);
    }

    /* warm up: at least one fetch, which also loads the instance names */
    t_start = now_s(CLOCK_MONOTONIC);
    do {
        pmResult *r;
        if (churn_target) churn_write(0);
        if ((sts = pmFetch(nnames, pmids, &r)) < 0) fail("pmFetch", sts);
        pmFreeResult(r);
    } while (now_s(CLOCK_MONOTONIC) - t_start < warmup);
    if (check)
        for (i = 0; i < nnames; i++) load_instances(&metrics[i]);

    read_proc(pmda_pid, &pb);
    read_proc(pmcd_pid, &qb);
    getrusage(RUSAGE_SELF, &ub);
    t_start = now_s(CLOCK_MONOTONIC);
    for (;;) {
        pmResult *r;
        double t0, t1;
        long long wrote = -1;
        if (max_fetches >= 0 && nsamples >= max_fetches) break;
        if (nsamples >= min_fetches && now_s(CLOCK_MONOTONIC) - t_start >= seconds) break;
        if (churn_target) wrote = churn_write(nsamples + 1);
        t0 = now_s(CLOCK_MONOTONIC);
        sts = pmFetch(nnames, pmids, &r);
        t1 = now_s(CLOCK_MONOTONIC);
        if (sts < 0) fail("pmFetch", sts);
        if (nsamples == maxsamples) {
            maxsamples = maxsamples ? maxsamples * 2 : 1024;
            samples = realloc(samples, maxsamples * sizeof(double));
        }
        samples[nsamples++] = (t1 - t0) * 1000;
        sum += t1 - t0;
        values_per_fetch = 0;
        for (i = 0; i < r->numpmid; i++)
            if (r->vset[i]->numval > 0) values_per_fetch += r->vset[i]->numval;
        if (check) {
            long long errors_before = check_errors, g = check_result(r);
            if (churn_target && g != wrote) stale_fetches++;
            if (nallowed > 0) {
                if (!allowed(g))
                    check_error("fetch %ld: generation %lld is none of the producer's", nsamples, g);
                else if (last_gen >= 0 && g != last_gen)
                    gen_changes++;
            }
            if (check_errors != errors_before) wrong_fetches++;
            last_gen = g;
        }
        pmFreeResult(r);
    }
    getrusage(RUSAGE_SELF, &ua);
    read_proc(pmda_pid, &pa);
    read_proc(pmcd_pid, &qa);

    {
        double *sorted = malloc((nsamples ? nsamples : 1) * sizeof(double));
        double client_ms = (ua.ru_utime.tv_sec - ub.ru_utime.tv_sec + ua.ru_stime.tv_sec - ub.ru_stime.tv_sec) * 1000.0 +
                           (ua.ru_utime.tv_usec - ub.ru_utime.tv_usec + ua.ru_stime.tv_usec - ub.ru_stime.tv_usec) / 1000.0;
        memcpy(sorted, samples, nsamples * sizeof(double));
        qsort(sorted, nsamples, sizeof(double), cmp_double);
        printf("{\"names\": %d, \"values_per_fetch\": %lld, \"fetches\": %ld, \"fetch_s\": %.6f, \"wall_s\": %.6f,\n",
               nnames, values_per_fetch, nsamples, sum, now_s(CLOCK_MONOTONIC) - t_start);
        printf(" \"fetches_per_s\": %.3f, \"mean_ms\": %.4f, \"p50_ms\": %.4f, \"p90_ms\": %.4f, \"p99_ms\": %.4f, \"min_ms\": %.4f, \"max_ms\": %.4f,\n",
               sum > 0 ? nsamples / sum : 0, nsamples ? sum * 1000 / nsamples : 0, percentile(sorted, nsamples, 0.5),
               percentile(sorted, nsamples, 0.9), percentile(sorted, nsamples, 0.99), nsamples ? sorted[0] : 0,
               nsamples ? sorted[nsamples - 1] : 0);
        printf(" \"client_cpu_ms_per_fetch\": %.4f,\n", nsamples ? client_ms / nsamples : 0);
        if (pmda_pid > 0 && pa.ok)
            printf(" \"pmda\": {\"pid\": %d, \"cpu_ms_per_fetch\": %.4f, \"tick_cpu_ms_per_fetch\": %.4f, \"child_cpu_ms_per_fetch\": %.4f, \"rss_kb\": %ld, \"hwm_kb\": %ld},\n",
                   (int)pmda_pid, nsamples ? (pa.sched_ms - pb.sched_ms) / nsamples : 0,
                   nsamples ? (pa.tick_ms - pb.tick_ms) / nsamples : 0, nsamples ? (pa.child_ms - pb.child_ms) / nsamples : 0,
                   pa.rss_kb, pa.hwm_kb);
        else if (pmda_pid > 0)
            printf(" \"pmda\": null,\n");
        if (pmcd_pid > 0 && qa.ok)
            printf(" \"pmcd_cpu_ms_per_fetch\": %.4f,\n", nsamples ? (qa.sched_ms - qb.sched_ms) / nsamples : 0);
        printf(" \"check\": {\"enabled\": %s, \"values\": %lld, \"errors\": %lld, \"stale\": %lld, \"wrong_fetches\": %lld, \"changes\": %lld, \"last_generation\": %lld, \"first_error\": ",
               check ? "true" : "false", checked_values, check_errors, stale_fetches, wrong_fetches, gen_changes, last_gen);
        json_string(first_error);
        printf("}");
        if (print_samples) {
            long x;
            printf(",\n \"samples\": [");
            for (x = 0; x < nsamples; x++) printf("%s%.4f", x ? "," : "", samples[x]);
            printf("]");
        }
        printf("}\n");
    }
    pmDestroyContext(ctx);
    return 0;
}
