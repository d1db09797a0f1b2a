/*
 * polleros-worker-notify: worker threads hand their results to the event
 * loop through a notifier.
 *
 * The loop's thread owns the poller and every socket; the workers touch
 * neither.  They compute, and hand each result over with po_notify(), the one
 * polleros call any thread may make.  It never blocks: when the notifier's
 * bounded queue is full it returns PO_EAGAIN and the worker yields and tries
 * again, which slows the workers down to the loop's pace.  The notifier's
 * channel reports PO_NOTIFY and the loop takes payloads with
 * po_notifier_take() until PO_EAGAIN: one wake-up usually carries many.
 *
 * The loop sends the results on over a TCP connection, as a server sends
 * results to its client.  The sending end is a channel that wants PO_SEND
 * while results wait in its buffer; the notifier's turn in the walk fills
 * that buffer, so it po_touch()es the sending channel.  The receiving end,
 * standing for the client, is a channel of the same loop that reads the
 * results back.  One po_wait() serves the notifier and the sockets alike.
 *
 * It checks that every payload is taken exactly once, each worker's in the
 * order that worker sent them, that every result is right, and that the
 * connection delivers the same bytes in the same order and then EOF.  Exits
 * 0 only when all of it holds; POLLEROS_BACKEND chooses the backend.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "echo_common.h"
#include "polleros.h"
#include "thread.h"

enum {
    WORKERS = 4,
    PER_WORKER = 25000, /* results each, fewer than 2^24 */
    QUEUE = 64,         /* the notifier's capacity: small, so it fills */
    WORK_ROUNDS = 64,   /* the cost of one result */
    RECORD = 8,         /* bytes per result on the connection */
    TOTAL = WORKERS * PER_WORKER,
    STALL_SECONDS = 5,
    RUN_SECONDS = 30
};

enum { CHN_NOTIFIER = 0, CHN_LISTENER = 1, CHN_SENDER = 2, CHN_RECEIVER = 3 };

typedef struct app app;

typedef struct worker {
    app *app;
    unsigned id;
    thr *thread;
    uint32_t sent;    /* payloads queued */
    uint64_t retries; /* PO_EAGAIN: the queue was full */
    int error;        /* a po_notify() result other than PO_OK or PO_EAGAIN */
    int error_errno;  /* and the system's error code with PO_ESYS */
} worker;

struct app {
    po_poller *poller;
    po_notifier *notifier;
    atomic_bool stop; /* the loop gave up: workers stop retrying */
    worker workers[WORKERS];

    echo_sock listen_fd, send_fd, recv_fd;
    po_channel *sender; /* NULL until the connection is accepted */
    bool connected;     /* the receiving end's connect completed */
    bool shut;          /* everything sent and the sending side shut down */
    bool eof;           /* the receiving end read EOF */

    uint32_t next[WORKERS]; /* the index expected next from each worker */
    uint64_t taken;
    unsigned char *out; /* every result taken, as sent on the connection */
    size_t out_len, out_sent, in_len;

    /* Figures. */
    uint64_t wakeups; /* PO_NOTIFY reports */
    uint64_t max_batch;
    uint64_t waits;
    bool failed;
};

#define app_fail(a, ...) ex_fail(&(a)->failed, "worker_notify", __VA_ARGS__)

/* ------------------------------------------------------------------------ */
/* The workers                                                              */

/* The "computation": a 32-bit hash (lowbias32 by Chris Wellons) applied
 * WORK_ROUNDS times. */
static uint32_t work(unsigned worker_id, uint32_t index) {
    uint32_t x = (uint32_t)worker_id << 24 ^ index;
    for (int r = 0; r < WORK_ROUNDS; r++)
        x = echo_mix32(x);
    return x;
}

/* A payload: who computed it, which one it is, and the result. */
static uint64_t payload(unsigned worker_id, uint32_t index, uint32_t result) {
    return (uint64_t)worker_id << 56 | (uint64_t)index << 32 | result;
}

static void worker_main(void *arg) {
    worker *w = arg;
    po_notifier *n = w->app->notifier;
    for (uint32_t i = 0; i < PER_WORKER; i++) {
        uint64_t v = payload(w->id, i, work(w->id, i));
        int rc;
        while ((rc = po_notify(n, v)) == PO_EAGAIN) {
            if (atomic_load(&w->app->stop))
                return;
            w->retries++;
            thr_yield(); /* let the loop's thread take some */
        }
        if (rc != PO_OK) {
            w->error = rc;
            w->error_errno = errno;
            return;
        }
        w->sent++;
    }
}

