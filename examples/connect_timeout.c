/*
 * polleros-connect-timeout: connecting to many peers at once, each connect
 * with its own timeout, using channel deadlines.
 *
 * Every connect is a channel that wants PO_CONNECT and carries a deadline,
 * po_set_deadline(ch, po_now() + timeout).  Then one of three things comes:
 *
 *   - PO_CONNECT: connected in time; the deadline is removed (PO_NEVER);
 *   - PO_ERR: refused (the socket's error says so); the deadline is removed;
 *   - PO_TIMEOUT: the deadline passed first; the connect is abandoned.
 *
 * The loop never computes a timeout for po_wait(): the poller sleeps no
 * longer than the nearest deadline of any channel.  Its own timeout is only a
 * guard, far beyond every deadline, so that a deadline lost would fail the
 * run instead of hanging it.
 *
 * The peers are all on 127.0.0.1:
 *   - a listener that accepts: those connects succeed;
 *   - a bound socket that does not listen: those are refused;
 *   - a silent one: a listener with a backlog of 0, whose queue is filled
 *     first by one connection it never accepts.  A listener with a full
 *     queue drops SYNs (Linux does, and Wine, on the host's sockets, with
 *     it), so those connects neither succeed nor fail, like connects to a
 *     host that is down: only their deadline ends them.
 * Windows retries a refused connect for about two seconds before it reports
 * the refusal, so the refused connects get a deadline longer than that; the
 * run still ends as soon as every connect has.
 *
 * It checks that every connect ended the way its peer implies, that each
 * timeout came at or after its deadline and not much later, that a removed
 * deadline never fired (the connected channels stay attached past their
 * old deadlines), and that no po_wait() slept much past the nearest
 * deadline; the bounds are loose (SLACK_MS), as machines are noisy.  Exits 0
 * only when all of it holds; POLLEROS_BACKEND chooses the backend.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "echo_common.h"
#include "polleros.h"

enum {
    N_ACCEPTING = 6,
    N_REFUSED = 3,
    N_SILENT = 6,
    N_PEERS = N_ACCEPTING + N_REFUSED + N_SILENT,
    /* Shorter than the silent ones: a connected channel whose deadline was
     * not removed would see it fire while the run goes on. */
    ACCEPTING_MS = 250,
    REFUSED_MS = 3000,
    SILENT_FIRST_MS = 300, /* the silent connects' deadlines are spread out */
    SILENT_STEP_MS = 50,
    SLACK_MS = 500,  /* how late a timeout or a wake-up may be */
    GUARD_MS = 8000, /* po_wait()'s own timeout: only if a deadline is lost */
    FILL_MS = 5000   /* how long filling the silent peer's queue may take */
};

typedef enum peer_kind { ACCEPTING, REFUSED, SILENT } peer_kind;
static const char *const kind_name[] = {"an accepting", "a refusing",
                                        "a silent"};

typedef enum outcome {
    NOT_STARTED,
    PENDING,
    CONNECTED,
    WAS_REFUSED,
    TIMED_OUT
} outcome;

/* Channel numbers. */
enum { CHN_ACCEPTOR = 0, CHN_FULL = 1, CHN_FILLER = 2, CHN_CONNECT = 100 };

typedef struct app app;

/* A connect, or the filler, or one of the two listeners. */
typedef struct conn {
    app *app;
    po_channel *ch;
    echo_sock fd;
    peer_kind kind;
    outcome result;
    po_time started, deadline, ended;
    bool listener; /* the channel is a listener, not a connect */
} conn;

