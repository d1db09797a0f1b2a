/*
 * The harvest path's rare and once-per-wait parts (harvest.h has the
 * per-event part).
 */
#include "harvest.h"

#include <errno.h>

/* An event, in the terms of what the channel wants (see po_wait()). */
static po_triggers po__translate(po_triggers want, unsigned ev) {
    po_triggers t = 0;
    if (ev & PO__EV_IN) {
        if (want & PO_RECV)
            t |= PO_RECV;
        else if (want & PO_NOTIFY)
            t |= PO_NOTIFY;
        else if (want & PO_ACCEPT)
            t |= PO_ACCEPT;
    }
    if (ev & PO__EV_OUT) {
        if (want & PO_SEND)
            t |= PO_SEND;
        else if (want & PO_CONNECT)
            t |= PO_CONNECT;
    }
    if (ev & PO__EV_HUP)
        t |= (want & PO_RECV) ? PO_RECV : PO_ERR;
    if (ev & (PO__EV_ERR | PO__EV_NVAL))
        t |= PO_ERR;
    return t;
}

po_triggers po__translate_event(po_channel *ch, unsigned events) {
    events &= PO__EV_ALL;
    if (events & PO__EV_NVAL)
        po__park(ch, EBADF); /* unregistered by the next wait */
    return po__translate(ch->wants, events);
}

void po__deliver_refusal(po__harvest *h, po_seqn token, int err, bool held) {
    po_channel *ch = po__harvest_find(h, token);
    if (ch == NULL)
        return;
    if (!held)
        ch->state &= (uint8_t)~PO__ST_KINT;
    if (ch->os_errno == 0)
        po__park(ch, err);
    po__mark(&h->list, &h->ntrig, &h->total, ch, PO_ERR);
    if (!(ch->act & PO_KERNEL_TRIGGERS))
        return;
    /* What its registration reported this round is dropped, as a channel
     * parked at the call is unregistered and reports PO_ERR with its
     * internal triggers alone; the round's total is made again without
     * it. */
    ch->act &= (po_triggers)~PO_KERNEL_TRIGGERS;
    h->total = 0;
    for (const po_channel *c = h->list; c != NULL; c = c->link)
        h->total |= c->act;
}

void po__round_stats(const po__round *r, po_stats *out) {
    out->events = r->events - r->stale;
    out->stale = r->stale;
}
