/*
 * The core: the maps, the channel lifecycle and the three-phase wait.  It
 * knows no operating system; the kernel is reached only through the backend
 * table (backend.h).
 *
 * One list drives a round, the candidate list (po_poller.walk.list, linked
 * through po_channel.link).  After a wait it holds the channels the wait
 * triggered (act != 0), which po_next_triggered() walks; the application then
 * adds the channels it attaches, re-sockets or touches (act == 0, skipped by
 * the walk).  The next wait takes the whole list: in PO_RECONCILE_CHANGED mode
 * exactly these channels are probed, so a wait costs O(what can have
 * changed); in PO_RECONCILE_FULL mode every live channel is.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "poller.h"

/* ------------------------------------------------------------------------ */
/* Allocation                                                               */

static void *po__std_malloc(size_t n, void *ctx) {
    (void)ctx;
    return malloc(n);
}
static void *po__std_realloc(void *ptr, size_t n, void *ctx) {
    (void)ctx;
    return realloc(ptr, n);
}
static void po__std_free(void *ptr, void *ctx) {
    (void)ctx;
    free(ptr);
}
static const po_allocator po__std_allocator = {po__std_malloc, po__std_realloc,
                                               po__std_free, NULL};

static po_poller *po__poller_of(po_channel *ch) {
    return po__slab_of(ch)->poller;
}

/* ------------------------------------------------------------------------ */
/* Backend choice                                                           */

static const po__backend_ops *const po__backends[] = {
#ifdef POLLEROS_HAVE_EPOLL
    &po__backend_epoll,
#endif
#ifdef POLLEROS_HAVE_KQUEUE
    &po__backend_kqueue,
#endif
#ifdef POLLEROS_HAVE_WEPOLL
    &po__backend_wepoll,
#endif
#ifdef POLLEROS_HAVE_POLL
    &po__backend_poll,
#endif
/* Opt-in: listed last, so that the default never picks it. */
#ifdef POLLEROS_HAVE_URING
    &po__backend_uring,
#endif
};
enum { PO__NBACKENDS = sizeof po__backends / sizeof po__backends[0] };

static const char *const po__backend_names[] = {
    [PO_BACKEND_EPOLL] = "epoll",   [PO_BACKEND_POLL] = "poll",
    [PO_BACKEND_KQUEUE] = "kqueue", [PO_BACKEND_WEPOLL] = "wepoll",
    [PO_BACKEND_URING] = "uring",
};

/* The environment names a backend only when the caller did not. */
static int po__pick_backend(po_backend_kind kind, const po__backend_ops **out) {
    if (kind == PO_BACKEND_DEFAULT) {
        const char *env = getenv("POLLEROS_BACKEND");
        if (env != NULL && *env != '\0') {
            for (size_t k = PO_BACKEND_EPOLL; k <= PO_BACKEND_URING; k++)
                if (strcmp(env, po__backend_names[k]) == 0)
                    kind = (po_backend_kind)k;
            if (kind == PO_BACKEND_DEFAULT)
                return PO_EINVAL;
        }
    } else if (kind < PO_BACKEND_EPOLL || kind > PO_BACKEND_URING) {
        return PO_EINVAL;
    }
    for (size_t i = 0; i < PO__NBACKENDS; i++)
        if (kind == PO_BACKEND_DEFAULT || po__backends[i]->kind == kind) {
            *out = po__backends[i];
            return PO_OK;
        }
    return PO_ENOTSUP;
}

/* The environment chooses only what the caller left to it. */
static int po__pick_reconcile(po_reconcile mode, bool *changed) {
    if (mode == PO_RECONCILE_DEFAULT) {
        const char *env = getenv("POLLEROS_RECONCILE");
        mode = PO_RECONCILE_CHANGED;
        if (env != NULL && strcmp(env, "full") == 0)
            mode = PO_RECONCILE_FULL;
        else if (env != NULL && *env != '\0' && strcmp(env, "changed") != 0)
            return PO_EINVAL;
    }
    if (mode != PO_RECONCILE_CHANGED && mode != PO_RECONCILE_FULL)
        return PO_EINVAL;
    *changed = mode == PO_RECONCILE_CHANGED;
    return PO_OK;
}

/* ------------------------------------------------------------------------ */
/* Poller                                                                   */

