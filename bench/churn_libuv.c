/*
 * The churn benchmark's server on libuv (churn.h says what it does).
 *
 * Connection churn uses libuv's streams, as a libuv server does: uv_listen,
 * uv_accept, uv_read_start into the connection's request buffer,
 * uv_try_write of the response, uv_close.  (A uv_poll_t per connection
 * would cost libuv an ioctl and an epoll_ctl ADD and DEL more per
 * connection, uv_poll_init's checks of the descriptor.)
 *
 * Interest churn uses a uv_poll_t per connection, so that the writes are
 * the same as every other server's: uv_poll_start(UV_READABLE), and
 * UV_READABLE | UV_WRITABLE while a response is unfinished (what a stream's
 * uv_try_write followed by a queued uv_write does to its watcher).  The
 * socket is closed once libuv has let go of the handle.
 *
 * Stops on SIGTERM.
 *
 * Usage: churn_libuv --mode conn|interest --port-file PATH
 */
/* uv.h needs POSIX types (pthread_rwlock_t) that strict C11 hides. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>

#include <uv.h>

#include "churn.h"

typedef struct uconn {
    churn_conn c; /* first: see churn.h */
    const churn_server *srv;
    union {
        uv_poll_t poll; /* interest churn */
        uv_tcp_t tcp;   /* connection churn */
    } h;
    churn_want want;
    char req[CHURN_REQUEST];
} uconn;

static void on_stream_closed(uv_handle_t *h) { free(h->data); }

static void on_stream_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
    uconn *c = h->data;
    (void)hint;
    *buf = uv_buf_init(c->req + c->c.got, (unsigned)(CHURN_REQUEST - c->c.got));
}

static void on_stream_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
    uconn *c = st->data;
    (void)buf;
    if (n == 0 || (n > 0 && (c->c.got += (size_t)n) < CHURN_REQUEST))
        return;
    if (n > 0) {
        /* What the response holds does not matter: the request's bytes. */
        uv_buf_t out = uv_buf_init(c->req, CHURN_REQUEST);
        uv_try_write(st, &out, 1);
    }
    uv_close((uv_handle_t *)st, on_stream_closed);
}

static void on_connection(uv_stream_t *l, int status) {
    uconn *c = status < 0 ? NULL : calloc(1, sizeof *c);
    if (c == NULL)
        return;
    uv_tcp_init(l->loop, &c->h.tcp);
    c->h.tcp.data = c;
    if (uv_accept(l, (uv_stream_t *)&c->h.tcp) != 0 ||
        uv_read_start((uv_stream_t *)&c->h.tcp, on_stream_alloc,
                      on_stream_read) != 0)
        uv_close((uv_handle_t *)&c->h.tcp, on_stream_closed);
}

static void on_closed(uv_handle_t *h) {
    uconn *c = h->data;
    churn_close(&c->c);
    free(c);
}

static void on_event(uv_poll_t *h, int status, int events) {
    uconn *c = h->data;
    churn_want w = c->want;
    if (status < 0 || (events & UV_READABLE))
        w = churn_readable(c->srv, &c->c);
    if (w == CHURN_WRITE && (events & UV_WRITABLE))
        w = churn_writable(&c->c);
    if (w == CHURN_CLOSE)
        uv_close((uv_handle_t *)h, on_closed);
    else if (w != c->want)
        uv_poll_start(
            h, w == CHURN_WRITE ? UV_READABLE | UV_WRITABLE : UV_READABLE,
            on_event);
    c->want = w;
}

static void on_listen(uv_poll_t *h, int status, int events) {
    (void)status;
    (void)events;
    const churn_server *s = h->data;
    uconn *c;
    while ((c = churn_accept(s, sizeof *c)) != NULL) {
        int fd = c->c.fd;
        c->srv = s;
        c->want = CHURN_READ;
        if (uv_poll_init(h->loop, &c->h.poll, fd) != 0) {
            churn_close(&c->c);
            free(c);
            continue;
        }
        c->h.poll.data = c;
        uv_poll_start(&c->h.poll, UV_READABLE, on_event);
    }
}

int main(int argc, char **argv) {
    churn_server s;
    if (!churn_server_start(argc, argv, "churn_libuv", false, &s))
        return 2;
    uv_loop_t *loop = uv_default_loop();
    uv_tcp_t lt;
    uv_poll_t lp;
    int rc;
    if (s.mode == CHURN_CONN) {
        rc = uv_tcp_init(loop, &lt);
        if (rc == 0)
            rc = uv_tcp_open(&lt, s.listen_fd);
        if (rc == 0)
            rc = uv_listen((uv_stream_t *)&lt, 4096, on_connection);
    } else {
        rc = uv_poll_init(loop, &lp, s.listen_fd);
        lp.data = &s;
        if (rc == 0)
            rc = uv_poll_start(&lp, UV_READABLE, on_listen);
    }
    if (rc != 0) {
        fprintf(stderr, "churn_libuv: %s\n", uv_strerror(rc));
        return 1;
    }
    return uv_run(loop, UV_RUN_DEFAULT) != 0;
}
