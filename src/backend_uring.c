/*
 * io_uring (Linux), through its raw system calls.  docs/uring.md says why
 * (no liburing, one-shot poll requests, the slots) and docs/uring-status.md
 * what is measured and what is left.
 *
 * Each registered socket holds one one-shot IORING_OP_POLL_ADD.  When it
 * completes, the event goes to the round and the socket is put on the arm
 * list; the next wait queues a new POLL_ADD for it, which completes at once
 * if the condition still holds: level-triggered.  add, mod and del only
 * write submission entries, and the wait hands them all to the kernel and
 * waits in one io_uring_enter.
 *
 * A request's user_data is its slot (the channel's bref) and the slot's
 * generation at the time, not the SeqN: a completion then tells the current
 * request of a socket from one that a mod replaced or a del removed, which
 * are no events.  The slot holds the SeqN handed to the core.
 *
 * Fault sites (fault.h): create (io_uring_setup), ctl_add (the check that
 * the descriptor can be polled, as for the poll backend), wait (every
 * io_uring_enter), close.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/io_uring.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backend.h"
#include "fault.h"
#include "os.h"

/* The kernel's poll bits are the core's event bits (harvest.h). */
_Static_assert(POLLIN == PO__EV_IN && POLLOUT == PO__EV_OUT &&
                   POLLERR == PO__EV_ERR && POLLHUP == PO__EV_HUP &&
                   POLLNVAL == PO__EV_NVAL,
               "poll's event bits are the core's");

/* The user_data of removals: no slot's (a slot index is below 2^32 - 1). */
#define PO__URING_NOTE UINT64_MAX
/* Bits a completion reports whatever the request asked for. */
#define PO__URING_ALWAYS (PO__EV_ERR | PO__EV_HUP | PO__EV_NVAL)
#define PO__URING_NONE UINT32_MAX

/* One registered socket, at a fixed index: the channel's bref. */
typedef struct po__uring_slot {
    po_seqn seqn;
    int fd;
    uint32_t events; /* POLLIN / POLLOUT asked for */
    uint32_t gen;    /* the generation of the current POLL_ADD */
    /* What still names the slot: POLL_ADDs queued or held by the kernel,
     * and its place on the arm list.  A slot is free again only when
     * nothing does, so that a late completion never meets a new socket. */
    uint32_t holds;
    uint32_t next;  /* the free list or the arm list; PO__URING_NONE ends it */
    unsigned sq_at; /* the queue position of the current POLL_ADD */
    bool live;      /* registered (else: free, or removed and still held) */
    bool armed;     /* the current POLL_ADD has not completed */
    bool pending;   /* to be armed by the next wait (on the arm list) */
} po__uring_slot;

typedef struct po__uring {
    int fd;
    unsigned *sq_head, *sq_tail, *sq_flags, sq_mask, sq_entries;
    unsigned tail;      /* entries written; published to *sq_tail at enter */
    unsigned submitted; /* entries the kernel has taken */
    struct io_uring_sqe *sqes;
    unsigned *cq_head, *cq_tail, cq_mask;
    struct io_uring_cqe *cqes;
    void *rings;
    size_t rings_size;
    size_t sqes_size;
    unsigned max_events;
    po__uring_slot *slots;
    uint32_t cap, free;
    uint32_t arm_head, arm_tail; /* slots completed, to be armed again */
    const po_allocator *a;
    uint32_t delivered[]; /* the slots a harvest delivered, max_events */
} po__uring;

static int po__uring_setup(unsigned entries, struct io_uring_params *p) {
    return (int)syscall(__NR_io_uring_setup, entries, p);
}

static int po__uring_enter(po__uring *u, unsigned submit, unsigned min,
                           unsigned flags, void *arg, size_t argsz) {
    return (int)syscall(__NR_io_uring_enter, u->fd, submit, min, flags, arg,
                        argsz);
}

/* Whether the kernel knows the opcodes this backend sends. */
static bool po__uring_has_ops(int fd) {
    enum { NOPS = IORING_OP_POLL_REMOVE + 1 };
    uint64_t buf[(sizeof(struct io_uring_probe) +
                  NOPS * sizeof(struct io_uring_probe_op) + 7) /
                 8];
    memset(buf, 0, sizeof buf);
    const struct io_uring_probe *pr = (const struct io_uring_probe *)buf;
    if (syscall(__NR_io_uring_register, fd, IORING_REGISTER_PROBE, buf, NOPS) <
        0)
        return false;
    return pr->last_op >= IORING_OP_POLL_REMOVE &&
           (pr->ops[IORING_OP_POLL_ADD].flags & IO_URING_OP_SUPPORTED) &&
           (pr->ops[IORING_OP_POLL_REMOVE].flags & IO_URING_OP_SUPPORTED);
}

