/*
 * Channel deadlines: a binary min-heap of deadline records, one per channel
 * that has a deadline, and a map from the channel's address to its record.
 *
 * The channel record has no room left for a heap index (56 bytes, and a
 * million channels must cost at most 96 bytes each), so deadlines live
 * beside it: a channel without one pays nothing but a state bit
 * (PO_ST_TIMER), which also spares the map lookup on its delete.  Records
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

typedef struct po_timer po_timer;
struct po_timer {
    po_time at;
    po_channel *ch; /* the map's key: the address, as 8 bytes */
    size_t pos;     /* index in the heap */
    po_timer *next; /* the free list */
};

typedef struct po_timers {
    po_timer **heap; /* heap[0] is the nearest; by_ch.count long */
    size_t cap;
    po_timer *spare; /* free records */
    po__map by_ch;
} po_timers;

void po_timers_init(po_timers *t, const po_allocator *a);
void po_timers_free(po_timers *t, const po_allocator *a);
/* Sets, moves or (at == PO_NEVER) removes the channel's deadline.  PO_OK or
 * PO_ENOMEM (nothing changed); removing never fails. */
int po_timers_set(po_timers *t, po_channel *ch, po_time at,
                  const po_allocator *a);
/* The channel's deadline, or PO_NEVER. */
po_time po_timers_get(const po_timers *t, const po_channel *ch);
/* The channel whose deadline is nearest, if it is at or before `now`, with
 * that deadline removed; else NULL. */
po_channel *po_timers_pop_due(po_timers *t, po_time now);

/* The nearest deadline, or PO_NEVER. */
static inline po_time po_timers_next(const po_timers *t) {
    return t->by_ch.count ? t->heap[0]->at : PO_NEVER;
}

#endif
