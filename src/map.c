#include "map.h"

/* A table is grown before it is more than 3/4 full: linear probing stays
 * short (about 2.5 probes for a miss) at that load. */
static size_t po_map_room(size_t slots) { return slots - slots / 4; }

void po_map_init(po_map *m, size_t key_off, size_t key_size) {
    memset(m, 0, sizeof *m);
    m->key_off = (unsigned)key_off;
    m->key_size = (unsigned)key_size;
}

static size_t po_map_free_slot(const po_map *m, uint64_t key) {
    size_t i = po_map_home(m, key);
    while (m->slots[i] != NULL)
        i = (i + 1) & m->mask;
    return i;
}

int po_map_reserve(po_map *m, size_t extra, const po_allocator *a) {
    size_t slots = m->slots ? m->mask + 1 : 0;
    size_t need = m->count + extra;
    if (slots && need <= po_map_room(slots))
        return PO_OK;
    size_t n = slots ? slots : 16;
    unsigned bits = 0;
    while (po_map_room(n) < need) {
        if (n > SIZE_MAX / 2 / sizeof(void *))
            return PO_ENOMEM;
        n *= 2;
    }
    for (size_t t = n; t > 1; t >>= 1)
        bits++;
    void **fresh = a->malloc(n * sizeof *fresh, a->ctx);
    if (fresh == NULL)
        return PO_ENOMEM;
    memset(fresh, 0, n * sizeof *fresh);
    void **old = m->slots;
    m->slots = fresh;
    m->mask = n - 1;
    m->shift = 64 - bits;
    for (size_t i = 0; i < slots; i++)
        if (old[i] != NULL)
            m->slots[po_map_free_slot(m, po_map_key(m, old[i]))] = old[i];
    if (old)
        a->free(old, a->ctx);
    return PO_OK;
}

void po_map_free(po_map *m, const po_allocator *a) {
    if (m->slots)
        a->free(m->slots, a->ctx);
    po_map_init(m, m->key_off, m->key_size);
}

void po_map_put(po_map *m, void *rec) {
    m->slots[po_map_free_slot(m, po_map_key(m, rec))] = rec;
    m->count++;
}

void po_map_del(po_map *m, void *rec) {
    size_t i = po_map_home(m, po_map_key(m, rec));
    while (m->slots[i] != rec)
        i = (i + 1) & m->mask;
    m->count--;
    /* Backward shift: pull later entries of the run into the hole unless
     * that would move one before its home slot. */
    for (size_t j = (i + 1) & m->mask; m->slots[j] != NULL;
         j = (j + 1) & m->mask) {
        size_t home = po_map_home(m, po_map_key(m, m->slots[j]));
        if (((j - home) & m->mask) >= ((j - i) & m->mask)) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i] = NULL;
}
