#include "sockmap.h"

#include <stdlib.h>

/* Handle values are multiples of 4 and dense: drop the two zero bits, then
 * spread the rest over the table with a Fibonacci multiplier. */
static size_t wep_slot_of(uintptr_t key, size_t cap) {
    uint64_t h = ((uint64_t)key >> 2) * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(h >> 32) & (cap - 1);
}

void *wep_sockmap_get(const wep_sockmap *m, uintptr_t key) {
    if (m->cap == 0)
        return NULL;
    for (size_t i = wep_slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->slots[i].key == key)
            return m->slots[i].val;
        if (m->slots[i].key == 0)
            return NULL;
    }
}

static void wep_sockmap_insert(wep_sockmap_slot *slots, size_t cap,
                               uintptr_t key, void *val) {
    size_t i = wep_slot_of(key, cap);
    while (slots[i].key != 0)
        i = (i + 1) & (cap - 1);
    slots[i].key = key;
    slots[i].val = val;
}

bool wep_sockmap_reserve(wep_sockmap *m) {
    /* At most half full: probes stay short. */
    if ((m->n + 1) * 2 <= m->cap)
        return true;
    size_t cap = m->cap ? m->cap * 2 : 16;
    wep_sockmap_slot *slots = calloc(cap, sizeof *slots);
    if (slots == NULL)
        return false;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key != 0)
            wep_sockmap_insert(slots, cap, m->slots[i].key, m->slots[i].val);
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return true;
}

void wep_sockmap_put(wep_sockmap *m, uintptr_t key, void *val) {
    wep_sockmap_insert(m->slots, m->cap, key, val);
    m->n++;
}

void wep_sockmap_del(wep_sockmap *m, uintptr_t key) {
    if (m->cap == 0)
        return;
    size_t mask = m->cap - 1, i = wep_slot_of(key, m->cap);
    while (m->slots[i].key != key) {
        if (m->slots[i].key == 0)
            return;
        i = (i + 1) & mask;
    }
    /* Shift back every following entry of the run that may move into the
     * hole: one whose home slot is not between the hole and itself. */
    for (size_t j = (i + 1) & mask; m->slots[j].key != 0; j = (j + 1) & mask) {
        size_t home = wep_slot_of(m->slots[j].key, m->cap);
        if (((j - home) & mask) >= ((j - i) & mask)) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i].key = 0;
    m->slots[i].val = NULL;
    m->n--;
}

void wep_sockmap_free(wep_sockmap *m) {
    free(m->slots);
    m->slots = NULL;
    m->cap = m->n = 0;
}
