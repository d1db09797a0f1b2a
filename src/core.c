/*
 * The core: the dual map, the channel lifecycle and the three-phase wait.
 * It knows no operating system; the kernel is reached only through the
 * backend table (backend.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "map.h"

enum {
    PO_CH_MARKED = 1u, /* waiting for po_delete_marked() */
    PO_CH_LISTED = 2u, /* on the triggered list of the current round */
    PO_CH_DELETED = 4u /* deleted; if listed, freed by the next wait */
};

/* Fields used by every wait come first, so one cache line serves phase A and
 * phase C. */
struct po_channel {
    const po_channel_ops *ops;
    void *ctx;
    po_channel *trig_next; /* the triggered list of this round */
    po_seqn seqn;
    po_socket sock;
    int os_errno;     /* a failed kernel call: the channel is parked */
    po_triggers want; /* what the probe asked for this round */
    po_triggers act;  /* what this round produced */
    uint8_t kint;     /* PO_IN/PO_OUT the kernel holds; 0: unregistered */
    uint8_t flags;
    uint32_t bslot; /* the backend's word */
    uint32_t idx;   /* position in poller->all */
    po_chn chn;
    po_poller *poller;
};

struct po_poller {
    po_allocator alloc;
    const po_backend_ops *be;
    void *bstate;
    po_map by_chn;  /* channel number -> SeqN (the identity map) */
    po_map by_seqn; /* SeqN -> channel (the object map) */
    po_map by_sock; /* socket -> SeqN: one channel per socket */
    po_channel **all;
    size_t nall, capall;
    size_t nsock; /* channels with a socket */
    size_t nmarked;
    po_seqn next_seqn;
    po_channel *trig_head;
    size_t ntrig;
    po_triggers total;
    bool in_callback; /* inside a probe or a deinit */
    uint64_t round;
    int last_errno;
    po_stats stats;
};

/* ------------------------------------------------------------------------ */
/* Allocation                                                               */

static void *po_std_malloc(size_t n, void *ctx) {
    (void)ctx;
    return malloc(n);
}
static void *po_std_realloc(void *ptr, size_t n, void *ctx) {
    (void)ctx;
    return realloc(ptr, n);
}
static void po_std_free(void *ptr, void *ctx) {
    (void)ctx;
    free(ptr);
}
static const po_allocator po_std_allocator = {po_std_malloc, po_std_realloc,
                                              po_std_free, NULL};

const po_allocator *po__allocator(const po_poller *p) { return &p->alloc; }

static uint64_t po_ptr_key(const po_channel *ch) {
    return (uint64_t)(uintptr_t)ch;
}
static po_channel *po_key_ptr(uint64_t v) { return (po_channel *)(uintptr_t)v; }
/* Sockets are keys as unsigned values; PO_NO_SOCKET is never stored. */
static uint64_t po_sock_key(po_socket s) { return (uint64_t)s; }

/* ------------------------------------------------------------------------ */
/* Backend choice                                                           */

static const po_backend_ops *const po_backends[] = {
#ifdef POLLEROS_HAVE_EPOLL
    &po_backend_epoll,
#endif
#ifdef POLLEROS_HAVE_KQUEUE
    &po_backend_kqueue,
#endif
#ifdef POLLEROS_HAVE_WEPOLL
    &po_backend_wepoll,
#endif
#ifdef POLLEROS_HAVE_POLL
    &po_backend_poll,
#endif
};
enum { PO_NBACKENDS = sizeof po_backends / sizeof po_backends[0] };

static const char *const po_backend_names[] = {
    [PO_BACKEND_EPOLL] = "epoll",
    [PO_BACKEND_POLL] = "poll",
    [PO_BACKEND_KQUEUE] = "kqueue",
    [PO_BACKEND_WEPOLL] = "wepoll",
};