struct app {
    po_poller *poller;
    conn acceptor; /* the listener that accepts */
    conn full;     /* the listener whose queue is full */
    conn filler;   /* the connection that fills it */
    conn peers[N_PEERS];
    echo_sock refuser; /* bound, not listening */
    uint16_t port[3];  /* by peer_kind */
    echo_sock accepted[N_ACCEPTING];
    size_t naccepted;
    bool queue_full; /* the full listener reported its queued connection */
    size_t pending;  /* connects not ended yet */
    /* Figures. */
    uint64_t waits;
    po_time max_oversleep; /* past the nearest deadline, at wake-up */
    po_time min_late, max_late;
    po_time min_connect, max_connect;
    po_time min_refused, max_refused;
    size_t refused_at_once; /* by connect() itself, not by PO_ERR */
    bool failed;
};

#define app_fail(a, ...) ex_fail(&(a)->failed, "connect_timeout", __VA_ARGS__)

static double ms(po_time t) { return (double)t / (double)PO_MSEC; }

static void minmax(po_time v, po_time *lo, po_time *hi) {
    if (v < *lo)
        *lo = v;
    if (v > *hi)
        *hi = v;
}

/* ------------------------------------------------------------------------ */
/* Channels                                                                 */

static po_triggers conn_wants(po_channel *ch, void *ctx) {
    const conn *c = ctx;
    (void)ch;
    if (c->listener)
        return c == &c->app->full && c->app->queue_full ? 0 : PO_ACCEPT;
    /* Once connected, nothing: only a deadline left behind could still
     * trigger the channel. */
    return c->result == PENDING ? PO_CONNECT : 0;
}

static void conn_deinit(po_channel *ch, void *ctx) {
    conn *c = ctx;
    (void)ch;
    echo_close(c->fd);
    c->fd = ECHO_NO_SOCK;
    c->ch = NULL;
}

static const po_channel_ops conn_ops = {conn_wants, conn_deinit};

static bool conn_attach(app *a, conn *c, po_chn chn) {
    c->app = a;
    int rc = po_attach(a->poller, chn, c->fd, &conn_ops, c, &c->ch);
    if (rc != PO_OK) {
        app_fail(a, "po_attach: %s", po_strerror(rc));
        echo_close(c->fd);
        c->fd = ECHO_NO_SOCK;
        return false;
    }
    return true;
}

/* Starts a non-blocking connect on a new channel, with a deadline
 * timeout_ms from now. */
static bool conn_start(app *a, conn *c, po_chn chn, uint16_t port,
                       unsigned timeout_ms) {
    c->fd = echo_tcp_socket();
    if (c->fd == ECHO_NO_SOCK) {
        app_fail(a, "socket: %s", echo_strerror(echo_sock_errno()));
        return false;
    }
    if (!conn_attach(a, c, chn))
        return false;
    c->result = PENDING;
    c->started = po_now();
    c->deadline = c->started + timeout_ms * PO_MSEC;
    int rc = po_set_deadline(c->ch, c->deadline);
    if (rc != PO_OK) {
        app_fail(a, "po_set_deadline: %s", po_strerror(rc));
        return false;
    }
    /* Connected at once (loopback may): the socket is writable, so the
     * poller reports PO_CONNECT all the same.  Refused at once: the error
     * is given here and nowhere else. */
    int err = echo_connect_loopback(c->fd, port);
    if (err != 0 && echo_refused(err))
        c->result = WAS_REFUSED;
    else if (err != 0 && !echo_in_progress(err)) {
        app_fail(a, "connect to port %u: %s", (unsigned)port,
                 echo_strerror(err));
        return false;
    }
    return true;
}

/* The connect ended in time (connected or refused): its deadline goes. */
static void conn_settle(app *a, conn *c, outcome how, po_time now) {
    c->result = how;
    c->ended = now;
    int rc = po_set_deadline(c->ch, PO_NEVER);
    if (rc != PO_OK)
        app_fail(a, "po_set_deadline(PO_NEVER): %s", po_strerror(rc));
    else if (po_channel_deadline(c->ch) != PO_NEVER)
        app_fail(a, "a removed deadline is still there");
}

