/*
 * Churn: how fast channels come and go, and what each one costs in memory.
 *
 *   socketless  attach COUNT channels without a socket, wait twice (the
 *               first wait probes every new channel, the second shows what
 *               an idle poller of that size costs per wait), delete them
 *               all.  Every byte the poller owns goes through a counting
 *               allocator (po_options.allocator), so "bytes per channel" is
 *               exactly the poller's own memory: requested bytes, without
 *               the C library's per-block overhead, which is reported
 *               apart as blocks per channel.
 *   sockets     the same with SOCKETS channels on socketpairs: attach, the
 *               first wait (one epoll_ctl ADD each), delete (one DEL each),
 *               and the growth of the process's resident memory per
 *               channel, read from /proc/self/status.
 *
 * usage: churn [-c COUNT] [-s SOCKETS] [--backend epoll|poll]
 *              [--mode changed|full]
 * Prints TSV lines: churn, polleros, backend/mode, case, metric, value.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "measure.h"
#include "polleros.h"

/* ------------------------------------------------------------------------ */
/* The counting allocator                                                   */

typedef struct counting {
    size_t live, peak; /* bytes requested and not freed */
    size_t blocks;     /* blocks live */
} counting;

/* Each block carries its requested size in front, so that realloc and free
 * know what they give back; 16 bytes keep the block max_align_t-aligned. */
#define HDR 16

static void *c_malloc(size_t n, void *ctx) {
    counting *c = ctx;
    unsigned char *b = malloc(HDR + n);
    if (b == NULL)
        return NULL;
    memcpy(b, &n, sizeof n);
    c->live += n;
    c->blocks++;
    if (c->live > c->peak)
        c->peak = c->live;
    return b + HDR;
}

static void c_free(void *p, void *ctx) {
    counting *c = ctx;
    if (p == NULL)
        return;
    unsigned char *b = (unsigned char *)p - HDR;
    size_t n;
    memcpy(&n, b, sizeof n);
    c->live -= n;
    c->blocks--;
    free(b);
}

static void *c_realloc(void *p, size_t n, void *ctx) {
    counting *c = ctx;
    if (p == NULL)
        return c_malloc(n, ctx);
    unsigned char *b = (unsigned char *)p - HDR;
    size_t old;
    memcpy(&old, b, sizeof old);
    unsigned char *nb = realloc(b, HDR + n);
    if (nb == NULL)
        return NULL;
    memcpy(nb, &n, sizeof n);
    c->live = c->live - old + n;
    if (c->live > c->peak)
        c->peak = c->live;
    return nb + HDR;
}

/* ------------------------------------------------------------------------ */

static po_triggers wants_nothing(po_channel *ch, void *ctx) {
    (void)ch;
    (void)ctx;
    return 0;
}

static po_triggers wants_recv(po_channel *ch, void *ctx) {
    (void)ch;
    (void)ctx;
    return PO_RECV;
}

static const po_channel_ops idle_ops = {wants_nothing, NULL};
static const po_channel_ops sock_ops = {wants_recv, NULL};

static const char *g_desc;

static void out(const char *cas, const char *metric, double v) {
    printf("churn\tpolleros\t%s\t%s\t%s\t%.2f\n", g_desc, cas, metric, v);
}

static po_poller *make(po_options *opt, counting *cnt, po_allocator *al) {
    *al = (po_allocator){c_malloc, c_realloc, c_free, cnt};
    opt->allocator = al;
    int err;
    po_poller *p = po_create(opt, &err);
    if (p == NULL)
        fprintf(stderr, "churn: po_create: %s\n", po_strerror(err));
    return p;
}

static int socketless(po_options opt, long count) {
    counting cnt = {0, 0, 0};
    po_allocator al;
    po_poller *p = make(&opt, &cnt, &al);
    if (p == NULL)
        return 1;
    size_t base = cnt.live, base_blocks = cnt.blocks;
    char cas[64];
    snprintf(cas, sizeof cas, "socketless %ld", count);

    double t0 = now_ns();
    for (long i = 0; i < count; i++) {
        int rc = po_attach(p, (po_chn)i, PO_NO_SOCKET, &idle_ops, NULL, NULL);
        if (rc != PO_OK) {
            fprintf(stderr, "churn: po_attach: %s\n", po_strerror(rc));
            return 1;
        }
    }
    double t1 = now_ns();
    po_wait(p, 0, NULL);
    double t2 = now_ns();
    po_wait(p, 0, NULL);
    double t3 = now_ns();
    size_t live = cnt.live, blocks = cnt.blocks;
    for (long i = 0; i < count; i++)
        po_delete(p, (po_chn)i);
    double t4 = now_ns();

    out(cas, "attach_ns", (t1 - t0) / (double)count);
    out(cas, "first_wait_ns_per_channel", (t2 - t1) / (double)count);
    out(cas, "idle_wait_us", (t3 - t2) / 1e3);
    out(cas, "delete_ns", (t4 - t3) / (double)count);
    out(cas, "bytes_per_channel", (double)(live - base) / (double)count);
    out(cas, "peak_bytes_per_channel",
        (double)(cnt.peak - base) / (double)count);
    out(cas, "blocks_per_channel",
        (double)(blocks - base_blocks) / (double)count);
    out(cas, "bytes_left_after_delete_per_channel",
        (double)(cnt.live - base) / (double)count);
    po_destroy(p);
    if (cnt.live != 0 || cnt.blocks != 0)
        fprintf(stderr, "churn: %zu bytes in %zu blocks not freed\n", cnt.live,
                cnt.blocks);
    return 0;
}

