/*
 * The harvest path: how the events of one wait reach the channels.  The
 * core owns the round (po__round, the head of the poller record); a
 * backend's wait() copies what it needs of it into a po__harvest held in
 * locals, hands each event over with po__deliver(), and writes the round
 * back.  That is inline, so that a backend's loop resolves each token and
 * ORs its triggers without a call, and keeps the copy in registers (the
 * copies out of line cost 24 more instructions a wait, one event per wait);
 * what is rare (an event other than plain readability, the statistics) is
 * in harvest.c.  A backend whose kernel reports events in the core's format
 * (po__event) leaves them in its buffer instead, and the core runs the same
 * loop in po_wait()'s frame (po__harvest_events()): one frame and one copy
 * of the round a wait, not two.
 */
#ifndef POLLEROS_HARVEST_H
#define POLLEROS_HARVEST_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "channel.h"
#include "tokens.h"

/* A branch the hot path almost never takes, so that the compiler keeps the
 * hot path's state in registers and moves the rest out of the way. */
#if defined(__GNUC__)
#define PO__UNLIKELY(x) __builtin_expect(!!(x), 0)
#define PO__LIKELY(x) __builtin_expect(!!(x), 1)
#else
#define PO__UNLIKELY(x) (x)
#define PO__LIKELY(x) (x)
#endif

/* A function inlined wherever it is called, whatever the compiler thinks of
 * its size: the wait's own frame is what the harvest is meant to run in. */
#if defined(__GNUC__)
#define PO__ALWAYS_INLINE static inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define PO__ALWAYS_INLINE static __forceinline
#else
#define PO__ALWAYS_INLINE static inline
#endif

/* A function never inlined: a rare path kept out of a hot one's frame. */
#if defined(__GNUC__)
#define PO__NOINLINE __attribute__((noinline))
#elif defined(_MSC_VER)
#define PO__NOINLINE __declspec(noinline)
#else
#define PO__NOINLINE
#endif

/* Events, as a backend reports them.  The values are Linux's POLLIN,
 * POLLOUT, POLLERR, POLLHUP and POLLNVAL (epoll's EPOLL* too), so that the
 * epoll backend hands the kernel's mask over without translating it. */
enum {
    PO__EV_IN = 0x01u,   /* readable (data, a pending connection, EOF) */
    PO__EV_OUT = 0x04u,  /* writable, or a connect finished */
    PO__EV_ERR = 0x08u,  /* the socket has an error pending */
    PO__EV_HUP = 0x10u,  /* the peer hung up: no more data will come */
    PO__EV_NVAL = 0x20u, /* the descriptor is not open (poll's POLLNVAL) */
    PO__EV_ALL = 0x3du
};

/* An event left in a backend's buffer for the core to harvest: the layout
 * of struct epoll_event, Linux's (packed on x86-64, as the kernel's is) and
 * the wepoll API's, so that the kernel fills the buffer the core reads.  The
 * backends that use it check the layout. */
typedef struct po__event {
    uint32_t events; /* PO__EV_* bits; others are ignored */
    uint64_t token;
}
#if defined(__linux__) && defined(__x86_64__)
__attribute__((packed))
#endif
po__event;

/* What a round has triggered: the first member of the poller record, so
 * that its walk head is the poller's (polleros.h reads it there). */
typedef struct po__round {
    po_walk_head walk;  /* the triggered channels lead walk.list */
    size_t ntrig;       /* channels on the list with act != 0 */
    po_triggers total;  /* the OR of their acts */
    po__tokens by_seqn; /* SeqN -> channel: kernel tokens resolve here */
    uint64_t events;    /* every event handed over, since po_create() */
    uint64_t stale;     /* ... of which named no live incarnation */
} po__round;

/* The round in locals while a backend harvests: the stores to channel
 * records are byte stores, which the compiler must assume alias anything
 * reached through a pointer, and would otherwise reload and store each of
 * these per event. */
typedef struct po__harvest {
    po_channel *const *cells; /* the SeqN table, which a harvest does not
                                 change */
    size_t mask;
    po_channel *list;
    size_t ntrig;
    po_triggers total;
    po__round *round; /* stale events are counted there: they are rare */
} po__harvest;

static inline void po__harvest_begin(po__harvest *h, po__round *r) {
    h->cells = r->by_seqn.cells;
    h->mask = r->by_seqn.mask;
    h->list = r->walk.list;
    h->ntrig = r->ntrig;
    h->total = r->total;
    h->round = r;
}

/* `n`: the events the backend handed to po__deliver(). */
static inline void po__harvest_end(const po__harvest *h, uint64_t n) {
    po__round *r = h->round;
    r->walk.list = h->list;
    r->ntrig = h->ntrig;
    r->total = h->total;
    r->events += n;
}

/* Whether a channel has no trigger yet and is not listed: its act and its
 * state, adjacent bytes, read and tested at once (the mask is built in the
 * same memory order, so the byte order does not matter). */
