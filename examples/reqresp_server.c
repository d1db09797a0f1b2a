/*
 * polleros-reqresp-server: request/response with backpressure from a bounded
 * buffer pool.
 *
 * 64 connections share 8 request buffers.  A connection borrows a buffer only
 * while it has a request to read or a response to write, and its probe asks
 * the pool the way it asks the kernel:
 *
 *   - holding a buffer: PO_RECV while the request is incomplete, then PO_SEND
 *     until the response is out, then the buffer goes back;
 *   - no buffer and the pool has one: PO_RECV (borrowed when bytes come);
 *   - no buffer and the pool is empty: join the pool's wait list and want
 *     nothing, so the poller drops the socket's read interest: backpressure;
 *     the client's next request waits in the kernel, not in our memory;
 *   - a returned buffer was handed to it: PO_POOL.  That internal trigger
 *     comes back from the very next wait, without blocking and without a
 *     kernel round trip, and the connection resumes reading.
 *
 * A connection answers PO_POOL only once a buffer is waiting for it, not for
 * as long as the pool is empty: an internal trigger keeps po_wait() from
 * blocking, so asking for it while nothing can change would spin the loop.
 * A buffer returned while connections wait goes straight to the longest
 * waiting one (FIFO), which is po_touch()ed: its wants changed outside its
 * own turn in the walk.
 *
 * The protocol is framed: a request is a 4-byte big-endian length n and n
 * payload bytes; the response is the length n + 4, a 4-byte FNV-1a checksum
 * of the payload and the payload reversed.  The server builds the response in
 * place in the request's buffer.
 *
 * The clients run in the same process and the same loop (channels like the
 * server's, with their own probe): each sends a request, checks every byte of
 * the response, sends the next, and after its last one shuts down its
 * sending side and waits for the server to close, which proves nothing extra
 * came back.  They are slow clients: a request goes out in three pieces, one
 * per wait, so a server connection that has started reading one holds its
 * buffer for at least a whole wait, and 64 of them drain the pool of 8, the
 * very case a bounded pool and its backpressure are for.
 *
 * It exits 0 only when every response was right, every byte is accounted for
 * on both sides, the pool ran empty at least once and parked connections were
 * handed buffers through PO_POOL; POLLEROS_BACKEND chooses the backend.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "echo_common.h"
#include "polleros.h"

enum {
    NCONNS = 64,     /* client connections, all open at once */
    POOL_BUFS = 8,   /* request buffers shared by the server's connections */
    BUF_SIZE = 2048, /* one request, and later its response, fits in one */
    HEADER = 4,
    /* The response adds a checksum to the payload. */
    MAX_PAYLOAD = BUF_SIZE - 2 * HEADER,
    REQUESTS = 25, /* per connection */
    PIECES = 3,    /* a request goes out in this many pieces, one per wait */
    RUN_SECONDS = 30
};

/* Channel numbers: the listener, then one range per side. */
enum { CHN_LISTENER = 0, CHN_CLIENT = 1000, CHN_SERVER = 2000 };

typedef struct app app;

/* ------------------------------------------------------------------------ */
/* Framing and the transformation                                           */

static void put_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get_be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static uint32_t fnv1a(const unsigned char *p, size_t n) {
    uint32_t h = 2166136261U;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619U;
    return h;
}

/* ------------------------------------------------------------------------ */
/* The buffer pool                                                          */

typedef enum sconn_state {
    SC_IDLE,    /* no buffer, between requests */
    SC_PARKED,  /* no buffer, on the pool's wait list */
    SC_HANDED,  /* a returned buffer was handed over: PO_POOL */
    SC_READING, /* holds a buffer, reading a request into it */
    SC_WRITING  /* holds a buffer, writing the response from it */
} sconn_state;

typedef struct sconn sconn;

typedef struct pool {
    unsigned char mem[POOL_BUFS][BUF_SIZE];
    unsigned char *free[POOL_BUFS];
    size_t nfree;
    sconn *wait_head, *wait_tail; /* parked connections, oldest first */
    size_t nwaiting;
    bool closing; /* tearing down: hand nothing over any more */
    /* Figures. */
    uint64_t ran_empty; /* times the last free buffer was taken */
    uint64_t parked;    /* times a connection joined the wait list */
    uint64_t handed;    /* buffers handed to a parked connection */
    size_t max_waiting;
} pool;

