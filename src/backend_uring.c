/*
 * io_uring (Linux 6.15 and later): an epoll object driven through a ring,
 * so that a round's interest changes and its wait cross into the kernel
 * once.  add, mod and del write an IORING_OP_EPOLL_CTL entry; the wait adds
 * an IORING_OP_EPOLL_WAIT and hands everything over in one io_uring_enter.
 * The semantics are epoll's: the same object, the same level-triggered
 * ready list, the SeqN in epoll_event.data.  docs/uring.md says why this
 * design and not poll requests, and what it costs.
 *
 * Three setup flags carry the semantics:
 * - DEFER_TASKRUN (with SINGLE_ISSUER): the kernel runs a woken wait's
 *   work only inside io_uring_enter, so that the ready list is read after
 *   the round's changes, as epoll_wait reads it, and never between waits.
 * - CQE_SKIP_SUCCESS on every change: a change completes silently unless
 *   the kernel refused it, so that a refusal alone ends the enter at once
 *   (the round then has a PO_ERR to report, as a refusal at the call has).
 * - SUBMIT_ALL: a change refused at submission does not stop the rest.
 * A ring belongs to the thread that created it (SINGLE_ISSUER): another
 * thread's wait (or a child's after fork) gets EEXIST, and makes itself a
 * new ring; the epoll object, and so every registration, stays.
 *
 * Fault sites (fault.h): create (io_uring_setup, epoll_create1), ctl_add,
 * ctl_mod and ctl_del (the entry is replaced by a NOP that completes with
 * the error, so that the refusal takes the path of a real one), submit (an
 * enter that must make room in a full queue), wait (the wait's enter),
 * close.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/io_uring.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backend.h"
#include "fault.h"

/* Newer than the kernel headers of Debian 12 (Linux 6.1); the values are
 * the kernel's ABI. */
#define PO__OP_EPOLL_WAIT 59u           /* IORING_OP_EPOLL_WAIT, Linux 6.15 */
#define PO__NOP_INJECT_RESULT (1u << 0) /* IORING_NOP_INJECT_RESULT, 6.6 */

_Static_assert((unsigned)EPOLLIN == PO__EV_IN &&
                   (unsigned)EPOLLOUT == PO__EV_OUT &&
                   (unsigned)EPOLLERR == PO__EV_ERR &&
                   (unsigned)EPOLLHUP == PO__EV_HUP,
               "epoll's event bits are the core's");

/* The largest submission queue the kernel makes (IORING_MAX_ENTRIES). */
enum { PO__URING_MAX_ENTRIES = 32768 };

/* A change's user_data: its token, its interest and its operation, so that
 * a refusal names the channel and what it asked.  The wait's is 0 (no
 * operation).  A SeqN stays below 2^60 (one a nanosecond for 36 years). */
enum { PO__UD_ADD = 1, PO__UD_MOD = 2, PO__UD_DEL = 3 };
#define PO__UD(token, interest, op)                                            \
    (((uint64_t)(token) << 4) | ((uint64_t)(interest) << 2) | (uint64_t)(op))

typedef struct po__ring {
    int fd;
    unsigned entries, mask;
    unsigned *sq_head, *sq_tail;
    unsigned tail;      /* entries written; published at enter */
    unsigned submitted; /* entries the kernel has taken */
    struct io_uring_sqe *sqes;
    /* A change's epoll_event, read by the kernel when it takes the entry:
     * one per queue entry. */
    struct epoll_event *ctl_ev;
    unsigned *cq_head, *cq_tail, cq_mask;
    struct io_uring_cqe *cqes;
    void *map;
    size_t map_size, sqes_size;
} po__ring;

typedef struct po__uring {
    po__ring ring;
    int epfd;
    bool waiting; /* an EPOLL_WAIT is in the kernel */
    int cap;
    const po_allocator *a;
    struct epoll_event events[]; /* the EPOLL_WAIT's buffer */
} po__uring;

