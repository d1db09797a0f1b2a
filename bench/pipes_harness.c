/*
 * The chained-pipes harness shared by every driver: command line, sockets,
 * rounds, timing, counters, memory and the TSV line.  See pipes.h for the
 * workload.
 *
 * usage: pipes_DRIVER -n N -a A -w W -r ROUNDS [-i IDLE]
 *                     [--backend epoll|poll] [--mode changed|full]
 *                     [--max-events K] [--budget-ms MS] [--callgrind]
 *                     [--header]
 *
 *   --max-events K polleros: events one wait harvests (po_options)
 *   -w W           write budget per round; with --budget-ms, the largest
 *   --budget-ms MS choose W so that a round lasts about MS ms (at least
 *                  max(100, 4 A) writes), from an untimed calibration
 *                  round: a driver whose cost grows with the channel count
 *                  would otherwise take hours at the largest cells, while
 *                  ns per event does not depend on W
 *   --callgrind    no warm-up round, fixed W; callgrind instruments only
 *                  the timed loop (run it with --instr-atstart=no)
 *   --header       print the TSV column names first
 */
#define _GNU_SOURCE
#include "pipes.h"

#include "measure.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifdef BENCH_HAVE_CALLGRIND_H
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#endif

/* Iterations a round may take beyond two per event before the harness
 * decides that a driver lost an event, rather than spin forever. */
#define STALL_ITERATIONS 1000000L

/* The state pipes_fire() works on.  A global, because the drivers'
 * callbacks have library-specific signatures and only the pair index in
 * common. */
static struct {
    int n;
    int *read_fds;
    int *write_fds;
    long writes; /* budget left in this round */
    long count;  /* bytes read (events) in this round */
    long empty;  /* watchers that fired with nothing to read */
} g;

void pipes_fire(int i) {
    char c;
    if (read(g.read_fds[i], &c, 1) != 1) {
        g.empty++; /* never expected: every driver is level-triggered */
        return;
    }
    g.count++;
    if (g.writes > 0) {
        g.writes--;
        int next = i + 1 == g.n ? 0 : i + 1;
        if (write(g.write_fds[next], &c, 1) != 1) {
            perror("pipes: write");
            exit(1);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Command line                                                             */

typedef struct args {
    pipes_config cfg;
    long budget_ms; /* 0: W is fixed */
    bool callgrind;
    bool header;
} args;

static void usage(const char *prog) {
    fprintf(stderr,
            "usage: %s -n N -a A -w W -r ROUNDS [-i IDLE] "
            "[--backend epoll|poll] [--mode changed|full] [--max-events K] "
            "[--budget-ms MS] "
            "[--callgrind] [--header]\n",
            prog);
}

static bool parse_long(const char *opt, const char *s, long min, long max,
                       long *out) {
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (s == NULL || errno != 0 || end == s || *end != '\0' || v < min ||
        v > max) {
        fprintf(stderr, "%s: '%s' is not a number in [%ld, %ld]\n", opt,
                s ? s : "", min, max);
        return false;
    }
    *out = v;
    return true;
}

static bool parse_args(int argc, char **argv, args *a) {
    long n = 0, act = 0, w = -1, r = 0, idle = 0, budget = 0, maxev = 0;
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = true, flag = false;
        if (strcmp(o, "-n") == 0)
            ok = parse_long(o, v, 1, INT_MAX / 2, &n);
        else if (strcmp(o, "-a") == 0)
            ok = parse_long(o, v, 1, INT_MAX, &act);
        else if (strcmp(o, "-w") == 0)
            ok = parse_long(o, v, 0, LONG_MAX / 4, &w);
        else if (strcmp(o, "-r") == 0)
            ok = parse_long(o, v, 1, 1000, &r);
        else if (strcmp(o, "-i") == 0)
            ok = parse_long(o, v, 0, INT_MAX / 2, &idle);
        else if (strcmp(o, "--max-events") == 0)
            ok = parse_long(o, v, 1, 65536, &maxev);
        else if (strcmp(o, "--budget-ms") == 0)
            ok = parse_long(o, v, 1, 3600000, &budget);
        else if (strcmp(o, "--backend") == 0 && v)
            a->cfg.backend = v;
        else if (strcmp(o, "--mode") == 0 && v)
            a->cfg.mode = v;
        else if (strcmp(o, "--callgrind") == 0)
            flag = a->callgrind = true;
        else if (strcmp(o, "--header") == 0)
            flag = a->header = true;
        else
            ok = false;
        if (!ok) {
            usage(argv[0]);
            return false;
        }
        if (!flag)
            i++;
    }
    if (n == 0 || act == 0 || w < 0 || r == 0) {
        usage(argv[0]);
        return false;
    }
    a->cfg.n = (int)n;
    a->cfg.active = (int)act;
    a->cfg.writes = w;
    a->cfg.rounds = (int)r;
    a->cfg.idle = idle;
    a->cfg.max_events = (unsigned)maxev;
    a->budget_ms = a->callgrind ? 0 : budget;
    return true;
}

/* ------------------------------------------------------------------------ */
/* Measurements                                                             */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The descriptors: two per pair, plus the loop's own, must fit. */
static bool raise_nofile(long need) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return false;
    if (rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur < need) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur < need) {
        fprintf(stderr,
                "pipes: %ld descriptors needed, the limit is %ld (hard "
                "%ld)\n",
                need, (long)rl.rlim_cur, (long)rl.rlim_max);
        return false;
    }
    return true;
}

