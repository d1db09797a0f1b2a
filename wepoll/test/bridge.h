/*
 * What the bridge's cases share: the suite's checks and socket helpers
 * (tests/harness.h, tests/harness_win.c) and a few wepoll-specific ones.
 */
#ifndef POLLEROS_TEST_BRIDGE_H
#define POLLEROS_TEST_BRIDGE_H

/* winsock2.h first: windows.h alone would bring in the old winsock.h. */
#include <winsock2.h>

#include <windows.h>

#include "harness.h"
#include "wepoll.h"

#define BRIDGE_CASE(name) void case_##name(void);
#include "bridge_cases.h"
#undef BRIDGE_CASE

/* A call failed with this errno and this GetLastError(). */
#define CHECK_FAILED(rc, err, win32)                                           \
    do {                                                                       \
        int rc_ = (int)(rc), errno_ = errno;                                   \
        DWORD le_ = GetLastError();                                            \
        if (rc_ != -1 || errno_ != (err) || le_ != (DWORD)(win32))             \
            po_fail(                                                           \
                __FILE__, __LINE__,                                            \
                "%s: %d, errno %d, GetLastError %lu; expected -1, %d, %lu",    \
                #rc, rc_, errno_, (unsigned long)le_, (int)(err),              \
                (unsigned long)(win32));                                       \
    } while (0)

/* A port; CHECKs it was made. */
HANDLE b_port(void);
void b_close(HANDLE port);
/* Registers s with events and the token u64 = token. */
void b_add(HANDLE port, t_sock s, uint32_t events, uint64_t token);
void b_mod(HANDLE port, t_sock s, uint32_t events, uint64_t token);
void b_del(HANDLE port, t_sock s);

/* One epoll_wait of at most `max` (<= B_MAXEV) events into got[]; returns
 * the count (CHECKs it is not -1). */
enum { B_MAXEV = 4096 };
int b_wait(HANDLE port, struct epoll_event *got, int max, int timeout_ms);
/* Waits (up to `rounds` waits of timeout_ms) for an event with this token;
 * returns its events, or 0. */
uint32_t b_wait_token(HANDLE port, uint64_t token, int rounds, int timeout_ms);
/* One wait of timeout_ms that must report nothing. */
void b_quiet(HANDLE port, int timeout_ms);
/* The events reported for token in got[0..n), 0 if none; CHECKs it is
 * there at most once. */
uint32_t b_events_of(const struct epoll_event *got, int n, uint64_t token);

#endif
