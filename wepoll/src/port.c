/*
 * The port's socket set and the life of each socket's poll request (see the
 * states in port.h).
 */
#include "port.h"

#include <stdlib.h>
#include <string.h>

#include "errors.h"

/* The events this bridge knows how to watch; others are ignored. */
#define WEP_KNOWN_EVENTS                                                       \
    (EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLRDNORM |       \
     EPOLLRDBAND | EPOLLWRNORM | EPOLLWRBAND | EPOLLMSG | EPOLLRDHUP)

/* ------------------------------------------------------------------------ */
/* Memory: every byte from the port's allocator                             */

static void *wep_alloc(wep_port *p, size_t size) {
    return p->alloc.malloc(size, p->alloc.ctx);
}

static void *wep_zalloc(wep_port *p, size_t size) {
    void *ptr = wep_alloc(p, size);
    if (ptr != NULL)
        memset(ptr, 0, size);
    return ptr;
}

static void wep_free(wep_port *p, void *ptr) {
    p->alloc.free(ptr, p->alloc.ctx);
}

/* ------------------------------------------------------------------------ */
/* Translation                                                              */

static ULONG wep_afd_events(uint32_t ev) {
    /* A closed socket must be noticed whatever is asked: it leaves the set
     * by itself. */
    ULONG afd = WEP_AFD_LOCAL_CLOSE;
    if (ev & (EPOLLIN | EPOLLRDNORM))
        afd |= WEP_AFD_RECEIVE | WEP_AFD_ACCEPT;
    if (ev & (EPOLLIN | EPOLLRDNORM | EPOLLRDHUP))
        afd |= WEP_AFD_DISCONNECT; /* EOF is readable, as on Linux */
    if (ev & (EPOLLPRI | EPOLLRDBAND))
        afd |= WEP_AFD_RECEIVE_EXPEDITED;
    if (ev & (EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND))
        afd |= WEP_AFD_SEND;
    if (ev & EPOLLHUP)
        afd |= WEP_AFD_ABORT;
    if (ev & EPOLLERR)
        afd |= WEP_AFD_CONNECT_FAIL;
    return afd;
}

static uint32_t wep_epoll_events(ULONG afd) {
    uint32_t ev = 0;
    if (afd & (WEP_AFD_RECEIVE | WEP_AFD_ACCEPT))
        ev |= EPOLLIN | EPOLLRDNORM;
    if (afd & WEP_AFD_DISCONNECT)
        ev |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
    if (afd & WEP_AFD_RECEIVE_EXPEDITED)
        ev |= EPOLLPRI | EPOLLRDBAND;
    if (afd & WEP_AFD_SEND)
        ev |= EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND;
    if (afd & WEP_AFD_ABORT)
        ev |= EPOLLHUP;
    /* Linux reports a failed connect as all of these at once; programs
     * written for it look for any of them. */
    if (afd & WEP_AFD_CONNECT_FAIL)
        ev |= EPOLLIN | EPOLLRDNORM | EPOLLOUT | EPOLLWRNORM | EPOLLERR |
              EPOLLRDHUP;
    return ev;
}

/* ------------------------------------------------------------------------ */
/* Driver handles, shared by up to WEP_GROUP_MAX sockets                    */

/* A group with room, made if none has any.  Full groups sit at the front,
 * groups with room at the back, so this looks at the last one only. */
static wep_group *wep_group_acquire(wep_port *p, DWORD *err) {
    wep_group *g = po__list_empty(&p->groups)
                       ? NULL
                       : PO__LIST_ENTRY(p->groups.prev, wep_group, link);
    if (g == NULL || g->users >= WEP_GROUP_MAX) {
        g = wep_zalloc(p, sizeof *g);
        if (g == NULL) {
            *err = ERROR_NOT_ENOUGH_MEMORY;
            return NULL;
        }
        *err = wep_afd_open(p->iocp, &g->afd);
        if (*err != 0) {
            wep_free(p, g);
            return NULL;
        }
        po__list_append(&p->groups, &g->link);
    }
    if (++g->users == WEP_GROUP_MAX) {
        po__list_unlink(&g->link);
        po__list_push(&p->groups, &g->link);
    }
    return g;
}

static void wep_group_release(wep_port *p, wep_group *g) {
    g->users--;
    if (&g->link != p->groups.prev) {
        po__list_unlink(&g->link);
        po__list_append(&p->groups, &g->link);
    }
}

