/*
 * What the libuv and libevent echo servers share with each other: the
 * command line and the listening socket, made the way polleros-echo-server
 * makes them, so that the three servers differ only in their event loop.
 */
#ifndef POLLEROS_BENCH_ECHO_SERVER_UTIL_H
#define POLLEROS_BENCH_ECHO_SERVER_UTIL_H

#include <stdbool.h>
#include <stdint.h>

/* Per-connection echo buffer: the size polleros-echo-server uses. */
#define ECHO_BUF_SIZE 4096

/* Buffer-fuls read and echoed per readiness report at most: what
 * polleros-echo-server does (libuv's own read loop takes up to 32). */
#define ECHO_READS_PER_TURN 16

typedef struct echo_server_args {
    uint16_t port;         /* 0: any free one */
    const char *port_file; /* where to write the bound port, or NULL */
} echo_server_args;

/* --port N, --port-file PATH and --backend NAME (accepted for the same
 * command line as polleros-echo-server; only "epoll" and "default" are
 * valid, which is what these libraries use on Linux).  Prints the usage
 * and returns false on a bad command line. */
bool echo_server_parse(int argc, char **argv, const char *prog,
                       echo_server_args *out);

/* A non-blocking listening TCP socket on 127.0.0.1 with a deep backlog;
 * stores the bound port in *bound.  -1 with errno set on failure. */
int echo_server_listen(uint16_t port, uint16_t *bound);

/* Raises the soft descriptor limit to the hard one; ignores SIGPIPE. */
void echo_server_prepare(void);

#endif
