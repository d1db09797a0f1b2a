/*
 * The echo server of examples/echo_server.c on libevent 2.1, for the echo
 * benchmark: same protocol, same 4 KiB buffer per connection, same
 * behaviour.  A readable connection is read until EAGAIN, EOF or a full
 * buffer, then echoed, and again while the buffer fills and the echo goes
 * out whole, up to 16 buffer-fuls; while echoed bytes are pending the
 * connection stops reading (its read event is removed, its write event
 * added) until they are written.  Raw events rather than bufferevents, so
 * that libevent does the same system calls as the polleros server and no
 * extra copies.
 *
 * Usage: echo_libevent [--port N] [--port-file PATH] [--backend epoll]
 * Stops on SIGTERM or SIGINT.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "echo_common.h"
#include "echo_server_util.h"

typedef struct server {
    struct event_base *base;
    int listen_fd;
    uint64_t served, bytes, errors;
} server;

typedef struct conn {
    server *srv;
    int fd;
    bool eof;
    bool writing; /* the write event is in, the read event out */
    struct event *rev, *wev;
    size_t head, tail; /* pending echo: buf[head, tail) */
    unsigned char buf[ECHO_BUF_SIZE];
} conn;

static bool would_block(int e) { return e == EAGAIN || e == EWOULDBLOCK; }

static void conn_close(conn *c, bool failed) {
    if (failed)
        c->srv->errors++;
    event_free(c->rev);
    event_free(c->wev);
    close(c->fd);
    free(c);
}

/* Writes what the socket takes; switches the connection between reading
 * and writing as the pending echo appears and drains.  false: closed. */
static bool conn_flush(conn *c) {
    while (c->head < c->tail) {
        ssize_t n = send(c->fd, c->buf + c->head, c->tail - c->head, 0);
        if (n > 0) {
            c->head += (size_t)n;
            c->srv->bytes += (uint64_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && would_block(errno)) {
            if (!c->writing) { /* backpressure: stop reading */
                c->writing = true;
                event_del(c->rev);
                event_add(c->wev, NULL);
            }
            return true;
        } else {
            conn_close(c, true);
            return false;
        }
    }
    c->head = c->tail = 0;
    if (c->eof) {
        conn_close(c, false);
        return false;
    }
    if (c->writing) {
        c->writing = false;
        event_del(c->wev);
        event_add(c->rev, NULL);
    }
    return true;
}

/* Reads until EAGAIN, EOF or a full buffer.  false: closed on an error. */
static bool conn_fill(conn *c) {
    while (c->tail < sizeof c->buf) {
        size_t room = sizeof c->buf - c->tail;
        ssize_t n = recv(c->fd, c->buf + c->tail, room, 0);
        if (n > 0) {
            c->tail += (size_t)n;
            if ((size_t)n < room) /* drained: skip the recv saying EAGAIN */
                break;
        } else if (n == 0) {
            c->eof = true;
            break;
        } else if (errno == EINTR) {
            continue;
        } else if (would_block(errno)) {
            break;
        } else {
            conn_close(c, true);
            return false;
        }
    }
    return true;
}

/* As the polleros server: a buffer-ful at a time, echoed, while the buffer
 * fills and the echo goes out whole, up to ECHO_READS_PER_TURN times. */
static void on_read(evutil_socket_t fd, short what, void *arg) {
    conn *c = arg;
    (void)fd;
    (void)what;
    for (int i = 0; i < ECHO_READS_PER_TURN; i++) {
        if (!conn_fill(c))
            return;
        bool full = c->tail == sizeof c->buf;
        if (!conn_flush(c) || !full || c->writing)
            return;
    }
}

static void on_write(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    conn_flush(arg);
}

static void conn_open(server *s, int fd) {
    conn *c = malloc(sizeof *c);
    int one = 1;
    if (c == NULL || evutil_make_socket_nonblocking(fd) != 0)
        goto fail;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->srv = s;
    c->fd = fd;
    c->eof = c->writing = false;
    c->head = c->tail = 0;
    c->rev = event_new(s->base, fd, EV_READ | EV_PERSIST, on_read, c);
    c->wev = event_new(s->base, fd, EV_WRITE | EV_PERSIST, on_write, c);
    if (c->rev == NULL || c->wev == NULL || event_add(c->rev, NULL) != 0) {
        if (c->rev)
            event_free(c->rev);
        if (c->wev)
            event_free(c->wev);
        goto fail;
    }
    s->served++;
    return;
fail:
    fprintf(stderr, "echo_libevent: dropping a connection\n");
    free(c);
    close(fd);
}

static void on_accept(evutil_socket_t fd, short what, void *arg) {
    server *s = arg;
    (void)what;
    for (;;) {
        int cfd = accept(fd, NULL, NULL);
        if (cfd >= 0)
            conn_open(s, cfd);
        else if (errno == EINTR || errno == ECONNABORTED)
            continue;
        else {
            if (!would_block(errno))
                perror("echo_libevent: accept");
            return;
        }
    }
}

static void on_signal(evutil_socket_t sig, short what, void *arg) {
    (void)sig;
    (void)what;
    event_base_loopbreak(arg);
}

int main(int argc, char **argv) {
    echo_server_args a;
    if (!echo_server_parse(argc, argv, "echo_libevent", &a))
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    echo_server_prepare();
    server s = {0};
    uint16_t port;
    s.base = event_base_new();
    s.listen_fd = echo_server_listen(a.port, &port);
    if (s.base == NULL || s.listen_fd < 0) {
        perror("echo_libevent: setup");
        return 1;
    }
    struct event *lev =
        event_new(s.base, s.listen_fd, EV_READ | EV_PERSIST, on_accept, &s);
    struct event *sterm = evsignal_new(s.base, SIGTERM, on_signal, s.base);
    struct event *sint = evsignal_new(s.base, SIGINT, on_signal, s.base);
    if (lev == NULL || sterm == NULL || sint == NULL ||
        event_add(lev, NULL) != 0 || event_add(sterm, NULL) != 0 ||
        event_add(sint, NULL) != 0) {
        fprintf(stderr, "echo_libevent: setup failed\n");
        return 1;
    }
    printf("echo_libevent: listening on 127.0.0.1:%u (libevent %s, %s)\n",
           (unsigned)port, event_get_version(), event_base_get_method(s.base));
    if (a.port_file && !echo_write_port_file(a.port_file, port))
        return 1;
    int rc = event_base_dispatch(s.base);
    printf("echo_libevent: served %llu connections, echoed %llu bytes, "
           "%llu connection errors\n",
           (unsigned long long)s.served, (unsigned long long)s.bytes,
           (unsigned long long)s.errors);
    /* Connections still open are left to the exit. */
    event_free(lev);
    event_free(sterm);
    event_free(sint);
    close(s.listen_fd);
    return rc < 0 ? 1 : 0;
}