/* ------------------------------------------------------------------------ */
/* The update queue, of sockets in the set: their link is on it or on none  */

static void wep_queue(wep_port *p, wep_sock *s) {
    if (!po__list_linked(&s->link))
        po__list_append(&p->queue, &s->link);
}

static void wep_unqueue(wep_sock *s) {
    if (po__list_linked(&s->link))
        po__list_unlink(&s->link);
}

/* ------------------------------------------------------------------------ */
/* One socket's request                                                     */

static void wep_sock_free(wep_port *p, wep_sock *s) {
    wep_group_release(p, s->group);
    wep_free(p, s);
}

static void wep_sock_cancel(wep_sock *s) {
    /* NOT_FOUND: it completed meanwhile; its completion comes all the
     * same.  Any other failure leaves the request to complete by itself
     * (it watches a subset or a superset: a superset is filtered, a subset
     * is widened when it completes). */
    (void)wep_afd_cancel(s->group->afd, &s->iosb);
    s->state = WEP_CANCELLED;
}

/* Takes s out of the set.  Its memory stays until an outstanding request
 * has completed: the driver writes into it until then. */
static void wep_sock_remove(wep_port *p, wep_sock *s) {
    po__map_del(&p->set, s);
    wep_unqueue(s);
    if (s->state == WEP_PENDING)
        wep_sock_cancel(s);
    if (s->state == WEP_IDLE) {
        wep_sock_free(p, s);
    } else {
        s->deleted = true;
        po__list_push(&p->deleted, &s->link);
    }
}

/* Hands a completion with `status` to the port ourselves: a request that
 * could not even be submitted is reported like one that failed. */
static void wep_sock_post(wep_port *p, wep_sock *s, NTSTATUS status) {
    s->iosb.Status = status;
    s->info.NumberOfHandles = 0;
    if (PostQueuedCompletionStatus(p->iocp, 0, 0, (OVERLAPPED *)&s->iosb)) {
        s->state = WEP_PENDING;
        s->polled = 0;
        s->gen = p->gen;
        p->outstanding++;
    }
    /* If even that fails (out of memory), the socket stays idle, unheard,
     * until its next EPOLL_CTL_MOD. */
}

static bool wep_sock_open(const wep_sock *s) {
    DWORD flags;
    return GetHandleInformation((HANDLE)s->sock, &flags) != 0;
}

static void wep_sock_submit(wep_port *p, wep_sock *s, bool relayed) {
    s->info.Timeout.QuadPart = INT64_MAX;
    s->info.NumberOfHandles = 1;
    s->info.Exclusive = FALSE;
    s->info.Handles[0].Handle = (HANDLE)s->base;
    s->info.Handles[0].Events = wep_afd_events(s->events);
    s->info.Handles[0].Status = 0;
    s->relayed = relayed;
    NTSTATUS st = wep_afd_poll(s->group->afd, &s->info, &s->iosb);
    if (st == WEP_STATUS_PENDING || WEP_NT_SUCCESS(st)) {
        /* Also on success: the completion is queued on the port anyway. */
        s->state = WEP_PENDING;
        s->polled = s->events & WEP_KNOWN_EVENTS;
        s->gen = p->gen;
        p->outstanding++;
    } else if (!wep_sock_open(s)) {
        /* Closed since its last request: it leaves the set silently.
         * (Windows says STATUS_INVALID_HANDLE, Wine another status: the
         * handle itself is the reliable witness.) */
        wep_sock_remove(p, s);
    } else if (s->events & WEP_KNOWN_EVENTS) {
        wep_sock_post(p, s, st);
    }
    /* A disarmed oneshot socket whose request failed has nothing to report:
     * it waits, unqueued, for EPOLL_CTL_MOD. */
}

/* Brings s's request in line with s->events. */
static void wep_sock_update(wep_port *p, wep_sock *s, bool relayed) {
    switch (s->state) {
    case WEP_IDLE:
        wep_sock_submit(p, s, relayed);
        break;
    case WEP_PENDING:
        /* Watching more than wanted is filtered at completion; watching
         * less needs a new request. */
        if ((s->events & WEP_KNOWN_EVENTS & ~s->polled) != 0)
            wep_sock_cancel(s);
        break;
    default: /* CANCELLED: its completion queues it again */
        break;
    }
}

