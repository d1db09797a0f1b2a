/*
 * polleros-echo-server: a non-blocking TCP echo server on 127.0.0.1.
 *
 * It shows the polleros model end to end.  Every socket is a channel whose
 * probe says what it wants *now*, computed from the application's own state;
 * nothing here ever tells the kernel anything.  Two kinds of backpressure
 * fall out of that with no special case:
 *
 *   - a connection with echoed bytes still pending wants PO_SEND and not
 *     PO_RECV, so a client that reads slowly stops the server from reading
 *     it (its bytes wait in the kernel, not in our memory);
 *   - the listener wants PO_ACCEPT only while the server can take another
 *     connection (--max-conns not reached, descriptors not exhausted), so
 *     EMFILE does not turn into a busy loop of failing accept() calls: the
 *     listener leaves the poll set and comes back when a connection closes.
 *
 * It stops on SIGINT or SIGTERM (Ctrl-C, Ctrl-Break or closing the console
 * on Windows), heard through a signal channel, or, with --max-served N,
 * once N connections were served and closed.
 *
 * Usage: polleros-echo-server [--port N] [--backend epoll|poll|...]
 *                             [--port-file PATH] [--max-conns N]
 *                             [--max-served N]
 */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "echo_common.h"
#include "polleros.h"

/* Per-connection echo buffer.  Small on purpose: a message larger than this
 * is echoed in pieces, which exercises partial reads and writes. */
#define CONN_BUF_SIZE 4096

/* Buffer-fuls read and echoed per readiness report at most.  With one per
 * report, a message larger than the buffer takes a trip through the wait per
 * CONN_BUF_SIZE bytes, each a kernel report and a dispatch of its own: 4.1
 * reports per 16 KiB message instead of 1.2, and 12 % more server CPU, at
 * 9,000 connections.  The bound keeps one busy client from holding the loop;
 * 16 x 4 KiB also covers the next requests of a request/response client
 * that sends them while we echo the last. */
#define CONN_READS_PER_TURN 16

/* How long accept() stays paused after EMFILE when no connection closes to
 * free a descriptor (another part of the process may hold them). */
#define STARVED_RETRY_SECONDS 1.0

/* Channel numbers: the application's names for its channels. */
enum { CHN_LISTENER = 0, CHN_SIGNAL = 1, CHN_FIRST_CONN = 2 };

typedef struct server_args {
    uint64_t port;
    po_backend_kind backend;
    const char *port_file;
    uint64_t max_conns;  /* 0: as many as descriptors allow */
    uint64_t max_served; /* 0: serve until stopped */
} server_args;

typedef struct server {
    po_poller *poller;
    po_channel *listener;
    echo_sock listen_fd;
    po_signal *stop_signal; /* SIGINT, SIGTERM */
    bool stopping;          /* one of them came */
    uint64_t max_conns;
    uint64_t max_served;
    uint64_t nconns;      /* open now */
    uint64_t served;      /* accepted since start */
    uint64_t conn_errors; /* connections that ended with an error */
    uint64_t bytes;       /* echoed */
    uint64_t starvations; /* times accept() ran out of descriptors */
    bool starved;         /* accept paused for lack of descriptors... */
    double retry_at;      /* ...until a connection closes or this time */
    bool failed;          /* a fatal error: stop and exit non-zero */
    po_chn next_chn;
} server;

typedef struct conn {
    server *srv;
    echo_sock fd;
    bool eof;    /* the client sent everything: close once it is echoed */
    bool failed; /* ended by an error rather than by the client's EOF */
    size_t head; /* pending echo is buf[head, tail) */
    size_t tail;
    unsigned char buf[CONN_BUF_SIZE];
} conn;

/* ------------------------------------------------------------------------ */
/* Connections                                                              */

static po_triggers conn_wants(po_channel *ch, void *ctx) {
    const conn *c = ctx;
    (void)ch;
    /* Backpressure: while echoed bytes wait for the client to read them,
     * read nothing more from it. */
    return c->head < c->tail ? PO_SEND : PO_RECV;
}

static void conn_deinit(po_channel *ch, void *ctx) {
    conn *c = ctx;
    server *s = c->srv;
    (void)ch;
    echo_close(c->fd);
    s->nconns--;
    if (c->failed)
        s->conn_errors++;
    /* A descriptor is free again: the listener may ask for PO_ACCEPT.  Its
     * wants change outside its own turn, so the poller is told. */
    s->starved = false;
    po_touch(s->listener);
    free(c);
}

static const po_channel_ops conn_ops = {conn_wants, conn_deinit};

static bool conn_fail(conn *c) {
    c->failed = true;
    return false;
}

