/* thread.h over POSIX threads. */
#define _POSIX_C_SOURCE 200809L
#include "thread.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

struct thr {
    pthread_t id;
    void (*fn)(void *);
    void *arg;
};

static void *thr_main(void *p) {
    thr *t = p;
    t->fn(t->arg);
    return NULL;
}

thr *thr_start(void (*fn)(void *arg), void *arg) {
    thr *t = malloc(sizeof *t);
    if (t == NULL)
        return NULL;
    t->fn = fn;
    t->arg = arg;
    if (pthread_create(&t->id, NULL, thr_main, t) != 0) {
        free(t);
        return NULL;
    }
    return t;
}

void thr_join(thr *t) {
    pthread_join(t->id, NULL);
    free(t);
}

void thr_yield(void) { sched_yield(); }