struct sconn {
    app *app;
    po_channel *ch;
    echo_sock fd;
    uint32_t index;
    sconn_state state;
    unsigned char *buf; /* borrowed, or NULL */
    size_t have;        /* bytes of the request frame read */
    size_t need;        /* its size, once its header is in */
    size_t out, sent;   /* the response's size, and how much went out */
    sconn *prev, *next; /* on the wait list */
};

static void pool_init(pool *pl) {
    memset(pl, 0, sizeof *pl);
    for (size_t i = 0; i < POOL_BUFS; i++)
        pl->free[i] = pl->mem[i];
    pl->nfree = POOL_BUFS;
}

static unsigned char *pool_take(pool *pl) {
    if (pl->nfree == 0)
        return NULL;
    if (--pl->nfree == 0)
        pl->ran_empty++;
    return pl->free[pl->nfree];
}

static void pool_park(pool *pl, sconn *c) {
    c->state = SC_PARKED;
    c->next = NULL;
    c->prev = pl->wait_tail;
    if (pl->wait_tail != NULL)
        pl->wait_tail->next = c;
    else
        pl->wait_head = c;
    pl->wait_tail = c;
    pl->parked++;
    if (++pl->nwaiting > pl->max_waiting)
        pl->max_waiting = pl->nwaiting;
}

static void pool_unpark(pool *pl, sconn *c) {
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        pl->wait_head = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    else
        pl->wait_tail = c->prev;
    c->prev = c->next = NULL;
    pl->nwaiting--;
}

/* Returns a buffer.  The longest waiting connection gets it directly, so a
 * connection that happens to read first cannot overtake the parked ones. */
static void pool_give(pool *pl, unsigned char *buf) {
    sconn *w = pl->closing ? NULL : pl->wait_head;
    if (w == NULL) {
        pl->free[pl->nfree++] = buf;
        return;
    }
    pool_unpark(pl, w);
    w->buf = buf;
    w->state = SC_HANDED;
    pl->handed++;
    po_touch(w->ch); /* its probe must run again to say PO_POOL */
}

/* ------------------------------------------------------------------------ */
/* The application                                                          */

typedef enum cconn_state {
    CC_CONNECTING,
    CC_SENDING,   /* the request is partly sent */
    CC_RECEIVING, /* the response is partly received */
    CC_CLOSING,   /* all done, our side shut down: awaiting the server's EOF */
    CC_DONE
} cconn_state;

typedef struct cconn {
    app *app;
    echo_sock fd;
    uint32_t index;
    cconn_state state;
    uint32_t req;                /* the request in flight */
    size_t len, sent;            /* its frame's size, and how much is sent */
    unsigned char out[BUF_SIZE]; /* the request frame */
    size_t got;                  /* bytes of the response received */
    unsigned char in[BUF_SIZE];  /* the response */
} cconn;

struct app {
    po_poller *poller;
    echo_sock listen_fd;
    uint16_t port;
    pool pool;
    uint32_t accepted;
    uint32_t server_closed;
    uint32_t clients_done;
    /* Figures, each side counting on its own. */
    uint64_t served;        /* responses the server finished writing */
    uint64_t verified;      /* responses a client checked */
    uint64_t srv_bytes_in;  /* request bytes the server read */
    uint64_t srv_bytes_out; /* response bytes the server wrote */
    uint64_t cli_bytes_out; /* request bytes the clients sent */
    uint64_t cli_bytes_in;  /* response bytes the clients received */
    uint64_t req_bytes;     /* request bytes the clients generated */
    uint64_t pool_waits;    /* waits in which some channel got PO_POOL */
    uint64_t waits;         /* waits of the run */
    uint64_t empty_waits;   /* waits begun with no buffer free */
    uint64_t found_empty;   /* PO_RECV with no buffer to read into */
    bool failed;
};

#define app_fail(a, ...) ex_fail(&(a)->failed, "reqresp_server", __VA_ARGS__)

