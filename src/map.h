/*
 * The poller's maps: open addressing with linear probing and deletion by
 * backward shift (no tombstones, so lookups never slow down with churn).
 *
 * A slot holds only a record pointer; the key is read from the record
 * itself (at key_off, key_size bytes).  Eight bytes a slot instead of
 * sixteen: a lookup that hits dereferences the record it is about to use
 * anyway.  The poller keeps three over channels: number -> channel (the
 * identity map: the channel carries its current SeqN), SeqN -> channel (the
 * object map, used to resolve kernel tokens), socket -> channel (one channel
 * per socket); and one over deadline records, keyed by their channel's
 * address (timers.h).
 *
 * Insertion never allocates: po_map_reserve() first, so that a failed
 * allocation is reported before anything changes.
 */
#ifndef POLLEROS_MAP_H
#define POLLEROS_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "polleros.h"

typedef struct po_map {
    void **slots; /* NULL: empty */
    size_t mask;  /* slots - 1; 0 while unallocated */
    size_t count;
    unsigned shift;    /* 64 - log2(slots) */
    unsigned key_off;  /* where the key lies in a channel */
    unsigned key_size; /* 4 or 8 bytes */
} po_map;

void po_map_init(po_map *m, size_t key_off, size_t key_size);
/* Makes room for `extra` more entries.  PO_OK or PO_ENOMEM (unchanged). */
int po_map_reserve(po_map *m, size_t extra, const po_allocator *a);
void po_map_free(po_map *m, const po_allocator *a);
/* Inserts a record whose key is not present; room must be reserved. */
void po_map_put(po_map *m, void *rec);
/* Removes this record (found by its key as it is now). */
void po_map_del(po_map *m, void *rec);

/* The key of a record, `size` bytes at `off`: the map's own key_off and
 * key_size, or the same as constants where the caller knows them, so that
 * the compiler drops the branch and the load of the offset. */
static inline uint64_t po_map_key_at(const void *rec, unsigned off,
                                     unsigned size) {
    const char *field = (const char *)rec + off;
    if (size == 8) {
        uint64_t k;
        memcpy(&k, field, 8);
        return k;
    }
    uint32_t k;
    memcpy(&k, field, 4);
    return k;
}

static inline uint64_t po_map_key(const po_map *m, const void *rec) {
    return po_map_key_at(rec, m->key_off, m->key_size);
}

static inline size_t po_map_home(const po_map *m, uint64_t key) {
    /* Fibonacci hashing: SeqNs and fds are dense runs of integers, and the
     * multiply spreads a run over the whole table. */
    return (size_t)((key * UINT64_C(0x9E3779B97F4A7C15)) >> m->shift);
}

/* The record with this key, or NULL, in a map with at least one entry;
 * `off` and `size` as for po_map_key_at().  O(1) expected. */
static inline void *po_map_find_in(const po_map *m, uint64_t key, unsigned off,
                                   unsigned size) {
    for (size_t i = po_map_home(m, key);; i = (i + 1) & m->mask) {
        void *rec = m->slots[i];
        if (rec == NULL || po_map_key_at(rec, off, size) == key)
            return rec;
    }
}

/* The record with this key, or NULL, in any map. */
static inline void *po_map_get(const po_map *m, uint64_t key) {
    return m->count ? po_map_find_in(m, key, m->key_off, m->key_size) : NULL;
}

#endif
