/*
 * Helpers shared by the echo server and the echo client: argument parsing,
 * descriptor limits and socket flags.  Nothing here touches the poller
 * beyond naming a backend.
 */
#ifndef POLLEROS_ECHO_COMMON_H
#define POLLEROS_ECHO_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "polleros.h"

/* Parses arg as a decimal integer in [min, max] for option opt; prints why
 * not and returns false on error. */
bool echo_parse_u64(const char *opt, const char *arg, uint64_t min,
                    uint64_t max, uint64_t *out);

/* "epoll", "poll", "kqueue", "wepoll" or "default" to a backend kind. */
bool echo_parse_backend(const char *arg, po_backend_kind *out);

/* Raises the soft RLIMIT_NOFILE to the hard limit (the echo programs hold
 * one descriptor per connection) and returns the soft limit now in force. */
uint64_t echo_raise_nofile(void);

/* Makes fd non-blocking and close-on-exec.  Returns false with errno set. */
bool echo_set_nonblock(int fd);

/* Disables Nagle's algorithm: a request/response protocol that writes a
 * message in pieces must not wait for the peer's delayed ACK. */
void echo_set_nodelay(int fd);

/* Ignores SIGPIPE: a write to a peer that went away must come back as
 * EPIPE, handled like any other connection error, not kill the process. */
void echo_ignore_sigpipe(void);

/* Seconds on a monotonic clock. */
double echo_now(void);

#endif /* POLLEROS_ECHO_COMMON_H */
