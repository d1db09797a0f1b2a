/*
 * Deadline lateness (lateness.h) on libevent: a base made with
 * EVENT_BASE_FLAG_PRECISE_TIMER (the monotonic clock that is not coarse,
 * and on Linux's epoll a timerfd for the wait, to the microsecond),
 * event_base_update_cache_time(), then evtimer_add() with the time left as
 * a timeval, rounded up to the microsecond (lateness_libuv.c says from
 * which clock reading).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>

#include "lateness.h"

#include <event2/event.h>

typedef struct lt_evt {
    struct event *ev;
    struct event_base *base;
    uint64_t deadline;
    lt_run *r;
} lt_evt;

static void lt_event_arm(lt_evt *x) {
    x->deadline = lt_next(x->r);
    uint64_t now = lt_now();
    event_base_update_cache_time(x->base);
    uint64_t us = lt_left(x->deadline, now, 1000u);
    struct timeval tv = {(time_t)(us / 1000000u), (suseconds_t)(us % 1000000u)};
    evtimer_add(x->ev, &tv);
}

static void lt_event_fire(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    lt_evt *x = arg;
    if (lt_fired(x->r, x->deadline))
        lt_event_arm(x);
}

static void lt_event_read(evutil_socket_t fd, short what, void *arg) {
    (void)what;
    (void)arg;
    lt_drain(fd);
}

static int lt_libevent(lt_run *r, const char *backend) {
    (void)backend;
    struct event_config *cfg = event_config_new();
    event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
    struct event_base *base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (base == NULL) {
        printf("# libevent: no base\n");
        return 1;
    }
    lt_evt *x = calloc(r->pending, sizeof *x);
    struct event *reads[LT_SOCKS];
    int nreads = 0;
    for (int i = 0; i < LT_SOCKS && r->fd[i] >= 0; i++, nreads++) {
        reads[i] = event_new(base, r->fd[i], EV_READ | EV_PERSIST,
                             lt_event_read, NULL);
        event_add(reads[i], NULL);
    }
    for (size_t i = 0; i < r->pending; i++) {
        x[i].base = base;
        x[i].r = r;
        x[i].ev = evtimer_new(base, lt_event_fire, &x[i]);
        lt_event_arm(&x[i]);
    }
    while (r->fired < r->total)
        event_base_loop(base, EVLOOP_ONCE);
    for (size_t i = 0; i < r->pending; i++)
        event_free(x[i].ev);
    for (int i = 0; i < nreads; i++)
        event_free(reads[i]);
    event_base_free(base);
    free(x);
    return 0;
}

int main(int argc, char **argv) {
    return lt_main("libevent", lt_libevent, argc - 1, argv + 1);
}