static int sockets(po_options opt, int n) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int *fds = malloc(2 * (size_t)n * sizeof *fds);
    if (fds == NULL)
        return 1;
    for (int i = 0; i < n; i++)
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
                       fds + 2 * i) != 0) {
            fprintf(stderr, "churn: socketpair %d: %s\n", i, strerror(errno));
            return 1;
        }
    counting cnt = {0, 0, 0};
    po_allocator al;
    long long rss0 = rss_bytes();
    po_poller *p = make(&opt, &cnt, &al);
    if (p == NULL)
        return 1;
    size_t base = cnt.live;
    char cas[64];
    snprintf(cas, sizeof cas, "sockets %d", n);

    double t0 = now_ns();
    for (int i = 0; i < n; i++) {
        int rc = po_attach(p, (po_chn)i, fds[2 * i], &sock_ops, NULL, NULL);
        if (rc != PO_OK) {
            fprintf(stderr, "churn: po_attach: %s\n", po_strerror(rc));
            return 1;
        }
    }
    double t1 = now_ns();
    po_wait(p, 0, NULL); /* registers every socket */
    double t2 = now_ns();
    long long rss1 = rss_bytes();
    size_t live = cnt.live;
    po_stats st;
    po_get_stats(p, &st);
    for (int i = 0; i < n; i++)
        po_delete(p, (po_chn)i); /* unregisters each */
    double t3 = now_ns();

    out(cas, "attach_ns", (t1 - t0) / n);
    out(cas, "register_ns", (t2 - t1) / n);
    out(cas, "delete_ns", (t3 - t2) / n);
    out(cas, "adds_per_channel", (double)st.adds / n);
    out(cas, "bytes_per_channel", (double)(live - base) / n);
    if (rss0 >= 0 && rss1 >= 0)
        out(cas, "rss_per_channel", (double)(rss1 - rss0) / n);
    po_destroy(p);
    for (int i = 0; i < 2 * n; i++)
        close(fds[i]);
    free(fds);
    return 0;
}

int main(int argc, char **argv) {
    long count = 1000000, nsock = 9984;
    po_options opt = {.backend = PO_BACKEND_DEFAULT,
                      .reconcile = PO_RECONCILE_DEFAULT};
    const char *b = "default", *m = "default";
    for (int i = 1; i + 1 < argc + 1; i += 2) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            goto usage;
        if (strcmp(o, "-c") == 0)
            count = strtol(v, NULL, 10);
        else if (strcmp(o, "-s") == 0)
            nsock = strtol(v, NULL, 10);
        else if (strcmp(o, "--backend") == 0 && strcmp(v, "epoll") == 0)
            opt.backend = PO_BACKEND_EPOLL, b = v;
        else if (strcmp(o, "--backend") == 0 && strcmp(v, "poll") == 0)
            opt.backend = PO_BACKEND_POLL, b = v;
        else if (strcmp(o, "--mode") == 0 && strcmp(v, "changed") == 0)
            opt.reconcile = PO_RECONCILE_CHANGED, m = v;
        else if (strcmp(o, "--mode") == 0 && strcmp(v, "full") == 0)
            opt.reconcile = PO_RECONCILE_FULL, m = v;
        else
            goto usage;
    }
    if (count < 1 || nsock < 1 || nsock > 1000000)
        goto usage;
    char desc[64];
    snprintf(desc, sizeof desc, "%s/%s", b, m);
    g_desc = desc;
    setvbuf(stdout, NULL, _IOLBF, 0);
    return socketless(opt, count) || sockets(opt, (int)nsock);
usage:
    fprintf(stderr, "usage: churn [-c COUNT] [-s SOCKETS] "
                    "[--backend epoll|poll] [--mode changed|full]\n");
    return 2;
}
