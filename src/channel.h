/*
 * The channel record's state bits.  The record (published in polleros.h) is
 * 56 bytes on 64-bit POSIX systems: a million channels cost 56 MB plus their
 * share of the maps.  docs/design.md says why its fields come in the order
 * they do.
 */
#ifndef POLLEROS_CHANNEL_H
#define POLLEROS_CHANNEL_H

#include <stdint.h>

#include "polleros.h"

/* Bits of po_channel.state.  The low two are the interest the kernel holds
 * (PO__IN, PO__OUT from backend.h; 0: not registered). */
enum {
    PO__ST_KINT = 3u,
    PO__ST_LIVE = 4u,     /* attached (else: a free record, or deleted) */
    PO__ST_LISTED = 8u,   /* on the poller's candidate list */
    PO__ST_MARKED = 16u,  /* waiting for po_delete_marked() */
    PO__ST_DELETED = 32u, /* deleted while listed: freed when the list is */
    PO__ST_TIMER = 64u,   /* has a deadline (timers.h) */
    PO__ST_PARKED = 128u  /* os_errno is set */
};

/* Links a channel that is on no list at the head of one. */
static inline void po__link(po_channel **head, po_channel *ch) {
    ch->state |= PO__ST_LISTED;
    ch->link = *head;
    *head = ch;
}

/* Records a failed kernel call: the channel reports PO_ERR and makes no
 * kernel call until its socket is set again (core.c, po__sync()). */
static inline void po__park(po_channel *ch, int e) {
    ch->os_errno = e;
    ch->state |= PO__ST_PARKED;
}

/* The layout is published in polleros.h, for the inline walk and accessors;
 * the library relies on its size. */
_Static_assert(sizeof(void *) != 8 || sizeof(po_socket) != 4 ||
                   sizeof(po_channel) == 56,
               "a channel record is 56 bytes on 64-bit POSIX systems");

#endif
