/*
 * Chained pipes on polleros.  Each pair's channel always wants PO_RECV, so
 * after the first wait registers them nothing ever changes interest: a
 * channel that writes into the next pair needs no po_touch(), because the
 * next pair's wants do not change.  Idle channels have no socket and a probe
 * that wants nothing: FULL reconciliation probes them on every wait,
 * CHANGED never after their first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipes.h"
#include "polleros.h"

typedef struct pol_bench {
    po_poller *p;
    char desc[48];
} pol_bench;

static po_triggers pair_wants(po_channel *ch, void *ctx) {
    (void)ch;
    (void)ctx;
    return PO_RECV;
}

static po_triggers idle_wants(po_channel *ch, void *ctx) {
    (void)ch;
    (void)ctx;
    return 0;
}

static const po_channel_ops pair_ops = {pair_wants, NULL};
static const po_channel_ops idle_ops = {idle_wants, NULL};

static void *pol_setup(const pipes_config *cfg, const int *read_fds) {
    po_options opt = {.backend = PO_BACKEND_DEFAULT,
                      .max_events = cfg->max_events,
                      .reconcile = PO_RECONCILE_DEFAULT};
    const char *b = cfg->backend, *m = cfg->mode;
    if (b && strcmp(b, "epoll") == 0)
        opt.backend = PO_BACKEND_EPOLL;
    else if (b && strcmp(b, "poll") == 0)
        opt.backend = PO_BACKEND_POLL;
    else if (b && strcmp(b, "uring") == 0)
        opt.backend = PO_BACKEND_URING;
    else if (b) {
        fprintf(stderr, "pipes_polleros: unknown backend '%s'\n", b);
        return NULL;
    }
    if (m && strcmp(m, "changed") == 0)
        opt.reconcile = PO_RECONCILE_CHANGED;
    else if (m && strcmp(m, "full") == 0)
        opt.reconcile = PO_RECONCILE_FULL;
    else if (m) {
        fprintf(stderr, "pipes_polleros: unknown mode '%s'\n", m);
        return NULL;
    }
    pol_bench *s = calloc(1, sizeof *s);
    int err = PO_ENOMEM;
    if (s == NULL || (s->p = po_create(&opt, &err)) == NULL) {
        fprintf(stderr, "pipes_polleros: po_create: %s\n", po_strerror(err));
        free(s);
        return NULL;
    }
    /* The channel number is the pair index: the walk passes it on. */
    for (int i = 0; i < cfg->n; i++)
        if ((err = po_attach(s->p, (po_chn)i, read_fds[i], &pair_ops, NULL,
                             NULL)) != PO_OK)
            goto fail;
    for (long j = 0; j < cfg->idle; j++)
        if ((err = po_attach(s->p, (po_chn)(cfg->n + j), PO_NO_SOCKET,
                             &idle_ops, NULL, NULL)) != PO_OK)
            goto fail;
    if (m == NULL) {
        /* The library's default: the environment's choice, else changed. */
        const char *env = getenv("POLLEROS_RECONCILE");
        m = env && *env ? env : "changed";
    }
    snprintf(s->desc, sizeof s->desc, "%s/%s", po_backend_name(s->p), m);
    return s;
fail:
    fprintf(stderr, "pipes_polleros: po_attach: %s\n", po_strerror(err));
    po_destroy(s->p);
    free(s);
    return NULL;
}

static void pol_run_once(void *state) {
    pol_bench *s = state;
    po_wait(s->p, 0, NULL);
    po_iter it = PO_ITER_INIT;
    for (po_channel *ch; (ch = po_next_triggered(s->p, &it)) != NULL;)
        pipes_fire((int)po_channel_chn(ch));
}

static int pol_counters(void *state, pipes_counters *out) {
    po_stats st;
    po_get_stats(((pol_bench *)state)->p, &st);
    out->waits = st.waits;
    out->ctls = st.adds + st.mods + st.dels;
    return 1;
}

static const char *pol_describe(void *state) {
    return ((pol_bench *)state)->desc;
}

static const char *pol_version(void) { return "polleros"; }

static void pol_teardown(void *state) {
    pol_bench *s = state;
    po_destroy(s->p); /* the harness closes the sockets */
    free(s);
}

static const pipes_driver driver = {"polleros",   pol_setup,    pol_run_once,
                                    pol_counters, pol_describe, pol_version,
                                    pol_teardown};

int main(int argc, char **argv) { return pipes_main(argc, argv, &driver); }