/* ------------------------------------------------------------------------ */
/* The notifier's turn                                                      */

/* Checks one payload: its worker, its place in that worker's sequence (a
 * worker's payloads are queued one after another, so they leave the queue in
 * that order too) and its result. */
static bool check_payload(app *a, uint64_t v) {
    unsigned w = (unsigned)(v >> 56);
    uint32_t i = (uint32_t)(v >> 32) & 0xffffffu;
    if (w >= WORKERS) {
        app_fail(a, "payload %016llx: no worker %u", (unsigned long long)v, w);
        return false;
    }
    if (i != a->next[w]) {
        app_fail(a, "worker %u: result %lu taken when %lu was next (%s)", w,
                 (unsigned long)i, (unsigned long)a->next[w],
                 i < a->next[w] ? "taken twice" : "lost or out of order");
        return false;
    }
    if ((uint32_t)v != work(w, i)) {
        app_fail(a, "worker %u, result %lu: wrong value", w, (unsigned long)i);
        return false;
    }
    a->next[w]++;
    return true;
}

static void notifier_ready(app *a, po_channel *ch) {
    po_triggers act = po_channel_act(ch);
    if (act & PO_ERR) {
        app_fail(a, "the notifier's channel failed (errno %d)",
                 po_channel_errno(ch));
        return;
    }
    if (!(act & PO_NOTIFY))
        return;
    a->wakeups++;
    uint64_t batch = 0, v;
    int rc;
    while ((rc = po_notifier_take(a->notifier, &v)) == PO_OK) {
        if (a->taken == TOTAL) {
            app_fail(a, "more payloads than were sent");
            return;
        }
        if (!check_payload(a, v))
            return;
        for (int k = 0; k < RECORD; k++)
            a->out[a->out_len++] = (unsigned char)(v >> (8 * k));
        a->taken++;
        batch++;
    }
    if (rc != PO_EAGAIN)
        app_fail(a, "po_notifier_take: %s", po_strerror(rc));
    if (batch > a->max_batch)
        a->max_batch = batch;
    /* The sending end wants PO_SEND now: tell the poller, as this is not
     * the sender's own turn. */
    po_touch(a->sender);
}

/* ------------------------------------------------------------------------ */
/* The connection                                                           */

static po_triggers sender_wants(po_channel *ch, void *ctx) {
    const app *a = ctx;
    (void)ch;
    return a->out_sent < a->out_len ? PO_SEND : 0;
}

static po_triggers receiver_wants(po_channel *ch, void *ctx) {
    const app *a = ctx;
    (void)ch;
    return a->connected ? PO_RECV : PO_CONNECT;
}

static po_triggers listener_wants(po_channel *ch, void *ctx) {
    const app *a = ctx;
    (void)ch;
    return a->sender == NULL ? PO_ACCEPT : 0;
}

static void close_sock(po_channel *ch, void *ctx) {
    (void)ctx;
    echo_close(po_channel_socket(ch));
}

static const po_channel_ops sender_ops = {sender_wants, close_sock};
static const po_channel_ops receiver_ops = {receiver_wants, close_sock};
static const po_channel_ops listener_ops = {listener_wants, close_sock};

static void listener_ready(app *a) {
    echo_sock fd = echo_accept(a->listen_fd);
    if (fd == ECHO_NO_SOCK) {
        int err = echo_sock_errno();
        if (!echo_would_block(err) && !echo_interrupted(err))
            app_fail(a, "accept: %s", echo_strerror(err));
        return;
    }
    int rc = po_attach(a->poller, CHN_SENDER, fd, &sender_ops, a, &a->sender);
    if (rc != PO_OK) {
        echo_close(fd);
        app_fail(a, "po_attach: %s", po_strerror(rc));
        return;
    }
    a->send_fd = fd;
    /* Only one connection is wanted. */
    po_delete(a->poller, CHN_LISTENER);
}