/* Writes as much of the pending echo as the socket takes.  Returns false once
 * the connection is finished (error, or EOF with everything echoed). */
static bool conn_flush(conn *c) {
    while (c->head < c->tail) {
        long n = echo_send(c->fd, c->buf + c->head, c->tail - c->head);
        int err = n < 0 ? echo_sock_errno() : 0;
        if (n > 0) {
            c->head += (size_t)n;
            c->srv->bytes += (uint64_t)n;
        } else if (n < 0 && echo_interrupted(err)) {
            continue;
        } else if (n < 0 && echo_would_block(err)) {
            return true; /* the rest goes when the probe's PO_SEND fires */
        } else {
            return conn_fail(c);
        }
    }
    c->head = c->tail = 0;
    return !c->eof;
}

/* Reads until EAGAIN, EOF or a full buffer.  Returns false on an error;
 * *full says the buffer filled, so the socket may hold more. */
static bool conn_fill(conn *c, bool *full) {
    *full = false;
    while (c->tail < sizeof c->buf) {
        size_t room = sizeof c->buf - c->tail;
        long n = echo_recv(c->fd, c->buf + c->tail, room);
        int err = n < 0 ? echo_sock_errno() : 0;
        if (n > 0) {
            c->tail += (size_t)n;
            /* A short read drained the socket: skip the recv() that would
             * only say EAGAIN.  The wait is level-triggered, so bytes that
             * arrive later are reported next round. */
            if ((size_t)n < room)
                break;
        } else if (n == 0) {
            c->eof = true;
            break;
        } else if (echo_interrupted(err)) {
            continue;
        } else if (echo_would_block(err)) {
            break;
        } else {
            return conn_fail(c);
        }
    }
    *full = c->tail == sizeof c->buf;
    return true;
}

/* Reads and echoes a buffer-ful at a time while the socket has more and the
 * echo goes out whole, up to CONN_READS_PER_TURN times.  The wait is
 * level-triggered: whatever is left is reported next round. */
static bool conn_read(conn *c) {
    for (int i = 0; i < CONN_READS_PER_TURN; i++) {
        bool full;
        if (!conn_fill(c, &full) || !conn_flush(c))
            return false;
        /* Echo pending (backpressure: the probe now wants PO_SEND), or the
         * socket drained: this turn is over. */
        if (!full || c->head < c->tail)
            return true;
    }
    return true;
}

static void conn_ready(server *s, po_channel *ch) {
    conn *c = po_channel_ctx(ch);
    po_triggers act = po_channel_act(ch);
    bool open;
    if (act & PO_ERR) /* reset, or the client left before taking its echo */
        open = conn_fail(c);
    else if (act & PO_SEND)
        open = conn_flush(c);
    else
        open = conn_read(c);
    if (!open) /* deinit closes the socket; safe in the middle of a walk */
        po_delete(s->poller, po_channel_chn(ch));
}

/* Takes ownership of fd: attaches it, or closes it. */
static void conn_open(server *s, echo_sock fd) {
    conn *c = malloc(sizeof *c);
    int rc = PO_ENOMEM;
    /* echo_accept() made fd non-blocking already: four fcntl() calls per
     * connection saved. */
    if (c == NULL)
        goto fail;
    echo_set_nodelay(fd);
    c->srv = s;
    c->fd = fd;
    c->eof = c->failed = false;
    c->head = c->tail = 0;
    rc = po_attach(s->poller, s->next_chn, fd, &conn_ops, c, NULL);
    if (rc != PO_OK)
        goto fail;
    s->next_chn++;
    s->nconns++;
    s->served++;
    return;
fail:
    fprintf(stderr, "polleros-echo-server: dropping a connection: %s\n",
            c == NULL ? "out of memory" : po_strerror(rc));
    free(c);
    echo_close(fd);
}

/* ------------------------------------------------------------------------ */
/* The listener                                                             */

static bool server_can_accept(const server *s) {
    return !s->starved && (s->max_conns == 0 || s->nconns < s->max_conns) &&
           (s->max_served == 0 || s->served < s->max_served);
}

/* --max-served: everyone served and gone. */
static bool server_done(const server *s) {
    return s->max_served != 0 && s->served >= s->max_served && s->nconns == 0;
}

static po_triggers listener_wants(po_channel *ch, void *ctx) {
    (void)ch;
    /* Not asking is the whole backpressure mechanism: the poller takes the
     * listener out of the kernel's set, and new clients wait in the
     * backlog instead of waking us up for an accept() we would refuse. */
    return server_can_accept(ctx) ? PO_ACCEPT : 0;
}

static void listener_deinit(po_channel *ch, void *ctx) {
    (void)ch;
    echo_close(((server *)ctx)->listen_fd);
}

