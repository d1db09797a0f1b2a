/*
 * The least of threads the examples need, over POSIX threads
 * (thread_posix.c) or the Windows API (thread_win.c).
 */
#ifndef POLLEROS_EXAMPLE_THREAD_H
#define POLLEROS_EXAMPLE_THREAD_H

typedef struct thr thr;

/* Starts fn(arg) on a new thread; NULL when it cannot be started. */
thr *thr_start(void (*fn)(void *arg), void *arg);
/* Waits for the thread to return, then frees it. */
void thr_join(thr *t);
/* Lets another thread run: what a sender does before trying again. */
void thr_yield(void);

#endif /* POLLEROS_EXAMPLE_THREAD_H */
