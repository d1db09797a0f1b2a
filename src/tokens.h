/*
 * SeqN -> channel: how a kernel token finds its channel without hashing.
 * A SeqN is chosen, when a channel is attached or re-socketed, as the
 * smallest number above every SeqN given so far whose low bits name a free
 * cell of a power-of-two table; its channel is stored in that cell.  A token
 * then resolves with a mask and one load, and a SeqN is still never reused:
 * they only grow.  The table doubles before it is 3/4 full: a channel keeps
 * its SeqN, and lands in the cell its SeqN's low bits name in the larger
 * table, which no other channel can hold (two channels that shared those
 * bits would have shared a cell before).  An empty cell holds
 * po__token_none, whose SeqN no channel ever gets, so that a lookup makes
 * one test.
 */
#ifndef POLLEROS_TOKENS_H
#define POLLEROS_TOKENS_H

#include <stdbool.h>
#include <stddef.h>

#include "polleros.h"

typedef struct po__tokens {
    po_channel **cells; /* mask + 1 cells */
    size_t mask;
    size_t count;
} po__tokens;

/* The record of every empty cell: its SeqN is UINT64_MAX, which no channel
 * reaches. */
extern po_channel po__token_none;

void po__tokens_init(po__tokens *t);
/* Room for one more channel.  False when memory ran out (nothing
 * changed).  O(count) when the table grows, else O(1). */
bool po__tokens_reserve(po__tokens *t, const po_allocator *a);
void po__tokens_free(po__tokens *t, const po_allocator *a);
/* Gives ch the first SeqN at or above *next whose cell is free, stores it
 * there and moves *next past it.  Room must be reserved.  O(1) expected. */
void po__tokens_put(po__tokens *t, po_channel *ch, po_seqn *next);
/* Empties ch's cell. */
void po__tokens_del(po__tokens *t, po_channel *ch);

/* The channel a token names, or NULL. */
static inline po_channel *po__tokens_find(po_channel *const *cells, size_t mask,
                                          po_seqn token) {
    po_channel *ch = cells[token & mask];
    return ch->seqn == token ? ch : NULL;
}

#endif