static void po__uring_unmap(po__uring *u) {
    if (u->sqes != NULL)
        munmap(u->sqes, u->sqes_size);
    if (u->rings != NULL)
        munmap(u->rings, u->rings_size);
}

/* Maps the rings of u->fd; 0 or an errno. */
static int po__uring_map(po__uring *u, const struct io_uring_params *p) {
    size_t sq = p->sq_off.array + p->sq_entries * sizeof(unsigned);
    size_t cq = p->cq_off.cqes + p->cq_entries * sizeof(struct io_uring_cqe);
    /* Every kernel with EXT_ARG (5.11) maps both rings at once. */
    u->rings_size = sq > cq ? sq : cq;
    void *r = mmap(NULL, u->rings_size, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_POPULATE, u->fd, IORING_OFF_SQ_RING);
    if (r == MAP_FAILED)
        return errno;
    u->rings = r;
    u->sqes_size = p->sq_entries * sizeof(struct io_uring_sqe);
    void *s = mmap(NULL, u->sqes_size, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_POPULATE, u->fd, IORING_OFF_SQES);
    if (s == MAP_FAILED)
        return errno;
    u->sqes = s;
    char *base = r;
    u->sq_head = (unsigned *)(base + p->sq_off.head);
    u->sq_tail = (unsigned *)(base + p->sq_off.tail);
    u->sq_flags = (unsigned *)(base + p->sq_off.flags);
    u->sq_mask = *(unsigned *)(base + p->sq_off.ring_mask);
    u->sq_entries = p->sq_entries;
    /* Entry i of the queue is always SQE i: the array is set once. */
    unsigned *array = (unsigned *)(base + p->sq_off.array);
    for (unsigned i = 0; i < p->sq_entries; i++)
        array[i] = i;
    u->cq_head = (unsigned *)(base + p->cq_off.head);
    u->cq_tail = (unsigned *)(base + p->cq_off.tail);
    u->cq_mask = *(unsigned *)(base + p->cq_off.ring_mask);
    u->cqes = (struct io_uring_cqe *)(base + p->cq_off.cqes);
    u->tail = u->submitted = *u->sq_tail;
    return 0;
}

/* What a refusal of io_uring means to the caller: not available here
 * (seccomp's EPERM, the sysctl's EPERM or EACCES, an old kernel's ENOSYS
 * or EINVAL), or a failure of an available ring (EMFILE, ENOMEM). */
static int po__uring_refused(int e) {
    errno = e;
    return e == ENOSYS || e == EPERM || e == EACCES || e == EINVAL ||
                   e == EOPNOTSUPP
               ? PO_ENOTSUP
               : PO_ESYS;
}

static int po__uring_init(void **state, const po_allocator *a,
                          unsigned max_events) {
    po__uring *u =
        a->malloc(sizeof *u + max_events * sizeof u->delivered[0], a->ctx);
    if (u == NULL)
        return PO_ENOMEM;
    memset(u, 0, sizeof *u);
    u->a = a;
    u->free = u->arm_head = u->arm_tail = PO__URING_NONE;
    u->max_events = max_events;
    /* The queue takes a round's re-arms and changes, twice max_events;
     * more than that are handed over early (po__uring_sqe()).  The
     * completion queue is four times larger, so that a harvest rarely
     * leaves completions in the kernel's overflow list (IORING_FEAT_NODROP
     * keeps them there), whose readiness may be older than the round's. */
    unsigned entries = 256;
    while (entries < 2 * max_events)
        entries *= 2;
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    /* SUBMIT_ALL (5.18): a request refused at submission (a closed
     * descriptor) completes with its error and does not stop the rest.  An
     * older kernel refuses the flag with EINVAL: io_uring is then not
     * available to this backend. */
    p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
    p.cq_entries = 4 * entries;
    u->fd = PO__FAULT(PO__FAULT_CREATE, -1, po__uring_setup(entries, &p));
    int e = 0;
    if (u->fd < 0)
        e = errno;
    else if (!(p.features & IORING_FEAT_EXT_ARG) ||
             !(p.features & IORING_FEAT_NODROP) || !po__uring_has_ops(u->fd))
        e = EOPNOTSUPP;
    else
        e = po__uring_map(u, &p);
    if (e != 0) {
        po__uring_unmap(u);
        if (u->fd >= 0)
            close(u->fd);
        a->free(u, a->ctx);
        return po__uring_refused(e);
    }
    *state = u;
    return PO_OK;
}

