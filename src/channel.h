/*
 * The channel record, private to the core.  56 bytes on 64-bit POSIX
 * systems: one cache line holds everything a wait touches, and a million
 * channels cost 56 MB plus their share of the maps.
 */
#ifndef POLLEROS_CHANNEL_H
#define POLLEROS_CHANNEL_H

#include <stdint.h>

#include "polleros.h"

/* Bits of po_channel.state.  The low two are the interest the kernel holds
 * (PO_IN, PO_OUT from backend.h; 0: not registered). */
enum {
    PO_ST_KINT = 3u,
    PO_ST_LIVE = 4u,     /* attached (else: a free slot, or deleted) */
    PO_ST_LISTED = 8u,   /* on the poller's candidate list */
    PO_ST_MARKED = 16u,  /* waiting for po_delete_marked() */
    PO_ST_DELETED = 32u, /* deleted while listed: freed when the list is */
    PO_ST_TIMER = 64u    /* has a deadline (timers.h) */
};

struct po_channel {
    const po_channel_ops *ops;
    void *ctx;
    /* The candidate list while listed, the slab's free list while free. */
    po_channel *link;
    po_seqn seqn;
    po_chn chn;
    po_socket sock;
    uint32_t bslot;   /* the backend's word */
    int os_errno;     /* a failed kernel call: the channel is parked */
    po_triggers want; /* what the probe asked for last */
    po_triggers act;  /* what this round produced */
    uint8_t state;
    uint8_t slot; /* index in its slab, which leads to the poller */
};

#endif
