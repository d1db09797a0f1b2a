/*
 * The chained-pipes benchmark: one harness (pipes_harness.c), one small
 * driver per event loop (pipes_<driver>.c).
 *
 * The workload is the one of libevent's and libev's published benchmarks:
 * N non-blocking socketpairs, each with a persistent read watcher; A bytes
 * are written into the pairs, spread evenly; each watcher that fires reads
 * one byte and, while the write budget W lasts, writes one byte into the
 * next pair.  A round is over once all A + W bytes have been read.  Only
 * the loop that dispatches them is timed.
 *
 * The harness owns the sockets, the clock, the rounds, the counters and the
 * output; a driver owns only its event loop.  Every driver's callback calls
 * the same pipes_fire(), so the work per event outside the library is
 * identical, instruction for instruction, in every driver.
 */
#ifndef POLLEROS_BENCH_PIPES_H
#define POLLEROS_BENCH_PIPES_H

#include <stddef.h>
#include <stdint.h>

/* What the command line asked for.  Drivers read n and idle (the harness
 * creates the sockets) and the polleros driver backend and mode. */
typedef struct pipes_config {
    int n;               /* socketpairs, one read watcher each */
    int active;          /* bytes in flight: A */
    long writes;         /* write budget per round: W */
    int rounds;          /* timed rounds; the median is reported */
    long idle;           /* extra idle channels without a socket */
    const char *backend; /* polleros: "epoll" or "poll"; NULL: default */
    const char *mode;    /* polleros: "changed" or "full"; NULL: default */
    unsigned max_events; /* polleros: po_options.max_events; 0: default */
} pipes_config;

/* Kernel calls a driver made, when it can count them itself. */
typedef struct pipes_counters {
    uint64_t waits; /* kernel wait calls (epoll_wait, poll) */
    uint64_t ctls;  /* interest changes (epoll_ctl; poll: vector edits) */
} pipes_counters;

typedef struct pipes_driver {
    const char *name; /* "polleros", "epoll", "libevent", ... */
    /* Creates the loop and one persistent read watcher per pair (watching
     * read_fds[i] and calling pipes_fire(i) when it fires), plus
     * cfg->idle idle channels without a socket, each in the library's
     * cheapest form.  Returns the driver's state, or NULL after printing
     * why. */
    void *(*setup)(const pipes_config *cfg, const int *read_fds);
    /* One iteration of the loop that does not block: one kernel wait, then
     * the callbacks of what it harvested. */
    void (*run_once)(void *state);
    /* Fills *out and returns 1 if the driver counts kernel calls; may be
     * NULL. */
    int (*counters)(void *state, pipes_counters *out);
    /* The backend (and mode) actually in use, e.g. "epoll/changed". */
    const char *(*describe)(void *state);
    /* The library and its version, e.g. "libev 4.33". */
    const char *(*version)(void);
    void (*teardown)(void *state);
} pipes_driver;

/* A watcher of pair i fired: read its byte, count the event, and pass a
 * byte on to pair i + 1 while the write budget lasts.  Deliberately an
 * out-of-line call in every driver, so that its cost is the same in all. */
void pipes_fire(int i);

/* The whole program: parses the command line, runs the rounds, prints one
 * TSV line.  Each driver's main() is just this call. */
int pipes_main(int argc, char **argv, const pipes_driver *drv);

#endif
