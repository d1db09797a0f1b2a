/*
 * polleros-proxy: a TCP proxy, one event loop per thread.
 *
 * Every accepted connection (the client) gets a connection of its own to
 * the upstream server; together they are a session of two channels, with a
 * bounded buffer per direction.  Each channel's probe derives what it wants
 * from the two buffers and nothing else:
 *
 *   - a side asks for PO_RECV only while the buffer it reads into has room
 *     and the side it feeds can still be written: a peer that reads slowly
 *     stops the proxy from reading the other peer (backpressure both ways,
 *     with the bytes waiting in the kernels, not in our memory);
 *   - a side asks for PO_SEND only while bytes for it wait.
 *
 * Whatever a turn changes in a buffer changes the other side's wants too,
 * outside that side's own turn: the turn po_touch()es it.  A side that
 * reaches EOF stops reading, and once what it sent is flushed the other
 * side's sending half is shut down: a half-close is carried through.  A
 * reset ends the direction it can no longer carry, and the bytes already
 * read from the side that reset are still delivered.
 *
 * The listener wants PO_ACCEPT unless descriptors ran out (EMFILE, ENFILE):
 * then it wants nothing, the kernel stops reporting it, and it asks again
 * when a session closes (or after a second, if none does).  The upstream
 * socket is made before the accept, so a client is never accepted and then
 * dropped for want of a descriptor.
 *
 * --threads N runs N loops on N threads that share nothing.  On Linux each
 * loop has its own SO_REUSEPORT listener and the kernel spreads the
 * connections; elsewhere, or with --handoff, loop 0 accepts them all.
 * Either way a session goes to the loop with the fewest open, and when
 * that is not the loop that accepted it, its two sockets are handed over
 * through that loop's notifier.  Buffers come from a pool per loop:
 * nothing on the path of a byte takes a lock.
 *
 * SIGINT or SIGTERM stops it: the main thread waits on a poller of its
 * own with a signal channel for both, and wakes every loop through its
 * notifier.  -v prints a line per second; a summary of counters is printed
 * on exit.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* SO_REUSEPORT, in glibc and musl */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "echo_common.h"
#include "polleros.h"
#include "thread.h"

/* SO_REUSEPORT spreads connections over the listeners sharing a port only
 * on Linux; elsewhere one of them would get them all. */
#if defined(__linux__) && defined(SO_REUSEPORT)
#define BALANCED_REUSEPORT 1
#endif

/* Accepts per listener report: the wait is level-triggered, so a bound
 * keeps a burst of clients from holding the loop without losing any. */
#define ACCEPTS_PER_TURN 64
/* Reads (each followed by a flush) per readiness report. */
#define READS_PER_TURN 8
/* Free buffers a loop keeps for reuse; more go back to the C library. */
#define POOL_KEEP 256
/* How long the listener stays parked when no session closes. */
#define PARK_RETRY (1000 * PO_MSEC)

enum { CHN_LISTENER = 0, CHN_NOTIFIER = 1, CHN_FIRST_SESSION = 2 };
enum { CLIENT = 0, UPSTREAM = 1 };

/* Notifier payloads: a handed-over session packs the client's descriptor
 * in the low 32 bits and the upstream socket's in the high ones; these two
 * values cannot be such a pair. */
#define NOTE_STOP UINT64_MAX
#define NOTE_RESUME (UINT64_MAX - 1)

/* Counters, kept per loop. */
enum {
    ST_ACCEPTED,  /* by this loop's listener */
    ST_SESSIONS,  /* opened on this loop */
    ST_CLOSED,    /* closed on this loop */
    ST_HANDED,    /* accepted here, run by another loop */
    ST_CLIENT_IN, /* bytes read from clients */
    ST_UPSTREAM_OUT,
    ST_UPSTREAM_IN,
    ST_CLIENT_OUT,
    ST_REFUSED,  /* upstream connects that failed */
    ST_TIMEOUTS, /* upstream connects that timed out */
    ST_IDLE,     /* sessions closed for idleness */
    ST_RESETS,   /* sides that failed (reset, or any socket error) */
    ST_PARKS,    /* times the listener ran out of descriptors */
    ST_WAITS,    /* po_wait() calls: the loop's wake-ups */
    ST_COUNT
};
static const char *const st_names[ST_COUNT] = {
    "accepted",     "sessions",    "closed",     "handed",  "client_in",
    "upstream_out", "upstream_in", "client_out", "refused", "timeouts",
    "idle",         "resets",      "parks",      "waits"};

typedef struct config {
    struct sockaddr_storage listen_addr, upstream_addr;
    socklen_t listen_len, upstream_len;
    uint64_t threads, buffer, connect_ms, idle_ms;
    po_backend_kind backend;
    bool verbose, handoff;
    const char *port_file;
} config;

typedef struct proxy proxy;

