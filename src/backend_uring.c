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
 * thread's wait gets EEXIST, and makes itself a new ring; the epoll object,
 * and so every registration, stays.  A child process after fork() makes a
 * new ring and a new epoll set (po__uring_after_fork()).
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
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backend.h"
#include "fault.h"
#include "os.h"

/* Newer than the kernel headers of Debian 12 (Linux 6.1); the values are
 * the kernel's ABI. */
#define PO__OP_EPOLL_WAIT 59u /* IORING_OP_EPOLL_WAIT, Linux 6.15 */
/* IORING_NOP_INJECT_RESULT: in every kernel that has EPOLL_WAIT. */
#define PO__NOP_INJECT_RESULT (1u << 0)

/* po__ring_open()'s answer when the allocator failed: no errno. */
enum { PO__URING_NOMEM = -1 };

/* The largest submission queue the kernel makes (IORING_MAX_ENTRIES). */
enum { PO__URING_MAX_ENTRIES = 32768 };

/* A change's user_data: its token, its interest and its operation, so that
 * a refusal names the channel and what it asked.  The wait's is 0 (no
 * operation).  A SeqN stays below 2^60 (one a nanosecond for 36 years). */
enum { PO__UD_ADD = 1, PO__UD_MOD = 2, PO__UD_DEL = 3 };
#define PO__UD(token, interest, op)                                            \
    (((uint64_t)(token) << 4) | ((uint64_t)(interest) << 2) | (uint64_t)(op))

/* The queue holds up to `entries` changes and the wait.  Its ring is twice
 * as large: a change at queue position p is written to entry p % entries,
 * and entry `entries` holds the wait's EPOLL_WAIT from the start, so that
 * queueing the wait is one store to the queue's array, not a copy of 64
 * bytes each round. */
typedef struct po__ring {
    int fd;
    unsigned entries; /* changes the queue holds; a power of two */
    unsigned mask;    /* the ring's: 2 * entries - 1 */
    unsigned *sq_head, *sq_tail, *array;
    unsigned tail;      /* positions written; published at enter */
    unsigned submitted; /* positions the kernel has taken */
    struct io_uring_sqe *sqes;
    /* A change's epoll_event, read by the kernel when it takes the entry:
     * one per change entry. */
    struct epoll_event *ctl_ev;
    unsigned *cq_head, *cq_tail, cq_mask;
    unsigned cq_seen; /* *cq_head, which only this side writes */
    struct io_uring_cqe *cqes;
    void *map;
    size_t map_size, sqes_size;
} po__ring;

typedef struct po__uring {
    po__ring ring;
    int epfd;
    /* An EPOLL_WAIT is queued or in the kernel, left by a wait that ended
     * without its completion.  A wait that gets it, the common end, never
     * sets this. */
    bool waiting;
    int cap;
    /* The wait in progress, for its out-of-line ends: the hot path then
     * keeps nothing in registers across the enter. */
    po__round *round;
    po__timeout timeout;
    const po_allocator *a;
    po__event events[]; /* the EPOLL_WAIT's buffer */
} po__uring;

/* io_uring_enter, returning -errno: the wait's only crossing.  On x86-64
 * the system call is made inline, which saves the C library's variadic
 * syscall() a dozen instructions a wait. */
static int po__uring_enter(const po__ring *r, unsigned submit, unsigned min,
                           unsigned flags, const void *arg, size_t argsz) {
#if defined(__x86_64__) && defined(__GNUC__)
    register long r10 __asm__("r10") = (long)flags;
    register long r8 __asm__("r8") = (long)arg;
    register long r9 __asm__("r9") = (long)argsz;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"((long)__NR_io_uring_enter), "D"((long)r->fd),
                       "S"((long)submit), "d"((long)min), "r"(r10), "r"(r8),
                       "r"(r9)
                     : "rcx", "r11", "memory");
    return (int)ret;
#else
    long ret =
        syscall(__NR_io_uring_enter, r->fd, submit, min, flags, arg, argsz);
    return ret < 0 ? -errno : (int)ret;
#endif
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
    r->entries = p->sq_entries / 2;
    r->array = (unsigned *)(base + p->sq_off.array);
    r->cq_head = (unsigned *)(base + p->cq_off.head);
    r->cq_tail = (unsigned *)(base + p->cq_off.tail);
    r->cq_mask = *(unsigned *)(base + p->cq_off.ring_mask);
    r->cqes = (struct io_uring_cqe *)(base + p->cq_off.cqes);
    r->tail = r->submitted = *r->sq_tail;
    r->cq_seen = *r->cq_head;
    return 0;
}

