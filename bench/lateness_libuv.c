/*
 * Deadline lateness (lateness.h) on libuv: uv_update_time(), then
 * uv_timer_start() with the time left in whole milliseconds, rounded up:
 * libuv's timers take no finer, and count from its loop time, which is its
 * fast monotonic clock (CLOCK_MONOTONIC_COARSE where that ticks at least
 * every millisecond) truncated to the millisecond.
 *
 * As with each peer, the time left is counted from our clock read just
 * before the library's own is brought up to date, so that the library's
 * start is never before ours, which could only make it early.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>

#include <uv.h>

#include "lateness.h"

#include <uv.h>

typedef struct lt_uvt {
    uv_timer_t t; /* first: the callback's handle is the record */
    uint64_t deadline;
    lt_run *r;
} lt_uvt;

static void lt_uv_fire(uv_timer_t *h);

static void lt_uv_arm(lt_uvt *x) {
    x->deadline = lt_next(x->r);
    uint64_t now = lt_now();
    uv_update_time(x->t.loop);
    uv_timer_start(&x->t, lt_uv_fire, lt_left(x->deadline, now, 1000000u), 0);
}

static void lt_uv_fire(uv_timer_t *h) {
    lt_uvt *x = (lt_uvt *)h;
    if (lt_fired(x->r, x->deadline))
        lt_uv_arm(x);
}

static void lt_uv_read(uv_poll_t *h, int status, int events) {
    (void)status;
    (void)events;
    lt_drain((int)(intptr_t)h->data);
}

static int lt_libuv(lt_run *r, const char *backend) {
    (void)backend;
    uv_loop_t loop;
    uv_loop_init(&loop);
    lt_uvt *x = calloc(r->pending, sizeof *x);
    uv_poll_t polls[LT_SOCKS];
    int npolls = 0;
    for (int i = 0; i < LT_SOCKS && r->fd[i] >= 0; i++, npolls++) {
        uv_poll_init(&loop, &polls[i], r->fd[i]);
        polls[i].data = (void *)(intptr_t)r->fd[i];
        uv_poll_start(&polls[i], UV_READABLE, lt_uv_read);
    }
    for (size_t i = 0; i < r->pending; i++) {
        uv_timer_init(&loop, &x[i].t);
        x[i].r = r;
        lt_uv_arm(&x[i]);
    }
    while (r->fired < r->total)
        uv_run(&loop, UV_RUN_ONCE);
    for (size_t i = 0; i < r->pending; i++)
        uv_close((uv_handle_t *)&x[i].t, NULL);
    for (int i = 0; i < npolls; i++)
        uv_close((uv_handle_t *)&polls[i], NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    free(x);
    return 0;
}

int main(int argc, char **argv) {
    return lt_main("libuv", lt_libuv, argc - 1, argv + 1);
}
