/*
 * Chained pipes on libuv: one uv_poll_t per pair watching UV_READABLE, one
 * UV_RUN_NOWAIT pass per iteration.  uv_poll_t and not a uv_stream_t read:
 * a stream reads everything pending into a buffer of its own, which would
 * change the workload (one 1-byte read per event, done by pipes_fire() as
 * in every driver); libuv's epoll use is level-triggered.  An idle channel
 * is a pending uv_timer_t an hour away: libuv's cheapest socketless handle
 * that stays active, costing a run one look at the top of its timer heap.
 */
/* uv.h needs POSIX types (pthread_rwlock_t) that strict C11 hides. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <uv.h>

#include "pipes.h"

typedef struct uv_bench {
    uv_loop_t loop;
    uv_poll_t *polls;
    uv_timer_t *idle;
    int n;
    long nidle;
} uv_bench;

static void pair_cb(uv_poll_t *h, int status, int events) {
    (void)status;
    (void)events;
    pipes_fire((int)(intptr_t)h->data);
}

static void idle_cb(uv_timer_t *t) { (void)t; }

static void uvb_teardown(void *state);

static void *uvb_setup(const pipes_config *cfg, const int *read_fds) {
    uv_bench *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    int rc = uv_loop_init(&s->loop);
    if (rc != 0) {
        fprintf(stderr, "pipes_libuv: uv_loop_init: %s\n", uv_strerror(rc));
        free(s);
        return NULL;
    }
    s->polls = calloc((size_t)cfg->n, sizeof *s->polls);
    s->idle = calloc((size_t)cfg->idle + 1, sizeof *s->idle);
    if (s->polls == NULL || s->idle == NULL)
        goto fail;
    for (int i = 0; i < cfg->n; i++) {
        if ((rc = uv_poll_init(&s->loop, &s->polls[i], read_fds[i])) != 0)
            goto fail;
        s->n++;
        s->polls[i].data = (void *)(intptr_t)i;
        if ((rc = uv_poll_start(&s->polls[i], UV_READABLE, pair_cb)) != 0)
            goto fail;
    }
    for (long j = 0; j < cfg->idle; j++) {
        uv_timer_init(&s->loop, &s->idle[j]);
        s->nidle++;
        if ((rc = uv_timer_start(&s->idle[j], idle_cb, 3600 * 1000, 0)) != 0)
            goto fail;
    }
    return s;
fail:
    fprintf(stderr, "pipes_libuv: setup: %s\n", rc ? uv_strerror(rc) : "");
    uvb_teardown(s);
    return NULL;
}

static void uvb_run_once(void *state) {
    uv_run(&((uv_bench *)state)->loop, UV_RUN_NOWAIT);
}

static const char *uvb_describe(void *state) {
    (void)state;
    return "epoll";
}

static const char *uvb_version(void) {
    static char v[32];
    snprintf(v, sizeof v, "libuv %s", uv_version_string());
    return v;
}

static void uvb_teardown(void *state) {
    uv_bench *s = state;
    for (int i = 0; i < s->n; i++)
        uv_close((uv_handle_t *)&s->polls[i], NULL);
    for (long j = 0; j < s->nidle; j++)
        uv_close((uv_handle_t *)&s->idle[j], NULL);
    uv_run(&s->loop, UV_RUN_DEFAULT); /* runs the closes */
    uv_loop_close(&s->loop);
    free(s->polls);
    free(s->idle);
    free(s);
}

static const pipes_driver driver = {"libuv",     uvb_setup,    uvb_run_once,
                                    NULL,        uvb_describe, uvb_version,
                                    uvb_teardown};

int main(int argc, char **argv) { return pipes_main(argc, argv, &driver); }
