/*
 * epoll, level-triggered: Linux's, and on Windows the wepoll API over
 * AFD_POLL (polleros's own bridge in wepoll/, or with
 * -DPOLLEROS_WEPOLL=system the upstream wepoll library, whose behaviour is
 * the same).  The two APIs are one: only the kernel object differs, which
 * os.h opens and closes.  The SeqN rides in epoll_event.data.u64, so an
 * event names the channel incarnation, not the descriptor.
 */
#define _GNU_SOURCE
#include <errno.h>

#include "backend.h"
#include "fault.h"
#include "os.h"

typedef struct po__epoll {
    po__epfd epfd;
    int cap;
    bool coarse; /* no epoll_pwait2 (os.h) */
    const po_allocator *a;
    po__event events[]; /* the harvest buffer, which the kernel fills */
} po__epoll;

static int po__epoll_init(void **state, const po_allocator *a,
                          unsigned max_events) {
    po__epoll *ep =
        a->malloc(sizeof *ep + (size_t)max_events * sizeof(po__event), a->ctx);
    if (ep == NULL)
        return PO_ENOMEM;
    ep->epfd = po__epoll_open();
    if (ep->epfd == PO__EPFD_NONE) {
        int saved = errno;
        a->free(ep, a->ctx);
        errno = saved;
        return PO_ESYS;
    }
    ep->cap = (int)max_events;
    ep->coarse = false;
    ep->a = a;
    *state = ep;
    return PO_OK;
}

static void po__epoll_deinit(void *state) {
    po__epoll *ep = state;
    po__epoll_close(ep->epfd);
    ep->a->free(ep, ep->a->ctx);
}

static int po__epoll_ctl(po__epoll *ep, int site, int op, po_socket s,
                         unsigned interest, po_seqn token) {
    struct epoll_event ev = po__epoll_event(interest, token);
    return PO__FAULT(site, -1, epoll_ctl(ep->epfd, op, s, &ev)) == 0 ? 0
                                                                     : errno;
}

static int po__epoll_add(void *state, po_socket s, unsigned interest,
                         po_seqn token, uint32_t *bref) {
    (void)bref;
    return po__epoll_ctl(state, PO__FAULT_CTL_ADD, EPOLL_CTL_ADD, s, interest,
                         token);
}

static int po__epoll_mod(void *state, po_socket s, unsigned interest,
                         po_seqn token, uint32_t *bref) {
    (void)bref;
    return po__epoll_ctl(state, PO__FAULT_CTL_MOD, EPOLL_CTL_MOD, s, interest,
                         token);
}

static int po__epoll_del(void *state, po_socket s, po_seqn token,
                         uint32_t *bref) {
    (void)token;
    (void)bref;
    return po__epoll_ctl(state, PO__FAULT_CTL_DEL, EPOLL_CTL_DEL, s, 0, 0);
}

/* A peer's FIN shows as EPOLLIN (EOF to read) for a channel that reads and
 * not at all for one that does not; EPOLLHUP is a connection that can
 * neither send nor receive (on Windows, a reset); EPOLLERR a socket error.
 * The core harvests the events in its own frame.  A wait that does not
 * block, or blocks without limit, takes epoll_wait's short path, without a
 * test; a timed one (wait_timed) pays for the timespec. */
static int po__epoll_wait(void *state, po__round *r, po__timeout timeout) {
    po__epoll *ep = state;
    (void)r;
    return PO__FAULT(PO__FAULT_WAIT, -errno,
                     po__epoll_ready(ep->epfd, ep->events, ep->cap,
                                     (int)timeout)); /* 0 or -1 */
}

static int po__epoll_wait_timed(void *state, po__round *r,
                                po__timeout timeout) {
    po__epoll *ep = state;
    (void)r;
    return PO__FAULT(
        PO__FAULT_WAIT, -errno,
        po__epoll_timed(ep->epfd, ep->events, ep->cap, timeout, &ep->coarse));
}

static const po__event *po__epoll_events(void *state) {
    return ((po__epoll *)state)->events;
}

/* The parent's set stays whole: an epoll instance and its interest list
 * live until the last descriptor that refers to it is closed, and the
 * parent holds one, so closing the child's copy changes nothing there;
 * any epoll_ctl() through that copy would change the parent's list. */
static int po__epoll_after_fork(void *state) {
    po__epoll *ep = state;
    po__epfd fresh = po__epoll_open();
    if (fresh == PO__EPFD_NONE)
        return PO_ESYS;
    po__epoll_close(ep->epfd);
    ep->epfd = fresh;
    return PO_OK;
}

/* One table, under the name of the API this system has. */
const po__backend_ops PO__EPOLL_BACKEND = {
    PO__EPOLL_NAME,       PO__EPOLL_KIND,   true,
    po__epoll_init,       po__epoll_deinit, NULL,
    po__epoll_add,        po__epoll_mod,    po__epoll_del,
    po__epoll_wait,       po__epoll_events, po__epoll_after_fork,
    po__epoll_wait_timed,
};