po_poller *po_create(const po_options *opt, int *err) {
    static const po_options defaults = {PO_BACKEND_DEFAULT, NULL, 0,
                                        PO_RECONCILE_DEFAULT, 0};
    if (opt == NULL)
        opt = &defaults;
    const po_allocator *a =
        opt->allocator ? opt->allocator : &po__std_allocator;
    const po__backend_ops *be = NULL;
    bool changed = false;
    int rc = PO_EINVAL;
    po_poller *p = NULL;
    if (a->malloc == NULL || a->realloc == NULL || a->free == NULL)
        goto fail;
    rc = po__pick_backend(opt->backend, &be);
    if (rc == PO_OK)
        rc = po__pick_reconcile(opt->reconcile, &changed);
    if (rc != PO_OK)
        goto fail;
    rc = PO_ENOMEM;
    p = a->malloc(sizeof *p, a->ctx);
    if (p == NULL)
        goto fail;
    memset(p, 0, sizeof *p);
    p->alloc = *a;
    p->be = be;
    p->changed = changed;
    p->spin = opt->spin_ns < (uint64_t)INT64_MAX ? (po__timeout)opt->spin_ns
                                                 : INT64_MAX;
    p->next_seqn = 1;
    p->owner = po__process();
    p->round.walk.round = 1; /* 0 is a fresh iterator's round */
    po__map_init(&p->by_chn, offsetof(po_channel, chn), sizeof(po_chn),
                 a->malloc, a->free, a->ctx);
    po__tokens_init(&p->round.by_seqn);
    po__map_init(&p->by_sock, offsetof(po_channel, sock), sizeof(po_socket),
                 a->malloc, a->free, a->ctx);
    po__slab_init(&p->slabs);
    po__timers_init(&p->timers, a);
    unsigned max_events = opt->max_events ? opt->max_events : 256;
    rc = be->init(&p->bstate, &p->alloc,
                  max_events < 65536 ? max_events : 65536);
    if (rc != PO_OK) {
        int saved = errno;
        a->free(p, a->ctx);
        errno = saved;
        goto fail;
    }
    p->events = be->events ? be->events(p->bstate) : NULL;
    if (err)
        *err = PO_OK;
    return p;
fail:
    if (err)
        *err = rc;
    return NULL;
}

static void po__remove(po_poller *p, po_channel *ch);

static void po__call_deinit(po_poller *p, po_channel *ch) {
    if (ch->ops->deinit == NULL)
        return;
    p->in_callback = true;
    ch->ops->deinit(ch, ch->ctx);
    p->in_callback = false;
}

int po_destroy(po_poller *p) {
    if (p == NULL)
        return PO_OK;
    /* From a probe or a deinit the caller's own frame still uses the
     * poller: refused, so that nothing is freed under it. */
    if (p->in_callback)
        return PO_EBUSY;
    /* Closing the kernel object unregisters every socket at once; the
     * deinits that follow may then close their sockets freely. */
    p->be->deinit(p->bstate);
    /* Each channel leaves the maps just before its deinit, so that a deinit
     * that looks up another channel finds only those not yet deinit'd.
     * Removal keeps every record until the slabs go, so the scan is safe. */
    po_channel *ch;
    PO__SLAB_EACH(&p->slabs, ch, PO__ST_LIVE) {
        ch->state &= (uint8_t)~PO__ST_KINT; /* gone with it */
        po__remove(p, ch);
    }
    po__slab_free_all(&p->slabs, &p->alloc);
    po__map_free(&p->by_chn);
    po__tokens_free(&p->round.by_seqn, &p->alloc);
    po__map_free(&p->by_sock);
    po__timers_free(&p->timers, &p->alloc);
    po_allocator a = p->alloc;
    a.free(p, a.ctx);
    return PO_OK;
}

const char *po_backend_name(const po_poller *p) {
    return p ? p->be->name : NULL;
}

void po_get_stats(const po_poller *p, po_stats *out) {
    if (p && out) {
        *out = p->stats;
        po__round_stats(&p->round, out);
    }
}

int po_last_errno(const po_poller *p) { return p ? p->last_errno : 0; }

size_t po_count(const po_poller *p) { return p ? p->by_chn.count : 0; }

