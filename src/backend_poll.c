/*
 * poll(2).  The kernel keeps no state, so the backend keeps the pollfd vector
 * itself.  Unlike a vector rebuilt every round, it is edited in place by
 * add/mod/del (O(1) each: a deleted entry is replaced by the last one), so a
 * round that changed nothing costs only the poll() call.  The token of an
 * event is its vector index, mapped back to the SeqN of the channel.
 * Add checks that the descriptor can be watched at all (po_pollable() on
 * POSIX, that it is a socket on Windows): that check and the wait are this
 * backend's fault sites (fault.h); mod and del edit the vector alone.  On
 * Windows the start and stop of Winsock are the create and close sites.
 */
#include <errno.h>
#include <string.h>

#include "backend.h"
#include "fault.h"

#ifdef _WIN32
/* Windows: WSAPoll, the same call over SOCKETs.  The differences smoothed
 * over here: Winsock must be started (the poller holds a reference for its
 * life); WSAPoll refuses an empty vector (an empty round sleeps instead);
 * it fails as a whole for a handle that is not a socket (add() refuses such
 * a handle, for that channel alone, with ENOTSOCK); a socket closed behind
 * the poller's back may get POLLNVAL without being counted, or fail the
 * whole call (Wine), so the ready entries are counted here and a failure
 * is turned into POLLNVAL for the closed ones; and a peer's FIN is POLLHUP
 * without POLLERR, which polleros reports as readable (EOF to read), as
 * poll(2) does on POSIX, keeping PO_EV_HUP for a reset. */
#include <winsock2.h>
typedef WSAPOLLFD po_pollfd;
static int po_poll_os_start(void) {
    WSADATA wsa;
    /* A fault is reported as WSAStartup reports its errors: returned. */
    return PO_FAULT(PO_FAULT_CREATE, errno, WSAStartup(MAKEWORD(2, 2), &wsa));
}
static void po_poll_os_stop(void) {
    (void)PO_FAULT_AFTER(PO_FAULT_CLOSE, WSACleanup());
}
static int po_poll_os_check(po_socket s) {
    DWORD flags;
    int type = 0, len = sizeof type;
    if (!GetHandleInformation((HANDLE)s, &flags))
        return EBADF; /* not an open handle at all */
    return getsockopt((SOCKET)s, SOL_SOCKET, SO_TYPE, (char *)&type, &len) == 0
               ? 0
               : ENOTSOCK;
}
/* The check at add: two kernel calls, the add site. */
static int po_poll_os_add_check(po_socket s) {
    return PO_FAULT(PO_FAULT_CTL_ADD, errno, po_poll_os_check(s));
}
static int po_poll_os_wait(po_pollfd *fds, size_t n, int timeout_ms) {
    if (n == 0) {
        Sleep(timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms);
        return 0;
    }
    /* A fault is reported as Winsock reports its errors. */
    int rc = PO_FAULT(PO_FAULT_WAIT, (WSASetLastError(errno), SOCKET_ERROR),
                      WSAPoll(fds, (ULONG)n, timeout_ms));
    if (rc < 0 && WSAGetLastError() != WSAENOTSOCK)
        return -WSAGetLastError();
    int ready = 0;
    for (size_t i = 0; i < n; i++) {
        if (rc < 0)
            fds[i].revents = po_poll_os_check(fds[i].fd) ? POLLNVAL : 0;
        ready += fds[i].revents != 0;
    }
    return ready;
}
static unsigned po_poll_os_hup(short revents) {
    return (revents & POLLERR) ? PO_EV_HUP : PO_EV_IN;
}
#else
#include <poll.h>

#include "pollable.h"
typedef struct pollfd po_pollfd;
static int po_poll_os_start(void) { return 0; }
static void po_poll_os_stop(void) {}
/* poll() takes any descriptor, and reports one it cannot watch (a regular
 * file, /dev/null) ready on every call: refused here, as epoll refuses it.
 * The check's kernel calls are the add site. */
static int po_poll_os_add_check(po_socket s) {
    return PO_FAULT(PO_FAULT_CTL_ADD, errno, po_pollable(s));
}
static int po_poll_os_wait(po_pollfd *fds, size_t n, int timeout_ms) {
    int rc = PO_FAULT(PO_FAULT_WAIT, -1, poll(fds, (nfds_t)n, timeout_ms));
    return rc < 0 ? -errno : rc;
}
static unsigned po_poll_os_hup(short revents) {
    (void)revents;
    return PO_EV_HUP;
}
#endif

typedef struct po_pollset {
    po_pollfd *fds;
    po_seqn *seqn;   /* fds[i] belongs to the channel with SeqN seqn[i] */
    uint32_t **slot; /* ... whose index word is *slot[i] */
    size_t n, cap;
    size_t max_events; /* delivered per wait, as with the other backends */
    size_t start;      /* where the next harvest begins */
} po_pollset;