/* The environment names a backend only when the caller did not. */
static int po_pick_backend(po_backend_kind kind, const po_backend_ops **out) {
    if (kind == PO_BACKEND_DEFAULT) {
        const char *env = getenv("POLLEROS_BACKEND");
        if (env != NULL && *env != '\0') {
            for (size_t k = PO_BACKEND_EPOLL; k <= PO_BACKEND_WEPOLL; k++)
                if (strcmp(env, po_backend_names[k]) == 0)
                    kind = (po_backend_kind)k;
            if (kind == PO_BACKEND_DEFAULT)
                return PO_EINVAL;
        }
    } else if (kind < PO_BACKEND_EPOLL || kind > PO_BACKEND_WEPOLL) {
        return PO_EINVAL;
    }
    for (size_t i = 0; i < PO_NBACKENDS; i++)
        if (kind == PO_BACKEND_DEFAULT || po_backends[i]->kind == kind) {
            *out = po_backends[i];
            return PO_OK;
        }
    return PO_ENOTSUP;
}

/* ------------------------------------------------------------------------ */
/* Poller                                                                   */

po_poller *po_create(const po_options *opt, int *err) {
    static const po_options defaults = {PO_BACKEND_DEFAULT, NULL, 0};
    if (opt == NULL)
        opt = &defaults;
    const po_allocator *a = opt->allocator ? opt->allocator : &po_std_allocator;
    const po_backend_ops *be = NULL;
    int rc = PO_EINVAL;
    po_poller *p = NULL;
    if (a->malloc == NULL || a->realloc == NULL || a->free == NULL)
        goto fail;
    rc = po_pick_backend(opt->backend, &be);
    if (rc != PO_OK)
        goto fail;
    rc = PO_ENOMEM;
    p = a->malloc(sizeof *p, a->ctx);
    if (p == NULL)
        goto fail;
    memset(p, 0, sizeof *p);
    p->alloc = *a;
    p->be = be;
    p->next_seqn = 1;
    p->round = 1; /* 0 is a fresh iterator's round */
    unsigned max_events = opt->max_events ? opt->max_events : 256;
    rc = be->init(p, &p->bstate, max_events < 65536 ? max_events : 65536);
    if (rc != PO_OK) {
        int saved = errno;
        a->free(p, a->ctx);
        errno = saved;
        goto fail;
    }
    if (err)
        *err = PO_OK;
    return p;
fail:
    if (err)
        *err = rc;
    return NULL;
}

static void po_free_channel(po_poller *p, po_channel *ch) {
    p->alloc.free(ch, p->alloc.ctx);
}

static void po_call_deinit(po_poller *p, po_channel *ch) {
    if (ch->ops->deinit == NULL)
        return;
    p->in_callback = true;
    ch->ops->deinit(ch, ch->ctx);
    p->in_callback = false;
}

void po_destroy(po_poller *p) {
    if (p == NULL)
        return;
    /* Closing the kernel object unregisters every socket at once; the
     * deinits that follow may then close their sockets freely. */
    p->be->deinit(p, p->bstate);
    for (po_channel *ch = p->trig_head, *next; ch != NULL; ch = next) {
        next = ch->trig_next;
        if (ch->flags & PO_CH_DELETED)
            po_free_channel(p, ch);
    }
    for (size_t i = 0; i < p->nall; i++) {
        po_call_deinit(p, p->all[i]);
        po_free_channel(p, p->all[i]);
    }
    po_map_free(&p->by_chn, &p->alloc);
    po_map_free(&p->by_seqn, &p->alloc);
    po_map_free(&p->by_sock, &p->alloc);
    if (p->all)
        p->alloc.free(p->all, p->alloc.ctx);
    po_allocator a = p->alloc;
    a.free(p, a.ctx);
}

const char *po_backend_name(const po_poller *p) {
    return p ? p->be->name : NULL;
}

void po_get_stats(const po_poller *p, po_stats *out) {
    if (p && out)
        *out = p->stats;
}

int po_last_errno(const po_poller *p) { return p ? p->last_errno : 0; }

size_t po_count(const po_poller *p) { return p ? p->nall : 0; }

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
    default:
        return "unknown error";
    }
}

/* ------------------------------------------------------------------------ */
/* Channels                                                                 */

/* Room for one more socket in the socket map and the backend. */
static int po_reserve_socket(po_poller *p) {
    int rc = po_map_reserve(&p->by_sock, 1, &p->alloc);
    if (rc == PO_OK && p->be->reserve)
        rc = p->be->reserve(p, p->bstate, p->nsock + 1);
    return rc;
}

