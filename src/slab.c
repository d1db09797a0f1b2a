#include "slab.h"

#include <string.h>

static void po_avail_push(po_slabs *s, po_slab *b) {
    b->fprev = NULL;
    b->fnext = s->avail;
    if (s->avail)
        s->avail->fprev = b;
    s->avail = b;
}

static void po_avail_unlink(po_slabs *s, po_slab *b) {
    if (b->fprev)
        b->fprev->fnext = b->fnext;
    else
        s->avail = b->fnext;
    if (b->fnext)
        b->fnext->fprev = b->fprev;
}

int po_slab_reserve(po_slabs *s, po_poller *p, const po_allocator *a) {
    if (s->avail != NULL)
        return PO_OK;
    po_slab *b = a->malloc(sizeof *b, a->ctx);
    if (b == NULL)
        return PO_ENOMEM;
    memset(b, 0, sizeof *b);
    b->poller = p;
    for (unsigned i = PO_SLAB_N; i-- > 0;) {
        b->ch[i].slot = (uint8_t)i;
        b->ch[i].link = b->free;
        b->free = &b->ch[i];
    }
    b->next = s->all;
    if (s->all)
        s->all->prev = b;
    s->all = b;
    po_avail_push(s, b);
    s->empty++;
    return PO_OK;
}

po_channel *po_slab_take(po_slabs *s) {
    po_slab *b = s->avail;
    po_channel *ch = b->free;
    b->free = ch->link;
    if (b->used++ == 0)
        s->empty--;
    if (b->free == NULL)
        po_avail_unlink(s, b);
    uint8_t slot = ch->slot;
    memset(ch, 0, sizeof *ch);
    ch->slot = slot;
    return ch;
}

void po_slab_give(po_slabs *s, po_channel *ch, const po_allocator *a) {
    po_slab *b = po_slab_of(ch);
    ch->state = 0;
    ch->link = b->free;
    b->free = ch;
    if (b->used-- == PO_SLAB_N)
        po_avail_push(s, b);
    if (b->used > 0)
        return;
    if (s->empty == 0) {
        s->empty++;
        return;
    }
    po_avail_unlink(s, b);
    if (b->prev)
        b->prev->next = b->next;
    else
        s->all = b->next;
    if (b->next)
        b->next->prev = b->prev;
    a->free(b, a->ctx);
}

void po_slab_free_all(po_slabs *s, const po_allocator *a) {
    for (po_slab *b = s->all, *next; b != NULL; b = next) {
        next = b->next;
        a->free(b, a->ctx);
    }
    memset(s, 0, sizeof *s);
}