typedef struct loop {
    proxy *px;
    unsigned id;
    po_poller *p;
    po_channel *listener; /* NULL in a loop that is handed its sessions */
    echo_sock listen_fd;
    echo_sock spare; /* the next session's upstream socket, made ahead */
    po_notifier *note;
    bool parked;           /* out of descriptors: not accepting... */
    po_time retry_at;      /* ...until a session closes or then */
    atomic_bool park_seen; /* parked, as the other loops see it */
    bool stop;
    bool failed;
    po_time now; /* when the last wait returned */
    po_time publish_at;
    unsigned char *pool; /* free buffers, linked through their first bytes */
    size_t pooled;
    po_chn next_chn;
    /* Sessions placed on this loop and not yet closed, those handed to it
     * and not yet taken included: the accepting loops compare them to
     * place a session. */
    _Atomic uint64_t load;
    uint64_t st[ST_COUNT];
    _Atomic uint64_t pub[ST_COUNT]; /* st, copied each second for -v */
    thr *thread;
} loop;

struct proxy {
    config cf;
    loop *loops;
    atomic_bool failed; /* a loop stopped on an error */
};

/* ------------------------------------------------------------------------ */
/* Buffers: a ring per direction, its memory taken from the loop's pool
 * while it holds bytes.                                                    */

typedef struct ring {
    unsigned char *mem; /* NULL while empty */
    size_t head, len;
} ring;

static unsigned char *pool_take(loop *l) {
    unsigned char *b = l->pool;
    if (b == NULL) {
        size_t n = l->px->cf.buffer;
        return malloc(n < sizeof b ? sizeof b : n);
    }
    memcpy(&l->pool, b, sizeof l->pool);
    l->pooled--;
    return b;
}

static void pool_give(loop *l, unsigned char *b) {
    if (l->pooled >= POOL_KEEP) {
        free(b);
        return;
    }
    memcpy(b, &l->pool, sizeof l->pool);
    l->pool = b;
    l->pooled++;
}

static void pool_drain(loop *l) {
    while (l->pool != NULL)
        free(pool_take(l));
}

/* The free space (for a read) or the bytes (for a write) of r, as up to two
 * pieces; returns how many.  One piece, the usual case, goes to recv() or
 * send(): readv() and writev() copy in and check an iovec array first,
 * which costs a few percent of a small request's CPU. */
static int ring_space(const ring *r, size_t cap, struct iovec v[2]) {
    size_t end = (r->head + r->len) % cap;
    if (r->len == cap)
        return 0;
    if (end < r->head) {
        v[0] = (struct iovec){r->mem + end, r->head - end};
        return 1;
    }
    v[0] = (struct iovec){r->mem + end, cap - end};
    v[1] = (struct iovec){r->mem, r->head};
    return r->head > 0 ? 2 : 1;
}

static int ring_data(const ring *r, size_t cap, struct iovec v[2]) {
    size_t first = cap - r->head < r->len ? cap - r->head : r->len;
    v[0] = (struct iovec){r->mem + r->head, first};
    v[1] = (struct iovec){r->mem, r->len - first};
    return r->len > first ? 2 : 1;
}

static void ring_consumed(loop *l, ring *r, size_t n) {
    r->len -= n;
    r->head = (r->head + n) % l->px->cf.buffer;
    if (r->len == 0) {
        pool_give(l, r->mem);
        r->mem = NULL;
        r->head = 0;
    }
}

/* ------------------------------------------------------------------------ */
/* Sessions                                                                 */

typedef struct session session;

typedef struct side {
    session *s;
    po_channel *ch; /* NULL once its channel is gone */
    echo_sock fd;
    bool rd_done; /* EOF or an error: nothing more comes from it */
    bool wr_dead; /* it can no longer be written: bytes for it are dropped */
    bool shut;    /* its sending half was shut down */
    ring in;      /* read from this side, for the other */
} side;

struct session {
    loop *l;
    side sd[2];
    bool connecting;
    bool closing;
    po_time active; /* when a byte last moved */
};

static side *other(side *d) { return &d->s->sd[d == &d->s->sd[0]]; }

static po_triggers side_wants(po_channel *ch, void *ctx) {
    side *d = ctx;
    const side *o = other(d);
    size_t cap = d->s->l->px->cf.buffer;
    (void)ch;
    if (d->s->connecting && d == &d->s->sd[UPSTREAM])
        return PO_CONNECT;
    po_triggers w = 0;
    /* While connecting, the client is read into its buffer: the request
     * goes out with the connect's completion. */
    if (!d->rd_done && !o->wr_dead && d->in.len < cap)
        w |= PO_RECV;
    if (!d->wr_dead && o->in.len > 0 && !d->s->connecting)
        w |= PO_SEND;
    return w;
}

static void ring_release(loop *l, ring *r) {
    if (r->mem != NULL)
        pool_give(l, r->mem);
    r->mem = NULL;
    r->head = r->len = 0;
}

static void side_deinit(po_channel *ch, void *ctx) {
    side *d = ctx;
    session *s = d->s;
    (void)ch;
    echo_close(d->fd);
    d->fd = ECHO_NO_SOCK;
    d->ch = NULL;
    if (other(d)->ch != NULL)
        return;
    ring_release(s->l, &s->sd[0].in);
    ring_release(s->l, &s->sd[1].in);
    free(s);
}

static const po_channel_ops side_ops = {side_wants, side_deinit};