static void sender_ready(app *a, po_channel *ch) {
    if (po_channel_act(ch) & PO_ERR) {
        app_fail(a, "the sending end failed");
        return;
    }
    while (a->out_sent < a->out_len) {
        long n = echo_send(a->send_fd, a->out + a->out_sent,
                           a->out_len - a->out_sent);
        int err = n < 0 ? echo_sock_errno() : 0;
        if (n > 0) {
            a->out_sent += (size_t)n;
        } else if (n < 0 && echo_interrupted(err)) {
            continue;
        } else if (n < 0 && echo_would_block(err)) {
            return;
        } else {
            app_fail(a, "send: %s", echo_strerror(err));
            return;
        }
    }
    if (a->taken == TOTAL && !a->shut) {
        a->shut = true;
        if (!echo_shutdown_send(a->send_fd))
            app_fail(a, "shutdown: %s", echo_strerror(echo_sock_errno()));
    }
}

/* Reads what came and compares it with what was sent, byte for byte. */
static void receiver_ready(app *a, po_channel *ch) {
    po_triggers act = po_channel_act(ch);
    if (act & PO_ERR) {
        app_fail(a, "the receiving end failed: %s",
                 echo_strerror(echo_so_error(a->recv_fd)));
        return;
    }
    if (!a->connected) {
        a->connected = (act & PO_CONNECT) != 0;
        return;
    }
    unsigned char buf[16384];
    for (;;) {
        long n = echo_recv(a->recv_fd, buf, sizeof buf);
        int err = n < 0 ? echo_sock_errno() : 0;
        if (n == 0) {
            a->eof = true;
            if (!a->shut || a->in_len != a->out_len)
                app_fail(a, "EOF after %zu of %zu bytes", a->in_len,
                         a->out_len);
            return;
        }
        if (n < 0 && echo_interrupted(err))
            continue;
        if (n < 0 && echo_would_block(err))
            return;
        if (n < 0) {
            app_fail(a, "recv: %s", echo_strerror(err));
            return;
        }
        if (a->in_len + (size_t)n > a->out_sent ||
            memcmp(buf, a->out + a->in_len, (size_t)n) != 0) {
            app_fail(a, "the connection delivered other bytes than were sent");
            return;
        }
        a->in_len += (size_t)n;
    }
}

static bool open_connection(app *a) {
    uint16_t port;
    a->listen_fd = echo_tcp_listen(0, 1, &port);
    if (a->listen_fd == ECHO_NO_SOCK) {
        app_fail(a, "listen: %s", echo_strerror(echo_sock_errno()));
        return false;
    }
    int rc = po_attach(a->poller, CHN_LISTENER, a->listen_fd, &listener_ops, a,
                       NULL);
    if (rc != PO_OK) {
        echo_close(a->listen_fd);
        app_fail(a, "po_attach: %s", po_strerror(rc));
        return false;
    }
    a->recv_fd = echo_tcp_socket();
    if (a->recv_fd == ECHO_NO_SOCK) {
        app_fail(a, "socket: %s", echo_strerror(echo_sock_errno()));
        return false;
    }
    rc = po_attach(a->poller, CHN_RECEIVER, a->recv_fd, &receiver_ops, a, NULL);
    if (rc != PO_OK) {
        echo_close(a->recv_fd);
        app_fail(a, "po_attach: %s", po_strerror(rc));
        return false;
    }
    int err = echo_connect_loopback(a->recv_fd, port);
    if (err != 0 && !echo_in_progress(err)) {
        app_fail(a, "connect: %s", echo_strerror(err));
        return false;
    }
    return true; /* PO_CONNECT comes even if it connected at once */
}

/* ------------------------------------------------------------------------ */
/* The loop                                                                 */

static void run(app *a) {
    double start = echo_now(), progress = start;
    uint64_t taken = 0;
    while (!a->failed && !a->eof) {
        double now = echo_now();
        if (a->taken != taken) {
            taken = a->taken;
            progress = now;
        }
        /* Workers that cannot queue retry forever: a queue that stays full
         * with no PO_NOTIFY means a wake-up was lost. */
        if (a->taken < TOTAL && now - progress > STALL_SECONDS) {
            app_fail(a,
                     "no payload taken for %d s (%llu of %d so far): a "
                     "wake-up was lost",
                     STALL_SECONDS, (unsigned long long)a->taken, TOTAL);
            return;
        }
        if (now - start > RUN_SECONDS) {
            app_fail(a, "no end after %d s: %llu of %d payloads taken",
                     RUN_SECONDS, (unsigned long long)a->taken, TOTAL);
            return;
        }
        int n = po_wait(a->poller, 1000, NULL);
        a->waits++;
        if (n < 0) {
            app_fail(a, "po_wait: %s", po_strerror(n));
            return;
        }
        po_iter it = PO_ITER_INIT;
        for (po_channel *ch;
             !a->failed && (ch = po_next_triggered(a->poller, &it)) != NULL;) {
            switch (po_channel_chn(ch)) {
            case CHN_NOTIFIER:
                notifier_ready(a, ch);
                break;
            case CHN_LISTENER:
                listener_ready(a);
                break;
            case CHN_SENDER:
                sender_ready(a, ch);
                break;
            default:
                receiver_ready(a, ch);
                break;
            }
        }
    }
}

