/*
 * Chained pipes on libevent 2.1: one persistent EV_READ event per pair
 * (level-triggered: libevent's epoll backend never sets EPOLLET unless
 * asked), one EVLOOP_ONCE | EVLOOP_NONBLOCK pass per iteration.  An idle
 * channel is the cheapest thing libevent keeps without a socket: a pending
 * timer an hour away, which costs a wait one look at the top of its
 * min-heap.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "pipes.h"

typedef struct lev_bench {
    struct event_base *base;
    struct event **ev;   /* one per pair */
    struct event **idle; /* one per idle channel */
    int n;
    long nidle;
} lev_bench;

static void pair_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    pipes_fire((int)(intptr_t)arg);
}

static void idle_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    (void)arg;
}

static void lev_teardown(void *state);

static void *lev_setup(const pipes_config *cfg, const int *read_fds) {
    lev_bench *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->base = event_base_new();
    s->ev = calloc((size_t)cfg->n, sizeof *s->ev);
    s->idle = calloc((size_t)cfg->idle + 1, sizeof *s->idle);
    if (s->base == NULL || s->ev == NULL || s->idle == NULL)
        goto fail;
    for (int i = 0; i < cfg->n; i++, s->n++) {
        s->ev[i] = event_new(s->base, read_fds[i], EV_READ | EV_PERSIST,
                             pair_cb, (void *)(intptr_t)i);
        if (s->ev[i] == NULL || event_add(s->ev[i], NULL) != 0)
            goto fail;
    }
    struct timeval hour = {3600, 0};
    for (long j = 0; j < cfg->idle; j++, s->nidle++) {
        s->idle[j] = evtimer_new(s->base, idle_cb, NULL);
        if (s->idle[j] == NULL || evtimer_add(s->idle[j], &hour) != 0)
            goto fail;
    }
    return s;
fail:
    fprintf(stderr, "pipes_libevent: setup failed\n");
    lev_teardown(s);
    return NULL;
}

static void lev_run_once(void *state) {
    event_base_loop(((lev_bench *)state)->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

static const char *lev_describe(void *state) {
    return event_base_get_method(((lev_bench *)state)->base);
}

static const char *lev_version(void) {
    static char v[32];
    snprintf(v, sizeof v, "libevent %s", event_get_version());
    return v;
}

static void lev_teardown(void *state) {
    lev_bench *s = state;
    for (int i = 0; i < s->n; i++)
        if (s->ev[i])
            event_free(s->ev[i]);
    for (long j = 0; j < s->nidle; j++)
        if (s->idle[j])
            event_free(s->idle[j]);
    if (s->base)
        event_base_free(s->base);
    free(s->ev);
    free(s->idle);
    free(s);
}

static const pipes_driver driver = {"libevent",  lev_setup,    lev_run_once,
                                    NULL,        lev_describe, lev_version,
                                    lev_teardown};

int main(int argc, char **argv) { return pipes_main(argc, argv, &driver); }