/* ------------------------------------------------------------------------ */
/* The set                                                                  */

static void wep_sock_set(wep_port *p, wep_sock *s,
                         const struct epoll_event *ev) {
    /* Errors and hang-ups are always watched, as epoll does. */
    s->events = ev->events | EPOLLERR | EPOLLHUP;
    s->data = ev->data;
    if ((s->events & WEP_KNOWN_EVENTS & ~s->polled) != 0 ||
        s->state == WEP_IDLE)
        wep_queue(p, s);
}

/* The socket record of sk in the set, or NULL. */
static wep_sock *wep_port_find(const wep_port *p, SOCKET sk) {
    return po__map_get(&p->set, (uint64_t)sk);
}

int wep_port_add(wep_port *p, SOCKET sk, const struct epoll_event *ev) {
    if (wep_port_find(p, sk) != NULL)
        return wep_fail(ERROR_ALREADY_EXISTS);
    /* The driver polls the base provider's socket: a layered service
     * provider may wrap it in another handle. */
    SOCKET base = INVALID_SOCKET;
    DWORD bytes = 0;
    if (WSAIoctl(sk, SIO_BASE_HANDLE, NULL, 0, &base, sizeof base, &bytes, NULL,
                 NULL) != 0 &&
        WSAGetLastError() != WSAENOTSOCK &&
        WSAIoctl(sk, SIO_BSP_HANDLE_POLL, NULL, 0, &base, sizeof base, &bytes,
                 NULL, NULL) != 0)
        return wep_fail((DWORD)WSAGetLastError());
    if (base == INVALID_SOCKET)
        return wep_fail(WSAENOTSOCK);
    /* Some Winsock implementations (Wine's) answer SIO_BASE_HANDLE for any
     * handle: ask a question only a socket can answer. */
    int type = 0, len = sizeof type;
    if (getsockopt(sk, SOL_SOCKET, SO_TYPE, (char *)&type, &len) != 0)
        return wep_fail((DWORD)WSAGetLastError());
    if (!po__map_reserve(&p->set, 1))
        return wep_fail(ERROR_NOT_ENOUGH_MEMORY);
    wep_sock *s = wep_zalloc(p, sizeof *s);
    if (s == NULL)
        return wep_fail(ERROR_NOT_ENOUGH_MEMORY);
    DWORD err = 0;
    s->group = wep_group_acquire(p, &err);
    if (s->group == NULL) {
        wep_free(p, s);
        return wep_fail(err);
    }
    s->sock = sk;
    s->base = base;
    s->state = WEP_IDLE;
    po__map_put(&p->set, s);
    wep_sock_set(p, s, ev);
    return 0;
}

int wep_port_mod(wep_port *p, SOCKET sk, const struct epoll_event *ev) {
    wep_sock *s = wep_port_find(p, sk);
    if (s == NULL)
        return wep_fail(ERROR_NOT_FOUND);
    wep_sock_set(p, s, ev);
    return 0;
}

int wep_port_del(wep_port *p, SOCKET sk) {
    wep_sock *s = wep_port_find(p, sk);
    if (s == NULL)
        return wep_fail(ERROR_NOT_FOUND);
    wep_sock_remove(p, s);
    return 0;
}

void wep_port_forget(wep_port *p, SOCKET sk) {
    wep_sock *s = wep_port_find(p, sk);
    if (s != NULL)
        wep_sock_remove(p, s);
}

/* ------------------------------------------------------------------------ */
/* Requests out, completions in                                             */

void wep_port_flush(wep_port *p, bool relayed) {
    for (po__list *l; (l = po__list_first(&p->queue)) != NULL;) {
        po__list_unlink(l);
        wep_sock_update(p, PO__LIST_ENTRY(l, wep_sock, link), relayed);
    }
}