static const po_channel_ops listener_ops = {listener_wants, listener_deinit};

static void server_starve(server *s, int err) {
    if (s->starvations++ == 0)
        fprintf(stderr,
                "polleros-echo-server: accept: %s with %llu connections "
                "open; accepting again when one closes\n",
                echo_strerror(err), (unsigned long long)s->nconns);
    s->starved = true;
    s->retry_at = echo_now() + STARVED_RETRY_SECONDS;
}

static void listener_ready(server *s, po_channel *ch) {
    if (po_channel_act(ch) & PO_ERR) {
        fprintf(stderr, "polleros-echo-server: listening socket failed: %s\n",
                strerror(po_channel_errno(ch)));
        s->failed = true;
        return;
    }
    while (server_can_accept(s)) {
        echo_sock fd = echo_accept(s->listen_fd);
        int err = fd == ECHO_NO_SOCK ? echo_sock_errno() : 0;
        if (fd != ECHO_NO_SOCK) {
            conn_open(s, fd);
        } else if (echo_interrupted(err) || echo_peer_aborted(err)) {
            continue; /* that client gave up; the next may be waiting */
        } else if (echo_out_of_files(err)) {
            server_starve(s, err);
        } else {
            if (!echo_would_block(err))
                fprintf(stderr, "polleros-echo-server: accept: %s\n",
                        echo_strerror(err));
            return;
        }
    }
}

/* The wait's timeout: none, unless accept() is paused by EMFILE, in which
 * case it is retried at retry_at even if no connection closes. */
static int server_timeout(server *s) {
    if (!s->starved)
        return -1;
    double left = s->retry_at - echo_now();
    if (left <= 0) {
        s->starved = false;
        po_touch(s->listener);
        return -1;
    }
    return (int)(left * 1000.0) + 1;
}

/* ------------------------------------------------------------------------ */
/* Stopping: a signal channel.  The signals reach the loop as PO_NOTIFY on
 * it, so a stop requested just before the wait blocks still wakes it, and
 * no handler of ours runs in the middle of the loop's work.                 */

static bool install_stop(server *s) {
#ifdef _WIN32
    /* Ctrl-C, Ctrl-Break, closing the console. */
    static const int stop_signals[] = {SIGINT, SIGBREAK, SIGTERM};
#else
    static const int stop_signals[] = {SIGINT, SIGTERM};
#endif
    int rc = po_signal_attach(s->poller, CHN_SIGNAL, stop_signals,
                              sizeof stop_signals / sizeof stop_signals[0],
                              &s->stop_signal, NULL);
    if (rc != PO_OK) {
        fprintf(stderr, "polleros-echo-server: po_signal_attach: %s\n",
                po_strerror(rc));
        return false;
    }
    return true;
}

static void stop_ready(server *s) {
    int signo;
    while (po_signal_take(s->stop_signal, &signo) == PO_OK)
        s->stopping = true;
}

/* ------------------------------------------------------------------------ */
/* Setup                                                                    */

/* 0, or the exit status of the failed step (printed). */
static int server_open(server *s, const server_args *a, uint16_t *port) {
    po_options opt = {.backend = a->backend};
    int err;
    s->poller = po_create(&opt, &err);
    if (s->poller == NULL) {
        fprintf(stderr, "polleros-echo-server: po_create: %s\n",
                po_strerror(err));
        return ex_create_status(err);
    }
    /* A deep backlog: the client opens all its connections at once, and a
     * full queue costs each dropped SYN a one-second retransmission. */
    s->listen_fd = echo_tcp_listen((uint16_t)a->port, 4096, port);
    if (s->listen_fd == ECHO_NO_SOCK) {
        fprintf(stderr, "polleros-echo-server: listen: %s\n",
                echo_strerror(echo_sock_errno()));
        return 1;
    }
    err = po_attach(s->poller, CHN_LISTENER, s->listen_fd, &listener_ops, s,
                    &s->listener);
    if (err != PO_OK) {
        fprintf(stderr, "polleros-echo-server: attach: %s\n", po_strerror(err));
        echo_close(s->listen_fd);
        return 1;
    }
    return install_stop(s) ? 0 : 1;
}

/* ------------------------------------------------------------------------ */
/* The loop                                                                 */

static void server_dispatch(server *s, po_channel *ch) {
    switch (po_channel_chn(ch)) {
    case CHN_LISTENER:
        listener_ready(s, ch);
        break;
    case CHN_SIGNAL:
        stop_ready(s);
        break;
    default:
        conn_ready(s, ch);
        break;
    }
}