const char *po_strerror(int err) {
    switch (err) {
    case PO_OK:
        return "success";
    case PO_EINVAL:
        return "invalid argument";
    case PO_ENOMEM:
        return "out of memory";
    case PO_EEXIST:
        return "channel number already attached";
    case PO_ENOENT:
        return "no channel with that number";
    case PO_EINUSE:
        return "socket already held by another channel";
    case PO_EBUSY:
        return "not allowed inside a probe or deinit";
    case PO_ENOTSUP:
        return "backend not available";
    case PO_ESYS:
        return "kernel call failed";
    case PO_EAGAIN:
        return "notifier queue full or empty; try again";
    default:
        return "unknown error";
    }
}

/* ------------------------------------------------------------------------ */
/* Channels                                                                 */

/* Puts a channel on the round's list, once. */
static void po__enlist(po_poller *p, po_channel *ch) {
    if (!(ch->state & PO__ST_LISTED))
        po__link(&p->round.walk.list, ch);
}

void po_touch(po_channel *ch) {
    if (ch == NULL || !(ch->state & PO__ST_LIVE))
        return;
    po_poller *p = po__poller_of(ch);
    if (p->changed)
        po__enlist(p, ch);
}

/* Room for one more socket in the socket map and the backend. */
static int po__reserve_socket(po_poller *p) {
    if (!po__map_reserve(&p->by_sock, 1))
        return PO_ENOMEM;
    return p->be->reserve ? p->be->reserve(p->bstate, p->by_sock.count + 1)
                          : PO_OK;
}

/* The socket as the socket map reads it from a channel. */
static uint64_t po__sock_key(po_socket s) {
    return sizeof s == 4 ? (uint64_t)(uint32_t)s : (uint64_t)s;
}

/* Whether s can name a socket at all: a negative descriptor other than
 * PO_NO_SOCKET cannot, and poll(2) would skip it silently where epoll
 * reports EBADF, so it is refused before any backend sees it.  Any SOCKET
 * value may be one. */
static bool po__socket_valid(po_socket s) {
#ifdef _WIN32
    (void)s;
    return true;
#else
    return s >= 0 || s == PO_NO_SOCKET;
#endif
}

static bool po__socket_taken(const po_poller *p, po_socket s) {
    return s != PO_NO_SOCKET &&
           po__map_get(&p->by_sock, po__sock_key(s)) != NULL;
}

int po_attach(po_poller *p, po_chn chn, po_socket s, const po_channel_ops *ops,
              void *ctx, po_channel **out) {
    if (p == NULL || ops == NULL || ops->triggers == NULL ||
        !po__socket_valid(s))
        return PO_EINVAL;
    if (p->in_callback)
        return PO_EBUSY;
    if (po__map_get(&p->by_chn, chn) != NULL)
        return PO_EEXIST;
    if (po__socket_taken(p, s))
        return PO_EINUSE;
    if (po__slab_reserve(&p->slabs, p, &p->alloc) != PO_OK ||
        !po__map_reserve(&p->by_chn, 1) ||
        !po__tokens_reserve(&p->round.by_seqn, &p->alloc) ||
        (s != PO_NO_SOCKET && po__reserve_socket(p) != PO_OK))
        return PO_ENOMEM;
    po_channel *ch = po__slab_take(&p->slabs);
    ch->ops = ops;
    ch->ctx = ctx;
    po__tokens_put(&p->round.by_seqn, ch, &p->next_seqn);
    ch->chn = chn;
    ch->sock = s;
    ch->state = PO__ST_LIVE;
    po__map_put(&p->by_chn, ch);
    if (s != PO_NO_SOCKET)
        po__map_put(&p->by_sock, ch);
    po_touch(ch);
    if (out)
        *out = ch;
    return PO_OK;
}

po_channel *po_find(po_poller *p, po_chn chn) {
    return p ? po__map_get(&p->by_chn, chn) : NULL;
}

/* Takes the channel's socket out of the kernel.  Callers that are forgetting
 * the registration anyway ignore the result: a socket the application
 * already closed has left the kernel by itself. */
static int po__unregister(po_poller *p, po_channel *ch) {
    if ((ch->state & PO__ST_KINT) == 0)
        return 0;
    ch->state &= (uint8_t)~PO__ST_KINT;
    p->stats.dels++;
    return p->be->del(p->bstate, ch->sock, ch->seqn, &ch->bref);
}

