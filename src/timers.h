/*
 * Channel deadlines: a binary min-heap of deadline records, one per channel
 * that has a deadline, and a map from the channel's address to its record.
 *
 * The channel record has no room left for a heap index (56 bytes, and a
 * million channels must cost at most 96 bytes each), so deadlines live
 * beside it: a channel without one pays nothing but a state bit
 * (PO__ST_TIMER), which also spares the map lookup on its delete.  Records
 * are recycled through a free list, so setting a deadline again and firing
 * one never allocate in the steady state.
 *
 * Costs: set, move or remove O(log d) for d deadlines; the nearest O(1);
 * each deadline that fires O(log d).
 */
#ifndef POLLEROS_TIMERS_H
#define POLLEROS_TIMERS_H

#include <stddef.h>

#include "channel.h"
#include "map.h"

typedef struct po__timer po__timer;
struct po__timer {
    po_time at;
    po_channel *ch;  /* the map's key: the address, as 8 bytes */
    size_t pos;      /* index in the heap */
    po__timer *next; /* the free list */
};

typedef struct po__timers {
    po__timer **heap; /* heap[0] is the nearest; by_ch.count long */
    size_t cap;
    po__timer *spare; /* free records */
    po__map by_ch;
} po__timers;

void po__timers_init(po__timers *t, const po_allocator *a);
void po__timers_free(po__timers *t, const po_allocator *a);
/* Sets, moves or (at == PO_NEVER) removes the channel's deadline.  PO_OK or
 * PO_ENOMEM (nothing changed); removing never fails. */
int po__timers_set(po__timers *t, po_channel *ch, po_time at,
                   const po_allocator *a);
/* The channel's deadline, or PO_NEVER. */
po_time po__timers_get(const po__timers *t, const po_channel *ch);
/* The channel whose deadline is nearest, if it is at or before `now`, with
 * that deadline removed; else NULL. */
po_channel *po__timers_pop_due(po__timers *t, po_time now);

/* The nearest deadline, or PO_NEVER. */
static inline po_time po__timers_next(const po__timers *t) {
    return t->by_ch.count ? t->heap[0]->at : PO_NEVER;
}

#endif