/* A ring for the calling thread with room for `entries` changes (a power
 * of two) and the wait of u; 0, PO__URING_NOMEM (the allocator failed) or
 * an errno (EINVAL: a kernel older than one of the flags, 6.1; EOPNOTSUPP:
 * one that lacks a feature or an operation this backend needs). */
static int po__ring_open(po__ring *r, unsigned entries, const po__uring *u) {
    memset(r, 0, sizeof *r);
    r->fd = -1;
    r->ctl_ev = u->a->malloc(entries * sizeof *r->ctl_ev, u->a->ctx);
    if (r->ctl_ev == NULL)
        return PO__URING_NOMEM;
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER |
              IORING_SETUP_DEFER_TASKRUN;
    r->fd = PO__FAULT(PO__FAULT_CREATE, -1,
                      (int)syscall(__NR_io_uring_setup, 2 * entries, &p));
    int e = 0;
    if (r->fd < 0)
        e = errno;
    else if (!(p.features & IORING_FEAT_EXT_ARG) ||
             !(p.features & IORING_FEAT_SINGLE_MMAP) ||
             !po__uring_has_ops(r->fd))
        e = EOPNOTSUPP;
    else
        e = po__ring_map(r, &p);
    if (e != 0) {
        po__ring_close(r, u->a);
        errno = e;
        return e;
    }
    struct io_uring_sqe *w = &r->sqes[r->entries];
    memset(w, 0, sizeof *w);
    w->opcode = PO__OP_EPOLL_WAIT;
    w->fd = u->epfd;
    w->addr = (uint64_t)(uintptr_t)u->events;
    w->len = (unsigned)u->cap;
    return 0;
}

/* Makes an entry a NOP that completes with `res`. */
static void po__sqe_result(struct io_uring_sqe *sqe, int res) {
    sqe->opcode = IORING_OP_NOP;
    sqe->rw_flags = (int)PO__NOP_INJECT_RESULT;
    sqe->len = (unsigned)res;
}

/* Queues the wait. */
static void po__ring_queue_wait(po__ring *r) {
    r->array[r->tail & r->mask] = r->entries;
    r->tail++;
}

/* The next change entry, cleared, at the queue's tail. */
static struct io_uring_sqe *po__ring_change(po__ring *r, unsigned *index) {
    *index = r->tail & (r->entries - 1);
    r->array[r->tail & r->mask] = *index;
    struct io_uring_sqe *sqe = &r->sqes[*index];
    memset(sqe, 0, sizeof *sqe);
    return sqe;
}

/* A ring for the calling thread in place of u's, with room for `entries`
 * changes and what u's holds that the next wait has not taken: the changes
 * not handed over yet, moved, and the refusals of changes handed over
 * early, made again as NOPs that complete with the same result.  The old
 * ring's wait dies with it: a woken wait runs only inside io_uring_enter
 * (DEFER_TASKRUN), so it has taken nothing from the ready list, and one
 * that completed in a submit-only enter leaves its level-triggered events
 * on that list. */
static int po__uring_renew(po__uring *u, unsigned entries) {
    po__ring *old = &u->ring, fresh;
    unsigned done = __atomic_load_n(old->cq_tail, __ATOMIC_ACQUIRE);
    while (entries < old->tail - old->submitted + (done - old->cq_seen))
        entries *= 2;
    int e = po__ring_open(&fresh, entries, u);
    if (e != 0)
        return e;
    for (unsigned i = old->cq_seen; i != done; i++) {
        const struct io_uring_cqe *cqe = &old->cqes[i & old->cq_mask];
        if (cqe->user_data == 0)
            continue;
        unsigned to;
        struct io_uring_sqe *sqe = po__ring_change(&fresh, &to);
        po__sqe_result(sqe, cqe->res);
        sqe->user_data = cqe->user_data;
        fresh.tail++;
    }
    u->waiting = false;
    for (unsigned pos = old->submitted; pos != old->tail; pos++) {
        unsigned from = old->array[pos & old->mask];
        if (from == old->entries) {
            po__ring_queue_wait(&fresh);
            u->waiting = true;
            continue;
        }
        unsigned to;
        struct io_uring_sqe *sqe = po__ring_change(&fresh, &to);
        *sqe = old->sqes[from];
        fresh.ctl_ev[to] = old->ctl_ev[from];
        if (sqe->opcode == IORING_OP_EPOLL_CTL)
            sqe->addr = (uint64_t)(uintptr_t)&fresh.ctl_ev[to];
        fresh.tail++;
    }
    po__ring_close(old, u->a);
    *old = fresh;
    return 0;
}