static void po__uring_deinit(void *state) {
    po__uring *u = state;
    po__uring_unmap(u);
    /* Closing the ring cancels every poll request it holds. */
    (void)PO__FAULT_AFTER(PO__FAULT_CLOSE, close(u->fd));
    if (u->slots != NULL)
        u->a->free(u->slots, u->a->ctx);
    u->a->free(u, u->a->ctx);
}

/* Grows the slot table to at least `slots`, the new slots free; PO_OK or
 * PO_ENOMEM (the table unchanged). */
static int po__uring_grow(po__uring *u, size_t slots) {
    if (slots <= u->cap)
        return PO_OK;
    size_t cap = u->cap ? (size_t)u->cap * 2 : 64;
    while (cap < slots)
        cap *= 2;
    if (cap >= PO__URING_NONE)
        return PO_ENOMEM;
    po__uring_slot *fresh =
        u->a->realloc(u->slots, cap * sizeof *fresh, u->a->ctx);
    if (fresh == NULL)
        return PO_ENOMEM;
    for (size_t i = cap; i-- > u->cap;) {
        memset(&fresh[i], 0, sizeof fresh[i]);
        fresh[i].next = u->free;
        u->free = (uint32_t)i;
    }
    u->slots = fresh;
    u->cap = (uint32_t)cap;
    return PO_OK;
}

/* Twice the sockets: a removed socket keeps its slot until its request's
 * last completion, at the latest the next wait. */
static int po__uring_reserve(void *state, size_t sockets) {
    return po__uring_grow(state, sockets * 2);
}

/* One io_uring_enter: hands the queue to the kernel (all of it, or none
 * with submit false) and with GETEVENTS waits for min completions, at most
 * timeout_ms (-1: no limit).  0 or an errno. */
static int po__uring_enter_ring(po__uring *u, bool submit, unsigned min,
                                int timeout_ms) {
    __atomic_store_n(u->sq_tail, u->tail, __ATOMIC_RELEASE);
    struct __kernel_timespec ts;
    struct io_uring_getevents_arg arg;
    memset(&arg, 0, sizeof arg);
    arg.sigmask_sz = _NSIG / 8;
    if (timeout_ms >= 0) {
        ts.tv_sec = timeout_ms / 1000;
        ts.tv_nsec = (long long)(timeout_ms % 1000) * 1000000;
        arg.ts = (uint64_t)(uintptr_t)&ts;
    }
    int rc =
        PO__FAULT(PO__FAULT_WAIT, -1,
                  po__uring_enter(u, submit ? u->tail - u->submitted : 0, min,
                                  IORING_ENTER_EXT_ARG | IORING_ENTER_GETEVENTS,
                                  &arg, sizeof arg));
    /* The kernel took what it could, even when it then failed to wait. */
    u->submitted = __atomic_load_n(u->sq_head, __ATOMIC_ACQUIRE);
    if (rc < 0 && errno != ETIME)
        return errno;
    return 0;
}

/* A free submission entry, zeroed.  A full queue is handed to the kernel
 * first (a round with more changes and re-arms than the queue holds); NULL
 * if the kernel takes none of it. */
static struct io_uring_sqe *po__uring_sqe(po__uring *u) {
    if (u->tail - u->submitted == u->sq_entries &&
        (po__uring_enter_ring(u, true, 0, 0) != 0 ||
         u->tail - u->submitted == u->sq_entries))
        return NULL;
    struct io_uring_sqe *sqe = &u->sqes[u->tail & u->sq_mask];
    memset(sqe, 0, sizeof *sqe);
    u->tail++;
    return sqe;
}

static uint64_t po__uring_token(uint32_t slot, uint32_t gen) {
    return (uint64_t)gen << 32 | slot;
}

/* Whether the slot's current POLL_ADD is still in the queue, not taken. */
static bool po__uring_queued(const po__uring *u, const po__uring_slot *e) {
    return e->armed && e->sq_at - u->submitted < u->tail - u->submitted;
}

/* Queues a new POLL_ADD for slot i: 0 or an errno. */
static int po__uring_arm(po__uring *u, uint32_t i) {
    struct io_uring_sqe *sqe = po__uring_sqe(u);
    if (sqe == NULL)
        return EBUSY;
    po__uring_slot *e = &u->slots[i];
    sqe->opcode = IORING_OP_POLL_ADD;
    sqe->fd = e->fd;
    /* poll32_events is in the CPU's order on little-endian systems only;
     * big-endian ones would swap its halves (liburing does). */
    sqe->poll32_events = e->events;
    sqe->user_data = po__uring_token(i, ++e->gen);
    e->sq_at = u->tail - 1;
    e->armed = true;
    e->holds++;
    return 0;
}

