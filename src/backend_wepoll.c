/*
 * Windows: the wepoll API, level-triggered, over AFD_POLL.  By default the
 * API is polleros's own bridge (src/win/); built with
 * -DPOLLEROS_WEPOLL=system it is the upstream wepoll library, whose
 * behaviour is the same.  The SeqN rides in epoll_event.data.u64 as with
 * epoll on Linux, so an event names the channel incarnation, not the
 * socket.  The port is a HANDLE closed with epoll_close().
 */
#include <errno.h>
#include <winsock2.h>

#include "backend.h"
#include "fault.h"
#include "wepoll.h"

/* wepoll's event bits are Linux's, as polleros's PO_EV_* are: an event mask
 * is handed over without translation.  0x20 (PO_EV_NVAL) is no wepoll
 * event, so it never appears. */
_Static_assert(EPOLLIN == PO_EV_IN && EPOLLOUT == PO_EV_OUT &&
                   EPOLLERR == PO_EV_ERR && EPOLLHUP == PO_EV_HUP,
               "wepoll's event bits are polleros's");
_Static_assert((PO_EV_ALL & ~(unsigned)(EPOLLIN | EPOLLOUT | EPOLLERR |
                                        EPOLLHUP)) == PO_EV_NVAL,
               "PO_EV_ALL holds no other wepoll event");

typedef struct po_wepoll {
    HANDLE port;
    int cap;
    struct epoll_event events[]; /* the harvest buffer */
} po_wepoll;

static int po_wepoll_init(po_poller *p, void **state, unsigned max_events) {
    const po_allocator *a = po__allocator(p);
    po_wepoll *ep = a->malloc(
        sizeof *ep + (size_t)max_events * sizeof(struct epoll_event), a->ctx);
    if (ep == NULL)
        return PO_ENOMEM;
    /* The poller owns a Winsock reference for its life, so that an
     * application need not know Winsock must be started for polling. */
    WSADATA wsa;
    int rc = WSAStartup(MAKEWORD(2, 2), &wsa);
    if (rc != 0) {
        a->free(ep, a->ctx);
        errno = rc;
        return PO_ESYS;
    }
    /* Handles are not inherited by child processes unless asked for, so the
     * port needs no close-on-exec flag. */
    ep->port = PO_FAULT(PO_FAULT_CREATE, NULL, epoll_create1(0));
    if (ep->port == NULL) {
        int saved = errno;
        WSACleanup();
        a->free(ep, a->ctx);
        errno = saved;
        return PO_ESYS;
    }
    ep->cap = (int)max_events;
    *state = ep;
    return PO_OK;
}

static void po_wepoll_deinit(po_poller *p, void *state) {
    po_wepoll *ep = state;
    const po_allocator *a = po__allocator(p);
    (void)PO_FAULT_AFTER(PO_FAULT_CLOSE, epoll_close(ep->port));
    WSACleanup();
    a->free(ep, a->ctx);
}

static int po_wepoll_ctl(po_wepoll *ep, int site, int op, po_socket s,
                         unsigned interest, po_seqn token) {
    struct epoll_event ev;
    ev.events = ((interest & PO_IN) ? EPOLLIN : 0u) |
                ((interest & PO_OUT) ? EPOLLOUT : 0u);
    ev.data.u64 = token;
    return PO_FAULT(site, -1, epoll_ctl(ep->port, op, (SOCKET)s, &ev)) == 0
               ? 0
               : errno;
}

static int po_wepoll_add(void *state, po_socket s, unsigned interest,
                         po_seqn token, uint32_t *slot) {
    (void)slot;
    return po_wepoll_ctl(state, PO_FAULT_CTL_ADD, EPOLL_CTL_ADD, s, interest,
                         token);
}

static int po_wepoll_mod(void *state, po_socket s, unsigned interest,
                         po_seqn token, uint32_t *slot) {
    (void)slot;
    return po_wepoll_ctl(state, PO_FAULT_CTL_MOD, EPOLL_CTL_MOD, s, interest,
                         token);
}

static int po_wepoll_del(void *state, po_socket s, uint32_t *slot) {
    (void)slot;
    return po_wepoll_ctl(state, PO_FAULT_CTL_DEL, EPOLL_CTL_DEL, s, 0, 0);
}

static int po_wepoll_wait(po_poller *p, void *state, int timeout_ms) {
    po_wepoll *ep = state;
    int n = PO_FAULT(PO_FAULT_WAIT, -1,
                     epoll_wait(ep->port, ep->events, ep->cap, timeout_ms));
    if (n < 0)
        return errno;
    /* The mask goes to the core as it is (the values agree, see above).
     * A peer's FIN shows as EPOLLIN (EOF to read) for a channel that reads,
     * and not at all for one that does not, as on Linux; a reset is
     * EPOLLHUP; a failed connect EPOLLERR. */
    for (int i = 0; i < n; i++)
        po__deliver(p, ep->events[i].data.u64,
                    ep->events[i].events & PO_EV_ALL);
    return 0;
}

const po_backend_ops po_backend_wepoll = {
    "wepoll",      PO_BACKEND_WEPOLL, po_wepoll_init, po_wepoll_deinit, NULL,
    po_wepoll_add, po_wepoll_mod,     po_wepoll_del,  po_wepoll_wait,
};
