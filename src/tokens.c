#include "tokens.h"

#include <string.h>

po_channel po__token_none = {.seqn = UINT64_MAX};
static po_channel *po__tokens_empty[1] = {&po__token_none};

void po__tokens_init(po__tokens *t) {
    t->cells = po__tokens_empty;
    t->mask = 0;
    t->count = 0;
}

bool po__tokens_reserve(po__tokens *t, const po_allocator *a) {
    size_t cells = t->mask + 1, need = t->count + 1;
    if (t->cells != po__tokens_empty && need <= cells - cells / 4)
        return true;
    size_t n = t->cells != po__tokens_empty ? cells : 8;
    while (need > n - n / 4) {
        if (n > SIZE_MAX / 2 / sizeof(po_channel *))
            return false;
        n *= 2;
    }
    po_channel **fresh = a->malloc(n * sizeof *fresh, a->ctx);
    if (fresh == NULL)
        return false;
    for (size_t i = 0; i < n; i++)
        fresh[i] = &po__token_none;
    for (size_t i = 0; i < cells; i++)
        if (t->cells[i] != &po__token_none)
            fresh[t->cells[i]->seqn & (n - 1)] = t->cells[i];
    if (t->cells != po__tokens_empty)
        a->free(t->cells, a->ctx);
    t->cells = fresh;
    t->mask = n - 1;
    return true;
}

void po__tokens_free(po__tokens *t, const po_allocator *a) {
    if (t->cells != po__tokens_empty)
        a->free(t->cells, a->ctx);
    po__tokens_init(t);
}

void po__tokens_put(po__tokens *t, po_channel *ch, po_seqn *next) {
    po_seqn s = *next;
    while (t->cells[s & t->mask] != &po__token_none)
        s++;
    ch->seqn = s;
    t->cells[s & t->mask] = ch;
    t->count++;
    *next = s + 1;
}

void po__tokens_del(po__tokens *t, po_channel *ch) {
    t->cells[ch->seqn & t->mask] = &po__token_none;
    t->count--;
}
