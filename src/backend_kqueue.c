/*
 * kqueue (macOS, FreeBSD, OpenBSD, NetBSD, DragonFly).
 *
 * A socket gets an EVFILT_READ filter for PO__IN and an EVFILT_WRITE filter
 * for PO__OUT, each carrying the channel's SeqN as udata.  A filter is added
 * only once its direction is wanted (EVFILT_WRITE is not supported on every
 * descriptor type, regular files among them, and a channel that only reads
 * must not fail for that); afterwards an interest change enables or disables
 * it, which keeps the filter and its udata.  Every add, mod and del is one
 * kevent() call carrying all of that channel's changes with EV_RECEIPT, so
 * the result of each change comes back on its own.
 *
 * What the backend relies on, with the man-page facts behind it and the
 * conformance case that checks it, is in docs/kqueue.md.
 */
#include <sys/types.h> /* before sys/event.h: older BSDs need it first */

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/event.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "backend.h"
#include "fault.h"
#include "os.h"

/* The SeqN travels in udata, a pointer: it must hold 64 bits.  CMake builds
 * this backend only where pointers are 64-bit; elsewhere poll serves. */
#if UINTPTR_MAX < UINT64_MAX
#error "the kqueue backend needs 64-bit pointers to carry a SeqN in udata"
#endif

/* Systems without EV_RECEIPT (NetBSD before 10, say) apply one change per
 * kevent() call with no room for events, so that the call's own result is
 * the change's.  POLLEROS_KQUEUE_NO_RECEIPT forces that path, so that it is
 * at least compiled where EV_RECEIPT exists. */
#if defined(EV_RECEIPT) && !defined(POLLEROS_KQUEUE_NO_RECEIPT)
#define PO__KQ_RECEIPT 1
#else
#define PO__KQ_RECEIPT 0
#endif

typedef struct po__kqueue {
    int kq;
    pid_t owner; /* the process kq belongs to: a kqueue is not inherited */
    int cap;
    const po_allocator *a;
    struct kevent events[]; /* the harvest buffer */
} po__kqueue;

/*
 * The channel's backend word holds which filters exist in the kqueue, as
 * PO__IN/PO__OUT bits.  The core knows the interest it asked for, which says
 * which filters are enabled; a disabled filter still exists, and a change
 * must enable what exists and add what does not.
 */

/* ------------------------------------------------------------------------ */
/* Changes                                                                  */

/* At most one change per filter, so two per channel. */
typedef struct po__kq_changes {
    struct kevent ev[2];
    unsigned dir[2]; /* PO__IN or PO__OUT: which filter ev[i] changes */
    int err[2];      /* after po__kq_apply: 0 or the change's errno */
    int n;
} po__kq_changes;

static short po__kq_filter(unsigned dir) {
    return dir == PO__IN ? EVFILT_READ : EVFILT_WRITE;
}

static void po__kq_push(po__kq_changes *c, po_socket s, unsigned dir,
                        unsigned flags, po_seqn token) {
    struct kevent *ev = &c->ev[c->n];
    /* The same udata on every change of a filter, enable and disable too:
     * whether a kernel updates udata on a change or keeps the one given at
     * EV_ADD, the filter reports this channel's SeqN. */
    EV_SET(ev, (uintptr_t)s, po__kq_filter(dir), flags, 0, 0,
           (void *)(uintptr_t)token);
    c->dir[c->n] = dir;
    c->err[c->n] = 0;
    c->n++;
}

#if PO__KQ_RECEIPT
/*
 * Applies the changes in one kevent() call.  EV_RECEIPT makes the kernel
 * answer every change with an EV_ERROR entry whose data is 0 or the
 * change's errno, and an event list exactly as long as the change list
 * leaves no room for a pending event to be drained by this call.
 * Returns 0 (the per-change results are in c->err) or the call's errno.
 */
static int po__kq_apply(int kq, int site, po__kq_changes *c) {
    static const struct timespec zero = {0, 0};
    struct kevent out[2];
    for (int i = 0; i < c->n; i++) {
        c->ev[i].flags |= EV_RECEIPT;
        /* A receipt that does not come back leaves the change's fate
         * unknown: count it as failed, so the core parks the channel
         * rather than trust a registration nobody confirmed. */
        c->err[i] = EIO;
    }
    /* No retry on EINTR: the changes may have been applied already, and an
     * EV_DELETE applied twice fails.  With a zero timeout the call does not
     * sleep, so a signal cannot interrupt it in practice. */
    int n = PO__FAULT(site, -1, kevent(kq, c->ev, c->n, out, c->n, &zero));
    if (n < 0)
        return errno;
    for (int i = 0; i < n; i++) {
        if (!(out[i].flags & EV_ERROR))
            continue; /* not a receipt */
        for (int j = 0; j < c->n; j++)
            if (out[i].filter == c->ev[j].filter)
                c->err[j] = (int)out[i].data;
    }
    return 0;
}
#else
/* One change per call and no event list: a failed change makes kevent()
 * return -1 with its errno, and no pending event can be drained. */