static void check(app *a, double elapsed) {
    uint64_t retries = 0;
    for (unsigned w = 0; w < WORKERS; w++) {
        const worker *wk = &a->workers[w];
        retries += wk->retries;
        /* Each worker's state, for a run that failed for any reason. */
        if (wk->error != 0 || a->next[w] != PER_WORKER)
            fprintf(stderr,
                    "worker_notify: worker %u: %lu sent, %lu taken, %llu "
                    "retries%s%s (errno %d)\n",
                    w, (unsigned long)wk->sent, (unsigned long)a->next[w],
                    (unsigned long long)wk->retries,
                    wk->error ? ", po_notify: " : "",
                    wk->error ? po_strerror(wk->error) : "", wk->error_errno);
        if (wk->error != 0)
            app_fail(a, "worker %u: po_notify: %s", w, po_strerror(wk->error));
        else if (a->next[w] != PER_WORKER)
            app_fail(a, "worker %u: %lu of %d results taken", w,
                     (unsigned long)a->next[w], PER_WORKER);
    }
    if (a->failed)
        return;
    if (a->taken != TOTAL || a->in_len != (size_t)TOTAL * RECORD) {
        app_fail(a, "%llu payloads taken, %zu bytes received",
                 (unsigned long long)a->taken, a->in_len);
        return;
    }
    printf("worker_notify: backend %s\n"
           "  workers:    %d, %d results each, through a queue of %d\n"
           "  taken:      %llu payloads, each once and in its worker's "
           "order, every result checked\n"
           "  wake-ups:   %llu PO_NOTIFY, %.1f payloads each on average, "
           "at most %llu\n"
           "  queue full: %llu PO_EAGAIN retries by the workers\n"
           "  connection: %zu bytes sent and received identical, then EOF\n"
           "  waits:      %llu\n"
           "  elapsed:    %.3f s\n",
           po_backend_name(a->poller), WORKERS, PER_WORKER, QUEUE,
           (unsigned long long)a->taken, (unsigned long long)a->wakeups,
           a->wakeups ? (double)a->taken / (double)a->wakeups : 0.0,
           (unsigned long long)a->max_batch, (unsigned long long)retries,
           a->in_len, (unsigned long long)a->waits, elapsed);
}

int main(void) {
    if (!echo_net_start())
        return 1;
    app *a = calloc(1, sizeof *a);
    unsigned char *out = malloc((size_t)TOTAL * RECORD);
    if (a == NULL || out == NULL) {
        fprintf(stderr, "worker_notify: out of memory\n");
        free(a);
        free(out);
        return 1;
    }
    a->out = out;
    atomic_init(&a->stop, false);
    int err;
    a->poller = po_create(NULL, &err);
    if (a->poller == NULL) {
        fprintf(stderr, "worker_notify: po_create: %s\n", po_strerror(err));
        free(a->out);
        free(a);
        return ex_create_status(err);
    }
    double start = echo_now();
    err =
        po_notifier_attach(a->poller, CHN_NOTIFIER, QUEUE, &a->notifier, NULL);
    if (err != PO_OK)
        app_fail(a, "po_notifier_attach: %s", po_strerror(err));
    else if (open_connection(a)) {
        for (unsigned w = 0; w < WORKERS && !a->failed; w++) {
            a->workers[w].app = a;
            a->workers[w].id = w;
            a->workers[w].thread = thr_start(worker_main, &a->workers[w]);
            if (a->workers[w].thread == NULL)
                app_fail(a, "cannot start worker %u", w);
        }
        run(a);
    }
    /* Every worker must be done with po_notify() before the notifier goes
     * (with the poller). */
    atomic_store(&a->stop, true);
    for (unsigned w = 0; w < WORKERS; w++)
        if (a->workers[w].thread != NULL)
            thr_join(a->workers[w].thread);
    check(a, echo_now() - start);
    po_destroy(a->poller);
    bool ok = !a->failed;
    free(a->out);
    free(a);
    if (ok)
        printf("worker_notify: passed\n");
    return ok ? 0 : 1;
}
