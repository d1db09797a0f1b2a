#include "map.h"

void *po__map_none[2];

/* A table is grown before it is more than 3/4 full: linear probing stays
 * short (about 2.5 probes for a miss) at that load. */
static size_t po__map_room(size_t cells) { return cells - cells / 4; }

static void po__map_empty(po__map *m) {
    m->cells = po__map_none;
    m->mask = 1;
    m->shift = 63;
    m->count = 0;
}

void po__map_init(po__map *m, size_t key_off, size_t key_size,
                  void *(*alloc)(size_t size, void *ctx),
                  void (*release)(void *ptr, void *ctx), void *ctx) {
    po__map_empty(m);
    m->key_off = (unsigned)key_off;
    m->key_size = (unsigned)key_size;
    m->alloc = alloc;
    m->release = release;
    m->ctx = ctx;
}

static uint64_t po__map_key(const po__map *m, const void *rec) {
    return po__map_key_at(rec, m->key_off, m->key_size);
}

static size_t po__map_free_cell(const po__map *m, uint64_t key) {
    size_t i = po__map_home(key, m->shift);
    while (m->cells[i] != NULL)
        i = (i + 1) & m->mask;
    return i;
}

bool po__map_reserve(po__map *m, size_t extra) {
    size_t cells = m->cells != po__map_none ? m->mask + 1 : 0;
    size_t need = m->count + extra;
    if (cells && need <= po__map_room(cells))
        return true;
    size_t n = cells ? cells : 16;
    unsigned bits = 0;
    while (po__map_room(n) < need) {
        if (n > SIZE_MAX / 2 / sizeof(void *))
            return false;
        n *= 2;
    }
    for (size_t t = n; t > 1; t >>= 1)
        bits++;
    void **fresh = m->alloc(n * sizeof *fresh, m->ctx);
    if (fresh == NULL)
        return false;
    memset(fresh, 0, n * sizeof *fresh);
    void **old = m->cells;
    m->cells = fresh;
    m->mask = n - 1;
    m->shift = 64 - bits;
    for (size_t i = 0; i < cells; i++)
        if (old[i] != NULL)
            m->cells[po__map_free_cell(m, po__map_key(m, old[i]))] = old[i];
    if (cells)
        m->release(old, m->ctx);
    return true;
}

void po__map_free(po__map *m) {
    if (m->cells != po__map_none)
        m->release(m->cells, m->ctx);
    po__map_empty(m);
}

void po__map_put(po__map *m, void *rec) {
    m->cells[po__map_free_cell(m, po__map_key(m, rec))] = rec;
    m->count++;
}

void po__map_del(po__map *m, void *rec) {
    size_t i = po__map_home(po__map_key(m, rec), m->shift);
    while (m->cells[i] != rec)
        i = (i + 1) & m->mask;
    m->count--;
    /* Backward shift: pull later entries of the run into the hole unless
     * that would move one before its home cell. */
    for (size_t j = (i + 1) & m->mask; m->cells[j] != NULL;
         j = (j + 1) & m->mask) {
        size_t home = po__map_home(po__map_key(m, m->cells[j]), m->shift);
        if (((j - home) & m->mask) >= ((j - i) & m->mask)) {
            m->cells[i] = m->cells[j];
            i = j;
        }
    }
    m->cells[i] = NULL;
}