static void loop_unpark(loop *l) {
    if (!l->parked)
        return;
    l->parked = false;
    atomic_store_explicit(&l->park_seen, false, memory_order_relaxed);
    po_touch(l->listener);
}

/* A descriptor is free again: every parked listener may try again.  The
 * other loops' listeners are theirs to touch, so they are told. */
static void descriptors_freed(loop *l) {
    loop_unpark(l);
    proxy *px = l->px;
    for (unsigned i = 0; i < px->cf.threads; i++) {
        loop *o = &px->loops[i];
        if (o != l &&
            atomic_load_explicit(&o->park_seen, memory_order_relaxed) &&
            atomic_exchange(&o->park_seen, false))
            (void)po_notify(o->note, NOTE_RESUME); /* else: its timer */
    }
}

static void session_close(session *s) {
    loop *l = s->l;
    if (s->closing)
        return;
    s->closing = true;
    l->st[ST_CLOSED]++;
    atomic_fetch_sub_explicit(&l->load, 1, memory_order_relaxed);
    /* The second delete frees s (side_deinit). */
    po_chn c = po_channel_chn(s->sd[CLIENT].ch);
    po_delete(l->p, c);
    po_delete(l->p, c + 1);
    descriptors_freed(l);
}

/* A side failed: what is for it is dropped, and nothing more is read for
 * it; what it sent before failing still goes to the other side. */
static void side_broken(side *d) {
    loop *l = d->s->l;
    if (!d->wr_dead)
        l->st[ST_RESETS]++;
    d->wr_dead = true;
    ring_release(l, &other(d)->in);
}

/* Writes the bytes for d.  Shuts down d's sending half once the other side
 * is done and everything has gone. */
static void side_flush(side *d) {
    loop *l = d->s->l;
    side *o = other(d);
    size_t cap = l->px->cf.buffer;
    while (o->in.len > 0 && !d->wr_dead) {
        struct iovec v[2];
        int nv = ring_data(&o->in, cap, v);
        ssize_t n = nv == 1 ? send(d->fd, v[0].iov_base, v[0].iov_len, 0)
                            : writev(d->fd, v, nv);
        if (n > 0) {
            l->st[d == &d->s->sd[CLIENT] ? ST_CLIENT_OUT : ST_UPSTREAM_OUT] +=
                (uint64_t)n;
            d->s->active = l->now;
            ring_consumed(l, &o->in, (size_t)n);
        } else if (n < 0 && echo_interrupted(errno)) {
            continue;
        } else if (n < 0 && echo_would_block(errno)) {
            return; /* the probe asks for PO_SEND */
        } else {
            side_broken(d);
        }
    }
    if (o->rd_done && o->in.len == 0 && !d->shut && !d->wr_dead) {
        d->shut = true;
        if (!echo_shutdown_send(d->fd))
            side_broken(d);
    }
}

/* Reads from d into its ring.  Returns true when the read may have left
 * more in the socket (it filled the space it was given). */
static bool side_fill(side *d) {
    loop *l = d->s->l;
    size_t cap = l->px->cf.buffer;
    if (d->in.len == cap)
        return false;
    if (d->in.mem == NULL && (d->in.mem = pool_take(l)) == NULL) {
        /* Out of memory: the session ends rather than ask for PO_RECV it
         * cannot serve, which would spin. */
        d->rd_done = true;
        side_broken(d);
        return false;
    }
    struct iovec v[2];
    int nv = ring_space(&d->in, cap, v);
    size_t room = v[0].iov_len + (nv > 1 ? v[1].iov_len : 0);
    ssize_t n;
    do
        n = nv == 1 ? recv(d->fd, v[0].iov_base, v[0].iov_len, 0)
                    : readv(d->fd, v, nv);
    while (n < 0 && echo_interrupted(errno));
    if (n > 0) {
        d->in.len += (size_t)n;
        l->st[d == &d->s->sd[CLIENT] ? ST_CLIENT_IN : ST_UPSTREAM_IN] +=
            (uint64_t)n;
        d->s->active = l->now;
        return (size_t)n == room;
    }
    if (d->in.len == 0)
        ring_release(l, &d->in);
    if (n < 0 && echo_would_block(errno))
        return false;
    d->rd_done = true; /* EOF; or a reset, after every byte before it */
    if (n < 0)
        side_broken(d);
    return false;
}

/* Moves bytes from d to the other side, a buffer-ful at a time, while the
 * other side takes them whole and d may have more. */
static void side_pump(side *d) {
    side *o = other(d);
    for (int i = 0; i < READS_PER_TURN; i++) {
        bool more = side_fill(d);
        if (!d->s->connecting)
            side_flush(o);
        if (!more || o->in.len != 0 || d->in.len != 0 || o->wr_dead)
            return;
    }
}

/* Both directions over: each either delivered up to its EOF, or cut off
 * because its destination failed. */
static bool session_done(const session *s) {
    for (int i = 0; i < 2; i++) {
        const side *src = &s->sd[i], *dst = &s->sd[!i];
        if (!dst->wr_dead && !(src->rd_done && src->in.len == 0 && dst->shut))
            return false;
    }
    return true;
}

