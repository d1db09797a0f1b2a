/*
 * polleros-echo-client: a load client for polleros-echo-server, built on
 * polleros too.
 *
 * It opens --conns connections at once, without blocking, and runs on each
 * a request/response loop of --messages messages of --size bytes: send one
 * message, wait for its whole echo, check every byte, send the next.  The
 * bytes of a message are a hash of (connection, message, offset), so an echo
 * that comes back on the wrong connection, from the wrong message, at the
 * wrong offset, short or long, is caught.  After its last message a
 * connection shuts down its sending side and waits for the server's EOF,
 * which proves that nothing extra was echoed.
 *
 * Each connection is a channel whose probe follows its state: PO_CONNECT
 * while connecting, PO_SEND while part of the message is unsent, PO_RECV
 * whenever an echo may arrive (also while still sending: a message larger
 * than the socket buffers can only get through if both directions move).
 *
 * Any error, mismatch, lost connection or timeout exits non-zero.
 *
 * Usage: polleros-echo-client --port N [--conns N] [--messages N]
 *                             [--size N] [--backend NAME] [--timeout S]
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "echo_common.h"
#include "polleros.h"

/* Bytes generated, sent, received or checked per system call at most. */
#define CHUNK 16384

/* Descriptors kept free beyond one per connection: stdio, the poller. */
#define SPARE_FDS 16

typedef struct client_args {
    uint64_t port;
    uint64_t conns;
    uint64_t messages;
    uint64_t size;
    uint64_t timeout;
    po_backend_kind backend;
} client_args;

typedef enum conn_state {
    CONN_CONNECTING, /* connect() in progress */
    CONN_RUNNING,    /* sending messages and checking their echoes */
    CONN_CLOSING,    /* all echoed; our side shut down, awaiting the EOF */
    CONN_DONE        /* the server closed cleanly: delete the channel */
} conn_state;

struct client;

typedef struct conn {
    struct client *cl;
    echo_sock fd;
    uint32_t index;
    conn_state state;
    uint32_t msg;  /* the message in flight */
    uint32_t seed; /* its pattern */
    size_t sent;   /* bytes of it sent */
    size_t recvd;  /* bytes of its echo received and verified */
} conn;

typedef struct client {
    po_poller *poller;
    conn *conns;
    client_args a;
    uint64_t opened;   /* connections attached so far */
    uint64_t finished; /* connections that reached CONN_DONE */
    uint64_t messages; /* messages whose echo was verified */
    uint64_t bytes_out;
    uint64_t bytes_in; /* received and verified */
    bool failed;
} client;

#define client_fail(cl, ...)                                                   \
    ex_fail(&(cl)->failed, "polleros-echo-client", __VA_ARGS__)

/* ------------------------------------------------------------------------ */
/* The message pattern                                                      */

static uint32_t message_seed(uint32_t conn_index, uint32_t msg) {
    return echo_mix32(echo_mix32(conn_index + 0x9e3779b9U) ^ msg);
}

/* Bytes [off, off + len) of the message with this seed.  One hash makes four
 * bytes, so the pattern costs little next to the system calls. */
static void pattern_fill(uint32_t seed, size_t off, unsigned char *buf,
                         size_t len) {
    for (size_t i = 0; i < len;) {
        size_t at = off + i;
        uint32_t h = echo_mix32(seed + (uint32_t)(at >> 2));
        for (unsigned k = (unsigned)(at & 3); k < 4 && i < len; k++, i++)
            buf[i] = (unsigned char)(h >> (8 * k));
    }
}

/* ------------------------------------------------------------------------ */
/* One connection                                                           */

static po_triggers conn_wants(po_channel *ch, void *ctx) {
    const conn *c = ctx;
    (void)ch;
    switch (c->state) {
    case CONN_CONNECTING:
        return PO_CONNECT;
    case CONN_RUNNING:
        return c->sent < c->cl->a.size ? PO_SEND | PO_RECV : PO_RECV;
    default:
        return PO_RECV;
    }
}

static void conn_deinit(po_channel *ch, void *ctx) {
    conn *c = ctx;
    (void)ch;
    echo_close(c->fd);
    c->fd = ECHO_NO_SOCK;
}

static const po_channel_ops conn_ops = {conn_wants, conn_deinit};

static void conn_start_message(conn *c) {
    c->seed = message_seed(c->index, c->msg);
    c->sent = c->recvd = 0;
}

