/*
 * cpmda: the "C floor" for the pmda-json benchmarks.
 *
 * A plain daemon PMDA on libpcp_pmda (pmdaDaemon, pmdaInit, pmdaMain over
 * the pmcd pipe) that serves the same metric names, types and instances
 * as the JSON sources of a benchmark workload, with values computed in
 * memory. Whatever it costs per fetch is what pmcd, libpcp and
 * libpcp_pmda cost; a JSON PMDA can only add to it.
 *
 * Usage: cpmda [-d domain] [-r root] [-l logfile] [-e command]
 *              -s name:strings:ints:arrays:instances:members[:x] ...
 *              -S count:prefix:strings:ints:arrays:instances:members[:x] ...
 *
 * Each -s adds one source (one cluster, numbered from 1 in command line
 * order) named `name` below `root`, with
 *   strings    string metrics   <root>.<name>.s0, s1, ...
 *   ints       integer metrics  <root>.<name>.m0, m1, ...
 *   arrays     arrays a0, a1, ... sharing one instance domain of
 *              `instances` instances named i0, i1, ..., each with
 *              `members` integer metrics <root>.<name>.aA.v0, v1, ...
 * and, with the x flag, integers spread over the whole int64 range (the
 * same values bench/run.mjs writes into the JSON data; see value()).
 *
 * -S adds `count` sources of one shape at once, named prefix0 ..
 * prefix<count-1> (in that order), so that a phase of thousands of
 * sources keeps its pmcd.conf line short.
 *
 * -e runs `command` (split at blanks or commas -- pmcd.conf has no quoting
 * -- with no shell, as user nobody when we are root) before every fetch and reads its output to the end without
 * parsing it: the floor for data-exec sources.
 *
 * Instances live in pmdaCache instance domains (in memory, never saved),
 * as they do in the JSON PMDAs; metrics are looked up through a hashed
 * table; names are a dynamic namespace (pmdaTree), so pmcd's PMNS only
 * needs "<root> <domain>:*:*".
 *
 * Built with -DREAD_FILES and bench/cread.cc (cpmda-read; bench/run.mjs,
 * BENCH_C_READS=1), -F dir makes each source's integers come from
 * dir/<name>/data.json instead: before every fetch each source's file is
 * looked at (stat) and, when it is another file or has changed, read and
 * parsed again. That is a floor for a PMDA that reads the data, as
 * pmda-json must; the plain floor is the one issue 26's targets name.
 *
 * Nothing is written to stdout: in pipe mode it carries the PDUs.
 */
#include <pcp/pmapi.h>
#include <pcp/pmda.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_SOURCES 4095     /* clusters are 12 bits; cluster 0 is unused */

typedef struct {
    char name[64];
    int strings, ints, arrays, instances, members;
    int exotic;
    int cluster;
    int indom_index;        /* index into indoms[], -1 without arrays */
#ifdef READ_FILES
    char *path;             /* -F: its data file */
    int64_t *ivals;         /* the integers read from it */
    int64_t *mvals;         /* the members', (a * instances + i) * members + k */
    struct stat seen;       /* the file they were read from */
#endif
} source_t;

enum { KIND_STRING, KIND_INT, KIND_MEMBER };

typedef struct {
    source_t *src;
    int kind;
    int j;                  /* string/int number, or array number */
    int k;                  /* member number */
    char *text;             /* string value */
} metric_info_t;

static source_t *sources;
static int nsources, maxsources;
static pmdaMetric *metrics;
static metric_info_t *infos;
static int nmetrics;
static int domain = 252;
static pmdaIndom *indoms;
static int nindoms;
static pmdaNameSpace *names;
static char *exec_argv[64];
static int exec_on;
static uid_t nobody_uid;
static gid_t nobody_gid;
static int have_nobody;
static char *exec_buffer;
static size_t exec_buffer_size;
#ifdef READ_FILES
static const char *files_dir;

int cread_load(const char *path, int nints, int64_t *ints, int arrays, int instances, int members, int64_t *vals);
#endif

/*
 * The values of the benchmark data, generation g (g = 0 for static data;
 * the churn workload rewrites the file with g = 1, 2, ...). bench/run.mjs
 * and bench/fetchbench.c use the same rules.
 */