static int po__uring_enter(const po__ring *r, unsigned submit, unsigned min,
                           unsigned flags, const void *arg, size_t argsz) {
    return (int)syscall(__NR_io_uring_enter, r->fd, submit, min, flags, arg,
                        argsz);
}

/* Whether the kernel has both operations this backend sends. */
static bool po__uring_has_ops(int fd) {
    enum { NOPS = PO__OP_EPOLL_WAIT + 1 };
    union {
        struct io_uring_probe probe;
        char bytes[sizeof(struct io_uring_probe) +
                   NOPS * sizeof(struct io_uring_probe_op)];
    } buf;
    memset(&buf, 0, sizeof buf);
    if (syscall(__NR_io_uring_register, fd, IORING_REGISTER_PROBE, &buf, NOPS) <
        0)
        return false;
    const struct io_uring_probe_op *ops = buf.probe.ops;
    return buf.probe.last_op >= PO__OP_EPOLL_WAIT &&
           (ops[IORING_OP_EPOLL_CTL].flags & IO_URING_OP_SUPPORTED) &&
           (ops[PO__OP_EPOLL_WAIT].flags & IO_URING_OP_SUPPORTED);
}

static void po__ring_close(po__ring *r, const po_allocator *a) {
    if (r->sqes != NULL)
        munmap(r->sqes, r->sqes_size);
    if (r->map != NULL)
        munmap(r->map, r->map_size);
    if (r->fd >= 0)
        PO__FAULT_AFTER(PO__FAULT_CLOSE, close(r->fd));
    if (r->ctl_ev != NULL)
        a->free(r->ctl_ev, a->ctx);
    memset(r, 0, sizeof *r);
    r->fd = -1;
}