/* ------------------------------------------------------------------------ */
/* The server's connections                                                 */

static po_triggers sconn_wants(po_channel *ch, void *ctx) {
    sconn *c = ctx;
    (void)ch;
    switch (c->state) {
    case SC_READING:
        return PO_RECV;
    case SC_WRITING:
        return PO_SEND;
    case SC_HANDED:
        return PO_POOL;
    case SC_PARKED:
        return 0;
    case SC_IDLE:
        break;
    }
    if (c->app->pool.nfree > 0)
        return PO_RECV;
    /* A probe may change the application's own state (it must not call the
     * poller): waiting for a buffer is registered here, in the same place as
     * waiting for bytes would be. */
    pool_park(&c->app->pool, c);
    return 0;
}

static void sconn_deinit(po_channel *ch, void *ctx) {
    sconn *c = ctx;
    app *a = c->app;
    (void)ch;
    if (c->state == SC_PARKED)
        pool_unpark(&a->pool, c);
    if (c->buf != NULL)
        pool_give(&a->pool, c->buf);
    echo_close(c->fd);
    a->server_closed++;
    free(c);
}

static const po_channel_ops sconn_ops = {sconn_wants, sconn_deinit};

/* Writes what the socket takes of the response; once all of it is out the
 * buffer goes back to the pool.  False when the connection failed. */
static bool sconn_write(sconn *c) {
    app *a = c->app;
    while (c->sent < c->out) {
        long n = echo_send(c->fd, c->buf + c->sent, c->out - c->sent);
        int err = n < 0 ? echo_sock_errno() : 0;
        if (n > 0) {
            c->sent += (size_t)n;
            a->srv_bytes_out += (uint64_t)n;
        } else if (n < 0 && echo_interrupted(err)) {
            continue;
        } else if (n < 0 && echo_would_block(err)) {
            return true; /* the rest goes when PO_SEND comes */
        } else {
            app_fail(a, "server connection %u: send: %s", c->index,
                     echo_strerror(err));
            return false;
        }
    }
    a->served++;
    unsigned char *buf = c->buf;
    c->buf = NULL;
    c->state = SC_IDLE;
    pool_give(&a->pool, buf);
    return true;
}

/* The request is in buf[HEADER, HEADER + need): turn it into the response
 * in place, in buf[0, need + HEADER). */
static void sconn_respond(sconn *c) {
    unsigned char *payload = c->buf + 2 * HEADER;
    size_t n = c->need - HEADER;
    uint32_t sum = fnv1a(payload, n);
    for (size_t i = 0, j = n - 1; i < j; i++, j--) {
        unsigned char t = payload[i];
        payload[i] = payload[j];
        payload[j] = t;
    }
    put_be32(c->buf, (uint32_t)(n + HEADER));
    put_be32(c->buf + HEADER, sum);
    c->out = n + 2 * HEADER;
    c->sent = 0;
    c->state = SC_WRITING;
}

/* Reads no further than the end of the request frame, so that one buffer
 * holds one request and the next request's bytes stay in the kernel.
 * Returns false when the connection is finished (EOF or an error). */
static bool sconn_read(sconn *c) {
    app *a = c->app;
    for (;;) {
        size_t want = c->have < HEADER ? HEADER - c->have : c->need - c->have;
        long n = echo_recv(c->fd, c->buf + HEADER + c->have, want);
        int err = n < 0 ? echo_sock_errno() : 0;
        if (n == 0) {
            if (c->have != 0)
                app_fail(a, "server connection %u: EOF inside a request",
                         c->index);
            return false;
        }
        if (n < 0 && echo_interrupted(err))
            continue;
        if (n < 0 && echo_would_block(err))
            return true; /* the rest comes with the next PO_RECV */
        if (n < 0) {
            app_fail(a, "server connection %u: recv: %s", c->index,
                     echo_strerror(err));
            return false;
        }
        c->have += (size_t)n;
        a->srv_bytes_in += (uint64_t)n;
        if (c->have == HEADER) {
            uint32_t len = get_be32(c->buf + HEADER);
            if (len == 0 || len > MAX_PAYLOAD) {
                app_fail(a, "server connection %u: bad request length %lu",
                         c->index, (unsigned long)len);
                return false;
            }
            c->need = HEADER + len;
        }
        if (c->have > HEADER && c->have == c->need) {
            sconn_respond(c);
            return sconn_write(c);
        }
    }
}

