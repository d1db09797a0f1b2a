/*
 * A map from 64-bit keys to 64-bit values: open addressing, linear probing,
 * deletion by backward shift (no tombstones, so lookups never slow down with
 * churn).  The poller keeps three of them: channel number -> SeqN, SeqN ->
 * channel, socket -> SeqN.
 *
 * Insertion never allocates: po_map_reserve() first, so that a failed
 * allocation is reported before anything changes.
 */
#ifndef POLLEROS_MAP_H
#define POLLEROS_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "polleros.h"

typedef struct po_map_slot {
    uint64_t key;
    uint64_t val;
} po_map_slot;

typedef struct po_map {
    po_map_slot *slots; /* key 0 marks an empty slot; key 0 itself lives in
                           zero_val */
    size_t mask;        /* slots - 1, or 0 when unallocated */
    size_t count;       /* entries, key 0 included */
    unsigned shift;     /* 64 - log2(slots) */
    bool has_zero;
    uint64_t zero_val;
} po_map;

/* Makes room for `extra` more entries without allocating again.  0 or
 * PO_ENOMEM (the map is unchanged then). */
int po_map_reserve(po_map *m, size_t extra, const po_allocator *a);
void po_map_free(po_map *m, const po_allocator *a);
/* Inserts a key that is not present; room must have been reserved. */
void po_map_put(po_map *m, uint64_t key, uint64_t val);
/* Removes key; returns whether it was present. */
bool po_map_del(po_map *m, uint64_t key);
/* Changes the value of a present key. */
void po_map_set(po_map *m, uint64_t key, uint64_t val);

static inline size_t po_map_home(const po_map *m, uint64_t key) {
    /* Fibonacci hashing: SeqNs and fds are dense runs of integers, and the
     * multiply spreads a run over the whole table. */
    return (size_t)((key * UINT64_C(0x9E3779B97F4A7C15)) >> m->shift);
}

/* Finds key; stores its value in *val.  O(1) expected. */
static inline bool po_map_get(const po_map *m, uint64_t key, uint64_t *val) {
    if (key == 0) {
        *val = m->zero_val;
        return m->has_zero;
    }
    if (m->slots == NULL)
        return false;
    for (size_t i = po_map_home(m, key);; i = (i + 1) & m->mask) {
        if (m->slots[i].key == key) {
            *val = m->slots[i].val;
            return true;
        }
        if (m->slots[i].key == 0)
            return false;
    }
}

#endif
