/*
 * po_wait_until() in the fuzzers: the deadlines they give it, and the
 * signals they keep out of it.
 *
 * A timed wait that must end at its deadline when nothing triggers
 * (po_wait_until()) may end early only when a signal interrupts the kernel
 * wait (EINTR), which the fuzzers cannot tell from a late deadline.  The
 * engine sends the process signals of its own (libFuzzer's SIGALRM checks
 * for a slow input every second), so around such a wait the calling thread
 * blocks every signal but those the fuzzer raises itself, synchronously
 * (a probe may raise one inside the wait: it must be heard there): one
 * that comes meanwhile is delivered to another thread, or here once the
 * wait has returned.  Windows has no such signals: these do nothing there.
 */
#ifndef POLLEROS_FUZZ_UNTIL_H
#define POLLEROS_FUZZ_UNTIL_H

#include "polleros.h"

/* A deadline chosen by b: 0, long past, now, or a little ahead: (b >> 2)
 * us, or 1 ms when b >> 2 is 63 (as po_wait()'s timeouts, mostly short: a
 * wait that nothing triggers sleeps until it). */
static inline po_time fq_until_at(unsigned b) {
    switch (b % 4) {
    case 0:
        return 0;
    case 1:
        return 1;
    case 2:
        return po_now();
    default:
        return po_now() + ((b >> 2) == 63 ? PO_MSEC : (po_time)(b >> 2) * 1000);
    }
}

#ifdef _WIN32
typedef int fq_mask;
static inline void fq_all(fq_mask *set) { *set = 0; }
static inline void fq_leave(fq_mask *set, int signo) { *set = signo; }
static inline void fq_hold(const fq_mask *set, fq_mask *was) { *was = *set; }
static inline void fq_release(const fq_mask *was) { (void)was; }
#else
#include <signal.h>
#include <stdlib.h>
typedef sigset_t fq_mask;
/* set: every signal; then fq_leave() takes out those the fuzzer raises. */
static inline void fq_all(fq_mask *set) { sigfillset(set); }
static inline void fq_leave(fq_mask *set, int signo) { sigdelset(set, signo); }
static inline void fq_hold(const fq_mask *set, fq_mask *was) {
    if (pthread_sigmask(SIG_BLOCK, set, was) != 0)
        abort();
}
static inline void fq_release(const fq_mask *was) {
    if (pthread_sigmask(SIG_SETMASK, was, NULL) != 0)
        abort();
}
#endif

#endif