static void sconn_ready(app *a, po_channel *ch) {
    sconn *c = po_channel_ctx(ch);
    po_triggers act = po_channel_act(ch);
    bool open = true;
    if (act & PO_ERR) {
        app_fail(a, "server connection %u: socket error %s", c->index,
                 echo_strerror(echo_so_error(c->fd)));
        open = false;
    } else if (c->state == SC_HANDED && (act & PO_POOL)) {
        /* The client's request has most likely been waiting in the kernel
         * all along: read it now rather than after another wait. */
        c->state = SC_READING;
        c->have = 0;
        open = sconn_read(c);
    } else if (c->state == SC_WRITING && (act & PO_SEND)) {
        open = sconn_write(c);
    } else if (c->state == SC_READING && (act & PO_RECV)) {
        open = sconn_read(c);
    } else if (c->state == SC_IDLE && (act & PO_RECV)) {
        /* Bytes came, but buffers may have run out since the probe said
         * PO_RECV (other connections in this walk took them).  Nothing is
         * read: the next probe parks the connection. */
        c->buf = pool_take(&a->pool);
        if (c->buf == NULL) {
            a->found_empty++;
            return;
        }
        c->state = SC_READING;
        c->have = 0;
        open = sconn_read(c);
    }
    if (!open) /* deinit returns the buffer and closes the socket */
        po_delete(a->poller, po_channel_chn(ch));
}

/* ------------------------------------------------------------------------ */
/* The listener                                                             */

static po_triggers listener_wants(po_channel *ch, void *ctx) {
    const app *a = ctx;
    (void)ch;
    return a->accepted < NCONNS ? PO_ACCEPT : 0;
}

static void listener_deinit(po_channel *ch, void *ctx) {
    (void)ch;
    echo_close(((app *)ctx)->listen_fd);
}

static const po_channel_ops listener_ops = {listener_wants, listener_deinit};

static void listener_ready(app *a, po_channel *ch) {
    if (po_channel_act(ch) & PO_ERR) {
        app_fail(a, "the listening socket failed");
        return;
    }
    while (a->accepted < NCONNS) {
        echo_sock fd = echo_accept(a->listen_fd);
        if (fd == ECHO_NO_SOCK) {
            int err = echo_sock_errno();
            if (echo_interrupted(err))
                continue;
            if (!echo_would_block(err))
                app_fail(a, "accept: %s", echo_strerror(err));
            return;
        }
        echo_set_nodelay(fd);
        sconn *c = calloc(1, sizeof *c);
        uint32_t i = a->accepted;
        po_channel *cch = NULL;
        int rc = c == NULL ? PO_ENOMEM
                           : po_attach(a->poller, CHN_SERVER + i, fd,
                                       &sconn_ops, c, &cch);
        if (rc != PO_OK) {
            app_fail(a, "server connection %u: %s", i, po_strerror(rc));
            free(c);
            echo_close(fd);
            return;
        }
        c->app = a;
        c->ch = cch;
        c->fd = fd;
        c->index = i;
        c->state = SC_IDLE;
        a->accepted++;
    }
}

/* ------------------------------------------------------------------------ */
/* The clients                                                              */

/* Request r of connection i: its size and bytes come from a hash, so no two
 * requests in flight look alike. */
static void cconn_start_request(cconn *c) {
    uint32_t seed = echo_mix32(echo_mix32(c->index + 0x9e3779b9U) ^ c->req);
    size_t n = 1 + echo_mix32(seed) % MAX_PAYLOAD;
    put_be32(c->out, (uint32_t)n);
    for (size_t k = 0; k < n; k++)
        c->out[HEADER + k] = (unsigned char)echo_mix32(seed + (uint32_t)k);
    c->len = HEADER + n;
    c->sent = 0;
    c->got = 0;
    c->state = CC_SENDING;
    c->app->req_bytes += c->len;
}

