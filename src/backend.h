/*
 * The interface between the core (which knows no operating system) and one
 * kernel readiness mechanism.  A backend is one file exporting one
 * po_backend_ops table.
 *
 * The core decides *when* to call the kernel: add/mod/del only when a
 * channel's interest changed, wait once per round.  The backend decides
 * *how*.  Every registration carries the channel's SeqN as its token; wait()
 * hands each event back through po__deliver() with that token, so the core
 * can drop an event of an incarnation that no longer exists.
 */
#ifndef POLLEROS_BACKEND_H
#define POLLEROS_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "polleros.h"

/* Interest, as the kernel is told it. */
enum { PO_IN = 1u, PO_OUT = 2u };

/* Events, as a backend reports them.  The values are Linux's POLLIN,
 * POLLOUT, POLLERR, POLLHUP and POLLNVAL (epoll's EPOLL* too), so that the
 * epoll backend hands the kernel's mask over without translating it. */
enum {
    PO_EV_IN = 0x01u,   /* readable (data, a pending connection, EOF) */
    PO_EV_OUT = 0x04u,  /* writable, or a connect finished */
    PO_EV_ERR = 0x08u,  /* the socket has an error pending */
    PO_EV_HUP = 0x10u,  /* the peer hung up: no more data will come */
    PO_EV_NVAL = 0x20u, /* the descriptor is not open (poll's POLLNVAL) */
    PO_EV_ALL = 0x3du
};

typedef struct po_backend_ops {
    const char *name;
    po_backend_kind kind;
    /* Whether the kernel can still hold a socket the core believes
     * unregistered (a del that failed), so that an add meets it and fails
     * with EEXIST; the core then takes that registration over with a mod
     * (epoll, wepoll).  Without it an EEXIST is an error like any other and
     * parks the channel: kqueue's EV_ADD changes an existing filter instead
     * of failing, and poll keeps no registration in the kernel. */
    bool add_may_exist;
    /* Creates the kernel object and the backend's state in *state.
     * PO_OK, PO_ENOMEM or PO_ESYS (errno set). */
    int (*init)(po_poller *p, void **state, unsigned max_events);
    /* Closes the kernel object and frees the state. */
    void (*deinit)(po_poller *p, void *state);
    /* Makes room for `sockets` registrations in all, so that add never
     * needs memory during a wait.  PO_OK or PO_ENOMEM; may be NULL. */
    int (*reserve)(po_poller *p, void *state, size_t sockets);
    /* Register, change, unregister one socket.  `slot` is a word in the
     * channel that the backend may use to find its own entry again (the
     * poll backend keeps its vector index there).  Return 0 or an errno. */
    int (*add)(void *state, po_socket s, unsigned interest, po_seqn token,
               uint32_t *slot);
    int (*mod)(void *state, po_socket s, unsigned interest, po_seqn token,
               uint32_t *slot);
    int (*del)(void *state, po_socket s, uint32_t *slot);
    /* Waits up to timeout_ms (-1: no limit) and calls po__deliver()
     * (poller.h) for each event.  Returns 0 or an errno (EINTR included). */
    int (*wait)(po_poller *p, void *state, int timeout_ms);
} po_backend_ops;

/* The poller's allocator, for the backend's own memory. */
const po_allocator *po__allocator(const po_poller *p);

#ifdef POLLEROS_HAVE_EPOLL
extern const po_backend_ops po_backend_epoll;
#endif
#ifdef POLLEROS_HAVE_POLL
extern const po_backend_ops po_backend_poll;
#endif
#ifdef POLLEROS_HAVE_KQUEUE
extern const po_backend_ops po_backend_kqueue;
#endif
#ifdef POLLEROS_HAVE_WEPOLL
extern const po_backend_ops po_backend_wepoll;
#endif

/* The harvest path (po__deliver) is inline, with the poller record. */
#include "poller.h"

#endif