static int64_t
int_value(const source_t *s, int j, int64_t g)
{
    if (s->exotic) {
        if (j == 0) return INT64_C(9007199254740993) + g;          /* 2^53 + 1 */
        if (j == 1) return INT64_MAX - g;
        if (j == 2) return INT64_MIN + g;
    }
    return (int64_t)j * 1000 + g;
}

static int64_t
member_value(const source_t *s, int i, int k, int64_t g)
{
    if (s->exotic && k == s->members - 1)
        return (INT64_C(1) << 60) + (int64_t)i * 1000 + g;
    return (int64_t)i * 100000 + (int64_t)k * 1000 + g;
}

static int
fetch_value(pmdaMetric *m, unsigned int inst, pmAtomValue *atom)
{
    metric_info_t *mi = (metric_info_t *)m->m_user;

    if (mi == NULL)
        return PM_ERR_PMID;
    switch (mi->kind) {
    case KIND_STRING:
        if (inst != PM_IN_NULL) return PM_ERR_INST;
        atom->cp = mi->text;
        return PMDA_FETCH_STATIC;
    case KIND_INT:
        if (inst != PM_IN_NULL) return PM_ERR_INST;
#ifdef READ_FILES
        if (files_dir) {
            atom->ll = mi->src->ivals[mi->j];
            return PMDA_FETCH_STATIC;
        }
#endif
        atom->ll = int_value(mi->src, mi->j, 0);
        return PMDA_FETCH_STATIC;
    case KIND_MEMBER:
        if ((int)inst < 0 || (int)inst >= mi->src->instances) return PM_ERR_INST;
#ifdef READ_FILES
        if (files_dir) {
            const source_t *s = mi->src;
            atom->ll = s->mvals[((size_t)mi->j * s->instances + inst) * s->members + mi->k];
            return PMDA_FETCH_STATIC;
        }
#endif
        atom->ll = member_value(mi->src, (int)inst, mi->k, 0);
        return PMDA_FETCH_STATIC;
    }
    return PM_ERR_PMID;
}

