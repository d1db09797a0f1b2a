/*
 * The churn benchmark's server on polleros (churn.h says what it does):
 * the listener is a channel that wants PO_ACCEPT, each connection one that
 * wants PO_RECV, and PO_SEND too while its response is unfinished.  On
 * SIGTERM it prints the poller's kernel calls (po_get_stats) and its own
 * loop iterations, and exits.
 *
 * Usage: churn_polleros --mode conn|interest --port-file PATH
 *                       [--backend epoll|poll|uring]
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "churn.h"
#include "polleros.h"

typedef struct pconn {
    churn_conn c; /* first: see churn.h */
    churn_want want;
} pconn;

static po_triggers listener_probe(po_channel *ch, void *ctx) {
    (void)ch;
    (void)ctx;
    return PO_ACCEPT;
}

static po_triggers conn_probe(po_channel *ch, void *ctx) {
    (void)ch;
    return ((pconn *)ctx)->want == CHURN_WRITE ? PO_RECV | PO_SEND : PO_RECV;
}

/* The poller has unregistered the socket by now. */
static void conn_deinit(po_channel *ch, void *ctx) {
    (void)ch;
    churn_close(ctx);
    free(ctx);
}

static const po_channel_ops listener_ops = {listener_probe, NULL};
static const po_channel_ops conn_ops = {conn_probe, conn_deinit};

static volatile sig_atomic_t stop;
static void on_term(int sig) {
    (void)sig;
    stop = 1;
}

/* A connection's number is its descriptor + 1: the listener is 0, and a
 * descriptor is reused only after its channel is deleted and it is closed. */
static void accept_all(const churn_server *s, po_poller *p) {
    pconn *c;
    while ((c = churn_accept(s, sizeof *c)) != NULL) {
        int fd = c->c.fd;
        c->want = CHURN_READ;
        if (po_attach(p, (po_chn)fd + 1, fd, &conn_ops, c, NULL) != PO_OK)
            conn_deinit(NULL, c);
    }
}

static void serve(const churn_server *s, po_poller *p, po_channel *ch) {
    pconn *c = po_channel_ctx(ch);
    po_triggers act = po_channel_act(ch);
    churn_want w = c->want;
    if (act & (PO_RECV | PO_ERR))
        w = churn_readable(s, &c->c);
    if (w == CHURN_WRITE && (act & PO_SEND))
        w = churn_writable(&c->c);
    c->want = w;
    if (w == CHURN_CLOSE)
        po_delete(p, po_channel_chn(ch));
}

/* Named explicitly rather than through POLLEROS_BACKEND, so that a backend
 * the kernel refuses fails the run instead of measuring another. */
static bool pick_backend(const char *name, po_backend_kind *out) {
    static const struct {
        const char *name;
        po_backend_kind kind;
    } known[] = {{"epoll", PO_BACKEND_EPOLL},
                 {"poll", PO_BACKEND_POLL},
                 {"uring", PO_BACKEND_URING}};
    *out = PO_BACKEND_DEFAULT;
    for (size_t i = 0; name != NULL && i < sizeof known / sizeof known[0]; i++)
        if (strcmp(name, known[i].name) == 0)
            *out = known[i].kind;
    if (name != NULL && *out == PO_BACKEND_DEFAULT) {
        fprintf(stderr, "churn_polleros: unknown backend '%s'\n", name);
        return false;
    }
    return true;
}

int main(int argc, char **argv) {
    churn_server s;
    po_options opt = {0};
    if (!churn_server_start(argc, argv, "churn_polleros", true, &s) ||
        !pick_backend(s.backend, &opt.backend))
        return 2;
    /* No SA_RESTART: the signal ends the wait, and the loop sees stop. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    int err = 0;
    po_poller *p = po_create(&opt, &err);
    if (p == NULL ||
        po_attach(p, 0, s.listen_fd, &listener_ops, NULL, NULL) != PO_OK) {
        fprintf(stderr, "churn_polleros: po_create: %s\n", po_strerror(err));
        return 1;
    }
    unsigned long long iterations = 0;
    while (!stop) {
        iterations++;
        if (po_wait(p, -1, NULL) < 0) {
            fprintf(stderr, "churn_polleros: po_wait failed\n");
            return 1;
        }
        po_iter it = PO_ITER_INIT;
        po_channel *ch;
        while ((ch = po_next_triggered(p, &it)) != NULL) {
            if (po_channel_chn(ch) == 0)
                accept_all(&s, p);
            else
                serve(&s, p, ch);
        }
    }
    po_stats st;
    po_get_stats(p, &st);
    printf("churn_polleros: backend %s: %llu adds, %llu mods, %llu dels, "
           "%llu waits, %llu events, %llu iterations\n",
           po_backend_name(p), (unsigned long long)st.adds,
           (unsigned long long)st.mods, (unsigned long long)st.dels,
           (unsigned long long)st.waits, (unsigned long long)st.events,
           iterations);
    po_destroy(p);
    return 0;
}
