/*
 * Connection churn and interest churn: what every server of the churn
 * benchmark (churn_<library>.c) shares with the others and with the one
 * client (churn_client.c), so that the servers differ in their event loop
 * alone.
 *
 * Connection churn ("conn"): the client opens a connection, sends one
 * CHURN_REQUEST-byte request, reads one CHURN_REQUEST-byte response and
 * closes; the server accepts, reads the request, writes the response and
 * closes.  Interest churn ("interest"): connections stay open; each request
 * is answered with CHURN_RESPONSE bytes, one write per turn: after a short
 * write the server asks for writability and writes the rest when told, and
 * stops asking once the response is out, so that its interest changes
 * about twice per message (what a stream's try-write, then a queued write,
 * does).
 */
#ifndef POLLEROS_BENCH_CHURN_H
#define POLLEROS_BENCH_CHURN_H

#include <stdbool.h>
#include <stddef.h>

#define CHURN_REQUEST 64
#define CHURN_RESPONSE (128 * 1024)
/* The server's send buffer in interest mode.  The kernel doubles it to a
 * response's size, and its bookkeeping takes a share of that, so a
 * response never fits at once and its first write is short.  Smaller
 * buffers stall on the client's delayed ACKs. */
#define CHURN_SNDBUF (64 * 1024)

typedef enum churn_mode { CHURN_CONN, CHURN_INTEREST } churn_mode;

/* What a connection's watcher must ask for after a call below. */
typedef enum churn_want {
    CHURN_READ,  /* readability only */
    CHURN_WRITE, /* readability and writability: a response is unfinished */
    CHURN_CLOSE  /* unwatch, then churn_close() */
} churn_want;

/* The server's side of a connection.  A driver embeds it first in its own
 * record, next to its library's watcher. */
typedef struct churn_conn {
    int fd;
    size_t got;  /* request bytes read so far */
    size_t left; /* response bytes still to write */
} churn_conn;

typedef struct churn_server {
    churn_mode mode;
    const char *backend; /* --backend NAME, or NULL (polleros only) */
    int listen_fd;
} churn_server;

/* Parses `--mode conn|interest --port-file PATH [--backend NAME]`, listens on
 * 127.0.0.1 (any free port, non-blocking), writes the port to PATH and
 * ignores SIGPIPE.  Prints why and returns false on failure.  A driver that
 * takes no backend (with_backend false) refuses --backend. */
bool churn_server_start(int argc, char **argv, const char *prog,
                        bool with_backend, churn_server *out);

/* Accepts one connection, non-blocking and close-on-exec (in interest mode
 * with a send buffer of CHURN_SNDBUF), into a new zeroed record of `size`
 * bytes that starts with its churn_conn; NULL when none is pending (or on
 * error; a connection without memory is closed). */
void *churn_accept(const churn_server *s, size_t size);

/* The connection is readable / writable: reads the request, makes one
 * write of what is left of the response, and says what to watch next. */
churn_want churn_readable(const churn_server *s, churn_conn *c);
churn_want churn_writable(churn_conn *c);

/* Closes the connection's socket. */
void churn_close(churn_conn *c);

#endif