static void session_connected(session *s) {
    side *u = &s->sd[UPSTREAM];
    s->connecting = false;
    po_set_deadline(u->ch, PO_NEVER);
    side_flush(u);
}

/* A connect that failed or timed out: the client's bytes had nowhere to
 * go, and nothing came for it. */
static void session_unreachable(session *s, int stat) {
    s->l->st[stat]++;
    session_close(s);
}

/* Returns false when the session was closed. */
static bool side_timeout(side *d) {
    session *s = d->s;
    loop *l = s->l;
    if (d == &s->sd[UPSTREAM]) {
        if (!s->connecting)
            return true; /* connected just as the deadline passed */
        session_unreachable(s, ST_TIMEOUTS);
        return false;
    }
    /* The idle deadline is moved only when it fires, not at every byte. */
    po_time idle = l->px->cf.idle_ms * PO_MSEC;
    if (l->now - s->active < idle) {
        po_set_deadline(d->ch, s->active + idle);
        return true;
    }
    l->st[ST_IDLE]++;
    session_close(s);
    return false;
}

static void side_ready(po_channel *ch) {
    side *d = po_channel_ctx(ch);
    session *s = d->s;
    po_triggers act = po_channel_act(ch);
    if (po_channel_errno(ch) != 0) { /* the poller cannot watch it */
        session_close(s);
        return;
    }
    if ((act & PO_TIMEOUT) && !side_timeout(d))
        return;
    if (s->connecting && d == &s->sd[UPSTREAM]) {
        if (!(act & (PO_CONNECT | PO_ERR)))
            return;
        if (echo_so_error(d->fd) != 0) {
            session_unreachable(s, ST_REFUSED);
            return;
        }
        session_connected(s);
        act &= (po_triggers)~PO_ERR;
    }
    if (act & PO_ERR)
        side_broken(d);
    /* After an error too: bytes that came before a reset are still read. */
    if ((act & (PO_RECV | PO_ERR)) && !d->rd_done)
        side_pump(d);
    if ((act & PO_SEND) && !s->connecting)
        side_flush(d);
    if (session_done(s)) {
        session_close(s);
        return;
    }
    po_touch(other(d)->ch);
}

static void set_nodelay_both(echo_sock c, echo_sock u) {
    echo_set_nodelay(c);
    echo_set_nodelay(u);
}

/* The session's record and its two channels; NULL (both sockets closed)
 * when one cannot be had.  Takes ownership of both sockets. */
static session *session_attach(loop *l, echo_sock cfd, echo_sock ufd) {
    session *s = calloc(1, sizeof *s);
    po_chn c = l->next_chn;
    if (s == NULL) {
        echo_close(cfd);
        echo_close(ufd);
        return NULL;
    }
    s->l = l;
    s->active = l->now;
    s->connecting = true;
    for (int i = 0; i < 2; i++) {
        s->sd[i].s = s;
        s->sd[i].fd = i == CLIENT ? cfd : ufd;
    }
    int rc =
        po_attach(l->p, c, cfd, &side_ops, &s->sd[CLIENT], &s->sd[CLIENT].ch);
    if (rc != PO_OK) {
        echo_close(cfd);
        echo_close(ufd);
        free(s);
        fprintf(stderr, "polleros-proxy: attach: %s\n", po_strerror(rc));
        return NULL;
    }
    rc = po_attach(l->p, c + 1, ufd, &side_ops, &s->sd[UPSTREAM],
                   &s->sd[UPSTREAM].ch);
    if (rc != PO_OK) {
        echo_close(ufd);
        s->sd[UPSTREAM].fd = ECHO_NO_SOCK;
        fprintf(stderr, "polleros-proxy: attach: %s\n", po_strerror(rc));
        po_delete(l->p, c); /* frees s */
        return NULL;
    }
    l->next_chn += 2;
    return s;
}

/* Runs a session placed on l (counted in its load).  Takes ownership of
 * both sockets. */
static void session_open(loop *l, echo_sock cfd, echo_sock ufd) {
    const config *cf = &l->px->cf;
    session *s = session_attach(l, cfd, ufd);
    if (s == NULL) {
        atomic_fetch_sub_explicit(&l->load, 1, memory_order_relaxed);
        return;
    }
    l->st[ST_SESSIONS]++;
    set_nodelay_both(cfd, ufd);
    if (cf->idle_ms > 0)
        po_set_deadline(s->sd[CLIENT].ch, l->now + cf->idle_ms * PO_MSEC);
    int err = 0;
    if (connect(ufd, (const struct sockaddr *)&cf->upstream_addr,
                cf->upstream_len) != 0)
        err = errno;
    if (err == 0)
        session_connected(s);
    else if (echo_in_progress(err))
        po_set_deadline(s->sd[UPSTREAM].ch,
                        cf->connect_ms > 0 ? l->now + cf->connect_ms * PO_MSEC
                                           : PO_NEVER);
    else
        session_unreachable(s, ST_REFUSED);
}

/* ------------------------------------------------------------------------ */
/* Accepting, and handing sessions to other loops                           */