/* Maps the ring of r->fd; 0 or an errno. */
static int po__ring_map(po__ring *r, const struct io_uring_params *p) {
    size_t sq = p->sq_off.array + p->sq_entries * sizeof(unsigned);
    size_t cq = p->cq_off.cqes + p->cq_entries * sizeof(struct io_uring_cqe);
    /* IORING_FEAT_SINGLE_MMAP (5.4): both rings in one mapping. */
    r->map_size = sq > cq ? sq : cq;
    void *m = mmap(NULL, r->map_size, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
    if (m == MAP_FAILED)
        return errno;
    r->map = m;
    r->sqes_size = p->sq_entries * sizeof(struct io_uring_sqe);
    void *s = mmap(NULL, r->sqes_size, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
    if (s == MAP_FAILED)
        return errno;
    r->sqes = s;
    char *base = m;
    r->sq_head = (unsigned *)(base + p->sq_off.head);
    r->sq_tail = (unsigned *)(base + p->sq_off.tail);
    r->mask = *(unsigned *)(base + p->sq_off.ring_mask);
    r->entries = p->sq_entries;
    /* Queue position i is always entry i: the array is set once. */
    unsigned *array = (unsigned *)(base + p->sq_off.array);
    for (unsigned i = 0; i < p->sq_entries; i++)
        array[i] = i;
    r->cq_head = (unsigned *)(base + p->cq_off.head);
    r->cq_tail = (unsigned *)(base + p->cq_off.tail);
    r->cq_mask = *(unsigned *)(base + p->cq_off.ring_mask);
    r->cqes = (struct io_uring_cqe *)(base + p->cq_off.cqes);
    r->tail = r->submitted = *r->sq_tail;
    return 0;
}

/* A ring of at least `entries` entries for the calling thread; 0 or an
 * errno (EOPNOTSUPP: the kernel lacks a flag, a feature or an operation
 * this backend needs). */
static int po__ring_open(po__ring *r, unsigned entries, const po_allocator *a) {
    memset(r, 0, sizeof *r);
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER |
              IORING_SETUP_DEFER_TASKRUN;
    r->fd = PO__FAULT(PO__FAULT_CREATE, -1,
                      (int)syscall(__NR_io_uring_setup, entries, &p));
    int e = 0;
    if (r->fd < 0)
        /* EINVAL: a kernel older than one of the flags (6.1). */
        e = errno == EINVAL ? EOPNOTSUPP : errno;
    else if (!(p.features & IORING_FEAT_EXT_ARG) ||
             !(p.features & IORING_FEAT_SINGLE_MMAP) ||
             !po__uring_has_ops(r->fd))
        e = EOPNOTSUPP;
    else if ((r->ctl_ev =
                  a->malloc(p.sq_entries * sizeof *r->ctl_ev, a->ctx)) == NULL)
        e = ENOMEM;
    else
        e = po__ring_map(r, &p);
    if (e != 0) {
        po__ring_close(r, a);
        errno = e;
    }
    return e;
}

/* A ring for the calling thread in place of u's, with room for `entries`
 * and the changes u's has not handed over yet.  The old ring's wait dies
 * with it, unanswered: a woken wait runs only inside io_uring_enter
 * (DEFER_TASKRUN), so it has taken nothing from the ready list. */
static int po__uring_renew(po__uring *u, unsigned entries) {
    po__ring *old = &u->ring, fresh;
    unsigned pending = old->tail - old->submitted;
    if (entries < pending)
        entries = pending;
    int e = po__ring_open(&fresh, entries, u->a);
    if (e != 0)
        return e;
    for (unsigned i = 0; i < pending; i++) {
        unsigned from = (old->submitted + i) & old->mask;
        unsigned to = (fresh.tail + i) & fresh.mask;
        fresh.sqes[to] = old->sqes[from];
        fresh.ctl_ev[to] = old->ctl_ev[from];
        if (fresh.sqes[to].opcode == IORING_OP_EPOLL_CTL)
            fresh.sqes[to].addr = (uint64_t)(uintptr_t)&fresh.ctl_ev[to];
    }
    fresh.tail += pending;
    /* The old ring's queued wait, if any, was among the pending entries. */
    u->waiting = false;
    for (unsigned i = 0; i < pending; i++)
        if (fresh.sqes[(fresh.tail - pending + i) & fresh.mask].opcode ==
            PO__OP_EPOLL_WAIT)
            u->waiting = true;
    po__ring_close(old, u->a);
    *old = fresh;
    return 0;
}

/* What a failure to set io_uring up means to the caller: not available
 * here (seccomp's EPERM, the sysctl's EPERM or EACCES, an old kernel's
 * ENOSYS or missing feature), or a failure of an available system (EMFILE,
 * ENOMEM), with errno set. */
static int po__uring_refused(int e) {
    errno = e;
    if (e == ENOMEM)
        return PO_ENOMEM;
    return e == ENOSYS || e == EPERM || e == EACCES || e == EOPNOTSUPP
               ? PO_ENOTSUP
               : PO_ESYS;
}

static int po__uring_init(void **state, const po_allocator *a,
                          unsigned max_events) {
    po__uring *u =
        a->malloc(sizeof *u + max_events * sizeof u->events[0], a->ctx);
    if (u == NULL)
        return PO_ENOMEM;
    memset(u, 0, sizeof *u);
    u->a = a;
    u->cap = (int)max_events;
    /* Room for a round of changes of a few channels; reserve() grows it
     * with the sockets. */
    int e = po__ring_open(&u->ring, 64, a);
    if (e == 0) {
        u->epfd = PO__FAULT(PO__FAULT_CREATE, -1, epoll_create1(EPOLL_CLOEXEC));
        if (u->epfd < 0) {
            e = errno;
            po__ring_close(&u->ring, a);
        }
    }
    if (e != 0) {
        a->free(u, a->ctx);
        return po__uring_refused(e);
    }
    *state = u;
    return PO_OK;
}

static void po__uring_deinit(void *state) {
    po__uring *u = state;
    po__ring_close(&u->ring, u->a);
    PO__FAULT_AFTER(PO__FAULT_CLOSE, close(u->epfd));
    u->a->free(u, u->a->ctx);
}

/* A round changes each socket at most twice (a del of the old socket, an
 * add of the new), so twice the sockets is a round's worth of changes. */
static int po__uring_reserve(void *state, size_t sockets) {
    po__uring *u = state;
    if (2 * sockets + 1 <= u->ring.entries ||
        u->ring.entries >= PO__URING_MAX_ENTRIES)
        return PO_OK;
    unsigned entries = u->ring.entries;
    while (entries < 2 * sockets + 1 && entries < PO__URING_MAX_ENTRIES)
        entries *= 2;
    /* A ring that cannot grow still works: a full queue is handed over
     * early (po__uring_sqe()). */
    return po__uring_renew(u, entries) == ENOMEM ? PO_ENOMEM : PO_OK;
}

/* Hands the written entries to the kernel, and returns what the enter
 * returned (or -errno). */
static int po__uring_submit(po__ring *r, unsigned min, unsigned flags,
                            const void *arg, size_t argsz) {
    __atomic_store_n(r->sq_tail, r->tail, __ATOMIC_RELEASE);
    int n = po__uring_enter(r, r->tail - r->submitted, min, flags, arg, argsz);
    int e = n < 0 ? errno : 0;
    r->submitted = __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
    return n < 0 ? -e : n;
}

/* The next free entry, cleared; NULL (errno set) if the queue is full and
 * the kernel would not take what it holds. */
static struct io_uring_sqe *po__uring_sqe(po__uring *u) {
    po__ring *r = &u->ring;
    if (r->tail - r->submitted == r->entries) {
        /* More changes than a round was expected to make: hand them over
         * now, one more crossing.  Their refusals wait in the completion
         * queue for the wait. */
        int n = PO__FAULT(PO__FAULT_SUBMIT, -EBUSY,
                          po__uring_submit(r, 0, 0, NULL, 0));
        if (n < 0 || r->tail - r->submitted == r->entries) {
            errno = n < 0 ? -n : EBUSY;
            return NULL;
        }
    }
    struct io_uring_sqe *sqe = &r->sqes[r->tail & r->mask];
    memset(sqe, 0, sizeof *sqe);
    return sqe;
}

static void po__uring_event(struct epoll_event *ev, unsigned interest,
                            po_seqn token) {
    ev->events = ((interest & PO__IN) ? EPOLLIN : 0u) |
                 ((interest & PO__OUT) ? EPOLLOUT : 0u);
    ev->data.u64 = token;
}

static int po__uring_ctl(po__uring *u, int site, int op, int ud_op, po_socket s,
                         unsigned interest, po_seqn token) {
    struct io_uring_sqe *sqe = po__uring_sqe(u);
    if (sqe == NULL)
        return errno;
    po__ring *r = &u->ring;
    sqe->user_data = PO__UD(token, interest, ud_op);
    if (PO__FAULT(site, 1, 0)) {
        sqe->opcode = IORING_OP_NOP;
        sqe->rw_flags = (int)PO__NOP_INJECT_RESULT;
        sqe->len = (unsigned)-errno;
    } else {
        struct epoll_event *ev = &r->ctl_ev[r->tail & r->mask];
        po__uring_event(ev, interest, token);
        sqe->opcode = IORING_OP_EPOLL_CTL;
        sqe->flags = IOSQE_CQE_SKIP_SUCCESS;
        sqe->fd = u->epfd;
        sqe->len = (unsigned)op;
        sqe->off = (uint64_t)s;
        sqe->addr = (uint64_t)(uintptr_t)ev;
    }
    r->tail++;
    return 0;
}

static int po__uring_add(void *state, po_socket s, unsigned interest,
                         po_seqn token, uint32_t *bref) {
    (void)bref;
    return po__uring_ctl(state, PO__FAULT_CTL_ADD, EPOLL_CTL_ADD, PO__UD_ADD, s,
                         interest, token);
}

static int po__uring_mod(void *state, po_socket s, unsigned interest,
                         po_seqn token, uint32_t *bref) {
    (void)bref;
    return po__uring_ctl(state, PO__FAULT_CTL_MOD, EPOLL_CTL_MOD, PO__UD_MOD, s,
                         interest, token);
}

static int po__uring_del(void *state, po_socket s, po_seqn token,
                         uint32_t *bref) {
    (void)bref;
    return po__uring_ctl(state, PO__FAULT_CTL_DEL, EPOLL_CTL_DEL, PO__UD_DEL, s,
                         0, token);
}

/* A change the kernel refused.  An add that met a registration a failed
 * del left behind takes it over, as the core does for the other epoll
 * backends (add_may_exist), with a call of its own: that is rare. */
static void po__uring_refusal(po__uring *u, po__harvest *h, uint64_t ud,
                              int err) {
    po_seqn token = ud >> 4;
    unsigned op = (unsigned)ud & 3u;
    if (op == PO__UD_ADD && err == EEXIST) {
        const po_channel *ch = po__harvest_find(h, token);
        struct epoll_event ev;
        po__uring_event(&ev, (unsigned)(ud >> 2) & 3u, token);
        if (ch != NULL && epoll_ctl(u->epfd, EPOLL_CTL_MOD, ch->sock, &ev) == 0)
            return;
    }
    po__deliver_refusal(h, token, err, op == PO__UD_MOD);
}

static int po__uring_wait(void *state, po__round *rd, int timeout_ms) {
    po__uring *u = state;
    po__ring *r = &u->ring;
    if (!u->waiting) {
        struct io_uring_sqe *sqe = po__uring_sqe(u);
        if (sqe == NULL)
            return errno;
        sqe->opcode = PO__OP_EPOLL_WAIT;
        sqe->fd = u->epfd;
        sqe->addr = (uint64_t)(uintptr_t)u->events;
        sqe->len = (unsigned)u->cap;
        r->tail++;
        u->waiting = true;
    }
    struct __kernel_timespec ts;
    struct io_uring_getevents_arg arg;
    const void *argp = NULL;
    unsigned flags = IORING_ENTER_GETEVENTS;
    if (timeout_ms > 0) {
        ts.tv_sec = timeout_ms / 1000;
        ts.tv_nsec = (long long)(timeout_ms % 1000) * 1000000;
        memset(&arg, 0, sizeof arg);
        arg.ts = (uint64_t)(uintptr_t)&ts;
        argp = &arg;
        flags |= IORING_ENTER_EXT_ARG;
    }
    unsigned min = timeout_ms == 0 ? 0 : 1;
    size_t argsz = argp ? sizeof arg : 0;
    int n = PO__FAULT(PO__FAULT_WAIT, -errno,
                      po__uring_submit(r, min, flags, argp, argsz));
    if (n == -EEXIST) {
        /* Another thread, or a child after fork: a ring of its own. */
        int e = po__uring_renew(u, r->entries);
        if (e != 0)
            return e;
        n = po__uring_submit(r, min, flags, argp, argsz);
    }
    /* A timeout and an interruption end the round as if it timed out. */
    if (n < 0 && n != -ETIME && n != -EINTR)
        return -n;
    po__harvest h;
    po__harvest_begin(&h, rd);
    unsigned head = *r->cq_head, events = 0;
    unsigned tail = __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE);
    for (; head != tail; head++) {
        const struct io_uring_cqe *cqe = &r->cqes[head & r->cq_mask];
        if (PO__UNLIKELY(cqe->user_data != 0)) {
            po__uring_refusal(u, &h, cqe->user_data, -cqe->res);
            continue;
        }
        u->waiting = false;
        if (PO__UNLIKELY(cqe->res < 0))
            continue; /* as an empty wait: the object is the poller's own */
        events = (unsigned)cqe->res;
        for (unsigned i = 0; i < events; i++)
            po__deliver(&h, u->events[i].data.u64, u->events[i].events);
    }
    __atomic_store_n(r->cq_head, head, __ATOMIC_RELEASE);
    po__harvest_end(&h, events);
    return n == -EINTR ? EINTR : 0;
}

const po__backend_ops po__backend_uring = {
    "uring",          PO_BACKEND_URING,  true,          po__uring_init,
    po__uring_deinit, po__uring_reserve, po__uring_add, po__uring_mod,
    po__uring_del,    po__uring_wait,
};
