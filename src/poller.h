/*
 * The poller record, private to the core (core.c, notify.c); backends never
 * see it (backend.h).
 */
#ifndef POLLEROS_POLLER_H
#define POLLEROS_POLLER_H

#include <stdbool.h>
#include <stddef.h>

#include "backend.h"
#include "map.h"
#include "slab.h"
#include "timers.h"

struct po_poller {
    po__round round; /* first: its walk head is what the inline walk reads;
                        the SeqN table is round.by_seqn */
    po_allocator alloc;
    const po__backend_ops *be;
    void *bstate;
    const po__event *events; /* where be->wait() leaves events, or NULL */
    po__map by_chn;  /* channel number -> channel, which holds its SeqN */
    po__map by_sock; /* socket -> channel: one channel per socket */
    po__slabs slabs;
    po__timers timers; /* channel deadlines */
    size_t nmarked;
    po_seqn next_seqn;
    bool changed;     /* PO_RECONCILE_CHANGED */
    bool in_callback; /* inside a probe or a deinit */
    po__timeout spin; /* po_options.spin_ns */
    int last_errno;
    po_stats stats;      /* but events and stale: the round counts those */
    unsigned long owner; /* the process whose kernel objects it holds */
};

/* The calling process's id (os_posix.c, os_win.c): a forked child holds
 * its parent's kernel objects until po_after_fork(). */
unsigned long po__process(void);

/* For po_after_fork(), once the channels' held interest is forgotten: gives
 * a notifier's channel a wake-up object of the child's own and an empty
 * queue (notify.c).  PO_OK for any other channel.  PO_ESYS (errno set) or
 * PO_EINUSE, as po_notifier_attach(), with the notifier as it was. */
int po__notifier_after_fork(po_channel *ch);
/* The same for a signal channel (signal.c): its signalfd, kqueue or
 * wake-up object made anew; the mask and the actions stay.  PO_OK for any
 * other channel. */
int po__signal_after_fork(po_channel *ch);

/* po_next_triggered() (polleros.h) reads a poller as its walk head. */
_Static_assert(offsetof(struct po_poller, round) == 0 &&
                   offsetof(po__round, walk) == 0,
               "the walk head is the poller's first member");

#endif