static po_triggers cconn_wants(po_channel *ch, void *ctx) {
    const cconn *c = ctx;
    (void)ch;
    switch (c->state) {
    case CC_CONNECTING:
        return PO_CONNECT;
    case CC_SENDING:
        return PO_SEND;
    default:
        return PO_RECV;
    }
}

static void cconn_deinit(po_channel *ch, void *ctx) {
    cconn *c = ctx;
    (void)ch;
    echo_close(c->fd);
    free(c);
}

static const po_channel_ops cconn_ops = {cconn_wants, cconn_deinit};

/* The end of the piece the next byte to send belongs to. */
static size_t cconn_piece_end(const cconn *c) {
    for (size_t k = 1; k < PIECES; k++)
        if (c->sent < c->len * k / PIECES)
            return c->len * k / PIECES;
    return c->len;
}

/* Sends one piece of the request per PO_SEND. */
static bool cconn_send(cconn *c) {
    app *a = c->app;
    while (c->sent < c->len) {
        size_t stop = cconn_piece_end(c);
        long n = echo_send(c->fd, c->out + c->sent, stop - c->sent);
        int err = n < 0 ? echo_sock_errno() : 0;
        if (n > 0) {
            c->sent += (size_t)n;
            a->cli_bytes_out += (uint64_t)n;
            if (c->sent == stop && stop < c->len)
                return true; /* the next piece at the next PO_SEND */
        } else if (n < 0 && echo_interrupted(err)) {
            continue;
        } else if (n < 0 && echo_would_block(err)) {
            return true;
        } else {
            app_fail(a, "client %u: send: %s", c->index, echo_strerror(err));
            return false;
        }
    }
    c->state = CC_RECEIVING;
    return true;
}

/* Checks the whole response to the request in c->out. */
static bool cconn_verify(cconn *c) {
    app *a = c->app;
    size_t n = c->len - HEADER;
    const unsigned char *payload = c->out + HEADER;
    if (get_be32(c->in) != n + HEADER ||
        get_be32(c->in + HEADER) != fnv1a(payload, n)) {
        app_fail(a, "client %u, request %u: wrong length or checksum", c->index,
                 c->req);
        return false;
    }
    for (size_t k = 0; k < n; k++)
        if (c->in[2 * HEADER + k] != payload[n - 1 - k]) {
            app_fail(a, "client %u, request %u: byte %zu of %zu is wrong",
                     c->index, c->req, k, n);
            return false;
        }
    a->verified++;
    return true;
}

/* Reads the response; the expected size is known from the request, and a
 * byte beyond it (or after the last response) is an error. */
static bool cconn_read(cconn *c) {
    app *a = c->app;
    for (;;) {
        size_t expect = c->len + HEADER;
        unsigned char extra;
        unsigned char *to = c->state == CC_CLOSING ? &extra : c->in + c->got;
        size_t want = c->state == CC_CLOSING ? 1 : expect - c->got;
        long n = echo_recv(c->fd, to, want);
        int err = n < 0 ? echo_sock_errno() : 0;
        if (n == 0 && c->state == CC_CLOSING) {
            c->state = CC_DONE;
            a->clients_done++;
            return false;
        }
        if (n == 0) {
            app_fail(a, "client %u: the server closed during request %u",
                     c->index, c->req);
            return false;
        }
        if (n < 0 && echo_interrupted(err))
            continue;
        if (n < 0 && echo_would_block(err))
            return true;
        if (n < 0) {
            app_fail(a, "client %u: recv: %s", c->index, echo_strerror(err));
            return false;
        }
        a->cli_bytes_in += (uint64_t)n;
        if (c->state == CC_CLOSING) {
            app_fail(a, "client %u: bytes after the last response", c->index);
            return false;
        }
        c->got += (size_t)n;
        if (c->got < expect)
            continue;
        if (!cconn_verify(c))
            return false;
        if (++c->req == REQUESTS) {
            if (!echo_shutdown_send(c->fd)) {
                app_fail(a, "client %u: shutdown: %s", c->index,
                         echo_strerror(echo_sock_errno()));
                return false;
            }
            c->state = CC_CLOSING;
            continue;
        }
        cconn_start_request(c);
        return cconn_send(c);
    }
}