static void po__remove(po_poller *p, po_channel *ch) {
    po__unregister(p, ch);
    if (ch->state & PO__ST_TIMER)
        po__timers_set(&p->timers, ch, PO_NEVER, &p->alloc);
    po__map_del(&p->by_chn, ch);
    po__tokens_del(&p->round.by_seqn, ch);
    if (ch->sock != PO_NO_SOCKET)
        po__map_del(&p->by_sock, ch);
    if (ch->state & PO__ST_MARKED)
        p->nmarked--;
    /* Flagged before deinit, so that a deinit marking or touching its own
     * channel changes nothing.  The record stays on (or joins) the round's
     * list and is returned when the next wait takes the list: it may be the
     * next step of a walk in progress, and until then the application may
     * still hand the pointer to the API, which refuses or ignores it. */
    ch->state = (uint8_t)((ch->state & PO__ST_LISTED) | PO__ST_DELETED);
    ch->act = 0;
    po__enlist(p, ch);
    po__call_deinit(p, ch);
}

int po_delete(po_poller *p, po_chn chn) {
    if (p == NULL)
        return PO_EINVAL;
    if (p->in_callback)
        return PO_EBUSY;
    po_channel *ch = po__map_get(&p->by_chn, chn);
    if (ch == NULL)
        return PO_ENOENT;
    po__remove(p, ch);
    return PO_OK;
}

int po_delete_group(po_poller *p, const po_chn *chns, size_t n) {
    if (p == NULL || (chns == NULL && n != 0))
        return PO_EINVAL;
    if (p->in_callback)
        return PO_EBUSY;
    int deleted = 0;
    for (size_t i = 0; i < n; i++)
        if (po_delete(p, chns[i]) == PO_OK)
            deleted++;
    return deleted;
}

void po_mark_delete(po_channel *ch) {
    if (ch == NULL ||
        (ch->state & (PO__ST_MARKED | PO__ST_LIVE)) != PO__ST_LIVE)
        return;
    ch->state |= PO__ST_MARKED;
    po__poller_of(ch)->nmarked++;
}

int po_delete_marked(po_poller *p) {
    if (p == NULL)
        return PO_EINVAL;
    if (p->in_callback)
        return PO_EBUSY;
    int deleted = 0;
    if (p->nmarked == 0)
        return 0;
    po_channel *ch;
    PO__SLAB_EACH(&p->slabs, ch, PO__ST_MARKED) {
        po__remove(p, ch);
        deleted++;
    }
    return deleted;
}

/* The checks of a call that changes a live channel: its poller in *pp, or
 * an error. */
static int po__changeable(po_channel *ch, po_poller **pp) {
    if (ch == NULL)
        return PO_EINVAL;
    *pp = po__poller_of(ch);
    if ((*pp)->in_callback)
        return PO_EBUSY;
    return (ch->state & PO__ST_LIVE) ? PO_OK : PO_EINVAL;
}

int po_set_socket(po_channel *ch, po_socket s) {
    po_poller *p;
    int rc = po__changeable(ch, &p);
    if (rc != PO_OK)
        return rc;
    if (!po__socket_valid(s))
        return PO_EINVAL;
    if (s != ch->sock && po__socket_taken(p, s))
        return PO_EINUSE;
    if (s != PO_NO_SOCKET && ch->sock == PO_NO_SOCKET &&
        po__reserve_socket(p) != PO_OK)
        return PO_ENOMEM;
    /* Unregister now, while the old socket is surely still the
     * application's: it may close it as soon as this returns. */
    po__unregister(p, ch);
    ch->os_errno = 0;
    ch->state &= (uint8_t)~PO__ST_PARKED;
    if (ch->sock != PO_NO_SOCKET)
        po__map_del(&p->by_sock, ch);
    /* A new SeqN: an event of the old socket still in flight (a duplicated
     * descriptor keeps a registration alive) is now stale.  Deleting before
     * putting keeps the object map within its reserved room. */
    po__tokens_del(&p->round.by_seqn, ch);
    po__tokens_put(&p->round.by_seqn, ch, &p->next_seqn);
    ch->sock = s;
    if (s != PO_NO_SOCKET)
        po__map_put(&p->by_sock, ch);
    /* What the old socket reported must not reach the new incarnation in a
     * walk in progress (a PO_ERR of a dead connection would condemn the
     * healthy one).  What belongs to the channel stays: its deadline's
     * PO_TIMEOUT and the internal triggers its probe raised. */
    ch->act &= (po_triggers)(PO_POOL | PO_TIMEOUT | (ch->wants & PO_ERR));
    po_touch(ch);
    return PO_OK;
}