static bool open_pairs(int n) {
    g.n = n;
    g.read_fds = malloc((size_t)n * sizeof *g.read_fds);
    g.write_fds = malloc((size_t)n * sizeof *g.write_fds);
    if (g.read_fds == NULL || g.write_fds == NULL)
        return false;
    for (int i = 0; i < n; i++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
                       sv) != 0) {
            fprintf(stderr, "pipes: socketpair %d of %d: %s\n", i + 1, n,
                    strerror(errno));
            return false;
        }
        g.read_fds[i] = sv[0];
        g.write_fds[i] = sv[1];
    }
    return true;
}

typedef struct round_result {
    double ns;
    long iters;
    pipes_counters kc; /* kernel calls during the timed loop */
} round_result;

/* One round: A bytes spread evenly over the pairs (untimed), then the loop
 * until every byte, the A initial ones and the W passed on, is read.  With
 * A > N some pairs start with several bytes; a watcher still reads one byte
 * per turn, so those pairs fire on consecutive iterations. */
static bool run_round(const pipes_driver *drv, void *st, const args *a,
                      long writes, bool timed, round_result *out) {
    const pipes_config *c = &a->cfg;
    long target = c->active + writes;
    g.count = 0;
    g.writes = writes;
    for (long k = 0; k < c->active; k++) {
        long pair = (long)((long long)k * c->n / c->active);
        if (write(g.write_fds[pair], "e", 1) != 1) {
            perror("pipes: write");
            return false;
        }
    }
    pipes_counters k0 = {0, 0}, k1 = {0, 0};
    bool have = drv->counters && drv->counters(st, &k0);
    /* Every iteration of a level-triggered loop reads at least one byte
     * until the round is over; a cap far above that stops a driver that
     * lost an event, at the cost of one compare per iteration. */
    long iters = 0, cap = 2 * target + STALL_ITERATIONS;
    if (timed)
        CALLGRIND_START_INSTRUMENTATION;
    double t0 = now_ns();
    while (g.count < target && iters < cap) {
        drv->run_once(st);
        iters++;
    }
    double t1 = now_ns();
    if (timed)
        CALLGRIND_STOP_INSTRUMENTATION;
    if (g.count != target) {
        fprintf(stderr, "pipes: %s lost events: %ld of %ld read\n", drv->name,
                g.count, target);
        return false;
    }
    if (have)
        drv->counters(st, &k1);
    out->ns = t1 - t0;
    out->iters = iters;
    out->kc.waits = have ? k1.waits - k0.waits : UINT64_MAX;
    out->kc.ctls = have ? k1.ctls - k0.ctls : UINT64_MAX;
    return true;
}