/* Sends what the socket takes of the message in flight. */
static void conn_send(conn *c) {
    client *cl = c->cl;
    unsigned char buf[CHUNK];
    while (c->sent < cl->a.size) {
        size_t len = cl->a.size - c->sent;
        if (len > sizeof buf)
            len = sizeof buf;
        pattern_fill(c->seed, c->sent, buf, len);
        long n = echo_send(c->fd, buf, len);
        int err = n < 0 ? echo_sock_errno() : 0;
        if (n > 0) {
            c->sent += (size_t)n;
            cl->bytes_out += (uint64_t)n;
            if ((size_t)n < len)
                return; /* socket buffer full: PO_SEND resumes */
        } else if (n < 0 && echo_interrupted(err)) {
            continue;
        } else if (n < 0 && echo_would_block(err)) {
            return;
        } else {
            client_fail(cl, "connection %u: send: %s", c->index,
                        echo_strerror(err));
            return;
        }
    }
}

/* Checks n echoed bytes against the message at offset c->recvd. */
static bool conn_verify(conn *c, const unsigned char *got, size_t n) {
    client *cl = c->cl;
    if (c->recvd + n > c->sent) {
        client_fail(cl,
                    "connection %u, message %u: %zu bytes echoed but only "
                    "%zu sent",
                    c->index, c->msg, c->recvd + n, c->sent);
        return false;
    }
    unsigned char want[CHUNK];
    pattern_fill(c->seed, c->recvd, want, n);
    if (memcmp(want, got, n) != 0) {
        size_t i = 0;
        while (want[i] == got[i])
            i++;
        client_fail(cl,
                    "connection %u, message %u, byte %zu: expected 0x%02x, "
                    "got 0x%02x",
                    c->index, c->msg, c->recvd + i, want[i], got[i]);
        return false;
    }
    c->recvd += n;
    cl->bytes_in += n;
    return true;
}

/* The whole echo of a message is in: send the next one, or close. */
static void conn_message_done(conn *c) {
    client *cl = c->cl;
    cl->messages++;
    if (++c->msg < cl->a.messages) {
        conn_start_message(c);
        conn_send(c); /* now, rather than one wait later */
        return;
    }
    /* Our EOF tells the server we are done; its EOF back, with no byte
     * before it, proves it echoed nothing extra. */
    if (!echo_shutdown_send(c->fd)) {
        client_fail(cl, "connection %u: shutdown: %s", c->index,
                    echo_strerror(echo_sock_errno()));
        return;
    }
    c->state = CONN_CLOSING;
}

static void conn_eof(conn *c) {
    client *cl = c->cl;
    if (c->state == CONN_CLOSING) {
        c->state = CONN_DONE;
        cl->finished++;
        return;
    }
    client_fail(cl,
                "connection %u lost: the server closed it during message %u "
                "(%zu of %llu bytes echoed)",
                c->index, c->msg, c->recvd, (unsigned long long)cl->a.size);
}

/* Reads and checks echoed bytes, never past the message in flight. */
static void conn_recv(conn *c) {
    client *cl = c->cl;
    unsigned char buf[CHUNK];
    while (!cl->failed && c->state != CONN_DONE) {
        size_t want = sizeof buf;
        if (c->state == CONN_RUNNING && cl->a.size - c->recvd < want)
            want = cl->a.size - c->recvd;
        long n = echo_recv(c->fd, buf, want);
        int err = n < 0 ? echo_sock_errno() : 0;
        if (n > 0 && c->state == CONN_CLOSING) {
            client_fail(cl, "connection %u: %ld bytes after the last echo",
                        c->index, n);
        } else if (n > 0) {
            if (!conn_verify(c, buf, (size_t)n))
                return;
            if (c->recvd == cl->a.size) {
                conn_message_done(c);
                return; /* the next echo cannot be there yet */
            }
            if ((size_t)n < want)
                return; /* drained: level-triggered, so more is reported */
        } else if (n == 0) {
            conn_eof(c);
        } else if (echo_interrupted(err)) {
            continue;
        } else if (echo_would_block(err)) {
            return;
        } else {
            client_fail(cl, "connection %u lost during message %u: recv: %s",
                        c->index, c->msg, echo_strerror(err));
        }
    }
}

/* The poller's record of a failed kernel call (an errno), or the socket's
 * own error (echo_strerror's kind). */
static const char *conn_error(const conn *c, po_channel *ch) {
    int err = po_channel_errno(ch);
    if (err != 0)
        return strerror(err);
    err = echo_so_error(c->fd);
    return err != 0 ? echo_strerror(err) : NULL;
}

static void conn_connected(conn *c, po_channel *ch) {
    client *cl = c->cl;
    const char *err = conn_error(c, ch);
    if (err != NULL) {
        client_fail(cl, "connection %u: connect to 127.0.0.1:%u: %s", c->index,
                    (unsigned)cl->a.port, err);
        return;
    }
    c->state = CONN_RUNNING;
    conn_send(c);
}