int po_set_deadline(po_channel *ch, po_time at) {
    po_poller *p;
    int rc = po__changeable(ch, &p);
    return rc == PO_OK ? po__timers_set(&p->timers, ch, at, &p->alloc) : rc;
}

po_time po_channel_deadline(const po_channel *ch) {
    if (ch == NULL || !(ch->state & PO__ST_TIMER))
        return PO_NEVER;
    return po__timers_get(&po__poller_of((po_channel *)ch)->timers, ch);
}

/* ------------------------------------------------------------------------ */
/* fork                                                                     */

int po_after_fork(po_poller *p) {
    if (p == NULL)
        return PO_EINVAL;
#ifdef _WIN32
    return PO_ENOTSUP; /* processes do not fork */
#else
    if (p->in_callback)
        return PO_EBUSY;
    unsigned long self = po__process();
    if (p->owner == self)
        return PO_OK;
    /* The interest the parent's object holds is forgotten before anything
     * else, so that nothing below unregisters a socket from it (a
     * notifier's new socket would).  Then each notifier's object, then the
     * backend's, the one step that cannot be taken twice (kqueue's): a
     * failure leaves the poller for another po_after_fork() or
     * po_destroy(), and a notifier renewed by a failed call is renewed
     * again, its first object closed, which only the child held. */
    po_channel *ch;
    PO__SLAB_EACH(&p->slabs, ch, PO__ST_LIVE) {
        ch->state &= (uint8_t)~PO__ST_KINT;
    }
    int rc = PO_OK;
    PO__SLAB_EACH(&p->slabs, ch, PO__ST_LIVE) {
        if (rc == PO_OK)
            rc = po__notifier_after_fork(ch);
        if (rc == PO_OK)
            rc = po__signal_after_fork(ch);
    }
    if (rc == PO_OK)
        rc = p->be->after_fork(p->bstate);
    if (rc != PO_OK) {
        if (rc == PO_ESYS)
            p->last_errno = errno;
        return rc;
    }
    /* Lazily, as at attach: the next wait probes each channel and adds its
     * socket with the interest it wants then. */
    PO__SLAB_EACH(&p->slabs, ch, PO__ST_LIVE) { po_touch(ch); }
    p->owner = self;
    return PO_OK;
#endif
}

/* ------------------------------------------------------------------------ */
/* The wait                                                                 */

/* The kernel interest wants need. */
#define PO__INTEREST(w)                                                        \
    ((((w) & (PO_RECV | PO_NOTIFY | PO_ACCEPT)) ? PO__IN : 0u) |               \
     (((w) & (PO_SEND | PO_CONNECT)) ? PO__OUT : 0u))
/* For each wants, the state bits PO__ST_KINT and PO__ST_PARKED of a channel
 * the probe need do nothing for: that interest held, not parked.  Wants
 * with an internal trigger get 0xff, which no state matches, so that one
 * load and one compare tell the probe's steady state. */
#define PO__SETTLED(w) (((w)&PO_INTERNAL_TRIGGERS) ? 0xffu : PO__INTEREST(w))
#define PO__SETTLED4(w)                                                        \
    PO__SETTLED(w), PO__SETTLED((w) + 1), PO__SETTLED((w) + 2),                \
        PO__SETTLED((w) + 3)
#define PO__SETTLED16(w)                                                       \
    PO__SETTLED4(w), PO__SETTLED4((w) + 4), PO__SETTLED4((w) + 8),             \
        PO__SETTLED4((w) + 12)
#define PO__SETTLED64(w)                                                       \
    PO__SETTLED16(w), PO__SETTLED16((w) + 16), PO__SETTLED16((w) + 32),        \
        PO__SETTLED16((w) + 48)
static const uint8_t po__settled[256] = {PO__SETTLED64(0), PO__SETTLED64(64),
                                         PO__SETTLED64(128),
                                         PO__SETTLED64(192)};