/* What a failure to set io_uring up means to the caller: not available
 * here (seccomp's EPERM, the sysctl's EPERM or EACCES, an old kernel's
 * ENOSYS, EINVAL or missing operation), or a failure of an available
 * system (EMFILE, ENOMEM) with errno as the call set it. */
static int po__uring_refused(int e) {
    if (e == PO__URING_NOMEM)
        return PO_ENOMEM;
    errno = e;
    return e == ENOSYS || e == EPERM || e == EACCES || e == EINVAL ||
                   e == EOPNOTSUPP
               ? PO_ENOTSUP
               : PO_ESYS;
}

static int po__uring_init(void **state, const po_allocator *a,
                          unsigned max_events) {
    po__uring *u =
        a->malloc(sizeof *u + max_events * sizeof u->events[0], a->ctx);
    if (u == NULL)
        return PO_ENOMEM;
    /* The events too: the kernel writes them through the ring, which
     * memcheck does not see, and would take for never written. */
    memset(u, 0, sizeof *u + max_events * sizeof u->events[0]);
    u->a = a;
    u->cap = (int)max_events;
    /* The ring first: whether io_uring is allowed here is the question
     * (po__uring_refused()); then the epoll set, whose failure is a failed
     * call like any.  Room for a round of changes of a few channels;
     * reserve() grows it with the sockets. */
    u->epfd = -1;
    int e = po__ring_open(&u->ring, 32, u);
    if (e != 0) {
        a->free(u, a->ctx);
        return po__uring_refused(e);
    }
    u->epfd = PO__FAULT(PO__FAULT_CREATE, -1, epoll_create1(EPOLL_CLOEXEC));
    if (u->epfd < 0) {
        e = errno;
        po__ring_close(&u->ring, a);
        a->free(u, a->ctx);
        errno = e;
        return PO_ESYS;
    }
    u->ring.sqes[u->ring.entries].fd = u->epfd;
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
    unsigned entries = u->ring.entries;
    if (2 * sockets < entries || 2 * entries > PO__URING_MAX_ENTRIES)
        return PO_OK;
    while (entries <= 2 * sockets && 2 * entries <= PO__URING_MAX_ENTRIES)
        entries *= 2;
    /* A ring that cannot grow still works: a full queue is handed over
     * early (po__uring_room()). */
    return po__uring_renew(u, entries) == PO__URING_NOMEM ? PO_ENOMEM : PO_OK;
}

/* Hands the written entries to the kernel, and returns what the enter
 * returned (-errno on failure). */
static inline int po__uring_submit(po__ring *r, unsigned min, unsigned flags,
                                   const void *arg, size_t argsz) {
    unsigned tail = r->tail;
    __atomic_store_n(r->sq_tail, tail, __ATOMIC_RELEASE);
    int n = po__uring_enter(r, tail - r->submitted, min, flags, arg, argsz);
    /* An enter that succeeds returns how many entries it consumed. */
    if (PO__LIKELY(n >= 0))
        r->submitted += (unsigned)n;
    else
        r->submitted = __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
    return n;
}

/* Hands a full queue over before the wait: more changes than a round was
 * expected to make, one more crossing (their refusals wait in the
 * completion queue for the wait).  0, or an errno. */
static int po__uring_flush(po__uring *u) {
    po__ring *r = &u->ring;
    int n =
        PO__FAULT(PO__FAULT_SUBMIT, -errno, po__uring_submit(r, 0, 0, NULL, 0));
    if (n == -EEXIST) {
        /* Another thread's ring (see po__uring_failed()): this thread's,
         * larger, takes the changes over. */
        int e = po__uring_renew(u, 2 * r->entries);
        return e == PO__URING_NOMEM ? ENOMEM : e;
    }
    if (n < 0)
        return -n;
    return r->tail - r->submitted < r->entries ? 0 : EBUSY;
}

/* Room for one more change at the queue's tail: 0, or an errno. */
static inline int po__uring_room(po__uring *u) {
    po__ring *r = &u->ring;
    return PO__UNLIKELY(r->tail - r->submitted >= r->entries)
               ? po__uring_flush(u)
               : 0;
}