static void print_header(void) {
    puts("bench\tdriver\tlibrary\tbackend\tn\tactive\tidle\twrites\trounds\t"
         "events\tns_per_event\tns_min\tns_max\titers_per_event\t"
         "waits_per_event\tctls_per_event\trss_per_channel");
}

static void print_ratio(uint64_t num, double den) {
    if (num == UINT64_MAX)
        fputs("\t-", stdout);
    else
        printf("\t%.4f", (double)num / den);
}

int pipes_main(int argc, char **argv, const pipes_driver *drv) {
    args a;
    if (!parse_args(argc, argv, &a))
        return 2;
    const pipes_config *c = &a.cfg;
    /* 2 per pair, stdio, and a few for the loop itself (libuv keeps 4). */
    if (!raise_nofile(2L * c->n + 16) || !open_pairs(c->n))
        return 1;

    long long rss0 = rss_bytes();
    void *st = drv->setup(c, g.read_fds);
    if (st == NULL)
        return 1;
    /* Settle: the first iterations register the watchers (polleros does it
     * in its first wait, libuv in its first run): not part of a round. */
    for (int k = 0; k < 2; k++)
        drv->run_once(st);
    long long rss1 = rss_bytes();

    long writes = c->writes;
    round_result r;
    if (!a.callgrind) {
        /* Warm-up round: caches, lazily grown buffers (libevent doubles its
         * epoll array as batches fill it); doubles as the calibration. */
        long w0 = a.budget_ms ? 4L * c->active : writes;
        if (w0 < 100)
            w0 = 100;
        if (a.budget_ms && w0 > writes)
            w0 = writes;
        if (!run_round(drv, st, &a, w0, false, &r))
            return 1;
        if (a.budget_ms) {
            double per_event = r.ns / (double)(c->active + w0);
            double want = (double)a.budget_ms * 1e6 / per_event - c->active;
            writes = want < (double)w0       ? w0
                     : want > (double)writes ? writes
                                             : (long)want;
        }
    }

    double *ns = malloc((size_t)c->rounds * sizeof *ns);
    if (ns == NULL)
        return 1;
    long iters = 0;
    pipes_counters kc = {0, 0};
    bool have_kc = true;
    for (int k = 0; k < c->rounds; k++) {
        if (!run_round(drv, st, &a, writes, true, &r))
            return 1;
        ns[k] = r.ns / (double)(c->active + writes);
        iters += r.iters;
        if (r.kc.waits == UINT64_MAX)
            have_kc = false;
        kc.waits += r.kc.waits;
        kc.ctls += r.kc.ctls;
    }
    if (g.empty)
        fprintf(stderr, "pipes: %s: %ld watcher calls found no byte\n",
                drv->name, g.empty);
    qsort(ns, (size_t)c->rounds, sizeof *ns, cmp_double);
    double median = c->rounds % 2
                        ? ns[c->rounds / 2]
                        : (ns[c->rounds / 2 - 1] + ns[c->rounds / 2]) / 2;
    double events = (double)(c->active + writes) * c->rounds;

    if (a.header)
        print_header();
    printf("pipes\t%s\t%s\t%s\t%d\t%d\t%ld\t%ld\t%d\t%ld\t%.1f\t%.1f\t%.1f\t"
           "%.4f",
           drv->name, drv->version(), drv->describe(st), c->n, c->active,
           c->idle, writes, c->rounds, c->active + writes, median, ns[0],
           ns[c->rounds - 1], (double)iters / events);
    print_ratio(have_kc ? kc.waits : UINT64_MAX, events);
    print_ratio(have_kc ? kc.ctls : UINT64_MAX, events);
    long chans = c->n + c->idle;
    if (rss0 >= 0 && rss1 >= 0)
        printf("\t%.1f\n", (double)(rss1 - rss0) / (double)chans);
    else
        fputs("\t-\n", stdout);
    fflush(stdout);

    drv->teardown(st);
    for (int i = 0; i < c->n; i++) {
        close(g.read_fds[i]);
        close(g.write_fds[i]);
    }
    free(g.read_fds);
    free(g.write_fds);
    free(ns);
    return 0;
}
