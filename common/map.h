/*
 * The one hash map of the library and of the wepoll bridge: open addressing
 * with linear probing and deletion by backward shift (no tombstones, so
 * lookups never slow down with churn).
 *
 * A cell holds only a record pointer; the key is read from the record
 * itself (at key_off, key_size bytes).  Eight bytes a cell instead of
 * sixteen: a lookup that hits dereferences the record it is about to use
 * anyway.  The poller keeps two over channels: number -> channel (the
 * identity map: the channel carries its current SeqN) and socket -> channel
 * (one channel per socket); kernel tokens resolve without hashing, in the
 * SeqN table (src/tokens.h).  It keeps one over deadline records, keyed by
 * their channel's address (timers.h); the bridge keeps one over its
 * sockets.
 *
 * An empty map's table is a shared table of empty cells, so that a lookup
 * never tests for emptiness.  Insertion never allocates: po__map_reserve()
 * first, so that a failed allocation is reported before anything changes.
 * The memory comes from the functions given to po__map_init().
 */
#ifndef POLLEROS_COMMON_MAP_H
#define POLLEROS_COMMON_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct po__map {
    void **cells; /* mask + 1 cells; po__map_none while nothing is stored */
    size_t mask;
    size_t count;
    unsigned shift;    /* 64 - log2(cells) */
    unsigned key_off;  /* where the key lies in a record */
    unsigned key_size; /* 4 or 8 bytes */
    void *(*alloc)(size_t size, void *ctx);
    void (*release)(void *ptr, void *ctx);
    void *ctx;
} po__map;

/* The table of an empty map: two empty cells (mask 1, shift 63), never
 * written. */
extern void *po__map_none[2];

void po__map_init(po__map *m, size_t key_off, size_t key_size,
                  void *(*alloc)(size_t size, void *ctx),
                  void (*release)(void *ptr, void *ctx), void *ctx);
/* Makes room for `extra` more entries.  False when memory ran out (the map
 * is unchanged).  O(count) when it grows, else O(1). */
bool po__map_reserve(po__map *m, size_t extra);
/* Frees the table; the map is empty and usable again. */
void po__map_free(po__map *m);
/* Inserts a record whose key is not present; room must be reserved. */
void po__map_put(po__map *m, void *rec);
/* Removes this record (found by its key as it is now). */
void po__map_del(po__map *m, void *rec);

/* The key of a record, `size` bytes at `off`: the map's own key_off and
 * key_size, or the same as constants where the caller knows them, so that
 * the compiler drops the branch and the load of the offset. */
static inline uint64_t po__map_key_at(const void *rec, unsigned off,
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

/* Fibonacci hashing: SeqNs, descriptors and SOCKETs are dense runs of
 * integers, and the multiply spreads a run over the whole table. */
static inline size_t po__map_home(uint64_t key, unsigned shift) {
    return (size_t)((key * UINT64_C(0x9E3779B97F4A7C15)) >> shift);
}

/* The record with this key, or NULL, in a table given by its cells, mask
 * and shift (a map's, or a copy of them held in registers); `off` and `size`
 * as for po__map_key_at().  O(1) expected. */
static inline void *po__map_find(void *const *cells, size_t mask,
                                 unsigned shift, uint64_t key, unsigned off,
                                 unsigned size) {
    for (size_t i = po__map_home(key, shift);; i = (i + 1) & mask) {
        void *rec = cells[i];
        if (rec == NULL || po__map_key_at(rec, off, size) == key)
            return rec;
    }
}

/* The record with this key, or NULL.  O(1) expected. */
static inline void *po__map_get(const po__map *m, uint64_t key) {
    return po__map_find(m->cells, m->mask, m->shift, key, m->key_off,
                        m->key_size);
}

#endif