/* -e: run the command, read all its output, wait for it. */
static void
run_exec(void)
{
    int fds[2];
    pid_t pid;
    size_t used = 0;

    if (pipe(fds) < 0) {
        pmNotifyErr(LOG_ERR, "pipe: %s", strerror(errno));
        return;
    }
    pid = fork();
    if (pid < 0) {
        pmNotifyErr(LOG_ERR, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        if (have_nobody && getuid() == 0) {
            if (setgroups(0, NULL) < 0 || setgid(nobody_gid) < 0 || setuid(nobody_uid) < 0)
                _exit(126);
        }
        execv(exec_argv[0], exec_argv);
        _exit(127);
    }
    close(fds[1]);
    for (;;) {
        ssize_t n;
        if (exec_buffer_size - used < 65536) {
            exec_buffer_size = exec_buffer_size ? exec_buffer_size * 2 : 1 << 20;
            exec_buffer = realloc(exec_buffer, exec_buffer_size);
            if (exec_buffer == NULL) {
                pmNotifyErr(LOG_ERR, "out of memory");
                exit(1);
            }
        }
        n = read(fds[0], exec_buffer + used, exec_buffer_size - used);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        used += (size_t)n;
    }
    close(fds[0]);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

#ifdef READ_FILES
/* -F: each source's values, from its data file when that changed */
static void
read_files(void)
{
    int i;

    for (i = 0; i < nsources; i++) {
        source_t *s = &sources[i];
        struct stat st;

        if (stat(s->path, &st) < 0)
            continue;
        if (st.st_ino == s->seen.st_ino && st.st_dev == s->seen.st_dev && st.st_size == s->seen.st_size &&
            st.st_mtim.tv_sec == s->seen.st_mtim.tv_sec && st.st_mtim.tv_nsec == s->seen.st_mtim.tv_nsec)
            continue;
        if (cread_load(s->path, s->ints, s->ivals, s->arrays, s->instances, s->members, s->mvals) == 0)
            s->seen = st;
        else
            pmNotifyErr(LOG_WARNING, "%s: cannot read or parse", s->path);
    }
}

/* -F: each source's file, and its values until it is read (generation 0) */
static void
setup_files(void)
{
    int i, j, a, k;

    for (i = 0; i < nsources; i++) {
        source_t *s = &sources[i];
        size_t n = (size_t)s->arrays * s->instances * s->members;

        if ((s->path = malloc(strlen(files_dir) + strlen(s->name) + 12)) == NULL ||
            (s->ivals = calloc(s->ints > 0 ? s->ints : 1, sizeof(int64_t))) == NULL ||
            (s->mvals = calloc(n > 0 ? n : 1, sizeof(int64_t))) == NULL) {
            pmNotifyErr(LOG_ERR, "out of memory");
            exit(1);
        }
        sprintf(s->path, "%s/%s/data.json", files_dir, s->name);
        for (j = 0; j < s->ints; j++)
            s->ivals[j] = int_value(s, j, 0);
        for (a = 0; a < s->arrays; a++)
            for (j = 0; j < s->instances; j++)
                for (k = 0; k < s->members; k++)
                    s->mvals[((size_t)a * s->instances + j) * s->members + k] = member_value(s, j, k, 0);
    }
}
#endif

static int
do_fetch(int numpmid, pmID *pmids, pmResult **resp, pmdaExt *pmda)
{
    if (exec_on)
        run_exec();
#ifdef READ_FILES
    if (files_dir)
        read_files();
#endif
    return pmdaFetch(numpmid, pmids, resp, pmda);
}

static int
do_text(int ident, int type, char **buffer, pmdaExt *pmda)
{
    (void)ident; (void)type; (void)buffer; (void)pmda;
    return PM_ERR_TEXT;
}

static int
do_pmid(const char *name, pmID *pmid, pmdaExt *pmda)
{
    (void)pmda;
    return pmdaTreePMID(names, name, pmid);
}

static int
do_name(pmID pmid, char ***nameset, pmdaExt *pmda)
{
    (void)pmda;
    return pmdaTreeName(names, pmid, nameset);
}

static int
do_children(const char *name, int traverse, char ***kids, int **sts, pmdaExt *pmda)
{
    (void)pmda;
    return pmdaTreeChildren(names, name, traverse, kids, sts);
}

static void
usage(void)
{
    fprintf(stderr,
        "Usage: cpmda [-d domain] [-r root] [-l logfile] [-e command]\n"
        "             -s name:strings:ints:arrays:instances:members[:x] ...\n"
        "             -S count:prefix:strings:ints:arrays:instances:members[:x] ...\n");
    exit(1);
}

static source_t *
new_source(void)
{
    source_t *s;

    if (nsources >= MAX_SOURCES) {
        fprintf(stderr, "cpmda: too many sources (at most %d)\n", MAX_SOURCES);
        exit(1);
    }
    if (nsources == maxsources) {
        maxsources = maxsources ? maxsources * 2 : 64;
        sources = realloc(sources, maxsources * sizeof(source_t));
        if (sources == NULL) {
            fprintf(stderr, "cpmda: out of memory\n");
            exit(1);
        }
    }
    s = &sources[nsources];
    memset(s, 0, sizeof(*s));
    return s;
}

static void
check_source(source_t *s, const char *spec, int n, const char *flags)
{
    if (n < 6 || s->strings < 0 || s->ints < 0 || s->arrays < 0 || s->instances < 0 || s->members < 0) {
        fprintf(stderr, "cpmda: bad source spec '%s'\n", spec);
        usage();
    }
    if (s->strings + s->ints + s->arrays * s->members > 1023) {
        fprintf(stderr, "cpmda: source '%s' has more than 1023 metrics\n", s->name);
        exit(1);
    }
    s->exotic = strchr(flags, 'x') != NULL;
    s->cluster = ++nsources;
    s->indom_index = -1;
}

static void
parse_source(const char *spec)
{
    source_t *s = new_source();
    char flags[16] = "";
    int n;

    n = sscanf(spec, "%63[A-Za-z0-9_]:%d:%d:%d:%d:%d:%15s", s->name, &s->strings, &s->ints,
               &s->arrays, &s->instances, &s->members, flags);
    check_source(s, spec, n, flags);
}

/* -S count:prefix:shape: sources prefix0 .. prefix<count-1> */
static void
parse_sources(const char *spec)
{
    source_t shape;
    char prefix[48] = "", flags[16] = "";
    int count = 0, i, n;

    memset(&shape, 0, sizeof(shape));
    n = sscanf(spec, "%d:%47[A-Za-z_]:%d:%d:%d:%d:%d:%15s", &count, prefix, &shape.strings, &shape.ints,
               &shape.arrays, &shape.instances, &shape.members, flags);
    if (n < 7 || count < 1) {
        fprintf(stderr, "cpmda: bad sources spec '%s'\n", spec);
        usage();
    }
    for (i = 0; i < count; i++) {
        source_t *s = new_source();
        *s = shape;
        pmsprintf(s->name, sizeof(s->name), "%s%d", prefix, i);
        check_source(s, spec, n - 1, flags);
    }
}

static void
split_command(char *line)
{
    int n = 0;
    char *tok, *save = NULL;

    for (tok = strtok_r(line, " \t,", &save); tok && n < 63; tok = strtok_r(NULL, " \t,", &save))
        exec_argv[n++] = tok;
    exec_argv[n] = NULL;
    if (n == 0) {
        fprintf(stderr, "cpmda: empty -e command\n");
        exit(1);
    }
    exec_on = 1;
}

static void
add_metric(source_t *s, int item, int type, int indom, int kind, int j, int k)
{
    pmdaMetric *m = &metrics[nmetrics];
    metric_info_t *mi = &infos[nmetrics];

    mi->src = s;
    mi->kind = kind;
    mi->j = j;
    mi->k = k;
    mi->text = NULL;
    if (kind == KIND_STRING) {
        char text[128];
        pmsprintf(text, sizeof(text), "%s-s%d", s->name, j);
        mi->text = strdup(text);
    }
    m->m_user = mi;
    memset(&m->m_desc, 0, sizeof(m->m_desc));
    m->m_desc.pmid = pmID_build(domain, s->cluster, item);
    m->m_desc.type = type;
    m->m_desc.indom = indom < 0 ? PM_INDOM_NULL : (pmInDom)indom;
    m->m_desc.sem = PM_SEM_INSTANT;
    nmetrics++;
}

int
main(int argc, char **argv)
{
    static pmdaInterface dispatch;
    const char *root = "jsonc";
    const char *logfile = NULL;
    char logbuf[MAXPATHLEN];
    char *exec_line = NULL;
    int c, i, a, k, total = 0, sts;
    struct passwd *pw;

    pmSetProgname(argv[0]);
    while ((c = getopt(argc, argv, "d:r:l:e:s:S:U:D:F:")) != -1) {
        switch (c) {
        case 'd': domain = atoi(optarg); break;
        case 'r': root = optarg; break;
        case 'l': logfile = optarg; break;
        case 'e': exec_line = strdup(optarg); break;
        case 's': parse_source(optarg); break;
        case 'S': parse_sources(optarg); break;
        case 'U': break;
        case 'D':
            if (pmSetDebug(optarg) < 0) usage();
            break;
#ifdef READ_FILES
        case 'F': files_dir = optarg; break;
#endif
        default: usage();
        }
    }
    if (optind != argc || domain < 1 || domain > 510)
        usage();
    if (exec_line)
        split_command(exec_line);
#ifdef READ_FILES
    if (files_dir)
        setup_files();
#endif
    if ((pw = getpwnam("nobody")) != NULL) {
        nobody_uid = pw->pw_uid;
        nobody_gid = pw->pw_gid;
        have_nobody = 1;
    }
    if (logfile == NULL) {
        const char *dir = pmGetOptionalConfig("PCP_LOG_DIR");
        pmsprintf(logbuf, sizeof(logbuf), "%s/pmcd/%s.log", dir ? dir : ".", root);
        logfile = logbuf;
    }

    pmdaDaemon(&dispatch, PMDA_INTERFACE_7, pmGetProgname(), domain, logfile, NULL);
    pmdaOpenLog(&dispatch);
    if (dispatch.status != 0) {
        pmNotifyErr(LOG_ERR, "pmdaDaemon: %s", pmErrStr(dispatch.status));
        exit(1);
    }

    for (i = 0; i < nsources; i++)
        total += sources[i].strings + sources[i].ints + sources[i].arrays * sources[i].members;
    metrics = calloc(total > 0 ? total : 1, sizeof(pmdaMetric));
    infos = calloc(total > 0 ? total : 1, sizeof(metric_info_t));
    indoms = calloc(nsources > 0 ? nsources : 1, sizeof(pmdaIndom));
    if (metrics == NULL || infos == NULL || indoms == NULL) {
        pmNotifyErr(LOG_ERR, "out of memory");
        exit(1);
    }
    if ((sts = pmdaTreeCreate(&names)) < 0) {
        pmNotifyErr(LOG_ERR, "pmdaTreeCreate: %s", pmErrStr(sts));
        exit(1);
    }

    /* metrics and names; items in the order strings, ints, array members */
    for (i = 0; i < nsources; i++) {
        source_t *s = &sources[i];
        int item = 0;

        if (s->arrays > 0) {
            s->indom_index = nindoms;
            indoms[nindoms].it_indom = (pmInDom)nindoms;   /* serial; pmdaInit builds the indom */
            indoms[nindoms].it_numinst = 0;
            indoms[nindoms].it_set = NULL;
            nindoms++;
        }
        for (k = 0; k < s->strings; k++) {
            add_metric(s, item++, PM_TYPE_STRING, -1, KIND_STRING, k, 0);
        }
        for (k = 0; k < s->ints; k++) {
            add_metric(s, item++, PM_TYPE_64, -1, KIND_INT, k, 0);
        }
        for (a = 0; a < s->arrays; a++) {
            for (k = 0; k < s->members; k++) {
                add_metric(s, item++, PM_TYPE_64, s->indom_index, KIND_MEMBER, a, k);
            }
        }
    }

    /* The PMDA set-up of native/pmda_json.cc, alike on purpose: this is the
     * C floor, a PMDA on libpcp_pmda alone that the benchmark compares with,
     * so it shares no code with the PMDA it measures. */
    dispatch.version.seven.fetch = do_fetch;
    dispatch.version.seven.pmid = do_pmid;
    dispatch.version.seven.name = do_name;
    dispatch.version.seven.children = do_children;
    dispatch.version.seven.text = do_text;
    pmdaSetFetchCallBack(&dispatch, fetch_value);
    pmdaSetFlags(&dispatch, PMDA_EXT_FLAG_HASHED);
    pmdaInit(&dispatch, nindoms ? indoms : NULL, nindoms, metrics, nmetrics);
    if (dispatch.status != 0) {
        pmNotifyErr(LOG_ERR, "pmdaInit: %s", pmErrStr(dispatch.status));
        exit(1);
    }

    /* names carry the full PMIDs, which exist only after pmdaInit */
    for (i = 0; i < nmetrics; i++) {
        metric_info_t *mi = &infos[i];
        char name[256];

        if (mi->kind == KIND_STRING)
            pmsprintf(name, sizeof(name), "%s.%s.s%d", root, mi->src->name, mi->j);
        else if (mi->kind == KIND_INT)
            pmsprintf(name, sizeof(name), "%s.%s.m%d", root, mi->src->name, mi->j);
        else
            pmsprintf(name, sizeof(name), "%s.%s.a%d.v%d", root, mi->src->name, mi->j, mi->k);
        if ((sts = pmdaTreeInsert(names, metrics[i].m_desc.pmid, name)) < 0)
            pmNotifyErr(LOG_WARNING, "cannot add %s: %s", name, pmErrStr(sts));
    }
    pmdaTreeRebuildHash(names, nmetrics);

    /* instances i0 .. iN-1 get instance ids 0 .. N-1 */
    for (i = 0; i < nsources; i++) {
        source_t *s = &sources[i];
        pmInDom indom;
        char inst[32];

        if (s->indom_index < 0) continue;
        indom = indoms[s->indom_index].it_indom;
        for (k = 0; k < s->instances; k++) {
            pmsprintf(inst, sizeof(inst), "i%d", k);
            if ((sts = pmdaCacheStore(indom, PMDA_CACHE_ADD, inst, NULL)) != k) {
                pmNotifyErr(LOG_ERR, "instance %s of %s: got %d", inst, s->name, sts);
                exit(1);
            }
        }
    }
    pmNotifyErr(LOG_INFO, "%d sources, %d metrics, %d indoms%s", nsources, nmetrics, nindoms,
                exec_on ? ", data-exec floor" : "");

    pmdaConnect(&dispatch);
    if (dispatch.status != 0) {
        pmNotifyErr(LOG_ERR, "pmdaConnect: %s", pmErrStr(dispatch.status));
        exit(1);
    }
    pmdaMain(&dispatch);
    return 0;
}
