/*
 * Signal channels, the part every system shares: checking the set, the
 * process-wide claim that gives each signal at most one channel, the
 * channel itself and the take.  sigchan.h says what each system provides.
 *
 * One channel per signal in the whole process, because a signal's delivery
 * is process-wide: two signalfds compete for one pending instance, two
 * handlers for one disposition, and a delete would undo the mask or handler
 * another channel still relies on.  The claim is one 64-bit set, changed by
 * compare-and-swap, so pollers in different threads attach safely.
 */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* struct sigaction in signal.h */
#endif
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "poller.h"
#include "sigchan.h"

static _Atomic uint64_t po__sig_claimed;

static int po__sig_claim(uint64_t set) {
    uint64_t was = atomic_load(&po__sig_claimed);
    do {
        if (was & set)
            return 0;
    } while (!atomic_compare_exchange_weak(&po__sig_claimed, &was, was | set));
    return 1;
}

static void po__sig_release(uint64_t set) {
    atomic_fetch_and(&po__sig_claimed, ~set);
}

static po_triggers po__signal_probe(po_channel *ch, void *ctx) {
    (void)ch;
    (void)ctx;
    return PO_NOTIFY;
}

static void po__signal_deinit(po_channel *ch, void *ctx) {
    po_signal *s = ctx;
    const po_allocator *a = &po__slab_of(ch)->poller->alloc;
    po__sig_close(s);
    po__sig_release(s->set);
    a->free(s, a->ctx);
}

static const po_channel_ops po__signal_ops = {po__signal_probe,
                                              po__signal_deinit};

int po_signal_attach(po_poller *p, po_chn chn, const int *signals, size_t n,
                     po_signal **out, po_channel **chp) {
    if (p == NULL || signals == NULL || n == 0)
        return PO_EINVAL;
    uint64_t set = 0;
    for (size_t i = 0; i < n; i++) {
        if (!po__sig_valid(signals[i]))
            return PO_EINVAL;
        set |= (uint64_t)1 << (signals[i] - 1);
    }
    /* Before anything is allocated or changed: a probe runs inside a wait,
     * which must not allocate. */
    if (p->in_callback)
        return PO_EBUSY;
    if (po_find(p, chn) != NULL)
        return PO_EEXIST;
    unsigned nsig = 0;
    for (uint64_t b = set; b; b &= b - 1)
        nsig++;
    const po_allocator *a = &p->alloc;
    po_signal *s = a->malloc(po__sig_size(nsig), a->ctx);
    if (s == NULL)
        return PO_ENOMEM;
    memset(s, 0, po__sig_size(nsig));
    s->set = set;
    for (int i = 0; i < PO__NSIG; i++)
        atomic_init(&s->hit[i], 0);
    if (!po__sig_claim(set)) {
        a->free(s, a->ctx);
        return PO_EINUSE;
    }
    int e = po__sig_open(s, p->be->kind);
    if (e != 0) {
        po__sig_release(set);
        a->free(s, a->ctx);
        errno = e;
        p->last_errno = e;
        return PO_ESYS;
    }
    po_channel *ch;
    int rc = po_attach(p, chn, s->sock, &po__signal_ops, s, &ch);
    if (rc != PO_OK) {
        po__sig_close(s);
        po__sig_release(set);
        a->free(s, a->ctx);
        return rc;
    }
    if (out)
        *out = s;
    if (chp)
        *chp = ch;
    return PO_OK;
}

#ifndef _WIN32
int po__signal_after_fork(po_channel *ch) {
    if (ch->ops != &po__signal_ops)
        return PO_OK;
    po_signal *s = ch->ctx;
    int e = po__sig_after_fork(s);
    if (e != 0) {
        errno = e;
        return PO_ESYS;
    }
    return po_set_socket(ch, s->sock);
}
#endif

/* PO__SIG_FLAGS: the next raised flag, from where the last scan stopped,
 * so that one signal that keeps coming cannot hide the others. */
static int po__sig_scan(po_signal *s) {
    for (unsigned k = 0; k < PO__NSIG - 1; k++) {
        unsigned i = (s->cursor + k) % (PO__NSIG - 1);
        if ((s->set >> i & 1) && atomic_exchange(&s->hit[i + 1], 0)) {
            s->cursor = i + 1;
            return (int)i + 1;
        }
    }
    return 0;
}

int po_signal_take(po_signal *s, int *signo) {
    if (s == NULL || signo == NULL)
        return PO_EINVAL;
    int got;
    if (s->mech == PO__SIG_FLAGS) {
        /* As the notifier does: drain the wake-up only when no flag is
         * raised, then look again.  A handler raises its flag before it
         * writes the wake-up, so one that ran before the drain is seen by
         * the second look, and one that runs after it leaves the channel
         * readable. */
        got = po__sig_scan(s);
        if (got == 0) {
            po__wake_drain(&s->wake);
            got = po__sig_scan(s);
        }
    } else {
        got = po__sig_read(s);
    }
    if (got == 0)
        return PO_EAGAIN;
    *signo = got;
    return PO_OK;
}