/* Checks how a connect ended against its peer. */
static void conn_ended(app *a, conn *c) {
    a->pending--;
    bool expected = (c->kind == ACCEPTING && c->result == CONNECTED) ||
                    (c->kind == REFUSED && c->result == WAS_REFUSED) ||
                    (c->kind == SILENT && c->result == TIMED_OUT);
    if (!expected)
        app_fail(a, "a connect to %s peer %s after %.1f ms", kind_name[c->kind],
                 c->result == CONNECTED     ? "connected"
                 : c->result == WAS_REFUSED ? "was refused"
                                            : "timed out",
                 ms(c->ended - c->started));
}

static void connect_ready(app *a, conn *c, po_triggers act, po_time now) {
    if (c->result != PENDING) {
        app_fail(a,
                 "the channel of a connect to %s peer was triggered "
                 "(0x%02x) after it ended: a removed deadline fired?",
                 kind_name[c->kind], (unsigned)act);
        return;
    }
    if (act & (PO_CONNECT | PO_ERR)) {
        /* Settled, even if its deadline passed in the same wait: the
         * answer came. */
        int err = echo_so_error(c->fd);
        if (err == 0 && (act & PO_CONNECT)) {
            conn_settle(a, c, CONNECTED, now);
            minmax(now - c->started, &a->min_connect, &a->max_connect);
        } else if (echo_refused(err)) {
            conn_settle(a, c, WAS_REFUSED, now);
            minmax(now - c->started, &a->min_refused, &a->max_refused);
        } else {
            app_fail(a, "a connect to %s peer failed: %s", kind_name[c->kind],
                     echo_strerror(err));
            return;
        }
        conn_ended(a, c);
        return;
    }
    if (!(act & PO_TIMEOUT))
        return;
    c->result = TIMED_OUT;
    c->ended = now;
    conn_ended(a, c);
    if (now < c->deadline) {
        app_fail(a, "a deadline fired %.3f ms early", ms(c->deadline - now));
        return;
    }
    if (po_channel_deadline(c->ch) != PO_NEVER) {
        app_fail(a, "a deadline that fired is still set");
        return;
    }
    minmax(now - c->deadline, &a->min_late, &a->max_late);
    if (now - c->deadline > SLACK_MS * PO_MSEC)
        app_fail(a, "a deadline fired %.1f ms late", ms(now - c->deadline));
    /* Abandoned: closing the socket (deinit) ends the connect attempt. */
    po_delete(a->poller, po_channel_chn(c->ch));
}

static void acceptor_ready(app *a, po_triggers act) {
    if (act & PO_ERR) {
        app_fail(a, "the accepting listener failed");
        return;
    }
    for (;;) {
        echo_sock fd = echo_accept(a->acceptor.fd);
        if (fd == ECHO_NO_SOCK)
            return; /* would block (or a client gave up): nothing to do */
        if (a->naccepted == N_ACCEPTING) {
            echo_close(fd);
            app_fail(a, "more connections accepted than were made");
            return;
        }
        a->accepted[a->naccepted++] = fd;
    }
}

static void dispatch(app *a, po_channel *ch, po_time now) {
    conn *c = po_channel_ctx(ch);
    po_triggers act = po_channel_act(ch);
    if (c == &a->acceptor) {
        acceptor_ready(a, act);
    } else if (c == &a->full) {
        if (act & PO_ACCEPT)
            a->queue_full = true; /* never accepted: the queue stays full */
        else if (act & PO_ERR)
            app_fail(a, "the full listener failed");
    } else if (c == &a->filler) {
        if (act & (PO_ERR | PO_TIMEOUT))
            app_fail(a, "could not fill the silent peer's queue");
        else if (act & PO_CONNECT)
            c->result = CONNECTED;
    } else {
        connect_ready(a, c, act, now);
    }
}

/* ------------------------------------------------------------------------ */
/* The run                                                                  */

