/* The clocks and memory readings every benchmark of bench/ shares. */
#ifndef POLLEROS_BENCH_MEASURE_H
#define POLLEROS_BENCH_MEASURE_H

/* Nanoseconds on the monotonic clock. */
double now_ns(void);
/* Resident memory of this process in bytes, or -1. */
long long rss_bytes(void);

#endif