static echo_sock upstream_socket(const config *cf) {
    echo_sock fd = socket(cf->upstream_addr.ss_family, SOCK_STREAM, 0);
    if (fd != ECHO_NO_SOCK && !echo_set_nonblock(fd)) {
        return echo_close_failed(fd);
    }
    return fd;
}

static void loop_park(loop *l, int err) {
    if (l->st[ST_PARKS]++ == 0)
        fprintf(stderr,
                "polleros-proxy: loop %u: %s with %llu sessions open; "
                "accepting again when one closes\n",
                l->id, echo_strerror(err),
                (unsigned long long)(l->st[ST_SESSIONS] - l->st[ST_CLOSED]));
    l->parked = true;
    l->retry_at = l->now + PARK_RETRY;
    atomic_store_explicit(&l->park_seen, true, memory_order_relaxed);
}

/* The session goes to the loop with the fewest, this one on a tie: the
 * kernel's hash of the addresses (or a single accepting loop) does not
 * spread a few dozen long-lived connections evenly, and the busiest loop
 * bounds the proxy.  The loads are read without ordering: one that is a
 * session behind costs at most a session of imbalance. */
static void session_place(loop *l, echo_sock cfd, echo_sock ufd) {
    proxy *px = l->px;
    loop *t = l;
    uint64_t least = atomic_load_explicit(&l->load, memory_order_relaxed);
    for (unsigned i = 0; i < px->cf.threads; i++) {
        uint64_t n =
            atomic_load_explicit(&px->loops[i].load, memory_order_relaxed);
        if (n < least) {
            least = n;
            t = &px->loops[i];
        }
    }
    /* Counted before the handoff: a burst of accepts must see each session
     * it already handed over, before the other loop takes it. */
    atomic_fetch_add_explicit(&t->load, 1, memory_order_relaxed);
    if (t != l) {
        if (po_notify(t->note, (uint64_t)(uint32_t)cfd | (uint64_t)(uint32_t)ufd
                                                             << 32) == PO_OK) {
            l->st[ST_HANDED]++;
            return;
        }
        /* A full queue means that loop is behind: this one runs it. */
        atomic_fetch_sub_explicit(&t->load, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&l->load, 1, memory_order_relaxed);
    }
    session_open(l, cfd, ufd);
}

static po_triggers listener_wants(po_channel *ch, void *ctx) {
    (void)ch;
    return ((loop *)ctx)->parked ? 0 : PO_ACCEPT;
}

static void listener_deinit(po_channel *ch, void *ctx) {
    (void)ch;
    echo_close(((loop *)ctx)->listen_fd);
}

static const po_channel_ops listener_ops = {listener_wants, listener_deinit};

static void listener_ready(loop *l, po_channel *ch) {
    if (po_channel_act(ch) & PO_ERR) {
        fprintf(stderr, "polleros-proxy: listening socket failed: %s\n",
                strerror(po_channel_errno(ch)));
        l->failed = true;
        return;
    }
    for (int i = 0; i < ACCEPTS_PER_TURN && !l->parked; i++) {
        if (l->spare == ECHO_NO_SOCK &&
            (l->spare = upstream_socket(&l->px->cf)) == ECHO_NO_SOCK) {
            int err = echo_sock_errno();
            if (echo_out_of_files(err))
                loop_park(l, err);
            else
                fprintf(stderr, "polleros-proxy: socket: %s\n",
                        echo_strerror(err));
            return;
        }
        echo_sock fd = echo_accept(l->listen_fd);
        int err = fd == ECHO_NO_SOCK ? echo_sock_errno() : 0;
        if (fd != ECHO_NO_SOCK) {
            l->st[ST_ACCEPTED]++;
            session_place(l, fd, l->spare);
            l->spare = ECHO_NO_SOCK;
        } else if (echo_interrupted(err) || echo_peer_aborted(err)) {
            continue;
        } else if (echo_out_of_files(err)) {
            loop_park(l, err);
        } else {
            if (!echo_would_block(err))
                fprintf(stderr, "polleros-proxy: accept: %s\n",
                        echo_strerror(err));
            return;
        }
    }
}

static void notifier_ready(loop *l) {
    uint64_t v;
    while (po_notifier_take(l->note, &v) == PO_OK) {
        if (v == NOTE_STOP)
            l->stop = true;
        else if (v == NOTE_RESUME)
            loop_unpark(l);
        else
            session_open(l, (echo_sock)(uint32_t)v,
                         (echo_sock)(uint32_t)(v >> 32));
    }
}

/* ------------------------------------------------------------------------ */
/* The loop                                                                 */

static void loop_publish(loop *l) {
    for (int i = 0; i < ST_COUNT; i++)
        atomic_store_explicit(&l->pub[i], l->st[i], memory_order_relaxed);
}

static int loop_timeout(loop *l) {
    po_time until = PO_NEVER;
    if (l->parked)
        until = l->retry_at;
    if (l->px->cf.verbose && l->publish_at < until)
        until = l->publish_at;
    if (until == PO_NEVER)
        return -1;
    return until <= l->now ? 0 : (int)((until - l->now) / PO_MSEC) + 1;
}