/* One completion: the events it reports, before re-checking. */
static uint32_t wep_port_complete(wep_port *p, wep_sock *s) {
    p->outstanding--;
    s->state = WEP_IDLE;
    s->polled = 0;
    if (s->deleted) {
        po__list_unlink(&s->link);
        wep_sock_free(p, s);
        return 0;
    }
    NTSTATUS st = s->iosb.Status;
    uint32_t ev = 0;
    if (st == WEP_STATUS_CANCELLED) {
        ev = 0; /* cancelled to be re-submitted with other events */
    } else if (!WEP_NT_SUCCESS(st)) {
        ev = EPOLLERR; /* the request itself failed */
    } else if (s->info.NumberOfHandles >= 1) {
        ULONG afd = s->info.Handles[0].Events;
        if (afd & WEP_AFD_LOCAL_CLOSE) {
            wep_sock_remove(p, s); /* closed behind our back */
            return 0;
        }
        ev = wep_epoll_events(afd);
    }
    /* Whatever happened, the next wait asks again: level-triggered. */
    wep_queue(p, s);
    return ev & s->events;
}

typedef struct wep_cand {
    wep_sock *s;
    uint32_t ev;
    bool recheck;
} wep_cand;

/* The events that hold now for one socket, by a zero-timeout poll of it
 * alone; `fallback` if that cannot be known. */
static uint32_t wep_recheck_one(wep_port *p, wep_sock *s, uint32_t fallback) {
    wep_afd_poll_info *q = p->check;
    q->NumberOfHandles = 1;
    q->Handles[0].Handle = (HANDLE)s->base;
    q->Handles[0].Events = wep_afd_events(s->events);
    q->Handles[0].Status = 0;
    NTSTATUS st = wep_afd_poll_now(p->check_afd, p->check_event, q, sizeof *q);
    if (!WEP_NT_SUCCESS(st))
        /* Closed: its next request drops it.  Otherwise, unknown. */
        return wep_sock_open(s) ? fallback : 0;
    if (q->NumberOfHandles < 1 || (q->Handles[0].Events & WEP_AFD_LOCAL_CLOSE))
        return 0;
    return wep_epoll_events(q->Handles[0].Events) & s->events;
}

/* Replaces the events of the candidates marked for it with what holds now:
 * one zero-timeout poll of all of them. */
static void wep_recheck(wep_port *p, wep_cand *c, size_t nc) {
    if (p->check_afd == NULL) {
        if (p->check == NULL)
            p->check =
                wep_alloc(p, sizeof *p->check +
                                 (WEP_BATCH - 1) * sizeof p->check->Handles[0]);
        if (p->check_event == NULL)
            p->check_event = CreateEventW(NULL, FALSE, FALSE, NULL);
        if (p->check == NULL || p->check_event == NULL ||
            wep_afd_open(NULL, &p->check_afd) != 0)
            return; /* cannot check: report what the completions said */
    }
    wep_afd_poll_info *q = p->check;
    ULONG n = 0;
    for (size_t i = 0; i < nc; i++) {
        if (!c[i].recheck)
            continue;
        q->Handles[n].Handle = (HANDLE)c[i].s->base;
        q->Handles[n].Events = wep_afd_events(c[i].s->events);
        q->Handles[n].Status = 0;
        n++;
    }
    if (n == 0)
        return;
    q->NumberOfHandles = n;
    NTSTATUS st =
        wep_afd_poll_now(p->check_afd, p->check_event, q,
                         (ULONG)(sizeof *q + (n - 1) * sizeof q->Handles[0]));
    if (!WEP_NT_SUCCESS(st)) {
        /* One handle closed since spoils the whole request: ask one by
         * one. */
        for (size_t i = 0; i < nc; i++)
            if (c[i].recheck)
                c[i].ev = wep_recheck_one(p, c[i].s, c[i].ev);
        return;
    }
    /* The reply lists the handles that have events, in request order. */
    ULONG k = 0;
    for (size_t i = 0; i < nc; i++) {
        if (!c[i].recheck)
            continue;
        uint32_t now = 0;
        if (k < q->NumberOfHandles &&
            q->Handles[k].Handle == (HANDLE)c[i].s->base) {
            ULONG afd = q->Handles[k++].Events;
            if (!(afd & WEP_AFD_LOCAL_CLOSE))
                now = wep_epoll_events(afd);
        }
        c[i].ev = now & c[i].s->events;
    }
}

