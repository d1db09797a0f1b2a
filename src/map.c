#include "map.h"

#include <string.h>

/* A table is grown before it is more than 3/4 full: linear probing stays
 * short (about 2.5 probes for a miss) at that load. */
static size_t po_map_room(size_t slots) { return slots - slots / 4; }

static size_t po_map_find_slot(const po_map *m, uint64_t key) {
    size_t i = po_map_home(m, key);
    while (m->slots[i].key != key && m->slots[i].key != 0)
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
        if (n > SIZE_MAX / 2 / sizeof(po_map_slot))
            return PO_ENOMEM;
        n *= 2;
    }
    for (size_t t = n; t > 1; t >>= 1)
        bits++;
    po_map_slot *fresh = a->malloc(n * sizeof *fresh, a->ctx);
    if (fresh == NULL)
        return PO_ENOMEM;
    memset(fresh, 0, n * sizeof *fresh);
    po_map_slot *old = m->slots;
    size_t old_slots = slots;
    m->slots = fresh;
    m->mask = n - 1;
    m->shift = 64 - bits;
    for (size_t i = 0; i < old_slots; i++)
        if (old[i].key != 0)
            m->slots[po_map_find_slot(m, old[i].key)] = old[i];
    if (old)
        a->free(old, a->ctx);
    return PO_OK;
}

void po_map_free(po_map *m, const po_allocator *a) {
    if (m->slots)
        a->free(m->slots, a->ctx);
    memset(m, 0, sizeof *m);
}

void po_map_put(po_map *m, uint64_t key, uint64_t val) {
    m->count++;
    if (key == 0) {
        m->has_zero = true;
        m->zero_val = val;
        return;
    }
    size_t i = po_map_find_slot(m, key);
    m->slots[i].key = key;
    m->slots[i].val = val;
}

void po_map_set(po_map *m, uint64_t key, uint64_t val) {
    if (key == 0)
        m->zero_val = val;
    else
        m->slots[po_map_find_slot(m, key)].val = val;
}

bool po_map_del(po_map *m, uint64_t key) {
    if (key == 0) {
        if (!m->has_zero)
            return false;
        m->has_zero = false;
        m->count--;
        return true;
    }
    if (m->slots == NULL)
        return false;
    size_t i = po_map_find_slot(m, key);
    if (m->slots[i].key == 0)
        return false;
    m->count--;
    /* Backward shift: pull later entries of the run into the hole unless
     * that would move one before its home slot. */
    for (size_t j = (i + 1) & m->mask; m->slots[j].key != 0;
         j = (j + 1) & m->mask) {
        size_t home = po_map_home(m, m->slots[j].key);
        if (((j - home) & m->mask) >= ((j - i) & m->mask)) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i].key = 0;
    return true;
}
