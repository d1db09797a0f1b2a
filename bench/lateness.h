/*
 * Deadline lateness, the part of bench/deadlines that every library runs:
 * `pending` one-shot deadlines are armed at once, each at random 1 to 50 ms
 * from the moment it is armed, at any nanosecond; each that fires records
 * the time it fired minus its deadline (its lateness; negative: early) and
 * arms the next, until `total` have fired.  With 100 pending the 10,000
 * deadlines take about 2.5 s, and the waits between two fires (about 250
 * us) are real kernel waits.  Optional traffic: a thread writes one byte
 * every 20 us, round robin, to LT_SOCKS socket pairs whose other ends the
 * loop reads.
 */
#ifndef POLLEROS_BENCH_LATENESS_H
#define POLLEROS_BENCH_LATENESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { LT_SOCKS = 8 };

typedef struct lt_run {
    size_t total, pending;
    size_t armed, fired, early;
    uint64_t seed;
    uint64_t spin; /* po_options.spin_ns, polleros's driver only */
    int64_t *late; /* ns, one per fired deadline */
    /* The loop's ends of the traffic's socket pairs, or -1 without. */
    int fd[LT_SOCKS];
} lt_run;

/* CLOCK_MONOTONIC in ns: po_now()'s clock, and libuv's, libev's and
 * libevent's monotonic time. */
uint64_t lt_now(void);
/* The next deadline to arm (absolute, lt_now()'s clock). */
uint64_t lt_next(lt_run *r);
/* Records a deadline that fired now; returns whether another is to be armed
 * in its place. */
bool lt_fired(lt_run *r, uint64_t deadline);
/* The time left to a deadline from `now`, rounded up to `unit` ns. */
static inline uint64_t lt_left(uint64_t deadline, uint64_t now, uint64_t unit) {
    return deadline > now ? (deadline - now + unit - 1) / unit : 0;
}
/* Reads what the traffic wrote to fd (non-blocking). */
void lt_drain(int fd);

/* A driver runs r with its library (`backend`: polleros's, else "-"):
 * 0, or 1 after printing why it could not. */
typedef int lt_driver(lt_run *r, const char *backend);

/* A driver's program: parses the arguments (lateness.c), runs and prints
 * the figures.  Each library is a program of its own: libev exports
 * functions under libevent's names, so the two cannot share one. */
int lt_main(const char *lib, lt_driver *run, int argc, char **argv);

#endif