static int po__uring_ctl(po__uring *u, int site, int op, int ud_op, po_socket s,
                         unsigned interest, po_seqn token) {
    po__ring *r = &u->ring;
    int e = po__uring_room(u);
    if (e != 0)
        return e;
    unsigned i;
    struct io_uring_sqe *sqe = po__ring_change(r, &i);
    sqe->user_data = PO__UD(token, interest, ud_op);
    if (PO__FAULT(site, 1, 0)) {
        po__sqe_result(sqe, -errno);
    } else {
        r->ctl_ev[i] = po__epoll_event(interest, token);
        sqe->opcode = IORING_OP_EPOLL_CTL;
        sqe->flags = IOSQE_CQE_SKIP_SUCCESS;
        sqe->fd = u->epfd;
        sqe->len = (unsigned)op;
        sqe->off = (uint64_t)s;
        sqe->addr = (uint64_t)(uintptr_t)&r->ctl_ev[i];
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

/* The wait's result among completions [head, tail) that hold more than
 * the wait's (refusals): its count of events, or 0. */
static int po__uring_ready(po__uring *u, unsigned head, unsigned tail) {
    int ready = 0;
    for (; head != tail; head++) {
        const struct io_uring_cqe *cqe = &u->ring.cqes[head & u->ring.cq_mask];
        if (cqe->user_data == 0) {
            /* A failed wait (not expected of the poller's own object) is
             * taken as an empty one. */
            u->waiting = false;
            ready = cqe->res > 0 ? cqe->res : 0;
        }
    }
    return ready;
}

/* The refusals among completions [head, tail), after the wait's events:
 * each parks its channel.  An add that met a registration a failed del
 * left behind takes it over instead, as the core does for the other epoll
 * backends (add_may_exist), with a call of its own, and the events the
 * wait dropped as stale are asked for again: that is rare. */
static void po__uring_refusals(po__uring *u, po__round *rd, unsigned head,
                               unsigned tail) {
    const po__ring *r = &u->ring;
    po__harvest h;
    po__harvest_begin(&h, rd);
    bool taken = false;
    for (; head != tail; head++) {
        const struct io_uring_cqe *cqe = &r->cqes[head & r->cq_mask];
        uint64_t ud = cqe->user_data;
        po_seqn token = ud >> 4;
        unsigned op = (unsigned)ud & 3u;
        if (ud == 0)
            continue;
        const po_channel *ch = po__harvest_find(&h, token);
        if (op == PO__UD_ADD && cqe->res == -EEXIST && ch != NULL) {
            struct epoll_event ev =
                po__epoll_event((unsigned)(ud >> 2) & 3u, token);
            if (epoll_ctl(u->epfd, EPOLL_CTL_MOD, ch->sock, &ev) == 0) {
                taken = true;
                continue;
            }
        }
        po__deliver_refusal(&h, token, -cqe->res, op == PO__UD_MOD);
    }
    int n =
        taken ? epoll_wait(u->epfd, (struct epoll_event *)u->events, u->cap, 0)
              : 0;
    for (int i = 0; i < n; i++)
        po__deliver(&h, u->events[i].token, u->events[i].events);
    po__harvest_end(&h, n > 0 ? (uint64_t)n : 0);
}

/* The wait's enter with a timeout (out of line: its arguments would
 * otherwise take stack and registers from every wait). */
static int po__uring_enter_timed(po__ring *r, po__timeout timeout) {
    struct __kernel_timespec ts;
    ts.tv_sec = timeout / 1000000000;
    ts.tv_nsec = timeout % 1000000000;
    struct io_uring_getevents_arg arg;
    memset(&arg, 0, sizeof arg);
    arg.ts = (uint64_t)(uintptr_t)&ts;
    return po__uring_submit(r, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG,
                            &arg, sizeof arg);
}

/* The wait's enter: the changes, the wait, and the wait for a completion
 * unless timeout is 0.  Returns what the enter returned. */
static inline int po__uring_enter_wait(po__ring *r, po__timeout timeout) {
    if (timeout > 0)
        return po__uring_enter_timed(r, timeout);
    return po__uring_submit(r, timeout != 0, IORING_ENTER_GETEVENTS, NULL, 0);
}

/* A failed enter: 0 when it timed out, EINTR when a signal came (both end
 * the round as a timeout does), else an errno.  EEXIST: another thread's
 * wait, which then makes a ring of its own and enters again. */
static int po__uring_failed(po__uring *u, int n, po__timeout timeout) {
    if (n == -EEXIST) {
        int e = po__uring_renew(u, u->ring.entries);
        if (e != 0)
            return e == PO__URING_NOMEM ? ENOMEM : e;
        n = po__uring_enter_wait(&u->ring, timeout);
        if (n >= 0)
            return 0;
    }
    return n == -ETIME ? 0 : -n;
}

/* Marks completions up to `tail` seen, which frees their entries. */
static void po__cq_release(po__ring *r, unsigned tail) {
    __atomic_store_n(r->cq_head, tail, __ATOMIC_RELEASE);
    r->cq_seen = tail;
}

/* The end of a wait whose enter was interrupted or whose changes the
 * kernel refused (out of line: its harvest would otherwise take registers
 * and stack from every wait).  Returns the wait's result. */
static PO__NOINLINE int po__uring_wait_rare(po__uring *u, po__round *rd,
                                            unsigned head, unsigned tail,
                                            int e) {
    u->waiting = true; /* until its completion is among these */
    po__harvest_events(rd, u->events, (size_t)po__uring_ready(u, head, tail));
    po__uring_refusals(u, rd, head, tail);
    po__cq_release(&u->ring, tail);
    return -e;
}

/* A wait whose enter failed: a timeout or an interrupted enter ends the
 * round as a timeout does, with what completed handed over here; another
 * thread's ring is replaced (po__uring_failed()).  Out of line, as rare. */
static PO__NOINLINE int po__uring_wait_failed(po__uring *u, int n) {
    po__round *rd = u->round;
    u->waiting = true;
    int e = po__uring_failed(u, n, u->timeout);
    if (e != 0 && e != EINTR)
        return -e;
    unsigned head = u->ring.cq_seen;
    unsigned tail = __atomic_load_n(u->ring.cq_tail, __ATOMIC_ACQUIRE);
    return head == tail ? -e : po__uring_wait_rare(u, rd, head, tail, e);
}

/* The core harvests the wait's events, unless the enter failed or the
 * kernel refused changes: then they are handed over here, the refusals
 * after them. */
static int po__uring_wait(void *state, po__round *rd, po__timeout timeout) {
    po__uring *u = state;
    po__ring *r = &u->ring;
    /* The ring has room for it: changes fill at most half.  A wait left
     * in flight is this one's; a rare end says so again if it does not
     * complete. */
    if (PO__LIKELY(!u->waiting))
        po__ring_queue_wait(r);
    else
        u->waiting = false;
    u->round = rd;
    u->timeout = timeout;
    int n = PO__FAULT(PO__FAULT_WAIT, -errno, po__uring_enter_wait(r, timeout));
    if (PO__UNLIKELY(n < 0))
        return po__uring_wait_failed(u, n);
    unsigned head = r->cq_seen;
    unsigned tail = __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE);
    const struct io_uring_cqe *cqe = &r->cqes[head & r->cq_mask];
    int ready = cqe->res;
    /* One completion, the wait's (user_data 0), which did not fail; no
     * completion (a timeout) is a rare end too.  The entry read when there
     * is none is an old one, in the ring's memory, and is not used. */
    if (PO__UNLIKELY(((uint64_t)(tail - head - 1) | cqe->user_data) != 0 ||
                     ready < 0))
        return po__uring_wait_rare(u, u->round, head, tail, 0);
    po__cq_release(r, tail);
    return ready;
}

static const po__event *po__uring_events(void *state) {
    return ((po__uring *)state)->events;
}

/* A new epoll set and a new ring for it.  The inherited ring is the
 * parent's shared memory: not one entry of it is read or written here
 * (unlike po__uring_renew(), which moves a thread's pending changes), since
 * what the parent queued is the parent's and the core registers the
 * child's channels again; the child's mappings and descriptors of it go,
 * which leaves the parent's as they are, and so does closing the child's
 * copy of the epoll set (po__epoll_after_fork()). */
static int po__uring_after_fork(void *state) {
    po__uring *u = state;
    int epfd = PO__FAULT(PO__FAULT_CREATE, -1, epoll_create1(EPOLL_CLOEXEC));
    if (epfd < 0)
        return PO_ESYS;
    int inherited = u->epfd;
    u->epfd = epfd; /* the new ring's wait entry watches it */
    po__ring fresh;
    int e = po__ring_open(&fresh, u->ring.entries, u);
    if (e != 0) {
        close(epfd);
        u->epfd = inherited;
        if (e == PO__URING_NOMEM)
            return PO_ENOMEM;
        errno = e;
        return PO_ESYS;
    }
    po__ring_close(&u->ring, u->a);
    PO__FAULT_AFTER(PO__FAULT_CLOSE, close(inherited));
    u->ring = fresh;
    u->waiting = false;
    return PO_OK;
}

const po__backend_ops po__backend_uring = {
    "uring",        PO_BACKEND_URING, true,
    po__uring_init, po__uring_deinit, po__uring_reserve,
    po__uring_add,  po__uring_mod,    po__uring_del,
    po__uring_wait, po__uring_events, po__uring_after_fork,
    NULL,
};
