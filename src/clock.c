/*
 * The monotonic clock behind deadlines.  Wall-clock time would move
 * deadlines whenever the system's time is set; these clocks never go back.
 */
#ifdef _WIN32
#include <windows.h>
#else
#define _POSIX_C_SOURCE 200809L
#include <time.h>
#endif

#include "polleros.h"

po_time po_now(void) {
#ifdef _WIN32
    /* The frequency is fixed at boot; asking each time keeps this
     * thread-safe without a shared cache. */
    LARGE_INTEGER count, freq;
    QueryPerformanceCounter(&count);
    QueryPerformanceFrequency(&freq);
    uint64_t c = (uint64_t)count.QuadPart, f = (uint64_t)freq.QuadPart;
    return c / f * UINT64_C(1000000000) + c % f * UINT64_C(1000000000) / f;
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (po_time)ts.tv_sec * UINT64_C(1000000000) + (po_time)ts.tv_nsec;
#endif
}
