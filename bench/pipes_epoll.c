/*
 * The floor: the least a level-triggered epoll loop can do for this
 * workload.  One registration per pair made once, the pair index in
 * data.u32, and per iteration one epoll_wait and a call per event.  Its
 * harvest buffer holds 256 events, polleros' default, so that both make the
 * same number of wait calls.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "pipes.h"

#define MAX_EVENTS 256

typedef struct floor_loop {
    int epfd;
    pipes_counters kc;
    struct epoll_event events[MAX_EVENTS];
} floor_loop;

static void *floor_setup(const pipes_config *cfg, const int *read_fds) {
    floor_loop *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    /* Idle channels without a socket cost a hand-written loop nothing: it
     * has no notion of them, so cfg->idle adds no work here. */
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s->epfd < 0) {
        perror("pipes_epoll: epoll_create1");
        free(s);
        return NULL;
    }
    for (int i = 0; i < cfg->n; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        s->kc.ctls++;
        if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, read_fds[i], &ev) != 0) {
            perror("pipes_epoll: epoll_ctl");
            close(s->epfd);
            free(s);
            return NULL;
        }
    }
    return s;
}

static void floor_run_once(void *state) {
    floor_loop *s = state;
    s->kc.waits++;
    int n = epoll_wait(s->epfd, s->events, MAX_EVENTS, 0);
    for (int k = 0; k < n; k++)
        pipes_fire((int)s->events[k].data.u32);
}

static int floor_counters(void *state, pipes_counters *out) {
    *out = ((floor_loop *)state)->kc;
    return 1;
}

static const char *floor_describe(void *state) {
    (void)state;
    return "epoll";
}

static const char *floor_version(void) { return "hand-written"; }

static void floor_teardown(void *state) {
    floor_loop *s = state;
    close(s->epfd);
    free(s);
}

static const pipes_driver driver = {
    "epoll",        floor_setup,   floor_run_once, floor_counters,
    floor_describe, floor_version, floor_teardown};

int main(int argc, char **argv) { return pipes_main(argc, argv, &driver); }
