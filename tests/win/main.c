/*
 * The bridge suite's cases for the shared runner (../runner.h:
 * `po_wepoll_bridge CASE`, or `--list`) and its wepoll helpers.
 */
#include <errno.h>

#include "bridge.h"

HANDLE b_port(void) {
    HANDLE port = epoll_create1(0);
    if (port == NULL)
        po_fail(__FILE__, __LINE__, "epoll_create1: errno %d, error %lu", errno,
                (unsigned long)GetLastError());
    return port;
}

void b_close(HANDLE port) { CHECK_EQ(epoll_close(port), 0); }

static void b_ctl(HANDLE port, int op, t_sock s, uint32_t events,
                  uint64_t token) {
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = token;
    if (epoll_ctl(port, op, (SOCKET)s, &ev) != 0)
        po_fail(__FILE__, __LINE__, "epoll_ctl(%d): errno %d, error %lu", op,
                errno, (unsigned long)GetLastError());
}

void b_add(HANDLE port, t_sock s, uint32_t events, uint64_t token) {
    b_ctl(port, EPOLL_CTL_ADD, s, events, token);
}

void b_mod(HANDLE port, t_sock s, uint32_t events, uint64_t token) {
    b_ctl(port, EPOLL_CTL_MOD, s, events, token);
}

void b_del(HANDLE port, t_sock s) { b_ctl(port, EPOLL_CTL_DEL, s, 0, 0); }

int b_wait(HANDLE port, struct epoll_event *got, int max, int timeout_ms) {
    CHECK(max > 0 && max <= B_MAXEV);
    int n = epoll_wait(port, got, max, timeout_ms);
    if (n < 0)
        po_fail(__FILE__, __LINE__, "epoll_wait: errno %d, error %lu", errno,
                (unsigned long)GetLastError());
    CHECK(n <= max);
    return n;
}

uint32_t b_events_of(const struct epoll_event *got, int n, uint64_t token) {
    uint32_t ev = 0;
    int seen = 0;
    for (int i = 0; i < n; i++)
        if (got[i].data.u64 == token) {
            ev = got[i].events;
            seen++;
        }
    CHECK(seen <= 1);
    CHECK(seen == 0 || ev != 0);
    return ev;
}

uint32_t b_wait_token(HANDLE port, uint64_t token, int rounds, int timeout_ms) {
    static struct epoll_event got[B_MAXEV];
    for (int i = 0; i < rounds; i++) {
        int n = b_wait(port, got, B_MAXEV, timeout_ms);
        uint32_t ev = b_events_of(got, n, token);
        if (ev)
            return ev;
    }
    return 0;
}

void b_quiet(HANDLE port, int timeout_ms) {
    struct epoll_event got[8];
    int n = b_wait(port, got, 8, timeout_ms);
    if (n != 0)
        po_fail(__FILE__, __LINE__,
                "a quiet wait reported %d events, the first 0x%x for %llu", n,
                got[0].events, (unsigned long long)got[0].data.u64);
}

static const t_case b_cases[] = {
#define BRIDGE_CASE(name) T_CASE(name)
#include "bridge_cases.h"
#undef BRIDGE_CASE
};

int main(int argc, char **argv) {
    return t_main(argc, argv, "bridge", b_cases,
                  sizeof b_cases / sizeof b_cases[0]);
}