static void conn_ready(client *cl, po_channel *ch) {
    conn *c = po_channel_ctx(ch);
    po_triggers act = po_channel_act(ch);
    if (c->state == CONN_CONNECTING) {
        /* A refused connect shows as PO_ERR, or as PO_CONNECT with
         * SO_ERROR set, depending on the backend: check both the same way. */
        if (act & (PO_CONNECT | PO_ERR))
            conn_connected(c, ch);
    } else if (act & PO_ERR) {
        const char *err = conn_error(c, ch);
        client_fail(cl, "connection %u lost during message %u: %s", c->index,
                    c->msg, err ? err : "hang-up");
    } else {
        if (act & PO_SEND)
            conn_send(c);
        if (act & PO_RECV)
            conn_recv(c);
    }
    if (c->state == CONN_DONE)
        po_delete(cl->poller, po_channel_chn(ch)); /* deinit closes it */
}

/* ------------------------------------------------------------------------ */
/* The client                                                               */

/* Opens connection i without blocking and attaches it. */
static bool conn_open(client *cl, uint32_t i) {
    conn *c = &cl->conns[i];
    c->cl = cl;
    c->index = i;
    c->msg = 0;
    c->state = CONN_CONNECTING;
    conn_start_message(c);
    c->fd = echo_tcp_socket();
    if (c->fd == ECHO_NO_SOCK) {
        client_fail(cl, "connection %u: socket: %s", i,
                    echo_strerror(echo_sock_errno()));
        return false;
    }
    echo_set_nodelay(c->fd);
    int rc = po_attach(cl->poller, i, c->fd, &conn_ops, c, NULL);
    if (rc != PO_OK) {
        client_fail(cl, "connection %u: po_attach: %s", i, po_strerror(rc));
        echo_close(c->fd);
        return false;
    }
    cl->opened++;
    int err = echo_connect_loopback(c->fd, (uint16_t)cl->a.port);
    if (err == 0) {
        c->state = CONN_RUNNING; /* loopback may connect at once */
        conn_send(c);
    } else if (!echo_in_progress(err)) {
        client_fail(cl, "connection %u: connect to 127.0.0.1:%u: %s", i,
                    (unsigned)cl->a.port, echo_strerror(err));
    }
    return !cl->failed;
}

static void client_run(client *cl, double deadline) {
    while (!cl->failed && cl->finished < cl->a.conns) {
        double left = deadline - echo_now();
        if (left <= 0) {
            client_fail(cl,
                        "timed out after %llu s: %llu of %llu connections "
                        "finished, %llu messages verified",
                        (unsigned long long)cl->a.timeout,
                        (unsigned long long)cl->finished,
                        (unsigned long long)cl->a.conns,
                        (unsigned long long)cl->messages);
            return;
        }
        int n = po_wait(cl->poller, (int)(left * 1000.0) + 1, NULL);
        if (n < 0) {
            client_fail(cl, "po_wait: %s (%s)", po_strerror(n),
                        strerror(po_last_errno(cl->poller)));
            return;
        }
        po_iter it = PO_ITER_INIT;
        for (po_channel *ch;
             !cl->failed && (ch = po_next_triggered(cl->poller, &it)) != NULL;)
            conn_ready(cl, ch);
    }
}

static void print_summary(const client *cl, double elapsed) {
    po_stats st = {0, 0, 0, 0, 0, 0};
    po_get_stats(cl->poller, &st);
    uint64_t total = cl->a.conns * cl->a.messages * cl->a.size;
    if (elapsed <= 0)
        elapsed = 1e-9;
    printf("polleros-echo-client: backend %s\n"
           "  connections:  %llu\n"
           "  messages:     %llu (%llu per connection, %llu bytes each)\n"
           "  bytes sent:   %llu\n"
           "  bytes echoed: %llu\n"
           "  elapsed:      %.3f s\n"
           "  throughput:   %.0f messages/s, %.2f MB/s each way\n"
           "  kernel calls: %llu adds, %llu mods, %llu dels, %llu waits\n"
           "  verified: all %llu bytes\n",
           po_backend_name(cl->poller), (unsigned long long)cl->finished,
           (unsigned long long)cl->messages, (unsigned long long)cl->a.messages,
           (unsigned long long)cl->a.size, (unsigned long long)cl->bytes_out,
           (unsigned long long)cl->bytes_in, elapsed,
           (double)cl->messages / elapsed, (double)cl->bytes_in / elapsed / 1e6,
           (unsigned long long)st.adds, (unsigned long long)st.mods,
           (unsigned long long)st.dels, (unsigned long long)st.waits,
           (unsigned long long)total);
}

