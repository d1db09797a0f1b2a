/*
 * The conformance suite's helpers.  Every case runs against the backend named
 * by POLLEROS_BACKEND (CTest sets it), through the public API only, over real
 * sockets.  A failed check prints where and why and exits non-zero; a case
 * that does not apply to a backend calls po_skip(), which CTest shows as
 * skipped.
 */
#ifndef POLLEROS_TEST_HARNESS_H
#define POLLEROS_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "polleros.h"

#define PO_CASE(name) void case_##name(void);
#include "cases.h"
#undef PO_CASE

_Noreturn void po_fail(const char *file, int line, const char *fmt, ...);
_Noreturn void po_skip(const char *why);

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond))                                                           \
            po_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                   \
    } while (0)
#define CHECK_EQ(a, b)                                                         \
    do {                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                    \
        if (a_ != b_)                                                          \
            po_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", #a, \
                    a_, #b, b_);                                               \
    } while (0)

/* The backend under test, as po_backend_name() spells it. */
const char *t_backend(void);
/* A poller on the backend under test; checks it was created. */
po_poller *t_poller(void);
po_poller *t_poller_opts(const po_options *opt);

/* Monotonic milliseconds. */
int64_t t_now_ms(void);

/* Sockets (all non-blocking and close-on-exec, made so portably: no
 * SOCK_NONBLOCK, accept4 or dup3, which not every system has). */
void t_nonblock_cloexec(int fd);
void t_socketpair(int sv[2]);
/* A new TCP/IPv4 socket. */
int t_tcp_socket(void);
/* Accepts a pending connection (CHECKs there is one). */
int t_accept(int listener);
/* A loopback TCP listener; stores its port. */
int t_listener(uint16_t *port);
/* A non-blocking connect to 127.0.0.1:port, in progress or done. */
int t_connect(uint16_t port);
/* A port on 127.0.0.1 where nothing listens. */
uint16_t t_closed_port(void);
void t_write_all(int fd, const void *buf, size_t n);
/* Reads what is available now (non-blocking); returns bytes read, 0 at EOF,
 * -1 when nothing is there (EAGAIN). */
long t_read_some(int fd, void *buf, size_t n);

/*
 * A channel whose probe answers `want` and counts its deinits.  Tests attach
 * a t_chan as ctx with t_ops.
 */
typedef struct t_chan {
    po_triggers want;
    int deinits;
    int probes;
    int fd;
    po_channel *ch;
} t_chan;
extern const po_channel_ops t_ops;

/* Waits (rounds of po_wait with timeout_ms each, at most `rounds`) until the
 * channel's act contains all of `trig`; returns its act then, or 0. */
po_triggers t_wait_for(po_poller *p, po_channel *ch, po_triggers trig,
                       int rounds, int timeout_ms);
/* Whether the channel is among those the last wait triggered. */
bool t_triggered(po_poller *p, const po_channel *ch);

#endif
