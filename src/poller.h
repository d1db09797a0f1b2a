/*
 * The poller record and the harvest path, private to the library.  The
 * harvest path is inline so that a backend's wait loop resolves each event's
 * token and ORs its triggers without a call per event.
 */
#ifndef POLLEROS_POLLER_H
#define POLLEROS_POLLER_H

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "backend.h"
#include "map.h"
#include "slab.h"
#include "timers.h"

/* A branch the hot path almost never takes, so that the compiler keeps the
 * hot path's state in registers and moves the rest out of the way. */
#if defined(__GNUC__)
#define PO_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define PO_UNLIKELY(x) (x)
#endif

struct po_poller {
    po_walk_head walk; /* first: the inline walk reads it (polleros.h) */
    po_allocator alloc;
    const po_backend_ops *be;
    void *bstate;
    po_map by_chn;  /* channel number -> channel, which holds its SeqN */
    po_map by_seqn; /* SeqN -> channel: kernel tokens resolve here */
    po_map by_sock; /* socket -> channel: one channel per socket */
    po_slabs slabs;
    po_timers timers; /* channel deadlines */
    size_t nlive, nsock, nmarked;
    po_seqn next_seqn;
    size_t ntrig; /* channels on it with act != 0 */
    po_triggers total;
    bool changed;     /* PO_RECONCILE_CHANGED */
    bool in_callback; /* inside a probe or a deinit */
    int last_errno;
    po_stats stats;
};

/* Links a channel that is on no list at the head of one. */
static inline void po_link(po_channel **head, po_channel *ch) {
    ch->state |= PO_ST_LISTED;
    ch->link = *head;
    *head = ch;
}

/* Records a failed kernel call: the channel is parked (see po_sync()). */
static inline void po_park(po_channel *ch, int e) {
    ch->os_errno = e;
    ch->state |= PO_ST_PARKED;
}

/* Puts a channel on the round's list (once). */
static inline void po_list(po_poller *p, po_channel *ch) {
    if (!(ch->state & PO_ST_LISTED))
        po_link(&p->walk.list, ch);
}

/* What a round has triggered so far, held in locals while a backend
 * harvests: the stores to channel records are byte stores, which the
 * compiler must assume alias the poller's fields, and would otherwise
 * reload and store each of them per event. */
typedef struct po_harvest {
    po_poller *p;
    po_map seqns; /* a copy of p->by_seqn, which a harvest does not change */
    po_channel *list;
    size_t ntrig;
    uint64_t stale;
    po_triggers total;
} po_harvest;

/* An empty map's table as a harvest sees it: every token is stale, and the
 * lookup needs no test for emptiness. */
extern void *po__no_slots[2];

static inline void po_harvest_begin(po_poller *p, po_harvest *h) {
    h->p = p;
    h->seqns = p->by_seqn;
    if (h->seqns.count == 0) {
        h->seqns.slots = po__no_slots;
        h->seqns.mask = 1;
        h->seqns.shift = 63;
    }
    h->list = p->walk.list;
    h->ntrig = p->ntrig;
    h->stale = 0;
    h->total = p->total;
}

/* `n`: the events the backend handed to po__deliver(). */
static inline void po_harvest_end(po_harvest *h, uint64_t n) {
    po_poller *p = h->p;
    p->walk.list = h->list;
    p->ntrig = h->ntrig;
    p->total = h->total;
    p->stats.events += n - h->stale;
    p->stats.stale += h->stale;
}

/* Whether a channel has no trigger yet and is not listed: its act and its
 * state, adjacent bytes, read and tested at once (the mask is built in the
 * same memory order, so the byte order does not matter). */
_Static_assert(offsetof(po_channel, state) == offsetof(po_channel, act) + 1,
               "act and state are adjacent");
static inline bool po_untriggered_unlisted(const po_channel *ch) {
    static const union {
        uint8_t b[2];
        uint16_t both;
    } mask = {{0xffu, PO_ST_LISTED}};
    uint16_t both;
    memcpy(&both, &ch->act, 2);
    return (both & mask.both) == 0;
}

static inline void po_harvest_trigger(po_harvest *h, po_channel *ch,
                                      po_triggers t) {
    /* The first trigger of the round counts the channel and lists it,
     * unless a touch listed it already. */
    if (po_untriggered_unlisted(ch)) {
        po_link(&h->list, ch);
        h->ntrig++;
    } else if (ch->act == 0) {
        h->ntrig++;
    }
    ch->act |= t;
    h->total |= t;
}

static inline void po_trigger(po_poller *p, po_channel *ch, po_triggers t) {
    po_harvest h;
    po_harvest_begin(p, &h);
    po_harvest_trigger(&h, ch, t);
    po_harvest_end(&h, 0);
}

/* An event, in the terms of what the channel wants (see po_wait()). */
static inline po_triggers po_translate(po_triggers want, unsigned ev) {
    po_triggers t = 0;
    if (ev & PO_EV_IN) {
        if (want & PO_RECV)
            t |= PO_RECV;
        else if (want & PO_NOTIFY)
            t |= PO_NOTIFY;
        else if (want & PO_ACCEPT)
            t |= PO_ACCEPT;
    }
    if (ev & PO_EV_OUT) {
        if (want & PO_SEND)
            t |= PO_SEND;
        else if (want & PO_CONNECT)
            t |= PO_CONNECT;
    }
    if (ev & PO_EV_HUP)
        t |= (want & PO_RECV) ? PO_RECV : PO_ERR;
    if (ev & (PO_EV_ERR | PO_EV_NVAL))
        t |= PO_ERR;
    return t;
}

/* The triggers of an event other than plain readability for a reader, out
 * of line (core.c): kept out of the harvest loop, it leaves the loop the
 * registers for its state. */
po_triggers po__translate_event(po_channel *ch, unsigned events);

/* Hands one event to the core: a backend's wait() calls it per event,
 * between po_harvest_begin() and po_harvest_end().  `events` holds PO_EV_*
 * bits; other bits are ignored. */
static inline void po__deliver(po_harvest *h, po_seqn token, unsigned events) {
    po_channel *ch = po_map_find_in(
        &h->seqns, token, offsetof(po_channel, seqn), sizeof(po_seqn));
    if (PO_UNLIKELY(ch == NULL)) {
        h->stale++;
        return;
    }
    po_triggers t = PO_RECV; /* by far the most common event */
    if (PO_UNLIKELY(events != PO_EV_IN || !(ch->want & PO_RECV))) {
        t = po__translate_event(ch, events);
        if (t == 0)
            return;
    }
    po_harvest_trigger(h, ch, t);
}

#endif
