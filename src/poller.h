/*
 * The poller record and the harvest path, private to the library.  The
 * harvest path is inline so that a backend's wait loop resolves each event's
 * token and ORs its triggers without a call per event.
 */
#ifndef POLLEROS_POLLER_H
#define POLLEROS_POLLER_H

#include <errno.h>
#include <stdbool.h>

#include "backend.h"
#include "map.h"
#include "slab.h"
#include "timers.h"

struct po_poller {
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
    po_channel *list; /* the candidate list */
    size_t ntrig;     /* channels on it with act != 0 */
    po_triggers total;
    bool changed;     /* PO_RECONCILE_CHANGED */
    bool in_callback; /* inside a probe or a deinit */
    uint64_t round;
    int last_errno;
    po_stats stats;
};

/* Puts a channel on the candidate list (once). */
static inline void po_list(po_poller *p, po_channel *ch) {
    if (ch->state & PO_ST_LISTED)
        return;
    ch->state |= PO_ST_LISTED;
    ch->link = p->list;
    p->list = ch;
}

static inline void po_trigger(po_poller *p, po_channel *ch, po_triggers t) {
    if (ch->act == 0) {
        po_list(p, ch);
        p->ntrig++;
    }
    ch->act |= t;
    p->total |= t;
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

/* Hands one event to the core: a backend's wait() calls it per event. */
static inline void po__deliver(po_poller *p, po_seqn token, unsigned events) {
    po_channel *ch = po_map_find(&p->by_seqn, token, sizeof(po_seqn));
    if (ch == NULL) {
        p->stats.stale++;
        return;
    }
    p->stats.events++;
    po_triggers t;
    if (events == PO_EV_IN && (ch->want & PO_RECV)) {
        t = PO_RECV; /* by far the most common event */
    } else {
        if (events & PO_EV_NVAL)
            ch->os_errno = EBADF; /* parked; unregistered by the next wait */
        t = po_translate(ch->want, events);
        if (t == 0)
            return;
    }
    po_trigger(p, ch, t);
}

#endif