/* Withdraws slot i's current request: off the arm list's duty; rewritten
 * into a no-op while it is still queued; else removed by a POLL_REMOVE.
 * 0 or an errno. */
static int po__uring_disarm(po__uring *u, uint32_t i) {
    po__uring_slot *e = &u->slots[i];
    e->pending = false;
    if (!e->armed)
        return 0;
    e->armed = false;
    struct io_uring_sqe *sqe;
    if (e->sq_at - u->submitted < u->tail - u->submitted) {
        sqe = &u->sqes[e->sq_at & u->sq_mask];
        memset(sqe, 0, sizeof *sqe);
        sqe->opcode = IORING_OP_NOP;
        e->holds--;
    } else {
        sqe = po__uring_sqe(u);
        if (sqe == NULL)
            return EBUSY;
        sqe->opcode = IORING_OP_POLL_REMOVE;
        sqe->fd = -1;
        sqe->addr = po__uring_token(i, e->gen);
    }
    sqe->user_data = PO__URING_NOTE;
    return 0;
}

/* Drops one hold on slot i; a removed slot that nothing holds is free. */
static void po__uring_unhold(po__uring *u, uint32_t i) {
    po__uring_slot *e = &u->slots[i];
    if (--e->holds == 0 && !e->live) {
        e->next = u->free;
        u->free = i;
    }
}

/* Puts slot i on the arm list, for the next wait to arm again. */
static void po__uring_pend(po__uring *u, uint32_t i) {
    po__uring_slot *e = &u->slots[i];
    e->pending = true;
    e->holds++;
    e->next = PO__URING_NONE;
    if (u->arm_head == PO__URING_NONE)
        u->arm_head = i;
    else
        u->slots[u->arm_tail].next = i;
    u->arm_tail = i;
}

/* Arms the slots of the arm list, in its order.  0, or the errno of a full
 * queue the kernel refused to take (the rest stay listed). */
static int po__uring_arm_pending(po__uring *u) {
    while (u->arm_head != PO__URING_NONE) {
        uint32_t i = u->arm_head;
        po__uring_slot *e = &u->slots[i];
        if (e->pending && e->live) {
            int rc = po__uring_arm(u, i);
            if (rc != 0)
                return rc;
            e->pending = false;
        }
        u->arm_head = e->next;
        po__uring_unhold(u, i);
    }
    return 0;
}

static uint32_t po__uring_events(unsigned interest) {
    return ((interest & PO__IN) ? POLLIN : 0u) |
           ((interest & PO__OUT) ? POLLOUT : 0u);
}

/* io_uring watches any descriptor, a regular file too (always ready): the
 * check that epoll makes by refusing is made here (os.h), so that every
 * backend refuses the same descriptors. */
static int po__uring_add(void *state, po_socket s, unsigned interest,
                         po_seqn token, uint32_t *bref) {
    po__uring *u = state;
    if (u->free == PO__URING_NONE && po__uring_grow(u, (size_t)u->cap + 1))
        return ENOMEM;
    int e = po__poll_check(s);
    if (e != 0)
        return e;
    uint32_t i = u->free;
    po__uring_slot *sl = &u->slots[i];
    sl->seqn = token;
    sl->fd = s;
    sl->events = po__uring_events(interest);
    sl->armed = sl->pending = false;
    e = po__uring_arm(u, i);
    if (e != 0)
        return e;
    u->free = sl->next;
    sl->live = true;
    *bref = i;
    return 0;
}

/* A new request rather than an update in place, so that the descriptor is
 * looked up again: one closed behind the poller's back fails with EBADF,
 * as epoll_ctl does. */
static int po__uring_mod(void *state, po_socket s, unsigned interest,
                         po_seqn token, uint32_t *bref) {
    po__uring *u = state;
    po__uring_slot *e = &u->slots[*bref];
    (void)s;
    e->events = po__uring_events(interest);
    e->seqn = token;
    if (e->pending)
        return 0;
    if (po__uring_queued(u, e)) {
        u->sqes[e->sq_at & u->sq_mask].poll32_events = e->events;
        return 0;
    }
    int rc = po__uring_disarm(u, *bref);
    return rc != 0 ? rc : po__uring_arm(u, *bref);
}