static void loop_run(void *arg) {
    loop *l = arg;
    l->now = po_now();
    l->publish_at = l->now + 1000 * PO_MSEC;
    while (!l->stop && !l->failed) {
        int n = po_wait(l->p, loop_timeout(l), NULL);
        l->st[ST_WAITS]++;
        l->now = po_now();
        if (n < 0) {
            fprintf(stderr, "polleros-proxy: po_wait: %s (%s)\n",
                    po_strerror(n), strerror(po_last_errno(l->p)));
            l->failed = true;
            break;
        }
        if (l->parked && l->now >= l->retry_at)
            loop_unpark(l);
        po_iter it = PO_ITER_INIT;
        for (po_channel *ch; (ch = po_next_triggered(l->p, &it));) {
            po_chn c = po_channel_chn(ch);
            if (c == CHN_LISTENER)
                listener_ready(l, ch);
            else if (c == CHN_NOTIFIER)
                notifier_ready(l);
            else
                side_ready(ch);
        }
        if (l->px->cf.verbose && l->now >= l->publish_at) {
            loop_publish(l);
            l->publish_at = l->now + 1000 * PO_MSEC;
        }
    }
    if (l->failed)
        atomic_store(&l->px->failed, true);
    loop_publish(l);
}

/* ------------------------------------------------------------------------ */
/* Setup                                                                    */

static echo_sock listen_on(const config *cf, bool reuseport) {
    echo_sock fd = socket(cf->listen_addr.ss_family, SOCK_STREAM, 0);
    int one = 1;
    if (fd == ECHO_NO_SOCK)
        return fd;
    (void)reuseport;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
#ifdef BALANCED_REUSEPORT
        (reuseport &&
         setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) ||
#endif
        bind(fd, (const struct sockaddr *)&cf->listen_addr, cf->listen_len) !=
            0 ||
        listen(fd, 4096) != 0 || !echo_set_nonblock(fd)) {
        return echo_close_failed(fd);
    }
    return fd;
}

/* The port bound, now in cf->listen_addr too: with port 0 the other loops'
 * listeners join the first one's. */
static uint16_t adopt_port(config *cf, echo_sock fd) {
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    if (getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
        return 0;
    uint16_t port = sa.ss_family == AF_INET6
                        ? ((struct sockaddr_in6 *)&sa)->sin6_port
                        : ((struct sockaddr_in *)&sa)->sin_port;
    if (cf->listen_addr.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&cf->listen_addr)->sin6_port = port;
    else
        ((struct sockaddr_in *)&cf->listen_addr)->sin_port = port;
    return ntohs(port);
}

/* 0, or the exit status of the failed step (printed). */
static int loop_open(proxy *px, loop *l, unsigned id, bool listens) {
    po_options opt = {.backend = px->cf.backend};
    int err;
    l->px = px;
    l->id = id;
    l->listen_fd = l->spare = ECHO_NO_SOCK;
    l->next_chn = CHN_FIRST_SESSION;
    l->p = po_create(&opt, &err);
    if (l->p == NULL) {
        fprintf(stderr, "polleros-proxy: po_create: %s\n", po_strerror(err));
        return ex_create_status(err);
    }
    err = po_notifier_attach(l->p, CHN_NOTIFIER, 0, &l->note, NULL);
    if (err != PO_OK) {
        fprintf(stderr, "polleros-proxy: notifier: %s\n", po_strerror(err));
        return 1;
    }
    if (!listens)
        return 0;
    l->listen_fd = listen_on(&px->cf, px->cf.threads > 1 && !px->cf.handoff);
    if (l->listen_fd == ECHO_NO_SOCK) {
        fprintf(stderr, "polleros-proxy: listen: %s\n",
                echo_strerror(echo_sock_errno()));
        return 1;
    }
    err = po_attach(l->p, CHN_LISTENER, l->listen_fd, &listener_ops, l,
                    &l->listener);
    if (err != PO_OK) {
        echo_close(l->listen_fd);
        fprintf(stderr, "polleros-proxy: attach: %s\n", po_strerror(err));
        return 1;
    }
    return 0;
}

/* HOST:PORT, [V6ADDR]:PORT or :PORT (any address, for --listen). */
static bool parse_hostport(const char *opt, const char *arg, bool passive,
                           struct sockaddr_storage *out, socklen_t *len) {
    char host[256];
    const char *colon = arg ? strrchr(arg, ':') : NULL;
    size_t hl = colon ? (size_t)(colon - arg) : 0;
    if (colon == NULL || hl >= sizeof host || colon[1] == '\0') {
        fprintf(stderr, "%s: '%s' is not HOST:PORT\n", opt, arg ? arg : "");
        return false;
    }
    memcpy(host, arg, hl);
    host[hl] = '\0';
    char *h = host;
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        h++;
    }
    struct addrinfo hints, *res;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    int rc = getaddrinfo(*h ? h : NULL, colon + 1, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "%s: %s: %s\n", opt, arg, gai_strerror(rc));
        return false;
    }
    memcpy(out, res->ai_addr, res->ai_addrlen);
    *len = (socklen_t)res->ai_addrlen;
    freeaddrinfo(res);
    return true;
}