static int po__kq_apply(int kq, int site, po__kq_changes *c) {
    static const struct timespec zero = {0, 0};
    for (int i = 0; i < c->n; i++)
        c->err[i] =
            PO__FAULT(site, -1, kevent(kq, &c->ev[i], 1, NULL, 0, &zero)) == 0
                ? 0
                : errno;
    return 0;
}
#endif

/* The first error among the changes (0 if none); the changes of the
 * directions in `ok` are those that succeeded. */
static int po__kq_result(const po__kq_changes *c, unsigned *ok) {
    int first = 0;
    *ok = 0;
    for (int i = 0; i < c->n; i++) {
        if (c->err[i] == 0)
            *ok |= c->dir[i];
        else if (first == 0)
            first = c->err[i];
    }
    return first;
}

/* Deletes the filters of `dirs`; returns the first error. */
static int po__kq_delete(int kq, po_socket s, unsigned dirs) {
    po__kq_changes c = {.n = 0};
    for (unsigned dir = PO__IN; dir <= PO__OUT; dir <<= 1)
        if (dirs & dir)
            po__kq_push(&c, s, dir, EV_DELETE, 0);
    if (c.n == 0)
        return 0;
    unsigned ok;
    int e = po__kq_apply(kq, PO__FAULT_CTL_DEL, &c);
    return e != 0 ? e : po__kq_result(&c, &ok);
}

/* ------------------------------------------------------------------------ */
/* Registration                                                             */

static int po__kq_add(void *state, po_socket s, unsigned interest,
                      po_seqn token, uint32_t *bref) {
    po__kqueue *kq = state;
    /* kqueue watches a regular file's read offset where epoll refuses the
     * file: refused here too, so that every backend parks it alike. */
    int e = po__pollable(s);
    if (e != 0) {
        *bref = 0;
        return e;
    }
    po__kq_changes c = {.n = 0};
    for (unsigned dir = PO__IN; dir <= PO__OUT; dir <<= 1)
        if (interest & dir)
            po__kq_push(&c, s, dir, EV_ADD, token);
    unsigned ok = 0;
    e = po__kq_apply(kq->kq, PO__FAULT_CTL_ADD, &c);
    if (e == 0)
        e = po__kq_result(&c, &ok);
    if (e != 0) {
        /* All or nothing, like epoll_ctl: the core counts a failed add as
         * no registration, so a filter that did get in must go again, or
         * it would report events for a parked channel. */
        po__kq_delete(kq->kq, s, ok);
        *bref = 0;
        return e;
    }
    *bref = interest;
    return 0;
}

static int po__kq_mod(void *state, po_socket s, unsigned interest,
                      po_seqn token, uint32_t *bref) {
    po__kqueue *kq = state;
    unsigned added = *bref;
    po__kq_changes c = {.n = 0};
    /* Every existing filter is told its state, changed or not: a change of
     * a filter that is gone fails (EBADF for a closed descriptor, ENOENT for
     * one closed and reopened, whose filters went with the close), so a
     * socket replaced behind the poller's back is noticed here, as epoll's
     * EPOLL_CTL_MOD notices it. */
    for (unsigned dir = PO__IN; dir <= PO__OUT; dir <<= 1)
        if (added & dir)
            po__kq_push(&c, s, dir, (interest & dir) ? EV_ENABLE : EV_DISABLE,
                        token);
    for (unsigned dir = PO__IN; dir <= PO__OUT; dir <<= 1)
        if ((interest & dir) && !(added & dir))
            po__kq_push(&c, s, dir, EV_ADD, token);
    unsigned ok = 0;
    int e = po__kq_apply(kq->kq, PO__FAULT_CTL_MOD, &c);
    if (e == 0)
        e = po__kq_result(&c, &ok);
    if (e != 0) {
        /* A filter added to what may be another file under the same number
         * goes again; the core then unregisters the rest (del). */
        po__kq_delete(kq->kq, s, ok & interest & ~added);
        return e;
    }
    *bref = added | interest;
    return 0;
}

static int po__kq_del(void *state, po_socket s, po_seqn token, uint32_t *bref) {
    (void)token;
    po__kqueue *kq = state;
    unsigned added = *bref;
    *bref = 0;
    /* A descriptor closed behind the poller's back took its filters with
     * it: the error (EBADF, ENOENT) is the core's to judge. */
    return po__kq_delete(kq->kq, s, added);
}

/* ------------------------------------------------------------------------ */
/* Harvest                                                                  */

enum { PO__KQ_CONNECTED, PO__KQ_GONE, PO__KQ_NOT_SOCKET };

/*
 * Whether the connection behind an EOF can still carry data either way.
 * kqueue sets EV_EOF per direction: on the read filter when the peer shut
 * down its sending side (a TCP half-close, after which this side can still
 * send), on the write filter when this side can no longer send.  epoll's
 * EPOLLHUP, which polleros reports as hang-up, means both directions are
 * shut; getpeername() tells that apart without touching the socket's state
 * (unlike SO_ERROR, which it would clear): it fails with ENOTCONN once the
 * socket is disconnected, and macOS fails it with EINVAL as soon as both
 * directions are shut down.
 */