static int po_poll_init(po_poller *p, void **state, unsigned max_events) {
    const po_allocator *a = po__allocator(p);
    po_pollset *ps = a->malloc(sizeof *ps, a->ctx);
    if (ps == NULL)
        return PO_ENOMEM;
    memset(ps, 0, sizeof *ps);
    int e = po_poll_os_start();
    if (e != 0) {
        a->free(ps, a->ctx);
        errno = e;
        return PO_ESYS;
    }
    ps->max_events = max_events;
    *state = ps;
    return PO_OK;
}

static void po_poll_deinit(po_poller *p, void *state) {
    po_pollset *ps = state;
    const po_allocator *a = po__allocator(p);
    void *arrays[] = {ps->fds, ps->seqn, ps->slot, ps};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        if (arrays[i] != NULL)
            a->free(arrays[i], a->ctx);
    po_poll_os_stop();
}

/* Grows one array to cap elements; the old block stays valid on failure. */
static int po_poll_grow(const po_allocator *a, void **arr, size_t size,
                        size_t cap) {
    void *fresh = a->realloc(*arr, cap * size, a->ctx);
    if (fresh == NULL)
        return PO_ENOMEM;
    *arr = fresh;
    return PO_OK;
}

static int po_poll_reserve(po_poller *p, void *state, size_t sockets) {
    po_pollset *ps = state;
    if (sockets <= ps->cap)
        return PO_OK;
    size_t cap = ps->cap ? ps->cap * 2 : 64;
    while (cap < sockets)
        cap *= 2;
    const po_allocator *a = po__allocator(p);
    if (po_poll_grow(a, (void **)&ps->fds, sizeof *ps->fds, cap) ||
        po_poll_grow(a, (void **)&ps->seqn, sizeof *ps->seqn, cap) ||
        po_poll_grow(a, (void **)&ps->slot, sizeof *ps->slot, cap))
        return PO_ENOMEM;
    ps->cap = cap;
    return PO_OK;
}

static short po_poll_events(unsigned interest) {
    return (short)(((interest & PO_IN) ? POLLIN : 0) |
                   ((interest & PO_OUT) ? POLLOUT : 0));
}

static int po_poll_add(void *state, po_socket s, unsigned interest,
                       po_seqn token, uint32_t *slot) {
    po_pollset *ps = state;
    if (ps->n == ps->cap)
        return ENOMEM; /* the core reserves room: not reached */
    int e = po_poll_os_add_check(s);
    if (e != 0)
        return e;
    size_t i = ps->n++;
    ps->fds[i].fd = s;
    ps->fds[i].events = po_poll_events(interest);
    ps->fds[i].revents = 0;
    ps->seqn[i] = token;
    ps->slot[i] = slot;
    *slot = (uint32_t)i;
    return 0;
}

static int po_poll_mod(void *state, po_socket s, unsigned interest,
                       po_seqn token, uint32_t *slot) {
    po_pollset *ps = state;
    (void)s;
    ps->fds[*slot].events = po_poll_events(interest);
    ps->seqn[*slot] = token;
    return 0;
}

static int po_poll_del(void *state, po_socket s, uint32_t *slot) {
    po_pollset *ps = state;
    (void)s;
    size_t i = *slot, last = --ps->n;
    ps->fds[i] = ps->fds[last];
    ps->seqn[i] = ps->seqn[last];
    ps->slot[i] = ps->slot[last];
    *ps->slot[i] = (uint32_t)i;
    return 0;
}

static int po_poll_wait(po_poller *p, void *state, int timeout_ms) {
    po_pollset *ps = state;
    int n = po_poll_os_wait(ps->fds, ps->n, timeout_ms);
    if (n < 0)
        return -n;
    /* Harvest at most max_events, starting where the last harvest stopped,
     * so that with more ready sockets than that every one gets its turn. */
    size_t take = (size_t)n < ps->max_events ? (size_t)n : ps->max_events;
    size_t left = take;
    size_t i = ps->start < ps->n ? ps->start : 0;
    po_harvest h;
    po_harvest_begin(p, &h);
    for (size_t seen = 0; left > 0 && seen < ps->n; seen++, i++) {
        if (i == ps->n)
            i = 0;
        short r = ps->fds[i].revents;
        if (r == 0)
            continue;
        left--;
        ps->start = i + 1;
        unsigned ev = ((r & POLLIN) ? PO_EV_IN : 0u) |
                      ((r & POLLOUT) ? PO_EV_OUT : 0u) |
                      ((r & POLLERR) ? PO_EV_ERR : 0u) |
                      ((r & POLLHUP) ? po_poll_os_hup(r) : 0u) |
                      ((r & POLLNVAL) ? PO_EV_NVAL : 0u);
        po__deliver(&h, ps->seqn[i], ev);
    }
    po_harvest_end(&h, take - left);
    return 0;
}

const po_backend_ops po_backend_poll = {
    "poll",          PO_BACKEND_POLL, false,       po_poll_init, po_poll_deinit,
    po_poll_reserve, po_poll_add,     po_poll_mod, po_poll_del,  po_poll_wait,
};
