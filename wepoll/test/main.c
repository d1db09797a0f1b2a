/*
 * The bridge suite's runner (`po_wepoll_bridge CASE`, or `--list`) and its
 * wepoll helpers.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"

/* CTest's SKIP_RETURN_CODE. */
enum { B_SKIPPED = 77 };

void po_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "FAIL %s:%d [bridge]: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    exit(1);
}

void po_skip(const char *why) {
    printf("SKIP [bridge]: %s\n", why);
    fflush(stdout);
    exit(B_SKIPPED);
}

const char *t_backend(void) { return "bridge"; }

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

static const struct {
    const char *name;
    void (*run)(void);
} b_cases[] = {
#define BRIDGE_CASE(name) {#name, case_##name},
#include "bridge_cases.h"
#undef BRIDGE_CASE
};

int main(int argc, char **argv) {
    size_t n = sizeof b_cases / sizeof b_cases[0];
    if (argc != 2) {
        fprintf(stderr, "usage: %s CASE | --list\n", argv[0]);
        return 2;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(argv[1], "--list") == 0) {
            puts(b_cases[i].name);
        } else if (strcmp(argv[1], b_cases[i].name) == 0) {
            b_cases[i].run();
            printf("PASS [bridge] %s\n", b_cases[i].name);
            return 0;
        }
    }
    if (strcmp(argv[1], "--list") == 0)
        return 0;
    fprintf(stderr, "no case named %s\n", argv[1]);
    return 2;
}
