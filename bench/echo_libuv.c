/*
 * The echo server of examples/echo_server.c on libuv, for the echo
 * benchmark: same protocol, same 4 KiB buffer per connection, same
 * behaviour.  Each chunk read is echoed at once with uv_try_write(); what
 * the socket does not take goes to uv_write() and the connection stops
 * reading (uv_read_stop) until that write completes.  uv_try_write first,
 * because a plain uv_write reports completion only on the next loop
 * iteration, which would make libuv pay a stop/start per message that the
 * other servers do not.
 *
 * Usage: echo_libuv [--port N] [--port-file PATH] [--backend epoll]
 * Stops on SIGTERM or SIGINT.
 */
/* uv.h needs POSIX types (pthread_rwlock_t) that strict C11 hides. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <uv.h>

#include "echo_common.h"
#include "echo_server_util.h"

typedef struct server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_signal_t sigterm, sigint;
    uint64_t served, bytes, errors;
} server;

typedef struct conn {
    uv_tcp_t tcp; /* first: a handle pointer is a conn pointer */
    uv_write_t wr;
    server *srv;
    size_t pending; /* bytes handed to uv_write, not yet written */
    char buf[ECHO_BUF_SIZE];
} conn;

static void on_closed(uv_handle_t *h) { free(h); }

static void conn_close(conn *c, bool failed) {
    if (failed)
        c->srv->errors++;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
    conn *c = (conn *)h;
    (void)hint;
    /* Reading happens only while nothing is pending: the buffer is free. */
    *buf = uv_buf_init(c->buf, sizeof c->buf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void on_written(uv_write_t *req, int status) {
    conn *c = req->data;
    if (status < 0) {
        conn_close(c, true);
        return;
    }
    c->srv->bytes += c->pending;
    c->pending = 0;
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
        conn_close(c, true);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
    conn *c = (conn *)s;
    if (nread == 0) /* EAGAIN */
        return;
    if (nread < 0) { /* UV_EOF: nothing is pending, so all was echoed */
        conn_close(c, nread != UV_EOF);
        return;
    }
    uv_buf_t out = uv_buf_init(buf->base, (unsigned)nread);
    int w = uv_try_write(s, &out, 1);
    if (w == nread) {
        c->srv->bytes += (uint64_t)w;
        return;
    }
    if (w < 0 && w != UV_EAGAIN) {
        conn_close(c, true);
        return;
    }
    if (w > 0) {
        c->srv->bytes += (uint64_t)w;
        out = uv_buf_init(buf->base + w, (unsigned)(nread - w));
    }
    /* Backpressure: read nothing more until the rest is written. */
    uv_read_stop(s);
    c->pending = out.len;
    c->wr.data = c;
    if (uv_write(&c->wr, s, &out, 1, on_written) != 0)
        conn_close(c, true);
}

static void on_connection(uv_stream_t *l, int status) {
    server *srv = l->data;
    if (status < 0) {
        fprintf(stderr, "echo_libuv: accept: %s\n", uv_strerror(status));
        return;
    }
    conn *c = malloc(sizeof *c);
    if (c == NULL)
        return;
    uv_tcp_init(srv->loop, &c->tcp);
    c->srv = srv;
    c->pending = 0;
    if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, on_closed);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    srv->served++;
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
        conn_close(c, true);
}

static void on_signal(uv_signal_t *h, int sig) {
    (void)sig;
    uv_stop(h->loop);
}

int main(int argc, char **argv) {
    echo_server_args a;
    if (!echo_server_parse(argc, argv, "echo_libuv", &a))
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    echo_server_prepare();
    server s = {0};
    s.loop = uv_default_loop();
    uint16_t port;
    int fd = echo_server_listen(a.port, &port);
    if (fd < 0) {
        perror("echo_libuv: listen");
        return 1;
    }
    int rc = uv_tcp_init(s.loop, &s.listener);
    s.listener.data = &s;
    if (rc == 0)
        rc = uv_tcp_open(&s.listener, fd);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s.listener, 4096, on_connection);
    if (rc == 0) {
        uv_signal_init(s.loop, &s.sigterm);
        uv_signal_init(s.loop, &s.sigint);
        rc = uv_signal_start(&s.sigterm, on_signal, SIGTERM);
    }
    if (rc == 0)
        rc = uv_signal_start(&s.sigint, on_signal, SIGINT);
    if (rc != 0) {
        fprintf(stderr, "echo_libuv: setup: %s\n", uv_strerror(rc));
        return 1;
    }
    printf("echo_libuv: listening on 127.0.0.1:%u (libuv %s)\n", (unsigned)port,
           uv_version_string());
    if (a.port_file && !echo_write_port_file(a.port_file, port))
        return 1;
    uv_run(s.loop, UV_RUN_DEFAULT);
    printf("echo_libuv: served %llu connections, echoed %llu bytes, %llu "
           "connection errors\n",
           (unsigned long long)s.served, (unsigned long long)s.bytes,
           (unsigned long long)s.errors);
    return 0; /* connections still open are left to the exit */
}
