/*
 * Deadline lateness (lateness.h) on libev: ev_now_update(), then an
 * ev_timer of the time left as a double, in seconds (lateness_libuv.c says
 * from which clock reading).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include "lateness.h"

#include <ev.h>

typedef struct lt_evw {
    ev_timer w; /* first: the callback's watcher is the record */
    uint64_t deadline;
    lt_run *r;
} lt_evw;

static void lt_ev_arm(struct ev_loop *loop, lt_evw *x) {
    x->deadline = lt_next(x->r);
    uint64_t now = lt_now();
    ev_now_update(loop);
    double left = x->deadline > now ? (double)(x->deadline - now) / 1e9 : 0.;
    ev_timer_set(&x->w, left, 0.);
    ev_timer_start(loop, &x->w);
}

static void lt_ev_fire(struct ev_loop *loop, ev_timer *w, int revents) {
    (void)revents;
    lt_evw *x = (lt_evw *)w;
    if (lt_fired(x->r, x->deadline))
        lt_ev_arm(loop, x);
}

static void lt_ev_read(struct ev_loop *loop, ev_io *w, int revents) {
    (void)loop;
    (void)revents;
    lt_drain(w->fd);
}

static int lt_libev(lt_run *r, const char *backend) {
    (void)backend;
    struct ev_loop *loop = ev_loop_new(EVBACKEND_EPOLL);
    if (loop == NULL) {
        printf("# libev: no loop\n");
        return 1;
    }
    lt_evw *x = calloc(r->pending, sizeof *x);
    ev_io reads[LT_SOCKS];
    for (int i = 0; i < LT_SOCKS && r->fd[i] >= 0; i++) {
        ev_io_init(&reads[i], lt_ev_read, r->fd[i], EV_READ);
        ev_io_start(loop, &reads[i]);
    }
    for (size_t i = 0; i < r->pending; i++) {
        ev_init(&x[i].w, lt_ev_fire);
        x[i].r = r;
        lt_ev_arm(loop, &x[i]);
    }
    while (r->fired < r->total)
        ev_run(loop, EVRUN_ONCE);
    ev_loop_destroy(loop);
    free(x);
    return 0;
}

int main(int argc, char **argv) {
    return lt_main("libev", lt_libev, argc - 1, argv + 1);
}