static int po__uring_del(void *state, po_socket s, uint32_t *bref) {
    po__uring *u = state;
    (void)s;
    uint32_t i = *bref;
    int rc = po__uring_disarm(u, i);
    po__uring_slot *e = &u->slots[i];
    e->live = false;
    if (e->holds == 0) {
        e->next = u->free;
        u->free = i;
    }
    return rc;
}

/* The events of one completion of slot i's current request. */
static unsigned po__uring_events_of(const po__uring_slot *e, int res) {
    if (res == -EBADF) /* the core parks the channel with EBADF */
        return PO__EV_NVAL;
    if (res < 0) /* any other refusal: tried again at the next wait */
        return PO__EV_ERR;
    return (unsigned)res & (e->events | PO__URING_ALWAYS);
}

/* The bookkeeping of one completion: the slot whose current request it
 * completes, or PO__URING_NONE when it is no event (a removal's, or that of
 * a request a mod replaced, the kernel cancelled or a del removed). */
static uint32_t po__uring_complete(po__uring *u, const struct io_uring_cqe *c) {
    if (c->user_data == PO__URING_NOTE)
        return PO__URING_NONE;
    uint32_t i = (uint32_t)c->user_data;
    po__uring_slot *e = &u->slots[i];
    bool current =
        e->live && e->armed && (uint32_t)(c->user_data >> 32) == e->gen;
    po__uring_unhold(u, i);
    if (!current)
        return PO__URING_NONE;
    e->armed = false;
    return i;
}

/*
 * A wait first takes the completions that came since the last one without
 * delivering them: the application may have consumed that readiness since
 * (read the bytes, taken the notification), and epoll would not report it
 * any more.  Their sockets are re-armed with this wait's submissions, and
 * those still ready complete at once.
 *
 * Then it takes every completion of its enter.  Up to max_events events are
 * delivered; the other sockets are put on the arm list first and those
 * delivered after them, so that at the next wait the others complete first
 * and every ready socket gets its turn.  Completions that did not fit in
 * the completion queue wait in the kernel's overflow list: an enter without
 * submissions brings them in (one more kernel crossing, only then).
 */
static int po__uring_wait(void *state, po__round *r, int timeout_ms) {
    po__uring *u = state;
    unsigned head = *u->cq_head;
    for (unsigned tail = __atomic_load_n(u->cq_tail, __ATOMIC_ACQUIRE);
         head != tail; head++) {
        uint32_t i = po__uring_complete(u, &u->cqes[head & u->cq_mask]);
        if (i != PO__URING_NONE)
            po__uring_pend(u, i);
    }
    __atomic_store_n(u->cq_head, head, __ATOMIC_RELEASE);
    int rc = po__uring_arm_pending(u);
    if (rc != 0)
        return rc;
    rc = po__uring_enter_ring(u, true, timeout_ms == 0 ? 0 : 1, timeout_ms);
    if (rc != 0 && rc != EINTR)
        return rc;
    po__harvest h;
    po__harvest_begin(&h, r);
    uint32_t n = 0;
    for (;;) {
        unsigned tail = __atomic_load_n(u->cq_tail, __ATOMIC_ACQUIRE);
        for (; head != tail; head++) {
            const struct io_uring_cqe *c = &u->cqes[head & u->cq_mask];
            uint32_t i = po__uring_complete(u, c);
            if (i == PO__URING_NONE)
                continue;
            unsigned ev = po__uring_events_of(&u->slots[i], c->res);
            if (ev == 0 || n == u->max_events) {
                po__uring_pend(u, i);
                continue;
            }
            po__deliver(&h, u->slots[i].seqn, ev);
            /* A descriptor that is gone is not watched again. */
            u->delivered[n++] = ev == PO__EV_NVAL ? PO__URING_NONE : i;
        }
        __atomic_store_n(u->cq_head, head, __ATOMIC_RELEASE);
        if (!(__atomic_load_n(u->sq_flags, __ATOMIC_ACQUIRE) &
              IORING_SQ_CQ_OVERFLOW))
            break;
        int e = po__uring_enter_ring(u, false, 0, 0);
        if (e != 0 && e != EINTR) {
            rc = e;
            break;
        }
    }
    for (uint32_t k = 0; k < n; k++)
        if (u->delivered[k] != PO__URING_NONE)
            po__uring_pend(u, u->delivered[k]);
    po__harvest_end(&h, n);
    return rc;
}

const po__backend_ops po__backend_uring = {
    "uring",          PO_BACKEND_URING,  false,         po__uring_init,
    po__uring_deinit, po__uring_reserve, po__uring_add, po__uring_mod,
    po__uring_del,    po__uring_wait,
};
