#include "slab.h"

#include <string.h>

void po__slab_init(po__slabs *s) {
    po__list_init(&s->all);
    po__list_init(&s->avail);
    s->empty = 0;
}

int po__slab_reserve(po__slabs *s, po_poller *p, const po_allocator *a) {
    if (!po__list_empty(&s->avail))
        return PO_OK;
    po__slab *b = a->malloc(sizeof *b, a->ctx);
    if (b == NULL)
        return PO_ENOMEM;
    memset(b, 0, sizeof *b);
    b->poller = p;
    for (unsigned i = PO__SLAB_N; i-- > 0;) {
        b->ch[i].slot = (uint8_t)i;
        b->ch[i].link = b->free;
        b->free = &b->ch[i];
    }
    po__list_push(&s->all, &b->all);
    po__list_push(&s->avail, &b->avail);
    s->empty++;
    return PO_OK;
}

po_channel *po__slab_take(po__slabs *s) {
    po__slab *b = PO__LIST_ENTRY(s->avail.next, po__slab, avail);
    po_channel *ch = b->free;
    b->free = ch->link;
    if (b->used++ == 0)
        s->empty--;
    if (b->free == NULL)
        po__list_unlink(&b->avail);
    uint8_t slot = ch->slot;
    memset(ch, 0, sizeof *ch);
    ch->slot = slot;
    return ch;
}

void po__slab_give(po__slabs *s, po_channel *ch, const po_allocator *a) {
    po__slab *b = po__slab_of(ch);
    ch->state = 0;
    ch->link = b->free;
    b->free = ch;
    if (b->used-- == PO__SLAB_N)
        po__list_push(&s->avail, &b->avail);
    if (b->used > 0)
        return;
    if (s->empty == 0) {
        s->empty++;
        return;
    }
    po__list_unlink(&b->avail);
    po__list_unlink(&b->all);
    a->free(b, a->ctx);
}

void po__slab_free_all(po__slabs *s, const po_allocator *a) {
    while (!po__list_empty(&s->all)) {
        po__slab *b = PO__LIST_ENTRY(s->all.next, po__slab, all);
        po__list_unlink(&b->all);
        a->free(b, a->ctx);
    }
    po__slab_init(s);
}
