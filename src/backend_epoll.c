/*
 * epoll, level-triggered: Linux's, and on Windows the wepoll API over
 * AFD_POLL (polleros's own bridge in src/win/, or with
 * -DPOLLEROS_WEPOLL=system the upstream wepoll library, whose behaviour is
 * the same).  The two APIs are one: only the kernel object differs (a
 * descriptor closed with close(), a HANDLE closed with epoll_close()), and
 * Windows needs Winsock started.  The SeqN rides in epoll_event.data.u64, so
 * an event names the channel incarnation, not the descriptor.
 */
#ifdef _WIN32
#include <winsock2.h>

#include "wepoll.h"
#else
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <unistd.h>
#endif
#include <errno.h>

#include "backend.h"
#include "fault.h"

/* The kernel's event mask is handed to the core as it is (PO_EV_NVAL, 0x20,
 * is no epoll event, so it never appears). */
_Static_assert((unsigned)EPOLLIN == PO_EV_IN &&
                   (unsigned)EPOLLOUT == PO_EV_OUT &&
                   (unsigned)EPOLLERR == PO_EV_ERR &&
                   (unsigned)EPOLLHUP == PO_EV_HUP,
               "epoll's event bits are the core's");

#ifdef _WIN32
typedef HANDLE po_epfd;
#define PO_EPFD_NONE NULL

/* The poller owns a Winsock reference for its life, so that an application
 * need not know Winsock must be started for polling.  Handles are not
 * inherited by child processes unless asked for: no close-on-exec flag. */
static po_epfd po_epoll_open(void) {
    WSADATA wsa;
    int rc = WSAStartup(MAKEWORD(2, 2), &wsa);
    if (rc != 0) {
        errno = rc;
        return NULL;
    }
    po_epfd port = PO_FAULT(PO_FAULT_CREATE, NULL, epoll_create1(0));
    if (port == NULL) {
        int saved = errno;
        WSACleanup();
        errno = saved;
    }
    return port;
}

static void po_epoll_close(po_epfd port) {
    (void)PO_FAULT_AFTER(PO_FAULT_CLOSE, epoll_close(port));
    WSACleanup();
}
#else
typedef int po_epfd;
#define PO_EPFD_NONE (-1)

static po_epfd po_epoll_open(void) {
    int fd = PO_FAULT(PO_FAULT_CREATE, -1, epoll_create1(EPOLL_CLOEXEC));
    return fd < 0 ? PO_EPFD_NONE : fd;
}

static void po_epoll_close(po_epfd fd) {
    (void)PO_FAULT_AFTER(PO_FAULT_CLOSE, close(fd));
}
#endif

typedef struct po_epoll {
    po_epfd epfd;
    int cap;
    struct epoll_event events[]; /* the harvest buffer */
} po_epoll;

static int po_epoll_init(po_poller *p, void **state, unsigned max_events) {
    const po_allocator *a = po__allocator(p);
    po_epoll *ep = a->malloc(
        sizeof *ep + (size_t)max_events * sizeof(struct epoll_event), a->ctx);
    if (ep == NULL)
        return PO_ENOMEM;
    ep->epfd = po_epoll_open();
    if (ep->epfd == PO_EPFD_NONE) {
        int saved = errno;
        a->free(ep, a->ctx);
        errno = saved;
        return PO_ESYS;
    }
    ep->cap = (int)max_events;
    *state = ep;
    return PO_OK;
}

static void po_epoll_deinit(po_poller *p, void *state) {
    po_epoll *ep = state;
    const po_allocator *a = po__allocator(p);
    po_epoll_close(ep->epfd);
    a->free(ep, a->ctx);
}

static int po_epoll_ctl(po_epoll *ep, int site, int op, po_socket s,
                        unsigned interest, po_seqn token) {
    struct epoll_event ev;
    ev.events = ((interest & PO_IN) ? EPOLLIN : 0u) |
                ((interest & PO_OUT) ? EPOLLOUT : 0u);
    ev.data.u64 = token;
    return PO_FAULT(site, -1, epoll_ctl(ep->epfd, op, s, &ev)) == 0 ? 0 : errno;
}

static int po_epoll_add(void *state, po_socket s, unsigned interest,
                        po_seqn token, uint32_t *slot) {
    (void)slot;
    return po_epoll_ctl(state, PO_FAULT_CTL_ADD, EPOLL_CTL_ADD, s, interest,
                        token);
}

static int po_epoll_mod(void *state, po_socket s, unsigned interest,
                        po_seqn token, uint32_t *slot) {
    (void)slot;
    return po_epoll_ctl(state, PO_FAULT_CTL_MOD, EPOLL_CTL_MOD, s, interest,
                        token);
}

static int po_epoll_del(void *state, po_socket s, uint32_t *slot) {
    (void)slot;
    return po_epoll_ctl(state, PO_FAULT_CTL_DEL, EPOLL_CTL_DEL, s, 0, 0);
}

/* A peer's FIN shows as EPOLLIN (EOF to read) for a channel that reads and
 * not at all for one that does not; EPOLLHUP is a connection that can
 * neither send nor receive (on Windows, a reset); EPOLLERR a socket error. */
static int po_epoll_wait(po_poller *p, void *state, int timeout_ms) {
    po_epoll *ep = state;
    int n = PO_FAULT(PO_FAULT_WAIT, -1,
                     epoll_wait(ep->epfd, ep->events, ep->cap, timeout_ms));
    if (n < 0)
        return errno;
    po_harvest h;
    po_harvest_begin(p, &h);
    for (int i = 0; i < n; i++)
        po__deliver(&h, ep->events[i].data.u64, ep->events[i].events);
    po_harvest_end(&h, (uint64_t)n);
    return 0;
}

#ifdef _WIN32
const po_backend_ops po_backend_wepoll = {
    "wepoll", PO_BACKEND_WEPOLL, true,         po_epoll_init, po_epoll_deinit,
    NULL,     po_epoll_add,      po_epoll_mod, po_epoll_del,  po_epoll_wait,
};
#else
const po_backend_ops po_backend_epoll = {
    "epoll", PO_BACKEND_EPOLL, true,         po_epoll_init, po_epoll_deinit,
    NULL,    po_epoll_add,     po_epoll_mod, po_epoll_del,  po_epoll_wait,
};
#endif
