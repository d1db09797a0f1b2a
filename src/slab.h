/*
 * Channel storage: slabs of PO__SLAB_N records.  A record's address never
 * moves while the channel lives; a freed record is reused by a later attach.
 * Compared with one allocation per channel, a slab saves the allocator's
 * per-block overhead and keeps channels dense for the full reconciliation
 * scan, and a channel finds its poller through its slab header instead of
 * carrying a pointer.  A slab that empties is released (one empty slab is
 * kept, so that a channel count swinging around a slab boundary does not
 * allocate and free on every attach).
 */
#ifndef POLLEROS_SLAB_H
#define POLLEROS_SLAB_H

#include <stddef.h>

#include "channel.h"
#include "list.h"

enum { PO__SLAB_N = 64 };

typedef struct po__slab po__slab;
struct po__slab {
    po_poller *poller;
    po__list all;     /* on po__slabs.all */
    po__list avail;   /* on po__slabs.avail while a record is free */
    po_channel *free; /* this slab's free records */
    unsigned used;
    po_channel ch[PO__SLAB_N];
};

typedef struct po__slabs {
    po__list all;   /* every slab: the full scan walks these */
    po__list avail; /* slabs with a free record */
    size_t empty;   /* slabs with no record in use */
} po__slabs;

void po__slab_init(po__slabs *s);

/* Makes sure po__slab_take() will not need memory.  PO_OK or PO_ENOMEM. */
int po__slab_reserve(po__slabs *s, po_poller *p, const po_allocator *a);
/* A zeroed record (its slot, the index in its slab, set); room must be
 * reserved. */
po_channel *po__slab_take(po__slabs *s);
/* Returns a record.  Its slab is released when it empties while another
 * empty slab is kept: a caller walking slabs must not touch this one again. */
void po__slab_give(po__slabs *s, po_channel *ch, const po_allocator *a);
/* Releases every slab. */
void po__slab_free_all(po__slabs *s, const po_allocator *a);

static inline po__slab *po__slab_of(const po_channel *ch) {
    const po_channel *first = ch - ch->slot;
    return (po__slab *)(void *)((char *)first - offsetof(po__slab, ch));
}

/* Visits every record whose state has one of `bits`, slab by slab, in the
 * caller's `ch`.  A scan may delete channels as it goes: records return to
 * their slab only at the next wait. */
#define PO__SLAB_EACH(s, ch, bits)                                             \
    for (po__list *po__l = (s)->all.next; po__l != &(s)->all;                  \
         po__l = po__l->next)                                                  \
        for (unsigned po__i = 0; po__i < PO__SLAB_N; po__i++)                  \
            if (((ch) = &PO__LIST_ENTRY(po__l, po__slab, all)->ch[po__i])      \
                    ->state &                                                  \
                (bits))

#endif