/* The nearest deadline of a pending connect, the filler included. */
static po_time nearest_deadline(const app *a) {
    po_time at = a->filler.result == PENDING ? a->filler.deadline : PO_NEVER;
    for (size_t i = 0; i < N_PEERS; i++)
        if (a->peers[i].result == PENDING && a->peers[i].deadline < at)
            at = a->peers[i].deadline;
    return at;
}

/* One wait and its walk; checks that the wait did not oversleep. */
static void round_trip(app *a) {
    po_time nearest = nearest_deadline(a);
    int n = po_wait(a->poller, GUARD_MS, NULL);
    po_time now = po_now();
    a->waits++;
    if (n < 0) {
        app_fail(a, "po_wait: %s", po_strerror(n));
        return;
    }
    if (nearest != PO_NEVER && now > nearest) {
        if (now - nearest > a->max_oversleep)
            a->max_oversleep = now - nearest;
        if (now - nearest > SLACK_MS * PO_MSEC) {
            app_fail(a, "po_wait slept %.1f ms past the nearest deadline",
                     ms(now - nearest));
            return;
        }
    }
    if (n == 0 && nearest == PO_NEVER) {
        app_fail(a, "nothing happened for %d ms", GUARD_MS);
        return;
    }
    po_iter it = PO_ITER_INIT;
    for (po_channel *ch;
         !a->failed && (ch = po_next_triggered(a->poller, &it)) != NULL;)
        dispatch(a, ch, now);
}

static bool open_peers(app *a) {
    a->acceptor.fd = echo_tcp_listen(0, 64, &a->port[ACCEPTING]);
    a->acceptor.listener = true;
    a->full.fd = echo_tcp_listen(0, 0, &a->port[SILENT]);
    a->full.listener = true;
    a->refuser = echo_tcp_bound(&a->port[REFUSED]);
    if (a->acceptor.fd == ECHO_NO_SOCK || a->full.fd == ECHO_NO_SOCK ||
        a->refuser == ECHO_NO_SOCK) {
        app_fail(a, "listen: %s", echo_strerror(echo_sock_errno()));
        if (a->acceptor.fd != ECHO_NO_SOCK)
            echo_close(a->acceptor.fd);
        if (a->full.fd != ECHO_NO_SOCK)
            echo_close(a->full.fd);
        return false;
    }
    if (!conn_attach(a, &a->acceptor, CHN_ACCEPTOR)) {
        echo_close(a->full.fd);
        return false;
    }
    return conn_attach(a, &a->full, CHN_FULL);
}

/* One connection to the silent peer, never accepted, fills its queue: wait
 * until it connected and the listener reported it queued. */
static bool fill_queue(app *a) {
    if (!conn_start(a, &a->filler, CHN_FILLER, a->port[SILENT], FILL_MS))
        return false;
    if (a->filler.result == WAS_REFUSED) {
        app_fail(a, "the silent peer refused its first connection");
        return false;
    }
    while (!a->failed && !(a->filler.result == CONNECTED && a->queue_full))
        round_trip(a);
    if (!a->failed)
        po_set_deadline(a->filler.ch, PO_NEVER);
    return !a->failed;
}

static bool start_connects(app *a) {
    size_t i = 0;
    for (size_t k = 0; k < N_ACCEPTING; k++, i++)
        a->peers[i].kind = ACCEPTING;
    for (size_t k = 0; k < N_REFUSED; k++, i++)
        a->peers[i].kind = REFUSED;
    for (size_t k = 0; k < N_SILENT; k++, i++)
        a->peers[i].kind = SILENT;
    /* Interleaved, so that the order of the deadlines is not the order of
     * the attaches. */
    for (size_t k = 0; k < N_PEERS; k++) {
        size_t j = (k * 7) % N_PEERS;
        conn *c = &a->peers[j];
        unsigned t =
            c->kind == ACCEPTING ? ACCEPTING_MS
            : c->kind == REFUSED
                ? REFUSED_MS
                : SILENT_FIRST_MS +
                      SILENT_STEP_MS * (unsigned)(j - N_ACCEPTING - N_REFUSED);
        if (!conn_start(a, c, CHN_CONNECT + j, a->port[c->kind], t))
            return false;
        a->pending++;
        if (c->result == WAS_REFUSED) {
            c->ended = po_now();
            conn_settle(a, c, WAS_REFUSED, c->ended);
            minmax(c->ended - c->started, &a->min_refused, &a->max_refused);
            a->refused_at_once++;
            conn_ended(a, c);
        }
    }
    return true;
}