static void usage(void) {
    fprintf(stderr,
            "usage: polleros-proxy --listen HOST:PORT --upstream HOST:PORT "
            "[options]\n"
            "  --threads N           event loops, one thread each (default "
            "1)\n"
            "  --handoff             one loop accepts and hands sessions to "
            "the others\n"
            "                        (the default where SO_REUSEPORT does "
            "not balance)\n"
            "  --buffer BYTES        per direction and session (default "
            "16384)\n"
            "  --connect-timeout MS  upstream connect (default 5000; 0: "
            "none)\n"
            "  --idle-timeout MS     close a session idle that long (default "
            "0: never)\n"
            "  --backend NAME        epoll, poll, kqueue, wepoll, uring "
            "(default: the library's)\n"
            "  --port-file PATH      write the listening port there once "
            "listening\n"
            "  -v                    a line of counters per second\n");
}

static bool parse_args(int argc, char **argv, config *cf) {
    bool listen = false, upstream = false;
    memset(cf, 0, sizeof *cf);
    cf->threads = 1;
    cf->buffer = 16384;
    cf->connect_ms = 5000;
#ifndef BALANCED_REUSEPORT
    cf->handoff = true;
#endif
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = true;
        if (strcmp(opt, "-v") == 0) {
            cf->verbose = true;
            continue;
        }
        if (strcmp(opt, "--handoff") == 0) {
            cf->handoff = true;
            continue;
        }
        if (strcmp(opt, "--listen") == 0)
            ok = listen = parse_hostport(opt, val, true, &cf->listen_addr,
                                         &cf->listen_len);
        else if (strcmp(opt, "--upstream") == 0)
            ok = upstream = parse_hostport(opt, val, false, &cf->upstream_addr,
                                           &cf->upstream_len);
        else if (strcmp(opt, "--threads") == 0)
            ok = echo_parse_u64(opt, val, 1, 256, &cf->threads);
        else if (strcmp(opt, "--buffer") == 0)
            ok = echo_parse_u64(opt, val, 1, 1u << 30, &cf->buffer);
        else if (strcmp(opt, "--connect-timeout") == 0)
            ok = echo_parse_u64(opt, val, 0, 86400000, &cf->connect_ms);
        else if (strcmp(opt, "--idle-timeout") == 0)
            ok = echo_parse_u64(opt, val, 0, 86400000, &cf->idle_ms);
        else if (strcmp(opt, "--backend") == 0)
            ok = echo_parse_backend(val, &cf->backend);
        else if (strcmp(opt, "--port-file") == 0 && val != NULL)
            cf->port_file = val;
        else
            ok = false;
        if (!ok) {
            usage();
            return false;
        }
        i++;
    }
    if (!listen || !upstream) {
        usage();
        return false;
    }
    return true;
}

/* The main thread's poller: a signal channel for SIGINT and SIGTERM.  It
 * is made before the loops' threads start, which inherit what it did to
 * the signal mask (epoll blocks the signals for its signalfd), so that no
 * thread takes a signal's default action. */
typedef struct supervisor {
    po_poller *p;
    po_signal *sig;
} supervisor;

static bool supervisor_open(supervisor *s, po_backend_kind backend) {
    static const int stops[] = {SIGINT, SIGTERM};
    po_options opt = {.backend = backend};
    int err = PO_OK;
    s->p = po_create(&opt, &err);
    if (s->p == NULL ||
        (err = po_signal_attach(s->p, 0, stops, 2, &s->sig, NULL)) != PO_OK) {
        fprintf(stderr, "polleros-proxy: signals: %s\n", po_strerror(err));
        po_destroy(s->p);
        return false;
    }
    return true;
}

/* Whether a stop signal came within ms. */
static bool supervisor_stop(supervisor *s, int ms) {
    int signo;
    bool stop = false;
    if (po_wait(s->p, ms, NULL) > 0)
        while (po_signal_take(s->sig, &signo) == PO_OK)
            stop = true;
    return stop;
}

static void sum_published(const proxy *px, uint64_t out[ST_COUNT]) {
    memset(out, 0, sizeof(uint64_t) * ST_COUNT);
    for (unsigned i = 0; i < px->cf.threads; i++)
        for (int k = 0; k < ST_COUNT; k++)
            out[k] += atomic_load_explicit(&px->loops[i].pub[k],
                                           memory_order_relaxed);
}

/* The open sessions are each loop's own figure, the balance of the loops
 * in sight; the rest is summed over the loops. */
