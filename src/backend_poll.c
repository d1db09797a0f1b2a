/*
 * poll(2).  The kernel keeps no state, so the backend keeps the pollfd vector
 * itself.  Unlike a vector rebuilt every round, it is edited in place by
 * add/mod/del (O(1) each: a deleted entry is replaced by the last one), so a
 * round that changed nothing costs only the poll() call.  The token of an
 * event is its vector index, mapped back to the SeqN of the channel.
 * Add checks that the descriptor can be watched at all (po__poll_check(),
 * os.h): that check and the wait are this backend's fault sites (fault.h);
 * mod and del edit the vector alone.  On Windows the start and stop of
 * Winsock are the create and close sites.
 */
#include <errno.h>
#include <string.h>

#include "backend.h"
#include "os.h"

typedef struct po__pollset {
    po__pollfd *fds;
    po_seqn *seqn;   /* fds[i] belongs to the channel with SeqN seqn[i] */
    uint32_t **bref; /* ... whose index word is *bref[i] */
    size_t n, cap;
    size_t max_events; /* delivered per wait, as with the other backends */
    size_t start;      /* where the next harvest begins */
    const po_allocator *a;
} po__pollset;

static int po__poll_init(void **state, const po_allocator *a,
                         unsigned max_events) {
    po__pollset *ps = a->malloc(sizeof *ps, a->ctx);
    if (ps == NULL)
        return PO_ENOMEM;
    memset(ps, 0, sizeof *ps);
    ps->a = a;
    int e = po__poll_start();
    if (e != 0) {
        a->free(ps, a->ctx);
        errno = e;
        return PO_ESYS;
    }
    ps->max_events = max_events;
    *state = ps;
    return PO_OK;
}

static void po__poll_deinit(void *state) {
    po__pollset *ps = state;
    const po_allocator *a = ps->a;
    void *arrays[] = {ps->fds, ps->seqn, ps->bref, ps};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        if (arrays[i] != NULL)
            a->free(arrays[i], a->ctx);
    po__poll_stop();
}

/* Grows one array to cap elements; the old block stays valid on failure. */
static int po__poll_grow(const po_allocator *a, void **arr, size_t size,
                         size_t cap) {
    void *fresh = a->realloc(*arr, cap * size, a->ctx);
    if (fresh == NULL)
        return PO_ENOMEM;
    *arr = fresh;
    return PO_OK;
}

static int po__poll_reserve(void *state, size_t sockets) {
    po__pollset *ps = state;
    if (sockets <= ps->cap)
        return PO_OK;
    size_t cap = ps->cap ? ps->cap * 2 : 64;
    while (cap < sockets)
        cap *= 2;
    const po_allocator *a = ps->a;
    if (po__poll_grow(a, (void **)&ps->fds, sizeof *ps->fds, cap) ||
        po__poll_grow(a, (void **)&ps->seqn, sizeof *ps->seqn, cap) ||
        po__poll_grow(a, (void **)&ps->bref, sizeof *ps->bref, cap))
        return PO_ENOMEM;
    ps->cap = cap;
    return PO_OK;
}

static short po__poll_events(unsigned interest) {
    return (short)(((interest & PO__IN) ? POLLIN : 0) |
                   ((interest & PO__OUT) ? POLLOUT : 0));
}

static int po__poll_add(void *state, po_socket s, unsigned interest,
                        po_seqn token, uint32_t *bref) {
    po__pollset *ps = state;
    if (ps->n == ps->cap)
        return ENOMEM; /* the core reserves room: not reached */
    int e = po__poll_check(s);
    if (e != 0)
        return e;
    size_t i = ps->n++;
    ps->fds[i].fd = s;
    ps->fds[i].events = po__poll_events(interest);
    ps->fds[i].revents = 0;
    ps->seqn[i] = token;
    ps->bref[i] = bref;
    *bref = (uint32_t)i;
    return 0;
}

static int po__poll_mod(void *state, po_socket s, unsigned interest,
                        po_seqn token, uint32_t *bref) {
    po__pollset *ps = state;
    (void)s;
    ps->fds[*bref].events = po__poll_events(interest);
    ps->seqn[*bref] = token;
    return 0;
}

static int po__poll_del(void *state, po_socket s, po_seqn token,
                        uint32_t *bref) {
    (void)token;
    po__pollset *ps = state;
    (void)s;
    size_t i = *bref, last = --ps->n;
    ps->fds[i] = ps->fds[last];
    ps->seqn[i] = ps->seqn[last];
    ps->bref[i] = ps->bref[last];
    *ps->bref[i] = (uint32_t)i;
    return 0;
}

static int po__poll_wait(void *state, po__round *r, po__timeout timeout) {
    po__pollset *ps = state;
    int n = po__poll(ps->fds, ps->n, timeout);
    if (n < 0)
        return n;
    /* Harvest at most max_events, starting where the last harvest stopped,
     * so that with more ready sockets than that every one gets its turn. */
    size_t take = (size_t)n < ps->max_events ? (size_t)n : ps->max_events;
    size_t left = take;
    size_t i = ps->start < ps->n ? ps->start : 0;
    po__harvest h;
    po__harvest_begin(&h, r);
    for (size_t seen = 0; left > 0 && seen < ps->n; seen++, i++) {
        if (i == ps->n)
            i = 0;
        short rev = ps->fds[i].revents;
        if (rev == 0)
            continue;
        left--;
        ps->start = i + 1;
        unsigned ev = ((rev & POLLIN) ? PO__EV_IN : 0u) |
                      ((rev & POLLOUT) ? PO__EV_OUT : 0u) |
                      ((rev & POLLERR) ? PO__EV_ERR : 0u) |
                      ((rev & POLLHUP) ? po__poll_hup(rev) : 0u) |
                      ((rev & POLLNVAL) ? PO__EV_NVAL : 0u);
        po__deliver(&h, ps->seqn[i], ev);
    }
    po__harvest_end(&h, take - left);
    return 0;
}

/* The kernel holds nothing of a poll backend: the vector is the
 * registrations, which the core makes again. */
static int po__poll_after_fork(void *state) {
    po__pollset *ps = state;
    ps->n = 0;
    ps->start = 0;
    return PO_OK;
}

const po__backend_ops po__backend_poll = {
    "poll",
    PO_BACKEND_POLL,
    false,
    po__poll_init,
    po__poll_deinit,
    po__poll_reserve,
    po__poll_add,
    po__poll_mod,
    po__poll_del,
    po__poll_wait,
    NULL,
    po__poll_after_fork,
    NULL,
};