static int po__kq_peer(int fd) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
        return PO__KQ_CONNECTED;
    switch (errno) {
    case ENOTSOCK:
        return PO__KQ_NOT_SOCKET;
    case ENOTCONN:
    case EINVAL:
    case ECONNRESET:
        return PO__KQ_GONE;
    default:
        return PO__KQ_CONNECTED; /* cannot tell: report plain readiness */
    }
}

/* One kevent, as backend events (backend.h), the same as epoll reports for
 * the same socket state. */
static unsigned po__kq_translate(const struct kevent *ev) {
    if (ev->flags & EV_ERROR) /* only change lists produce these */
        return ev->data == EBADF ? PO__EV_NVAL : PO__EV_ERR;
    bool read = ev->filter == EVFILT_READ;
    /* Readable covers data, a pending connection and EOF; writable covers
     * room to write and a write side that is shut (a send fails at once). */
    unsigned out = read ? PO__EV_IN : PO__EV_OUT;
    if (!(ev->flags & EV_EOF))
        return out;
    if (ev->fflags != 0) /* the socket's error: a reset, a refused connect */
        return out | PO__EV_ERR;
    switch (po__kq_peer((int)ev->ident)) {
    case PO__KQ_GONE:
        return out | PO__EV_HUP;
    case PO__KQ_NOT_SOCKET:
        /* A pipe or fifo: no writer left is epoll's EPOLLHUP, no reader
         * left its EPOLLERR. */
        return out | (read ? PO__EV_HUP : PO__EV_ERR);
    default:
        return out; /* a half-close: plain readability or writability */
    }
}

static int po__kq_wait(void *state, po__round *r, po__timeout timeout) {
    po__kqueue *kq = state;
    struct timespec ts = po__timespec(timeout);
    int n = PO__FAULT(
        PO__FAULT_WAIT, -1,
        kevent(kq->kq, NULL, 0, kq->events, kq->cap, timeout < 0 ? NULL : &ts));
    if (n < 0)
        return -errno;
    po__harvest h;
    po__harvest_begin(&h, r);
    for (int i = 0; i < n; i++)
        po__deliver(&h, (po_seqn)(uintptr_t)kq->events[i].udata,
                    po__kq_translate(&kq->events[i]));
    po__harvest_end(&h, (uint64_t)n);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Lifecycle                                                                */

/* A kqueue is not inherited across fork(); close-on-exec keeps it from an
 * exec without fork too.  Atomically where the system offers it. */
static int po__kq_open(void) {
#if defined(__NetBSD__)
    return kqueue1(O_CLOEXEC);
#elif defined(KQUEUE_CLOEXEC) /* FreeBSD 14 */
    return kqueuex(KQUEUE_CLOEXEC);
#else
    int fd = kqueue();
    if (fd >= 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
#endif
}

static int po__kq_init(void **state, const po_allocator *a,
                       unsigned max_events) {
    po__kqueue *kq = a->malloc(
        sizeof *kq + (size_t)max_events * sizeof(struct kevent), a->ctx);
    if (kq == NULL)
        return PO_ENOMEM;
    kq->kq = PO__FAULT(PO__FAULT_CREATE, -1, po__kq_open());
    if (kq->kq < 0) {
        int saved = errno;
        a->free(kq, a->ctx);
        errno = saved;
        return PO_ESYS;
    }
    kq->owner = getpid();
    kq->cap = (int)max_events;
    kq->a = a;
    *state = kq;
    return PO_OK;
}

static void po__kq_deinit(void *state) {
    po__kqueue *kq = state;
    const po_allocator *a = kq->a;
    /* Removes every filter at once.  In a child that never had a kqueue of
     * its own (po_destroy() without po_after_fork()), kq is not open, or
     * is a number the child has opened since for something else. */
    if (kq->owner == getpid())
        (void)PO__FAULT_AFTER(PO__FAULT_CLOSE, close(kq->kq));
    a->free(kq, a->ctx);
}

/* The child got no copy of the parent's kqueue: there is nothing to close,
 * and the parent's filters cannot be reached from here. */
static int po__kq_after_fork(void *state) {
    po__kqueue *kq = state;
    int fd = PO__FAULT(PO__FAULT_CREATE, -1, po__kq_open());
    if (fd < 0)
        return PO_ESYS;
    kq->kq = fd;
    kq->owner = getpid();
    return PO_OK;
}

const po__backend_ops po__backend_kqueue = {
    "kqueue", PO_BACKEND_KQUEUE, false,      po__kq_init, po__kq_deinit,
    NULL,     po__kq_add,        po__kq_mod, po__kq_del,  po__kq_wait,
    NULL,     po__kq_after_fork, NULL,
};
