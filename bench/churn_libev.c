/*
 * The churn benchmark's server on libev 4 (churn.h says what it does), on
 * an EVBACKEND_EPOLL loop: an ev_io read watcher per connection, and an
 * ev_io write watcher started (ev_io_start) when a write was short and
 * stopped (ev_io_stop) once the response is out.  Stops on SIGTERM.
 *
 * Usage: churn_libev --mode conn|interest --port-file PATH
 */
#include <stdlib.h>

#include <ev.h>

#include "churn.h"

typedef struct vconn {
    churn_conn c; /* first: see churn.h */
    const churn_server *srv;
    ev_io rw, ww;
    churn_want want;
} vconn;

static void apply(struct ev_loop *loop, vconn *c, churn_want w) {
    if (w == CHURN_CLOSE) {
        ev_io_stop(loop, &c->rw);
        ev_io_stop(loop, &c->ww);
        churn_close(&c->c);
        free(c);
        return;
    }
    if (w == CHURN_WRITE && c->want != CHURN_WRITE)
        ev_io_start(loop, &c->ww);
    else if (w == CHURN_READ && c->want == CHURN_WRITE)
        ev_io_stop(loop, &c->ww);
    c->want = w;
}

static void on_read(struct ev_loop *loop, ev_io *w, int revents) {
    (void)revents;
    vconn *c = w->data;
    apply(loop, c, churn_readable(c->srv, &c->c));
}

static void on_write(struct ev_loop *loop, ev_io *w, int revents) {
    (void)revents;
    vconn *c = w->data;
    apply(loop, c, churn_writable(&c->c));
}

static void on_listen(struct ev_loop *loop, ev_io *w, int revents) {
    (void)revents;
    const churn_server *s = w->data;
    vconn *c;
    while ((c = churn_accept(s, sizeof *c)) != NULL) {
        int fd = c->c.fd;
        c->srv = s;
        c->want = CHURN_READ;
        ev_io_init(&c->rw, on_read, fd, EV_READ);
        ev_io_init(&c->ww, on_write, fd, EV_WRITE);
        c->rw.data = c->ww.data = c;
        ev_io_start(loop, &c->rw);
    }
}

int main(int argc, char **argv) {
    churn_server s;
    if (!churn_server_start(argc, argv, "churn_libev", false, &s))
        return 2;
    struct ev_loop *loop = ev_loop_new(EVBACKEND_EPOLL);
    if (loop == NULL)
        return 1;
    ev_io lw;
    ev_io_init(&lw, on_listen, s.listen_fd, EV_READ);
    lw.data = &s;
    ev_io_start(loop, &lw);
    ev_run(loop, 0);
    return 0;
}