static bool po_socket_taken(const po_poller *p, po_socket s) {
    uint64_t unused;
    return s != PO_NO_SOCKET &&
           po_map_get(&p->by_sock, po_sock_key(s), &unused);
}

int po_attach(po_poller *p, po_chn chn, po_socket s, const po_channel_ops *ops,
              void *ctx, po_channel **out) {
    if (p == NULL || ops == NULL || ops->triggers == NULL)
        return PO_EINVAL;
    if (p->in_callback)
        return PO_EBUSY;
    uint64_t unused;
    if (po_map_get(&p->by_chn, chn, &unused))
        return PO_EEXIST;
    if (po_socket_taken(p, s))
        return PO_EINUSE;
    if (p->nall == p->capall) {
        size_t cap = p->capall ? p->capall * 2 : 64;
        po_channel **all =
            p->alloc.realloc(p->all, cap * sizeof *all, p->alloc.ctx);
        if (all == NULL)
            return PO_ENOMEM;
        p->all = all;
        p->capall = cap;
    }
    if (po_map_reserve(&p->by_chn, 1, &p->alloc) != PO_OK ||
        po_map_reserve(&p->by_seqn, 1, &p->alloc) != PO_OK ||
        (s != PO_NO_SOCKET && po_reserve_socket(p) != PO_OK))
        return PO_ENOMEM;
    po_channel *ch = p->alloc.malloc(sizeof *ch, p->alloc.ctx);
    if (ch == NULL)
        return PO_ENOMEM;
    memset(ch, 0, sizeof *ch);
    ch->ops = ops;
    ch->ctx = ctx;
    ch->seqn = p->next_seqn++;
    ch->sock = s;
    ch->chn = chn;
    ch->poller = p;
    ch->idx = (uint32_t)p->nall;
    p->all[p->nall++] = ch;
    po_map_put(&p->by_chn, chn, ch->seqn);
    po_map_put(&p->by_seqn, ch->seqn, po_ptr_key(ch));
    if (s != PO_NO_SOCKET) {
        po_map_put(&p->by_sock, po_sock_key(s), ch->seqn);
        p->nsock++;
    }
    if (out)
        *out = ch;
    return PO_OK;
}

po_channel *po_find(po_poller *p, po_chn chn) {
    uint64_t seqn, ptr;
    if (p == NULL || !po_map_get(&p->by_chn, chn, &seqn) ||
        !po_map_get(&p->by_seqn, seqn, &ptr))
        return NULL;
    return po_key_ptr(ptr);
}

/* Takes the channel's socket out of the kernel.  The result is ignored by
 * callers that are forgetting the registration anyway: a socket the
 * application already closed has left the kernel by itself. */
static int po_unregister(po_poller *p, po_channel *ch) {
    if (ch->kint == 0)
        return 0;
    ch->kint = 0;
    p->stats.dels++;
    return p->be->del(p->bstate, ch->sock, &ch->bslot);
}

static void po_remove(po_poller *p, po_channel *ch) {
    po_unregister(p, ch);
    po_map_del(&p->by_chn, ch->chn);
    po_map_del(&p->by_seqn, ch->seqn);
    if (ch->sock != PO_NO_SOCKET) {
        po_map_del(&p->by_sock, po_sock_key(ch->sock));
        p->nsock--;
    }
    po_channel *last = p->all[--p->nall];
    last->idx = ch->idx;
    p->all[ch->idx] = last;
    if (ch->flags & PO_CH_MARKED)
        p->nmarked--;
    /* Flagged before deinit, so that a deinit marking its own channel
     * changes nothing. */
    ch->flags |= PO_CH_DELETED;
    po_call_deinit(p, ch);
    /* A listed channel may be the next step of a walk in progress: it stays
     * in memory, flagged, until the next wait. */
    if (!(ch->flags & PO_CH_LISTED))
        po_free_channel(p, ch);
}

int po_delete(po_poller *p, po_chn chn) {
    if (p == NULL)
        return PO_EINVAL;
    if (p->in_callback)
        return PO_EBUSY;
    po_channel *ch = po_find(p, chn);
    if (ch == NULL)
        return PO_ENOENT;
    po_remove(p, ch);
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
    if (ch == NULL || (ch->flags & (PO_CH_MARKED | PO_CH_DELETED)))
        return;
    ch->flags |= PO_CH_MARKED;
    ch->poller->nmarked++;
}