static void check(app *a) {
    size_t got[5] = {0, 0, 0, 0, 0};
    for (size_t i = 0; i < N_PEERS; i++)
        got[a->peers[i].result]++;
    if (a->failed)
        return;
    if (got[CONNECTED] != N_ACCEPTING || got[WAS_REFUSED] != N_REFUSED ||
        got[TIMED_OUT] != N_SILENT)
        app_fail(a, "%zu connected, %zu refused, %zu timed out", got[CONNECTED],
                 got[WAS_REFUSED], got[TIMED_OUT]);
    else if (a->naccepted != N_ACCEPTING)
        app_fail(a, "the listener accepted %zu of %d", a->naccepted,
                 N_ACCEPTING);
}

static void report(const app *a, po_time elapsed) {
    printf("connect_timeout: backend %s\n"
           "  peers:      %d accepting (deadline %d ms), %d refusing "
           "(deadline %d ms), %d silent (deadlines %d..%d ms)\n"
           "  connected:  %d, in %.2f..%.2f ms, deadlines removed\n"
           "  refused:    %d, in %.2f..%.2f ms (%zu by PO_ERR, %zu by "
           "connect() at once), deadlines removed\n"
           "  timed out:  %d, %.2f..%.2f ms after their deadlines "
           "(PO_TIMEOUT)\n"
           "  waits:      %llu, woken at most %.2f ms past the nearest "
           "deadline\n"
           "  elapsed:    %.1f ms\n",
           po_backend_name(a->poller), N_ACCEPTING, ACCEPTING_MS, N_REFUSED,
           REFUSED_MS, N_SILENT, SILENT_FIRST_MS,
           SILENT_FIRST_MS + SILENT_STEP_MS * (N_SILENT - 1), N_ACCEPTING,
           ms(a->min_connect), ms(a->max_connect), N_REFUSED,
           ms(a->min_refused), ms(a->max_refused),
           N_REFUSED - a->refused_at_once, a->refused_at_once, N_SILENT,
           ms(a->min_late), ms(a->max_late), (unsigned long long)a->waits,
           ms(a->max_oversleep), ms(elapsed));
}

int main(void) {
    if (!echo_net_start())
        return 1;
    app *a = calloc(1, sizeof *a);
    if (a == NULL) {
        fprintf(stderr, "connect_timeout: out of memory\n");
        return 1;
    }
    a->min_late = a->min_connect = a->min_refused = PO_NEVER;
    a->refuser = ECHO_NO_SOCK;
    int err;
    a->poller = po_create(NULL, &err);
    if (a->poller == NULL) {
        fprintf(stderr, "connect_timeout: po_create: %s\n", po_strerror(err));
        free(a);
        return ex_create_status(err);
    }
    po_time start = 0;
    if (open_peers(a) && fill_queue(a)) {
        start = po_now();
        if (start_connects(a))
            while (!a->failed && a->pending > 0)
                round_trip(a);
    }
    po_time elapsed = po_now() - start;
    check(a);
    if (!a->failed)
        report(a, elapsed);
    po_destroy(a->poller); /* closes the listeners and the connects left */
    for (size_t i = 0; i < a->naccepted; i++)
        echo_close(a->accepted[i]);
    if (a->refuser != ECHO_NO_SOCK)
        echo_close(a->refuser);
    bool ok = !a->failed;
    free(a);
    if (ok)
        printf("connect_timeout: passed\n");
    return ok ? 0 : 1;
}