int wep_port_feed(wep_port *p, const OVERLAPPED_ENTRY *done, ULONG n, bool old,
                  struct epoll_event *out) {
    wep_cand c[WEP_BATCH];
    size_t nc = 0;
    bool recheck = false;
    for (ULONG i = 0; i < n && i < WEP_BATCH; i++) {
        /* Every packet on this port is a poll request's: its lpOverlapped
         * is the request's IO_STATUS_BLOCK, the first member of its
         * socket. */
        wep_sock *s = (wep_sock *)(void *)done[i].lpOverlapped;
        bool maybe_stale = s->relayed || (old && s->gen != p->gen);
        uint32_t ev = wep_port_complete(p, s);
        if (ev == 0)
            continue;
        c[nc].s = s;
        c[nc].ev = ev;
        c[nc].recheck = maybe_stale;
        recheck |= c[nc].recheck;
        nc++;
    }
    if (recheck)
        wep_recheck(p, c, nc);
    int got = 0;
    for (size_t i = 0; i < nc; i++) {
        wep_sock *s = c[i].s;
        if (c[i].ev == 0)
            continue;
        if (s->events & EPOLLONESHOT)
            s->events = 0; /* disarmed until EPOLL_CTL_MOD */
        out[got].events = c[i].ev;
        out[got].data = s->data;
        got++;
    }
    return got;
}

/* ------------------------------------------------------------------------ */
/* Life of a port                                                           */

/* The C library's heap, for ports made without an allocator. */
static void *wep_libc_malloc(size_t size, void *ctx) {
    (void)ctx;
    return malloc(size);
}

static void wep_libc_free(void *ptr, void *ctx) {
    (void)ctx;
    free(ptr);
}

static const wepoll_allocator wep_libc = {wep_libc_malloc, NULL, wep_libc_free,
                                          NULL};

wep_port *wep_port_new(const wepoll_allocator *a) {
    if (a == NULL)
        a = &wep_libc;
    wep_port *p = a->malloc(sizeof *p, a->ctx);
    if (p == NULL) {
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        return NULL;
    }
    memset(p, 0, sizeof *p);
    p->alloc = *a;
    p->iocp = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
    if (p->iocp == NULL) {
        wep_free(p, p);
        return NULL;
    }
    InitializeSRWLock(&p->lock);
    po__map_init(&p->set, offsetof(wep_sock, sock), sizeof(SOCKET),
                 p->alloc.malloc, p->alloc.free, p->alloc.ctx);
    po__list_init(&p->queue);
    po__list_init(&p->deleted);
    po__list_init(&p->groups);
    return p;
}

void wep_port_free(wep_port *p) {
    /* Every request is cancelled, and its completion awaited before its
     * memory goes: the driver may write into it until it completes. */
    for (size_t i = 0; i <= p->set.mask; i++) {
        wep_sock *s = p->set.cells[i];
        if (s != NULL && s->state == WEP_PENDING)
            wep_sock_cancel(s);
    }
    OVERLAPPED_ENTRY done[64];
    int idle_rounds = 0;
    while (p->outstanding > 0 && idle_rounds < 10) {
        ULONG n = 0;
        if (!GetQueuedCompletionStatusEx(p->iocp, done, 64, &n, 500, FALSE)) {
            idle_rounds++;
            continue;
        }
        for (ULONG i = 0; i < n; i++) {
            wep_sock *s = (wep_sock *)(void *)done[i].lpOverlapped;
            p->outstanding--;
            s->state = WEP_IDLE;
        }
    }
    /* A request that never completed (only if the driver failed to honour a
     * cancel within seconds) keeps its memory: leaking it is safer than
     * freeing what the kernel may still write. */
    for (size_t i = 0; i <= p->set.mask; i++) {
        wep_sock *s = p->set.cells[i];
        if (s != NULL && s->state == WEP_IDLE)
            wep_free(p, s);
    }
    for (po__list *l = p->deleted.next, *next; l != &p->deleted; l = next) {
        next = l->next;
        wep_sock *s = PO__LIST_ENTRY(l, wep_sock, link);
        if (s->state == WEP_IDLE)
            wep_free(p, s);
    }
    po__map_free(&p->set);
    for (po__list *l = p->groups.next, *next; l != &p->groups; l = next) {
        next = l->next;
        wep_group *g = PO__LIST_ENTRY(l, wep_group, link);
        CloseHandle(g->afd);
        wep_free(p, g);
    }
    if (p->check_afd != NULL)
        CloseHandle(p->check_afd);
    if (p->check_event != NULL)
        CloseHandle(p->check_event);
    if (p->check != NULL)
        wep_free(p, p->check);
    CloseHandle(p->iocp);
    wep_free(p, p);
}