static void print_second(const proxy *px, const uint64_t now[ST_COUNT],
                         const uint64_t last[ST_COUNT]) {
#define D(k) (unsigned long long)(now[k] - last[k])
    printf("polleros-proxy: %llu open",
           (unsigned long long)(now[ST_SESSIONS] - now[ST_CLOSED]));
    for (unsigned i = 0; px->cf.threads > 1 && i < px->cf.threads; i++)
        printf("%s%llu", i == 0 ? " (" : " ",
               (unsigned long long)atomic_load_explicit(&px->loops[i].load,
                                                        memory_order_relaxed));
    printf("%s, %llu new/s, client %llu B/s in %llu out, upstream %llu in "
           "%llu out, %llu waits/s, refused %llu, timeouts %llu, resets %llu, "
           "parks %llu\n",
           px->cf.threads > 1 ? ")" : "", D(ST_SESSIONS), D(ST_CLIENT_IN),
           D(ST_CLIENT_OUT), D(ST_UPSTREAM_IN), D(ST_UPSTREAM_OUT), D(ST_WAITS),
           (unsigned long long)now[ST_REFUSED],
           (unsigned long long)now[ST_TIMEOUTS],
           (unsigned long long)now[ST_RESETS],
           (unsigned long long)now[ST_PARKS]);
#undef D
}

/* "name=value ..." on one line, for scripts and the tests. */
static void print_counters(const char *what, const uint64_t st[ST_COUNT]) {
    printf("polleros-proxy: %s", what);
    for (int k = 0; k < ST_COUNT; k++)
        printf(" %s=%llu", st_names[k], (unsigned long long)st[k]);
    printf("\n");
}

/* The main thread watches for a stop (and prints -v's lines) while the
 * loops run; then it stops them through their notifiers.  It looks at the
 * loops' failure flag every 100 ms. */
static bool supervise(proxy *px, supervisor *sup, bool stop) {
    uint64_t last[ST_COUNT] = {0}, now[ST_COUNT];
    double next = echo_now() + 1.0;
    while (!stop && !atomic_load(&px->failed)) {
        stop = supervisor_stop(sup, 100);
        if (px->cf.verbose && echo_now() >= next) {
            sum_published(px, now);
            print_second(px, now, last);
            memcpy(last, now, sizeof last);
            next += 1.0;
        }
    }
    for (unsigned i = 0; i < px->cf.threads; i++)
        while (po_notify(px->loops[i].note, NOTE_STOP) == PO_EAGAIN)
            thr_yield(); /* that loop is draining its queue */
    return !atomic_load(&px->failed);
}

/* Sessions handed to a loop that stopped before taking them. */
static void drop_handed(loop *l) {
    uint64_t v;
    while (l->note != NULL && po_notifier_take(l->note, &v) == PO_OK)
        if (v != NOTE_STOP && v != NOTE_RESUME) {
            echo_close((echo_sock)(uint32_t)v);
            echo_close((echo_sock)(uint32_t)(v >> 32));
        }
}

int main(int argc, char **argv) {
    proxy px;
    memset(&px, 0, sizeof px);
    if (!parse_args(argc, argv, &px.cf))
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!echo_net_start())
        return 1;
    echo_raise_nofile();
    unsigned n = (unsigned)px.cf.threads;
    px.loops = calloc(n, sizeof *px.loops);
    if (px.loops == NULL)
        return 1;
    int status = 0;
    uint16_t port = 0;
    unsigned opened = 0;
    for (; opened < n && status == 0; opened++) {
        bool listens = opened == 0 || !px.cf.handoff;
        status = loop_open(&px, &px.loops[opened], opened, listens);
        if (status == 0 && opened == 0)
            port = adopt_port(&px.cf, px.loops[0].listen_fd);
    }
    if (status == 0) {
        printf("polleros-proxy: listening on port %u, %u loop%s (%s), "
               "backend %s, buffer %llu\n",
               (unsigned)port, n, n > 1 ? "s" : "",
               n == 1          ? "one thread"
               : px.cf.handoff ? "handoff"
                               : "SO_REUSEPORT",
               po_backend_name(px.loops[0].p),
               (unsigned long long)px.cf.buffer);
        if (px.cf.port_file && !echo_write_port_file(px.cf.port_file, port))
            status = 1;
    }
    supervisor sup = {NULL, NULL};
    if (status == 0 && !supervisor_open(&sup, px.cf.backend))
        status = 1;
    if (status == 0) {
        unsigned started = 0;
        for (; started < n; started++)
            if ((px.loops[started].thread =
                     thr_start(loop_run, &px.loops[started])) == NULL)
                break;
        if (started < n)
            status = 1;
        if (!supervise(&px, &sup, started < n) && status == 0)
            status = 1;
        for (unsigned i = 0; i < started; i++)
            thr_join(px.loops[i].thread);
    }
    po_destroy(sup.p); /* puts the signals' mask and actions back */
    uint64_t total[ST_COUNT] = {0};
    for (unsigned i = 0; i < opened; i++) {
        loop *l = &px.loops[i];
        if (l->failed && status == 0)
            status = 1;
        drop_handed(l);
        po_destroy(l->p); /* closes every socket still open */
        if (l->spare != ECHO_NO_SOCK)
            echo_close(l->spare);
        pool_drain(l);
        for (int k = 0; k < ST_COUNT; k++)
            total[k] += l->st[k];
        if (n > 1 && l->thread != NULL) {
            char what[32];
            snprintf(what, sizeof what, "loop %u", i);
            print_counters(what, l->st);
        }
    }
    if (status == 0)
        print_counters("totals", total);
    free(px.loops);
    return status;
}