int po_delete_marked(po_poller *p) {
    if (p == NULL)
        return PO_EINVAL;
    if (p->in_callback)
        return PO_EBUSY;
    int deleted = 0;
    /* po_remove moves the last channel into the freed place: look at the same
     * index again. */
    for (size_t i = 0; p->nmarked > 0 && i < p->nall;) {
        if (p->all[i]->flags & PO_CH_MARKED) {
            po_remove(p, p->all[i]);
            deleted++;
        } else {
            i++;
        }
    }
    return deleted;
}

int po_set_socket(po_channel *ch, po_socket s) {
    if (ch == NULL)
        return PO_EINVAL;
    po_poller *p = ch->poller;
    if (p->in_callback)
        return PO_EBUSY;
    if (ch->flags & PO_CH_DELETED)
        return PO_EINVAL;
    if (s != ch->sock && po_socket_taken(p, s))
        return PO_EINUSE;
    if (s != PO_NO_SOCKET && ch->sock == PO_NO_SOCKET &&
        po_reserve_socket(p) != PO_OK)
        return PO_ENOMEM;
    /* Unregister now, while the old socket is surely still the
     * application's: it may close it as soon as this returns. */
    po_unregister(p, ch);
    ch->os_errno = 0;
    if (ch->sock != PO_NO_SOCKET) {
        po_map_del(&p->by_sock, po_sock_key(ch->sock));
        p->nsock--;
    }
    /* A new SeqN: an event of the old socket still in flight (a duplicated
     * descriptor keeps a registration alive) is now stale.  Deleting before
     * putting keeps the object map within its reserved room. */
    po_map_del(&p->by_seqn, ch->seqn);
    ch->seqn = p->next_seqn++;
    po_map_put(&p->by_seqn, ch->seqn, po_ptr_key(ch));
    po_map_set(&p->by_chn, ch->chn, ch->seqn);
    ch->sock = s;
    if (s != PO_NO_SOCKET) {
        po_map_put(&p->by_sock, po_sock_key(s), ch->seqn);
        p->nsock++;
    }
    return PO_OK;
}

/* ------------------------------------------------------------------------ */
/* The wait                                                                 */

static void po_trigger(po_poller *p, po_channel *ch, po_triggers t) {
    if (ch->act == 0) {
        ch->flags |= PO_CH_LISTED;
        ch->trig_next = p->trig_head;
        p->trig_head = ch;
        p->ntrig++;
    }
    ch->act |= t;
    p->total |= t;
}

/* Forgets the last round: clears acts and frees channels deleted while
 * listed.  O(channels triggered last round). */
static void po_clear_round(po_poller *p) {
    for (po_channel *ch = p->trig_head, *next; ch != NULL; ch = next) {
        next = ch->trig_next;
        if (ch->flags & PO_CH_DELETED) {
            po_free_channel(p, ch);
        } else {
            ch->act = 0;
            ch->flags &= (uint8_t)~PO_CH_LISTED;
        }
    }
    p->trig_head = NULL;
    p->ntrig = 0;
    p->total = 0;
    p->round++;
}

static unsigned po_interest(po_triggers want) {
    return ((want & (PO_RECV | PO_NOTIFY | PO_ACCEPT)) ? PO_IN : 0u) |
           ((want & (PO_SEND | PO_CONNECT)) ? PO_OUT : 0u);
}

/* Brings the kernel in line with the channel's wants: at most one add, mod or
 * del, and none when nothing changed.  A failure parks the channel: it is
 * unregistered, reports PO_ERR and makes no kernel call until its socket is
 * set again. */
