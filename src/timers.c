#include "timers.h"

#include <string.h>

/* The map's key for a channel: its address, as the map reads it from a
 * record's ch field. */
static uint64_t po__timer_key(const po_channel *ch) {
    uintptr_t u = (uintptr_t)ch;
    return (uint64_t)u;
}

void po__timers_init(po__timers *t, const po_allocator *a) {
    memset(t, 0, sizeof *t);
    po__map_init(&t->by_ch, offsetof(po__timer, ch), sizeof(po_channel *),
                 a->malloc, a->free, a->ctx);
}

void po__timers_free(po__timers *t, const po_allocator *a) {
    for (size_t i = 0; i < t->by_ch.count; i++)
        a->free(t->heap[i], a->ctx);
    for (po__timer *r = t->spare, *next; r != NULL; r = next) {
        next = r->next;
        a->free(r, a->ctx);
    }
    if (t->heap)
        a->free(t->heap, a->ctx);
    po__map_free(&t->by_ch);
    po__timers_init(t, a);
}

static void po__heap_place(po__timers *t, po__timer *r, size_t i) {
    t->heap[i] = r;
    r->pos = i;
}

/* Moves r from index i towards the root, then towards the leaves, until the
 * heap holds again: one of the two loops does nothing. */
static void po__heap_fix(po__timers *t, po__timer *r, size_t i) {
    while (i > 0 && t->heap[(i - 1) / 2]->at > r->at) {
        po__heap_place(t, t->heap[(i - 1) / 2], i);
        i = (i - 1) / 2;
    }
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= t->by_ch.count)
            break;
        if (c + 1 < t->by_ch.count && t->heap[c + 1]->at < t->heap[c]->at)
            c++;
        if (t->heap[c]->at >= r->at)
            break;
        po__heap_place(t, t->heap[c], i);
        i = c;
    }
    po__heap_place(t, r, i);
}

static void po__timers_remove(po__timers *t, po__timer *r) {
    po__map_del(&t->by_ch, r);
    po__timer *last = t->heap[t->by_ch.count];
    if (last != r)
        po__heap_fix(t, last, r->pos);
    r->ch->state &= (uint8_t)~PO__ST_TIMER;
    r->next = t->spare;
    t->spare = r;
}

static po__timer *po__timers_find(const po__timers *t, const po_channel *ch) {
    if (!(ch->state & PO__ST_TIMER))
        return NULL;
    return po__map_get(&t->by_ch, po__timer_key(ch));
}

/* Room for one more record in the heap, the map and the free list. */
static int po__timers_reserve(po__timers *t, const po_allocator *a) {
    if (t->by_ch.count == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        if (cap > SIZE_MAX / sizeof *t->heap)
            return PO_ENOMEM;
        po__timer **heap = a->realloc(t->heap, cap * sizeof *heap, a->ctx);
        if (heap == NULL)
            return PO_ENOMEM;
        t->heap = heap;
        t->cap = cap;
    }
    if (!po__map_reserve(&t->by_ch, 1))
        return PO_ENOMEM;
    if (t->spare == NULL) {
        t->spare = a->malloc(sizeof *t->spare, a->ctx);
        if (t->spare == NULL)
            return PO_ENOMEM;
        t->spare->next = NULL;
    }
    return PO_OK;
}

int po__timers_set(po__timers *t, po_channel *ch, po_time at,
                   const po_allocator *a) {
    po__timer *r = po__timers_find(t, ch);
    if (r != NULL) {
        if (at == PO_NEVER) {
            po__timers_remove(t, r);
        } else {
            r->at = at;
            po__heap_fix(t, r, r->pos);
        }
        return PO_OK;
    }
    if (at == PO_NEVER)
        return PO_OK;
    if (po__timers_reserve(t, a) != PO_OK)
        return PO_ENOMEM;
    r = t->spare;
    t->spare = r->next;
    r->at = at;
    r->ch = ch;
    /* In the map first: its count is the heap's size, the new last. */
    po__map_put(&t->by_ch, r);
    ch->state |= PO__ST_TIMER;
    po__heap_fix(t, r, t->by_ch.count - 1);
    return PO_OK;
}

po_time po__timers_get(const po__timers *t, const po_channel *ch) {
    po__timer *r = po__timers_find(t, ch);
    return r ? r->at : PO_NEVER;
}

po_channel *po__timers_pop_due(po__timers *t, po_time now) {
    if (t->by_ch.count == 0 || t->heap[0]->at > now)
        return NULL;
    po__timer *r = t->heap[0];
    po_channel *ch = r->ch;
    po__timers_remove(t, r);
    return ch;
}
