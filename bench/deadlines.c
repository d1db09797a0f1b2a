/*
 * Deadlines: what a deadline costs as their number d grows, and that an
 * idle wait does not grow with it.
 *
 * For each d: attach d socketless channels and give each a deadline an hour
 * away, at random (set); move every one to another random time (move); time
 * an idle po_wait(p, 0) with all d deadlines pending (idle wait, median of
 * rounds); then bring every deadline into the past, in random order, and
 * time the one wait that fires them all (fire, per deadline).  A binary heap
 * makes set, move and fire O(log d) and the idle wait O(1): set and move
 * should grow by about the same step each time d grows tenfold, the idle
 * wait not at all.
 *
 * usage: deadlines [-d D1,D2,...] [--backend epoll|poll]
 * Prints TSV lines: deadlines, polleros, backend, d, metric, value.
 *
 * And how late deadlines fire (lateness.h), with --lateness: polleros's
 * driver is here, each peer's a program of its own (lateness_<lib>).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lateness.h"
#include "measure.h"
#include "polleros.h"

static po_triggers idle_probe(po_channel *ch, void *ctx) {
    (void)ch;
    (void)ctx;
    return 0;
}
static const po_channel_ops idle_ops = {idle_probe, NULL};

/* ------------------------------------------------------------------------ */
/* polleros: a socketless channel per pending deadline, armed with
 * po_set_deadline() at the nanosecond; the loop waits with
 * po_wait_until(PO_NEVER), so only the deadlines end its waits. */

typedef struct lt_pchan {
    uint64_t deadline;
    int fd; /* a traffic socket, or -1 for a deadline's channel */
} lt_pchan;

static po_triggers lt_probe(po_channel *ch, void *ctx) {
    (void)ch;
    return ((lt_pchan *)ctx)->fd >= 0 ? PO_RECV : 0;
}
static const po_channel_ops lt_ops = {lt_probe, NULL};

static int lt_polleros(lt_run *r, const char *backend) {
    po_options o;
    memset(&o, 0, sizeof o);
    o.backend = strcmp(backend, "poll") == 0    ? PO_BACKEND_POLL
                : strcmp(backend, "uring") == 0 ? PO_BACKEND_URING
                                                : PO_BACKEND_EPOLL;
    o.spin_ns = r->spin;
    int err;
    po_poller *p = po_create(&o, &err);
    if (p == NULL) {
        printf("# polleros/%s: %s\n", backend, po_strerror(err));
        return 1;
    }
    size_t n = r->pending + LT_SOCKS;
    lt_pchan *c = calloc(n, sizeof *c);
    for (size_t i = 0; i < n; i++) {
        c[i].fd = i < r->pending ? -1 : r->fd[i - r->pending];
        if (i >= r->pending && c[i].fd < 0)
            continue; /* no traffic */
        po_channel *ch;
        po_attach(p, i, c[i].fd >= 0 ? c[i].fd : PO_NO_SOCKET, &lt_ops, &c[i],
                  &ch);
        if (i < r->pending)
            po_set_deadline(ch, c[i].deadline = lt_next(r));
    }
    while (r->fired < r->total && po_wait_until(p, PO_NEVER, NULL) >= 0) {
        po_iter it = PO_ITER_INIT;
        po_channel *ch;
        while ((ch = po_next_triggered(p, &it)) != NULL) {
            lt_pchan *pc = po_channel_ctx(ch);
            if (pc->fd >= 0)
                lt_drain(pc->fd);
            else if ((po_channel_act(ch) & PO_TIMEOUT) &&
                     lt_fired(r, pc->deadline))
                po_set_deadline(ch, pc->deadline = lt_next(r));
        }
    }
    free(c);
    po_destroy(p);
    return 0;
}

static uint64_t rnd(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void emit(const char *be, size_t d, const char *metric, double v) {
    printf("deadlines\tpolleros\t%s\t%zu\t%s\t%.1f\n", be, d, metric, v);
}

static int run(po_backend_kind kind, const char *be, size_t d) {
    po_options o;
    memset(&o, 0, sizeof o);
    o.backend = kind;
    o.reconcile = PO_RECONCILE_CHANGED;
    int err;
    po_poller *p = po_create(&o, &err);
    if (p == NULL) {
        fprintf(stderr, "deadlines: po_create: %s\n", po_strerror(err));
        return 1;
    }
    po_channel **ch = malloc((d ? d : 1) * sizeof *ch);
    if (ch == NULL)
        return 1;
    for (size_t i = 0; i < d; i++)
        if (po_attach(p, i, PO_NO_SOCKET, &idle_ops, NULL, &ch[i]) != PO_OK)
            return 1;
    po_wait(p, 0, NULL); /* the attaches' own probes */

    uint64_t seed = 0x2545f4914f6cdd1du;
    po_time far = po_now() + 3600 * 1000 * PO_MSEC;
    double t0 = now_ns();
    for (size_t i = 0; i < d; i++)
        po_set_deadline(ch[i], far + rnd(&seed) % (1000 * PO_MSEC));
    double t1 = now_ns();
    for (size_t i = 0; i < d; i++)
        po_set_deadline(ch[i], far + rnd(&seed) % (1000 * PO_MSEC));
    double t2 = now_ns();
    if (d) {
        emit(be, d, "set_ns", (t1 - t0) / (double)d);
        emit(be, d, "move_ns", (t2 - t1) / (double)d);
    }

    enum { ROUNDS = 2001 };
    static double idle[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        double a = now_ns();
        po_wait(p, 0, NULL);
        idle[r] = now_ns() - a;
    }
    qsort(idle, ROUNDS, sizeof idle[0], cmp_double);
    emit(be, d, "idle_wait_ns", idle[ROUNDS / 2]);

    if (d) {
        po_time past = po_now() - 1000 * PO_MSEC;
        for (size_t i = 0; i < d; i++) {
            size_t j = (size_t)(rnd(&seed) % d); /* a random order */
            po_channel *t = ch[i];
            ch[i] = ch[j];
            ch[j] = t;
        }
        for (size_t i = 0; i < d; i++)
            po_set_deadline(ch[i], past + rnd(&seed) % (1000 * PO_MSEC));
        double a = now_ns();
        int fired = po_wait(p, 0, NULL);
        double b = now_ns();
        if (fired != (int)d) {
            fprintf(stderr, "deadlines: %d fired of %zu\n", fired, d);
            return 1;
        }
        emit(be, d, "fire_ns", (b - a) / (double)d);
    }
    free(ch);
    po_destroy(p);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--lateness") == 0)
        return lt_main("polleros", lt_polleros, argc - 2, argv + 2);
    const char *list = "0,1000,10000,100000,1000000";
    const char *be = "epoll";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-d") == 0 && i + 1 < argc)
            list = argv[++i];
        else if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc)
            be = argv[++i];
        else {
            fprintf(stderr, "usage: deadlines [-d D1,D2,...] "
                            "[--backend epoll|poll]\n");
            return 2;
        }
    }
    po_backend_kind kind =
        strcmp(be, "poll") == 0 ? PO_BACKEND_POLL : PO_BACKEND_EPOLL;
    char *copy = strdup(list);
    for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ","))
        if (run(kind, be, (size_t)strtoull(tok, NULL, 10)) != 0)
            return 1;
    free(copy);
    return 0;
}