static void server_run(server *s) {
    while (!s->stopping && !s->failed && !server_done(s)) {
        int n = po_wait(s->poller, server_timeout(s), NULL);
        if (n < 0) {
            fprintf(stderr, "polleros-echo-server: po_wait: %s (%s)\n",
                    po_strerror(n), strerror(po_last_errno(s->poller)));
            s->failed = true;
            return;
        }
        po_iter it = PO_ITER_INIT;
        for (po_channel *ch; (ch = po_next_triggered(s->poller, &it));)
            server_dispatch(s, ch);
    }
}

static void usage(void) {
    fprintf(stderr,
            "usage: polleros-echo-server [--port N] [--backend NAME] "
            "[--port-file PATH] [--max-conns N] [--max-served N]\n"
            "  --port N         port on 127.0.0.1 (0: any free one; default "
            "0)\n"
            "  --backend NAME   epoll, poll, kqueue, wepoll, uring (default: "
            "the library's)\n"
            "  --port-file PATH write the bound port there once listening\n"
            "  --max-conns N    connections open at once (0: unlimited)\n"
            "  --max-served N   exit once N connections were served and "
            "closed\n");
}

static bool parse_args(int argc, char **argv, server_args *a) {
    a->port = 0;
    a->backend = PO_BACKEND_DEFAULT;
    a->port_file = NULL;
    a->max_conns = 0;
    a->max_served = 0;
    /* Every option takes a value: step over pairs. */
    for (int i = 1; i < argc; i += 2) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok;
        if (strcmp(opt, "--port") == 0)
            ok = echo_parse_u64(opt, val, 0, 65535, &a->port);
        else if (strcmp(opt, "--max-conns") == 0)
            ok = echo_parse_u64(opt, val, 0, UINT32_MAX, &a->max_conns);
        else if (strcmp(opt, "--max-served") == 0)
            ok = echo_parse_u64(opt, val, 0, UINT32_MAX, &a->max_served);
        else if (strcmp(opt, "--backend") == 0)
            ok = echo_parse_backend(val, &a->backend);
        else if (strcmp(opt, "--port-file") == 0 && val != NULL)
            ok = (a->port_file = val) != NULL;
        else
            ok = false;
        if (!ok) {
            usage();
            return false;
        }
    }
    return true;
}

static void print_listening(const server *s, uint16_t port, uint64_t nofile) {
    char limit[32] = "unlimited";
    if (s->max_conns)
        snprintf(limit, sizeof limit, "%llu", (unsigned long long)s->max_conns);
    printf("polleros-echo-server: listening on 127.0.0.1:%u (backend %s, "
           "%llu descriptors, max-conns %s)\n",
           (unsigned)port, po_backend_name(s->poller),
           (unsigned long long)nofile, limit);
    /* Line buffering is not honoured everywhere (Windows's C library
     * buffers fully): a script waits for this line. */
    fflush(stdout);
}

static void print_summary(const server *s, const po_stats *st) {
    printf("polleros-echo-server: served %llu connections, echoed %llu "
           "bytes, %llu connection errors, accept paused %llu times\n"
           "polleros-echo-server: kernel calls: %llu adds, %llu mods, "
           "%llu dels, %llu waits, %llu events\n",
           (unsigned long long)s->served, (unsigned long long)s->bytes,
           (unsigned long long)s->conn_errors,
           (unsigned long long)s->starvations, (unsigned long long)st->adds,
           (unsigned long long)st->mods, (unsigned long long)st->dels,
           (unsigned long long)st->waits, (unsigned long long)st->events);
}

int main(int argc, char **argv) {
    server_args args;
    if (!parse_args(argc, argv, &args))
        return 2;
    /* A script may read our output through a pipe: one line at a time. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!echo_net_start())
        return 1;
    uint64_t nofile = echo_raise_nofile();

    server s;
    memset(&s, 0, sizeof s);
    s.listen_fd = ECHO_NO_SOCK;
    s.max_conns = args.max_conns;
    s.max_served = args.max_served;
    s.next_chn = CHN_FIRST_CONN;
    uint16_t port = 0;
    int status = server_open(&s, &args, &port);
    bool ran = false, ok = status == 0;
    if (ok) {
        print_listening(&s, port, nofile);
        ok = args.port_file == NULL ||
             echo_write_port_file(args.port_file, port);
    }
    if (ok) {
        server_run(&s);
        ran = true;
        ok = !s.failed;
    }

    po_stats st = {0, 0, 0, 0, 0, 0};
    po_get_stats(s.poller, &st);
    po_destroy(s.poller); /* deinit closes every socket still open */
    if (ran)
        print_summary(&s, &st);
    return ok ? 0 : status != 0 ? status : 1;
}