/* Brings the kernel in line with the channel's wants when they need another
 * interest than the kernel holds: at most one add, mod or del.  A failure
 * parks the channel: it is unregistered, reports PO_ERR and makes no kernel
 * call until its socket is set again.  Out of line, so that the probe's
 * steady state, where nothing changed, stays a few instructions. */
static void po__sync(po_poller *p, po_channel *ch, unsigned k) {
    unsigned held = ch->state & PO__ST_KINT;
    if (ch->sock == PO_NO_SOCKET || ch->os_errno != 0)
        k = 0;
    if (k == held)
        return;
    int e;
    if (k == 0) {
        e = po__unregister(p, ch);
        if (e != 0 && ch->os_errno == 0)
            po__park(ch, e);
        return;
    }
    if (held == 0) {
        p->stats.adds++;
        e = p->be->add(p->bstate, ch->sock, k, ch->seqn, &ch->bref);
        /* The kernel still holds the socket: a del that failed left it
         * there.  Take that registration over, with this SeqN. */
        if (e == EEXIST && p->be->add_may_exist) {
            p->stats.mods++;
            if (p->be->mod(p->bstate, ch->sock, k, ch->seqn, &ch->bref) == 0)
                e = 0;
        }
    } else {
        p->stats.mods++;
        e = p->be->mod(p->bstate, ch->sock, k, ch->seqn, &ch->bref);
    }
    if (e == 0) {
        ch->state = (uint8_t)((ch->state & ~PO__ST_KINT) | k);
        return;
    }
    po__park(ch, e);
    po__unregister(p, ch);
}

/* The probe's answer when it needs more than the steady state: a kernel
 * call, or internal triggers and a parked channel's PO_ERR, which are
 * reported without waiting. */
static void po__probe_act(po_poller *p, po_channel *ch) {
    po__sync(p, ch, PO__INTEREST(ch->wants));
    po_triggers t = (po_triggers)((ch->wants & PO_INTERNAL_TRIGGERS) |
                                  (ch->os_errno ? PO_ERR : 0));
    if (t)
        po__round_trigger(&p->round, ch, t);
}

/* Phase A for one channel.  Inline in the wait's loops; the steady state
 * (same interest, no internal trigger, not parked) takes no other call than
 * the probe. */
static inline void po__probe(po_poller *p, po_channel *ch, uint8_t state) {
    po_triggers want = ch->ops->triggers(ch, ch->ctx);
    ch->wants = want;
    /* `state` was read before the probe, which cannot change the bits
     * tested here: the calls that could fail with PO_EBUSY in a probe. */
    if ((state & (PO__ST_KINT | PO__ST_PARKED)) != po__settled[want])
        po__probe_act(p, ch);
}

/* Fires the deadlines that have passed; returns the time it took as now. */
static po_time po__fire_deadlines(po_poller *p) {
    po_time now = po_now();
    po_channel *ch;
    while ((ch = po__timers_pop_due(&p->timers, now)) != NULL)
        po__round_trigger(&p->round, ch, PO_TIMEOUT);
    return now;
}

/* Phase B's kernel wait, for up to `timeout` ns (backend.h) through `wait`
 * (the backend's wait, or its timed one), and phase C for the events the
 * backend left in its buffer: harvested here, in the wait's own frame.
 * Returns 0 or an errno (EINTR included). */
PO__ALWAYS_INLINE int
po__kernel_wait(po_poller *p, int (*wait)(void *, po__round *, po__timeout),
                po__timeout timeout) {
    p->stats.waits++;
    int n = wait(p->bstate, &p->round, timeout);
    if (n <= 0)
        return -n;
    po__harvest_events(&p->round, p->events, (size_t)n);
    return 0;
}

/* Phase B (and C) for a wait that ends at a time: the caller's `until`
 * (0: at once; PO_NEVER: no limit) or the nearest deadline, whichever
 * comes first, asked of the kernel to the nanosecond.  A wait the kernel
 * ends before a deadline's time (a coarse timer, events that were all
 * stale) waits again for the rest, so that an untriggered round means the
 * time has come; before the caller's own `until` only when it is `exact`
 * (po_wait_until()): po_wait()'s timeout is the kernel wait's, as it always
 * was.  The deadlines that passed are added to the events.  Returns the
 * kernel wait's result. */
