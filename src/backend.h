/*
 * The interface between the core (which knows no operating system) and one
 * kernel readiness mechanism, and all a backend sees of the core: this
 * table, the harvest path (harvest.h) and the allocator.  A backend is one
 * file exporting one po__backend_ops table.
 *
 * The core decides *when* to call the kernel: add/mod/del only when a
 * channel's interest changed, wait once per round.  The backend decides
 * *how*.  Every registration carries the channel's SeqN as its token; wait()
 * hands each event back through po__deliver() with that token, so the core
 * can drop an event of an incarnation that no longer exists.  Where the
 * kernel reports events in the core's format (struct epoll_event), wait()
 * leaves them in its buffer and the core harvests them in its own frame.
 */
#ifndef POLLEROS_BACKEND_H
#define POLLEROS_BACKEND_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harvest.h"
#include "polleros.h"

/* Interest, as the kernel is told it. */
enum { PO__IN = 1u, PO__OUT = 2u };

/* A wait's timeout: nanoseconds from now; 0 does not block, a negative one
 * (PO__FOREVER) has no limit.  Signed, so that the two a wait without a
 * time takes are epoll_wait's own 0 and -1, passed on as they are. */
typedef int64_t po__timeout;
#define PO__FOREVER ((po__timeout)-1)

typedef struct po__backend_ops {
    const char *name;
    po_backend_kind kind;
    /* Whether the kernel can still hold a socket the core believes
     * unregistered (a del that failed), so that an add meets it and fails
     * with EEXIST; the core then takes that registration over with a mod
     * (epoll, wepoll).  Without it an EEXIST is an error like any other and
     * parks the channel: kqueue's EV_ADD changes an existing filter instead
     * of failing, and poll keeps no registration in the kernel. */
    bool add_may_exist;
    /* Creates the kernel object and the backend's state in *state, its
     * memory from `a`, which outlives the state.  PO_OK, PO_ENOMEM or
     * PO_ESYS (errno set). */
    int (*init)(void **state, const po_allocator *a, unsigned max_events);
    /* Closes the kernel object and frees the state. */
    void (*deinit)(void *state);
    /* Makes room for `sockets` registrations in all, so that add never
     * needs memory during a wait.  PO_OK or PO_ENOMEM; may be NULL. */
    int (*reserve)(void *state, size_t sockets);
    /* Register, change, unregister one socket.  `bref` is a word in the
     * channel that the backend may use to find its own entry again (the
     * poll backend keeps its vector index there).  Return 0 or an errno.
     * A backend that hands its changes to the kernel with the next wait
     * (uring) returns 0 and reports a change the kernel then refused with
     * po__deliver_refusal() in that wait, by the token it was given. */
    int (*add)(void *state, po_socket s, unsigned interest, po_seqn token,
               uint32_t *bref);
    int (*mod)(void *state, po_socket s, unsigned interest, po_seqn token,
               uint32_t *bref);
    int (*del)(void *state, po_socket s, po_seqn token, uint32_t *bref);
    /* Waits up to `timeout` (above), as finely as the kernel's call allows and
     * never shorter than the kernel can tell: a timeout the call cannot express
     * exactly is rounded up (po__timeout_ms()).  Returns how many events it
     * left at the start of its buffer (events(), below) for the core to
     * harvest, or a negated errno (-EINTR included).  A backend that must
     * translate its events hands each to the round itself through a
     * po__harvest (harvest.h) and returns 0. */
    int (*wait)(void *state, po__round *r, po__timeout timeout);
    /* The buffer wait() leaves its events in, which lives as long as the
     * state; NULL (or no such function) for a backend that leaves none. */
    const po__event *(*events)(void *state);
    /* In a child process (fork()), the first call after it: gives the
     * state a kernel object of the child's own, holding no registration,
     * in place of the one inherited, which stays the parent's with every
     * registration in it: the inherited object is never changed, only the
     * child's copy of its descriptor closed where the child has one.  The
     * core registers its channels again.  PO_OK, PO_ENOMEM or PO_ESYS
     * (errno set), with nothing changed on failure.  Windows does not fork:
     * never called there. */
    int (*after_fork)(void *state);
    /* A backend whose kernel call for a timed wait differs from the one
     * for a wait that does not block or has no limit (epoll: epoll_pwait2
     * and epoll_wait) may take timed waits here, as wait() would; its
     * wait() is then given only 0 and PO__FOREVER, and spares the common
     * waits a test.  NULL: wait() takes every timeout. */
    int (*wait_timed)(void *state, po__round *r, po__timeout timeout);
} po__backend_ops;

/* A wait's timeout for the kernel calls that take whole milliseconds:
 * rounded up, so that the wait never ends before it (and at most INT_MAX
 * ms, after which the core waits again); -1 for no limit. */
static inline int po__timeout_ms(po__timeout timeout) {
    if (timeout < 0)
        return -1;
    po__timeout ms = timeout / 1000000 + (timeout % 1000000 != 0);
    return ms < INT_MAX ? (int)ms : INT_MAX;
}

#ifdef POLLEROS_HAVE_EPOLL
extern const po__backend_ops po__backend_epoll;
#endif
#ifdef POLLEROS_HAVE_POLL
extern const po__backend_ops po__backend_poll;
#endif
#ifdef POLLEROS_HAVE_KQUEUE
extern const po__backend_ops po__backend_kqueue;
#endif
#ifdef POLLEROS_HAVE_WEPOLL
extern const po__backend_ops po__backend_wepoll;
#endif
#ifdef POLLEROS_HAVE_URING
extern const po__backend_ops po__backend_uring;
#endif

#endif