static void cconn_ready(app *a, po_channel *ch) {
    cconn *c = po_channel_ctx(ch);
    po_triggers act = po_channel_act(ch);
    bool open = true;
    if (act & PO_ERR) {
        app_fail(a, "client %u: socket error %s", c->index,
                 echo_strerror(echo_so_error(c->fd)));
        open = false;
    } else if (c->state == CC_CONNECTING && (act & PO_CONNECT)) {
        int err = echo_so_error(c->fd);
        if (err != 0) {
            app_fail(a, "client %u: connect: %s", c->index, echo_strerror(err));
            open = false;
        } else {
            cconn_start_request(c);
            open = cconn_send(c);
        }
    } else if (c->state == CC_SENDING && (act & PO_SEND)) {
        open = cconn_send(c);
    } else if (act & PO_RECV) {
        open = cconn_read(c);
    }
    if (!open)
        po_delete(a->poller, po_channel_chn(ch));
}

static bool cconn_open(app *a, uint32_t i) {
    cconn *c = calloc(1, sizeof *c);
    echo_sock fd = echo_tcp_socket();
    if (c == NULL || fd == ECHO_NO_SOCK) {
        app_fail(a, "client %u: %s", i,
                 c == NULL ? "out of memory"
                           : echo_strerror(echo_sock_errno()));
        free(c);
        return false;
    }
    echo_set_nodelay(fd);
    c->app = a;
    c->fd = fd;
    c->index = i;
    c->state = CC_CONNECTING;
    int rc = po_attach(a->poller, CHN_CLIENT + i, fd, &cconn_ops, c, NULL);
    if (rc != PO_OK) {
        app_fail(a, "client %u: po_attach: %s", i, po_strerror(rc));
        echo_close(fd);
        free(c);
        return false;
    }
    int err = echo_connect_loopback(fd, a->port);
    if (err == 0) { /* loopback may connect at once */
        cconn_start_request(c);
        return cconn_send(c);
    }
    if (!echo_in_progress(err)) {
        app_fail(a, "client %u: connect: %s", i, echo_strerror(err));
        return false;
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* The loop                                                                 */

static void dispatch(app *a, po_channel *ch) {
    po_chn chn = po_channel_chn(ch);
    if (chn == CHN_LISTENER)
        listener_ready(a, ch);
    else if (chn >= CHN_SERVER)
        sconn_ready(a, ch);
    else
        cconn_ready(a, ch);
}

static void run(app *a) {
    double deadline = echo_now() + RUN_SECONDS;
    while (!a->failed &&
           (a->clients_done < NCONNS || a->server_closed < NCONNS)) {
        if (echo_now() > deadline) {
            app_fail(a,
                     "no end after %d s: %llu of %d responses checked, "
                     "%zu connections parked",
                     RUN_SECONDS, (unsigned long long)a->verified,
                     NCONNS * REQUESTS, a->pool.nwaiting);
            return;
        }
        po_triggers total = 0;
        a->waits++;
        if (a->pool.nfree == 0)
            a->empty_waits++;
        int n = po_wait(a->poller, 1000, &total);
        if (n < 0) {
            app_fail(a, "po_wait: %s", po_strerror(n));
            return;
        }
        if (total & PO_POOL)
            a->pool_waits++;
        po_iter it = PO_ITER_INIT;
        for (po_channel *ch;
             !a->failed && (ch = po_next_triggered(a->poller, &it)) != NULL;)
            dispatch(a, ch);
    }
}

/* Everything the program claims, each figure against an independent one. */
static void check(app *a) {
    uint64_t want = (uint64_t)NCONNS * REQUESTS;
    if (a->failed)
        return;
    if (a->verified != want || a->served != want)
        app_fail(a, "%llu responses served, %llu checked; expected %llu",
                 (unsigned long long)a->served, (unsigned long long)a->verified,
                 (unsigned long long)want);
    else if (a->cli_bytes_out != a->req_bytes ||
             a->srv_bytes_in != a->req_bytes)
        app_fail(a, "request bytes: %llu generated, %llu sent, %llu read",
                 (unsigned long long)a->req_bytes,
                 (unsigned long long)a->cli_bytes_out,
                 (unsigned long long)a->srv_bytes_in);
    else if (a->srv_bytes_out != a->req_bytes + want * HEADER ||
             a->cli_bytes_in != a->srv_bytes_out)
        app_fail(a, "response bytes: %llu written, %llu received",
                 (unsigned long long)a->srv_bytes_out,
                 (unsigned long long)a->cli_bytes_in);
    else if (a->pool.nfree != POOL_BUFS || a->pool.nwaiting != 0)
        app_fail(a, "the pool ended with %zu of %d buffers, %zu waiting",
                 a->pool.nfree, POOL_BUFS, a->pool.nwaiting);
    else if (a->pool.ran_empty == 0)
        app_fail(a, "the pool never ran empty: no backpressure was shown");
    else if (a->pool.handed == 0 || a->pool_waits == 0)
        app_fail(a, "no parked connection was handed a buffer (PO_POOL)");
}

static void report(const app *a, double elapsed) {
    po_stats st;
    po_get_stats(a->poller, &st);
    printf(
        "reqresp_server: backend %s\n"
        "  connections:    %d, sharing %d buffers of %d bytes\n"
        "  requests:       %llu, every response checked byte by byte\n"
        "  bytes:          %llu in requests, %llu in responses\n"
        "  pool ran empty: %llu times; empty at %llu of %llu waits\n"
        "  parked:         %llu times, at most %zu connections at once\n"
        "  PO_POOL:        %llu buffers handed to parked connections, "
        "in %llu waits\n"
        "  read attempts that found the pool empty: %llu\n"
        "  kernel calls:   %llu adds, %llu mods, %llu dels, %llu waits\n"
        "  elapsed:        %.3f s\n",
        po_backend_name(a->poller), NCONNS, POOL_BUFS, BUF_SIZE,
        (unsigned long long)a->verified, (unsigned long long)a->cli_bytes_out,
        (unsigned long long)a->cli_bytes_in,
        (unsigned long long)a->pool.ran_empty,
        (unsigned long long)a->empty_waits, (unsigned long long)a->waits,
        (unsigned long long)a->pool.parked, a->pool.max_waiting,
        (unsigned long long)a->pool.handed, (unsigned long long)a->pool_waits,
        (unsigned long long)a->found_empty, (unsigned long long)st.adds,
        (unsigned long long)st.mods, (unsigned long long)st.dels,
        (unsigned long long)st.waits, elapsed);
}

int main(void) {
    if (!echo_net_start())
        return 1;
    app *a = calloc(1, sizeof *a);
    if (a == NULL) {
        fprintf(stderr, "reqresp_server: out of memory\n");
        return 1;
    }
    pool_init(&a->pool);
    int err;
    a->poller = po_create(NULL, &err);
    if (a->poller == NULL) {
        fprintf(stderr, "reqresp_server: po_create: %s\n", po_strerror(err));
        free(a);
        return ex_create_status(err);
    }
    a->listen_fd = echo_tcp_listen(0, NCONNS, &a->port);
    if (a->listen_fd == ECHO_NO_SOCK) {
        app_fail(a, "listen: %s", echo_strerror(echo_sock_errno()));
    } else if ((err = po_attach(a->poller, CHN_LISTENER, a->listen_fd,
                                &listener_ops, a, NULL)) != PO_OK) {
        app_fail(a, "po_attach: %s", po_strerror(err));
        echo_close(a->listen_fd);
    }
    double start = echo_now();
    for (uint32_t i = 0; !a->failed && i < NCONNS; i++)
        cconn_open(a, i);
    run(a);
    double elapsed = echo_now() - start;
    check(a);
    if (!a->failed)
        report(a, elapsed);
    a->pool.closing = true;
    po_destroy(a->poller);
    bool ok = !a->failed;
    free(a);
    if (ok)
        printf("reqresp_server: passed\n");
    return ok ? 0 : 1;
}