static PO__NOINLINE int po__wait_timed(po_poller *p, po_time until,
                                       bool exact) {
    for (;;) {
        po_time at = po__timers_next(&p->timers);
        if (until < at)
            at = until;
        po__timeout left = at == PO_NEVER ? PO__FOREVER : 0;
        bool spun = false; /* the kernel wait ends before `at` on purpose */
        if (at != 0 && at != PO_NEVER) {
            po_time now = po_now();
            if (at > now)
                left = at - now < (po_time)INT64_MAX ? (po__timeout)(at - now)
                                                     : INT64_MAX;
            if (left > 0 && p->spin > 0) {
                spun = true;
                left = left > p->spin ? left - p->spin : 0;
            }
        }
        int e = po__kernel_wait(
            p, left > 0 && p->be->wait_timed ? p->be->wait_timed : p->be->wait,
            left);
        po_time now = po__fire_deadlines(p);
        if (e != 0 || p->round.ntrig || now >= until ||
            (at == until && !exact && !spun))
            return e;
    }
}

/* Takes a channel off the list the wait took, for a new round, and returns
 * its state; a deleted one (PO__ST_DELETED) is freed. */
static inline uint8_t po__unlist(po_poller *p, po_channel *ch) {
    uint8_t state = (uint8_t)(ch->state & ~PO__ST_LISTED);
    ch->state = state;
    ch->act = 0;
    if (state & PO__ST_DELETED)
        po__slab_give(&p->slabs, ch, &p->alloc);
    return state;
}

/* po_wait() and po_wait_until(): a wait that ends at `deadline` (PO_NEVER:
 * none), or timeout_ms after phase A when that is not negative (0: at
 * once).  po_wait() passes PO_NEVER, po_wait_until() -1, so that once
 * inlined the common waits (at once, or without limit, and no deadline
 * set) reach the kernel in as few instructions as before either
 * existed. */
PO__ALWAYS_INLINE int po__wait(po_poller *p, int timeout_ms, po_time deadline,
                               po_triggers *total) {
    if (p == NULL)
        return PO_EINVAL;
    if (p->in_callback)
        return PO_EBUSY;

    /* Phase A: take the candidate list; probe it (changed mode) or every
     * channel (full mode); sync the kernel where interest changed. */
    po__round *r = &p->round;
    po_channel *cand = r->walk.list;
    r->walk.list = NULL;
    r->ntrig = 0;
    r->total = 0;
    r->walk.round++;
    p->in_callback = true;
    if (p->changed) {
        for (po_channel *ch = cand, *next; ch != NULL; ch = next) {
            next = ch->link;
            uint8_t state = po__unlist(p, ch);
            if (!(state & PO__ST_DELETED))
                po__probe(p, ch, state);
        }
    } else {
        po_channel *ch, *next;
        for (ch = cand; ch != NULL; ch = next) {
            next = ch->link;
            po__unlist(p, ch);
        }
        PO__SLAB_EACH(&p->slabs, ch, PO__ST_LIVE) {
            po__probe(p, ch, ch->state);
        }
    }
    p->in_callback = false;

    /* Phase B: wait, without blocking if anything is already triggered.
     * Phase C runs inside: each event is delivered by token, by the
     * backend or from its buffer (po__kernel_wait()). */
    int ms = r->ntrig ? 0 : timeout_ms, e;
    if (p->timers.by_ch.count == 0 &&
        (ms == 0 || (ms < 0 && deadline == PO_NEVER))) {
        e = po__kernel_wait(p, p->be->wait, ms); /* 0, or -1: no limit */
    } else {
        po_time until = ms < 0    ? deadline
                        : ms == 0 ? 0
                                  : po_now() + (po_time)ms * PO_MSEC;
        e = po__wait_timed(p, until, ms < 0);
    }
    int rc = (int)r->ntrig;
    if (e != 0 && e != EINTR) {
        p->last_errno = e;
        rc = PO_ESYS;
    }
    if (total)
        *total = r->ntrig ? r->total : PO_TIMEOUT;
    return rc;
}

int po_wait(po_poller *p, int timeout_ms, po_triggers *total) {
    return po__wait(p, timeout_ms, PO_NEVER, total);
}

int po_wait_until(po_poller *p, po_time deadline, po_triggers *total) {
    return po__wait(p, -1, deadline, total);
}
