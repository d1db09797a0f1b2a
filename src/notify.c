/*
 * The notifier: a bounded queue that any thread can push to, and a wake-up
 * object (wake.h) the poller watches as the notifier channel's socket.
 *
 * The queue is a ring of cells, each with a sequence number that says
 * whose turn it is: a producer claims a cell by advancing the shared tail
 * with a compare-and-swap, writes the payload, then publishes the cell by
 * storing its sequence number; the one consumer reads cells in order.  No
 * lock, so a producer preempted mid-push never stalls the others, and a
 * full ring is seen at once (PO_EAGAIN) rather than waited out.
 *
 * Waking: `pending` is 1 while a wake-up is written and not yet consumed.
 * Only the producer that turns it from 0 to 1 writes the kernel object, so
 * a burst of payloads costs one kernel call.  The consumer, on finding the
 * ring empty, first drains the kernel object, then clears `pending`, then
 * looks once more: a producer that pushed before that clear is seen by the
 * second look, and one that pushes after it finds 0 and writes a new
 * wake-up.  Either way no payload waits without the channel being readable.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "poller.h"
#include "wake.h"

typedef struct po__cell {
    atomic_size_t seq;
    uint64_t value;
} po__cell;

/* Producers share `tail`; the consumer alone moves `head`.  Padding keeps
 * them on different cache lines, so pushes do not slow the takes. */
struct po_notifier {
    po__wake wake;
    size_t mask;
    char pad0[64];
    atomic_size_t tail;
    char pad1[64];
    size_t head;
    atomic_int pending;
    char pad2[64];
    po__cell cells[];
};

static po_triggers po__notifier_probe(po_channel *ch, void *ctx) {
    (void)ch;
    (void)ctx;
    return PO_NOTIFY;
}

static void po__notifier_deinit(po_channel *ch, void *ctx) {
    po_notifier *n = ctx;
    const po_allocator *a = &po__slab_of(ch)->poller->alloc;
    po__wake_close(&n->wake);
    a->free(n, a->ctx);
}

static const po_channel_ops po__notifier_ops = {po__notifier_probe,
                                                po__notifier_deinit};

/* An empty queue, no wake-up pending.  No other thread may use the
 * notifier meanwhile. */
static void po__notifier_empty(po_notifier *n) {
    n->head = 0;
    atomic_init(&n->tail, 0);
    atomic_init(&n->pending, 0);
    for (size_t i = 0; i <= n->mask; i++) {
        atomic_init(&n->cells[i].seq, i);
        n->cells[i].value = 0;
    }
}

int po_notifier_attach(po_poller *p, po_chn chn, size_t capacity,
                       po_notifier **out, po_channel **chp) {
    if (p == NULL || capacity > ((size_t)1 << 24))
        return PO_EINVAL;
    /* Before anything is allocated or opened: a probe runs inside a wait,
     * which must not allocate. */
    if (p->in_callback)
        return PO_EBUSY;
    /* At least two cells: in a ring of one, the sequence number that marks
     * the cell filled (pos + 1) is also the one that marks it free for the
     * next push, so each push would overwrite the payload before it. */
    size_t cap = 2;
    while (cap < (capacity ? capacity : 1024))
        cap *= 2;
    const po_allocator *a = &p->alloc;
    po_notifier *n = a->malloc(sizeof *n + cap * sizeof(po__cell), a->ctx);
    if (n == NULL)
        return PO_ENOMEM;
    memset(n, 0, sizeof *n);
    n->mask = cap - 1;
    po__notifier_empty(n);
    int e = po__wake_open(&n->wake);
    if (e != 0) {
        a->free(n, a->ctx);
        errno = e;
        return PO_ESYS;
    }
    po_channel *ch;
    int rc = po_attach(p, chn, n->wake.rd, &po__notifier_ops, n, &ch);
    if (rc != PO_OK) {
        po__wake_close(&n->wake);
        a->free(n, a->ctx);
        return rc;
    }
    if (out)
        *out = n;
    if (chp)
        *chp = ch;
    return PO_OK;
}

int po_notify(po_notifier *n, uint64_t value) {
    if (n == NULL)
        return PO_EINVAL;
    size_t pos = atomic_load_explicit(&n->tail, memory_order_relaxed);
    po__cell *c;
    for (;;) {
        c = &n->cells[pos & n->mask];
        size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
        if (seq == pos) {
            if (atomic_compare_exchange_weak_explicit(&n->tail, &pos, pos + 1,
                                                      memory_order_relaxed,
                                                      memory_order_relaxed))
                break;
        } else if ((ptrdiff_t)(seq - pos) < 0) {
            return PO_EAGAIN; /* the cell still holds a payload: full */
        } else {
            pos = atomic_load_explicit(&n->tail, memory_order_relaxed);
        }
    }
    c->value = value;
    atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
    if (atomic_exchange(&n->pending, 1) == 0) {
        int e = po__wake_signal(&n->wake);
        if (e != 0) {
            /* The payload stays queued; let the next sender try again. */
            atomic_store(&n->pending, 0);
            errno = e;
            return PO_ESYS;
        }
    }
    return PO_OK;
}

static bool po__notifier_pop(po_notifier *n, uint64_t *value) {
    po__cell *c = &n->cells[n->head & n->mask];
    if (atomic_load_explicit(&c->seq, memory_order_acquire) != n->head + 1)
        return false;
    *value = c->value;
    atomic_store_explicit(&c->seq, n->head + n->mask + 1, memory_order_release);
    n->head++;
    return true;
}

int po_notifier_take(po_notifier *n, uint64_t *value) {
    if (n == NULL || value == NULL)
        return PO_EINVAL;
    if (po__notifier_pop(n, value))
        return PO_OK;
    po__wake_drain(&n->wake);
    /* An exchange, not a store: reading a producer's 1 makes its push
     * visible to the look that follows. */
    atomic_exchange(&n->pending, 0);
    return po__notifier_pop(n, value) ? PO_OK : PO_EAGAIN;
}

/* The child's queue starts empty: the payloads queued at the fork are the
 * parent's, taken there once, and a cell a thread of the parent was
 * filling during the fork would never be published here (that thread does
 * not exist in the child), which would stop every take behind it. */
int po__notifier_after_fork(po_channel *ch) {
    if (ch->ops != &po__notifier_ops)
        return PO_OK;
    po_notifier *n = ch->ctx;
    po__wake fresh;
    int e = po__wake_open(&fresh);
    if (e != 0) {
        errno = e;
        return PO_ESYS;
    }
    int rc = po_set_socket(ch, fresh.rd);
    if (rc != PO_OK) {
        po__wake_close(&fresh);
        return rc;
    }
    /* The child's copies: the parent's object stays open in the parent. */
    po__wake_close(&n->wake);
    n->wake.rd = fresh.rd;
    n->wake.wr = fresh.wr;
    po__notifier_empty(n);
    return PO_OK;
}
