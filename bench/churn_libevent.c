/*
 * The churn benchmark's server on libevent 2 (churn.h says what it does),
 * with raw events: a persistent EV_READ event per connection, and an
 * EV_WRITE event added (event_add) when a write was short and removed
 * (event_del) once the response is out.  Stops on SIGTERM.
 *
 * Usage: churn_libevent --mode conn|interest --port-file PATH
 */
#include <stdlib.h>

#include <event2/event.h>

#include "churn.h"

typedef struct econn {
    churn_conn c; /* first: see churn.h */
    const churn_server *srv;
    struct event *rev, *wev;
    churn_want want;
} econn;

static void conn_free(econn *c) {
    if (c->rev != NULL)
        event_free(c->rev); /* unwatches before the close */
    if (c->wev != NULL)
        event_free(c->wev);
    churn_close(&c->c);
    free(c);
}

static void apply(econn *c, churn_want w) {
    if (w == CHURN_CLOSE) {
        conn_free(c);
        return;
    }
    if (w == CHURN_WRITE && c->want != CHURN_WRITE)
        event_add(c->wev, NULL);
    else if (w == CHURN_READ && c->want == CHURN_WRITE)
        event_del(c->wev);
    c->want = w;
}

static void on_read(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    econn *c = arg;
    apply(c, churn_readable(c->srv, &c->c));
}

static void on_write(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    econn *c = arg;
    apply(c, churn_writable(&c->c));
}

typedef struct eserver {
    churn_server s;
    struct event_base *base;
} eserver;

static void on_listen(evutil_socket_t lfd, short what, void *arg) {
    (void)lfd;
    (void)what;
    eserver *es = arg;
    econn *c;
    while ((c = churn_accept(&es->s, sizeof *c)) != NULL) {
        int fd = c->c.fd;
        c->srv = &es->s;
        c->want = CHURN_READ;
        c->rev = event_new(es->base, fd, EV_READ | EV_PERSIST, on_read, c);
        if (es->s.mode == CHURN_INTEREST)
            c->wev =
                event_new(es->base, fd, EV_WRITE | EV_PERSIST, on_write, c);
        if (c->rev == NULL || event_add(c->rev, NULL) != 0 ||
            (es->s.mode == CHURN_INTEREST && c->wev == NULL))
            conn_free(c);
    }
}

int main(int argc, char **argv) {
    eserver es;
    if (!churn_server_start(argc, argv, "churn_libevent", false, &es.s))
        return 2;
    es.base = event_base_new();
    struct event *lev = es.base == NULL
                            ? NULL
                            : event_new(es.base, es.s.listen_fd,
                                        EV_READ | EV_PERSIST, on_listen, &es);
    if (lev == NULL || event_add(lev, NULL) != 0)
        return 1;
    return event_base_dispatch(es.base) < 0;
}
