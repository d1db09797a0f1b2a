/*
 * Chained pipes on libev 4: one ev_io per pair on an EVBACKEND_EPOLL loop
 * (libev's epoll use is level-triggered), one EVRUN_NOWAIT pass per
 * iteration.  An idle channel is a pending ev_timer an hour away: libev's
 * cheapest socketless watcher that stays in the loop, costing a wait one
 * look at the top of its timer heap.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <ev.h>

#include "pipes.h"

typedef struct libev_bench {
    struct ev_loop *loop;
    ev_io *io;
    ev_timer *idle;
    int n;
    long nidle;
} libev_bench;

static void pair_cb(struct ev_loop *loop, ev_io *w, int revents) {
    (void)loop;
    (void)revents;
    pipes_fire((int)(intptr_t)w->data);
}

static void idle_cb(struct ev_loop *loop, ev_timer *w, int revents) {
    (void)loop;
    (void)w;
    (void)revents;
}

static void libev_teardown(void *state);

static void *libev_setup(const pipes_config *cfg, const int *read_fds) {
    libev_bench *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->loop = ev_loop_new(EVBACKEND_EPOLL);
    s->io = calloc((size_t)cfg->n, sizeof *s->io);
    s->idle = calloc((size_t)cfg->idle + 1, sizeof *s->idle);
    if (s->loop == NULL || s->io == NULL || s->idle == NULL) {
        fprintf(stderr, "pipes_libev: setup failed\n");
        libev_teardown(s);
        return NULL;
    }
    for (int i = 0; i < cfg->n; i++, s->n++) {
        ev_io_init(&s->io[i], pair_cb, read_fds[i], EV_READ);
        s->io[i].data = (void *)(intptr_t)i;
        ev_io_start(s->loop, &s->io[i]);
    }
    for (long j = 0; j < cfg->idle; j++, s->nidle++) {
        ev_timer_init(&s->idle[j], idle_cb, 3600., 0.);
        ev_timer_start(s->loop, &s->idle[j]);
    }
    return s;
}

static void libev_run_once(void *state) {
    ev_run(((libev_bench *)state)->loop, EVRUN_NOWAIT);
}

static const char *libev_describe(void *state) {
    return ev_backend(((libev_bench *)state)->loop) == EVBACKEND_EPOLL
               ? "epoll"
               : "other";
}

static const char *libev_version(void) {
    static char v[32];
    snprintf(v, sizeof v, "libev %d.%d", ev_version_major(),
             ev_version_minor());
    return v;
}

static void libev_teardown(void *state) {
    libev_bench *s = state;
    if (s->loop) {
        for (int i = 0; i < s->n; i++)
            ev_io_stop(s->loop, &s->io[i]);
        for (long j = 0; j < s->nidle; j++)
            ev_timer_stop(s->loop, &s->idle[j]);
        ev_loop_destroy(s->loop);
    }
    free(s->io);
    free(s->idle);
    free(s);
}

static const pipes_driver driver = {
    "libev",        libev_setup,   libev_run_once, NULL,
    libev_describe, libev_version, libev_teardown};

int main(int argc, char **argv) { return pipes_main(argc, argv, &driver); }