_Static_assert(offsetof(po_channel, state) == offsetof(po_channel, act) + 1,
               "act and state are adjacent");
static inline bool po__untriggered_unlisted(const po_channel *ch) {
    static const union {
        uint8_t b[2];
        uint16_t both;
    } mask = {{0xffu, PO__ST_LISTED}};
    uint16_t both;
    memcpy(&both, &ch->act, 2);
    return (both & mask.both) == 0;
}

/* Adds triggers to a channel's act.  The first trigger of the round counts
 * the channel and lists it, unless a touch listed it already.  One helper
 * for the harvest's locals and the round itself (po__round_trigger()). */
static inline void po__mark(po_channel **list, size_t *ntrig,
                            po_triggers *total, po_channel *ch, po_triggers t) {
    if (po__untriggered_unlisted(ch)) {
        po__link(list, ch);
        ++*ntrig;
    } else if (ch->act == 0) {
        ++*ntrig;
    }
    ch->act |= t;
    *total |= t;
}

/* Triggers one channel outside a harvest: an internal trigger, a parked
 * channel's PO_ERR, a deadline. */
static inline void po__round_trigger(po__round *r, po_channel *ch,
                                     po_triggers t) {
    po__mark(&r->walk.list, &r->ntrig, &r->total, ch, t);
}

/* The events and stale events of every round so far, into *out. */
void po__round_stats(const po__round *r, po_stats *out);

/* The triggers of an event other than plain readability for a reader, out
 * of line (harvest.c): kept out of the harvest loop, it leaves the loop the
 * registers for its state. */
po_triggers po__translate_event(po_channel *ch, unsigned events);

/* The live channel a token names, or NULL. */
static inline po_channel *po__harvest_find(const po__harvest *h,
                                           po_seqn token) {
    return po__tokens_find(h->cells, h->mask, token);
}

/* A change the kernel refused after add, mod or del had returned 0 (a
 * backend that hands its changes over with the wait): `err` is what the call
 * would have returned, `held` whether the kernel still holds the socket (a
 * refused mod leaves the old interest in place).  The channel is parked
 * and its kernel triggers of the round dropped: it reports PO_ERR and its
 * internal triggers, as a refusal at the call parks it; a token
 * that no longer names a channel (deleted, or given another socket) is
 * ignored, as those callers ignore a failed del.  Call it after the
 * round's events. */
void po__deliver_refusal(po__harvest *h, po_seqn token, int err, bool held);

/* The common event: plain readability for a channel that wants PO_RECV and
 * has no trigger yet and is not listed.  Its wants, act and state are
 * adjacent bytes, tested with one load and set with one store (the masks are
 * built in the same memory order, so the byte order does not matter). */
_Static_assert(offsetof(po_channel, act) == offsetof(po_channel, wants) + 1 &&
                   offsetof(po_channel, state) ==
                       offsetof(po_channel, wants) + 2 &&
                   offsetof(po_channel, slot) ==
                       offsetof(po_channel, wants) + 3,
               "wants, act, state and slot are adjacent");
typedef union po__word {
    uint8_t b[4];
    uint32_t w;
} po__word;
static const po__word po__first_recv_mask = {
    {PO_RECV, 0xffu, PO__ST_LISTED, 0}};
static const po__word po__first_recv = {{PO_RECV, 0, 0, 0}};
static const po__word po__first_recv_set = {{0, PO_RECV, PO__ST_LISTED, 0}};

/* Hands one event to the core: a backend's wait() calls it per event,
 * between po__harvest_begin() and po__harvest_end().  `events` holds PO_EV_*
 * bits; other bits are ignored. */
static inline void po__deliver(po__harvest *h, po_seqn token, unsigned events) {
    po_channel *ch = po__harvest_find(h, token);
    if (PO__UNLIKELY(ch == NULL)) {
        h->round->stale++;
        return;
    }
    uint32_t word;
    memcpy(&word, &ch->wants, 4);
    if (PO__LIKELY(events == PO__EV_IN &&
                   (word & po__first_recv_mask.w) == po__first_recv.w)) {
        word |= po__first_recv_set.w;
        memcpy(&ch->wants, &word, 4);
        ch->link = h->list;
        h->list = ch;
        h->ntrig++;
        h->total |= PO_RECV;
        return;
    }
    po_triggers t = PO_RECV;
    if (PO__UNLIKELY(events != PO__EV_IN || !(ch->wants & PO_RECV))) {
        t = po__translate_event(ch, events);
        if (t == 0)
            return;
    }
    po__mark(&h->list, &h->ntrig, &h->total, ch, t);
}

/* Hands the n events of a backend's buffer to the round: the core's side of
 * a wait whose backend left them there. */
PO__ALWAYS_INLINE void po__harvest_events(po__round *r, const po__event *ev,
                                          size_t n) {
    po__harvest h;
    po__harvest_begin(&h, r);
    for (const po__event *end = ev + n; ev != end; ev++)
        po__deliver(&h, ev->token, ev->events);
    po__harvest_end(&h, n);
}

#endif