static void po_sync(po_poller *p, po_channel *ch) {
    unsigned k = 0;
    if (ch->sock != PO_NO_SOCKET && ch->os_errno == 0)
        k = po_interest(ch->want);
    if (k == ch->kint)
        return;
    int e;
    if (k == 0) {
        e = po_unregister(p, ch);
        if (e != 0 && ch->os_errno == 0)
            ch->os_errno = e;
        return;
    }
    if (ch->kint == 0) {
        p->stats.adds++;
        e = p->be->add(p->bstate, ch->sock, k, ch->seqn, &ch->bslot);
    } else {
        p->stats.mods++;
        e = p->be->mod(p->bstate, ch->sock, k, ch->seqn, &ch->bslot);
    }
    if (e == 0) {
        ch->kint = (uint8_t)k;
        return;
    }
    ch->os_errno = e;
    po_unregister(p, ch);
}

static po_triggers po_translate(po_triggers want, unsigned ev) {
    po_triggers t = 0;
    if (ev & PO_EV_IN) {
        if (want & PO_RECV)
            t |= PO_RECV;
        else if (want & PO_NOTIFY)
            t |= PO_NOTIFY;
        else if (want & PO_ACCEPT)
            t |= PO_ACCEPT;
    }
    if (ev & PO_EV_OUT) {
        if (want & PO_SEND)
            t |= PO_SEND;
        else if (want & PO_CONNECT)
            t |= PO_CONNECT;
    }
    if (ev & PO_EV_HUP)
        t |= (want & PO_RECV) ? PO_RECV : PO_ERR;
    if (ev & (PO_EV_ERR | PO_EV_NVAL))
        t |= PO_ERR;
    return t;
}

void po__deliver(po_poller *p, po_seqn token, unsigned events) {
    uint64_t v;
    if (!po_map_get(&p->by_seqn, token, &v)) {
        p->stats.stale++;
        return;
    }
    po_channel *ch = po_key_ptr(v);
    p->stats.events++;
    if (events & PO_EV_NVAL)
        ch->os_errno = EBADF; /* parked; unregistered by the next wait */
    po_triggers t = po_translate(ch->want, events);
    if (t)
        po_trigger(p, ch, t);
}

int po_wait(po_poller *p, int timeout_ms, po_triggers *total) {
    if (p == NULL)
        return PO_EINVAL;
    if (p->in_callback)
        return PO_EBUSY;
    po_clear_round(p);

    /* Phase A: probe, sync the kernel where interest changed. */
    p->in_callback = true;
    for (size_t i = 0; i < p->nall; i++) {
        po_channel *ch = p->all[i];
        ch->want = ch->ops->triggers(ch, ch->ctx);
        po_sync(p, ch);
        po_triggers internal = ch->want & PO_INTERNAL_TRIGGERS;
        if (ch->os_errno != 0)
            internal |= PO_ERR;
        if (internal)
            po_trigger(p, ch, internal);
    }
    p->in_callback = false;

    /* Phase B: wait, without blocking if anything is already triggered.
     * Phase C runs inside: the backend delivers each event by token. */
    p->stats.waits++;
    int e = p->be->wait(p, p->bstate, p->ntrig ? 0 : timeout_ms);
    int rc = (int)p->ntrig;
    if (e != 0 && e != EINTR) {
        p->last_errno = e;
        rc = PO_ESYS;
    }
    if (total)
        *total = p->ntrig ? p->total : PO_TIMEOUT;
    return rc;
}

po_channel *po_next_triggered(po_poller *p, po_iter *it) {
    if (p == NULL || it == NULL)
        return NULL;
    if (it->round != p->round) {
        if (it->round != 0)
            return NULL; /* a walk of an earlier round */
        it->round = p->round;
        it->next = p->trig_head;
    }
    po_channel *ch = it->next;
    while (ch != NULL && (ch->flags & PO_CH_DELETED))
        ch = ch->trig_next;
    it->next = ch ? ch->trig_next : NULL;
    return ch;
}

/* ------------------------------------------------------------------------ */
/* Accessors                                                                */

po_chn po_channel_chn(const po_channel *ch) { return ch->chn; }
po_seqn po_channel_seqn(const po_channel *ch) { return ch->seqn; }
po_socket po_channel_socket(const po_channel *ch) { return ch->sock; }
void *po_channel_ctx(const po_channel *ch) { return ch->ctx; }
po_triggers po_channel_act(const po_channel *ch) { return ch->act; }
po_triggers po_channel_wants(const po_channel *ch) { return ch->want; }
int po_channel_errno(const po_channel *ch) { return ch->os_errno; }