/* Everything the client promised: every connection finished, every byte
 * sent came back and was checked. */
static bool client_complete(const client *cl) {
    uint64_t total = cl->a.conns * cl->a.messages * cl->a.size;
    return !cl->failed && cl->finished == cl->a.conns &&
           cl->messages == cl->a.conns * cl->a.messages &&
           cl->bytes_out == total && cl->bytes_in == total;
}

static int client_main(client *cl, uint64_t nofile) {
    if (nofile < cl->a.conns + SPARE_FDS) {
        fprintf(stderr,
                "polleros-echo-client: %llu connections need %llu "
                "descriptors; the limit is %llu\n",
                (unsigned long long)cl->a.conns,
                (unsigned long long)(cl->a.conns + SPARE_FDS),
                (unsigned long long)nofile);
        return 1;
    }
    po_options opt = {.backend = cl->a.backend};
    int err;
    cl->poller = po_create(&opt, &err);
    cl->conns = calloc((size_t)cl->a.conns, sizeof *cl->conns);
    if (cl->poller == NULL || cl->conns == NULL) {
        fprintf(stderr, "polleros-echo-client: setup: %s\n",
                cl->poller ? "out of memory" : po_strerror(err));
        int status = cl->poller ? 1 : ex_create_status(err);
        po_destroy(cl->poller);
        free(cl->conns);
        return status;
    }
    double start = echo_now();
    for (uint32_t i = 0; i < cl->a.conns && conn_open(cl, i); i++)
        continue;
    client_run(cl, start + (double)cl->a.timeout);
    double elapsed = echo_now() - start;
    bool ok = client_complete(cl);
    if (ok)
        print_summary(cl, elapsed);
    else if (!cl->failed)
        fprintf(stderr, "polleros-echo-client: error: incomplete run\n");
    po_destroy(cl->poller); /* closes the connections still open */
    free(cl->conns);
    return ok ? 0 : 1;
}

static void usage(void) {
    fprintf(stderr,
            "usage: polleros-echo-client --port N [--conns N] [--messages N] "
            "[--size N] [--backend NAME] [--timeout S]\n"
            "  --port N        the server's port on 127.0.0.1 (required)\n"
            "  --conns N       connections, all open at once (default 1000)\n"
            "  --messages N    messages per connection (default 100)\n"
            "  --size N        bytes per message (default 64)\n"
            "  --backend NAME  epoll, poll, kqueue, wepoll, uring (default: "
            "the library's)\n"
            "  --timeout S     give up, exiting non-zero, after S seconds "
            "(default 120)\n");
}

static bool parse_args(int argc, char **argv, client_args *a) {
    bool have_port = false;
    *a = (client_args){0, 1000, 100, 64, 120, PO_BACKEND_DEFAULT};
    /* Every option takes a value: step over pairs. */
    for (int i = 1; i < argc; i += 2) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok;
        if (strcmp(opt, "--port") == 0)
            ok = have_port = echo_parse_u64(opt, val, 1, 65535, &a->port);
        else if (strcmp(opt, "--conns") == 0)
            ok = echo_parse_u64(opt, val, 1, 1000000, &a->conns);
        else if (strcmp(opt, "--messages") == 0)
            ok = echo_parse_u64(opt, val, 1, UINT32_MAX, &a->messages);
        else if (strcmp(opt, "--size") == 0)
            ok = echo_parse_u64(opt, val, 1, 64u << 20, &a->size);
        else if (strcmp(opt, "--timeout") == 0)
            ok = echo_parse_u64(opt, val, 1, 86400, &a->timeout);
        else if (strcmp(opt, "--backend") == 0)
            ok = echo_parse_backend(val, &a->backend);
        else
            ok = false;
        if (!ok) {
            usage();
            return false;
        }
    }
    if (!have_port) {
        fprintf(stderr, "polleros-echo-client: --port is required\n");
        usage();
        return false;
    }
    /* The byte counters are 64-bit: refuse a run they could not count. */
    if (a->messages > UINT64_MAX / a->conns / a->size) {
        fprintf(stderr, "polleros-echo-client: conns x messages x size is "
                        "too large\n");
        return false;
    }
    return true;
}

int main(int argc, char **argv) {
    client cl;
    memset(&cl, 0, sizeof cl);
    if (!parse_args(argc, argv, &cl.a))
        return 2;
    if (!echo_net_start())
        return 1;
    uint64_t nofile = echo_raise_nofile();
    return client_main(&cl, nofile);
}
