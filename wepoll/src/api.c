/*
 * The five wepoll functions: argument checks in the order Linux applies
 * them (a bad handle is EBADF before anything else is looked at), the
 * registry that turns a HANDLE into its port, and the wait loop.
 */
#include <errno.h>

#include "errors.h"
#include "port.h"
#include "wepoll.h"

/* ------------------------------------------------------------------------ */
/* The registry: which HANDLEs are ports                                     */

/* A handle given to epoll_ctl() or epoll_wait() is looked up here rather
 * than trusted, so that a wrong one is an error, not a crash.  Few ports
 * exist at once: a small chained table is plenty.  Its chains run through
 * the ports themselves, so that it needs no memory of its own. */
enum { WEP_REG_BUCKETS = 64 };
static po__list wep_registry[WEP_REG_BUCKETS];
static SRWLOCK wep_registry_lock = SRWLOCK_INIT;

static BOOL CALLBACK wep_registry_init(INIT_ONCE *once, void *param,
                                       void **ctx) {
    (void)once;
    (void)param;
    (void)ctx;
    for (size_t i = 0; i < WEP_REG_BUCKETS; i++)
        po__list_init(&wep_registry[i]);
    return TRUE;
}

/* The chain of h.  Its heads are made circular at the first call, by
 * whichever thread comes first: static storage starts all NULL. */
static po__list *wep_bucket(HANDLE h) {
    static INIT_ONCE once = INIT_ONCE_STATIC_INIT;
    InitOnceExecuteOnce(&once, wep_registry_init, NULL, NULL);
    return &wep_registry[((uintptr_t)h >> 2) % WEP_REG_BUCKETS];
}

static void wep_register(wep_port *p) {
    po__list *b = wep_bucket(p->iocp);
    AcquireSRWLockExclusive(&wep_registry_lock);
    po__list_push(b, &p->reg);
    ReleaseSRWLockExclusive(&wep_registry_lock);
}

/* Finds the port of h; with `unregister`, also takes it out. */
static wep_port *wep_lookup(HANDLE h, BOOL unregister) {
    po__list *b = wep_bucket(h), *l;
    wep_port *found = NULL;
    if (unregister)
        AcquireSRWLockExclusive(&wep_registry_lock);
    else
        AcquireSRWLockShared(&wep_registry_lock);
    PO__LIST_EACH(b, l) {
        wep_port *p = PO__LIST_ENTRY(l, wep_port, reg);
        if (p->iocp == h) {
            found = p;
            if (unregister)
                po__list_unlink(l);
            break;
        }
    }
    if (unregister)
        ReleaseSRWLockExclusive(&wep_registry_lock);
    else
        ReleaseSRWLockShared(&wep_registry_lock);
    return found;
}

/* Whether h names an open handle of any kind. */
static BOOL wep_handle_open(HANDLE h) {
    DWORD flags;
    return h != NULL && h != INVALID_HANDLE_VALUE &&
           GetHandleInformation(h, &flags);
}

/* The port of h, or NULL with the error set: EBADF for what is not an open
 * handle, EINVAL for a handle that is not a port. */
static wep_port *wep_port_of(HANDLE h) {
    wep_port *p = wep_lookup(h, FALSE);
    if (p == NULL)
        wep_fail(wep_handle_open(h) ? ERROR_INVALID_PARAMETER
                                    : ERROR_INVALID_HANDLE);
    return p;
}

/* ------------------------------------------------------------------------ */
/* Ports                                                                    */

static HANDLE wep_create(const wepoll_allocator *a) {
    if (!wep_afd_init()) {
        wep_fail(GetLastError());
        return NULL;
    }
    WSADATA wsa;
    int rc = WSAStartup(MAKEWORD(2, 2), &wsa);
    if (rc != 0) {
        wep_fail((DWORD)rc);
        return NULL;
    }
    wep_port *p = wep_port_new(a);
    if (p == NULL) {
        DWORD e = GetLastError();
        WSACleanup();
        wep_fail(e);
        return NULL;
    }
    wep_register(p);
    return p->iocp;
}

HANDLE epoll_create(int size) {
    if (size <= 0) {
        wep_fail(ERROR_INVALID_PARAMETER);
        return NULL;
    }
    return wep_create(NULL);
}

HANDLE epoll_create1(int flags) {
    if (flags != 0) {
        wep_fail(ERROR_INVALID_PARAMETER);
        return NULL;
    }
    return wep_create(NULL);
}

HANDLE epoll_create_with(const wepoll_allocator *allocator) {
    if (allocator != NULL &&
        (allocator->malloc == NULL || allocator->free == NULL)) {
        wep_fail(ERROR_INVALID_PARAMETER);
        return NULL;
    }
    return wep_create(allocator);
}

int epoll_close(HANDLE ephnd) {
    wep_port *p = wep_lookup(ephnd, TRUE);
    if (p == NULL)
        return wep_fail(wep_handle_open(ephnd) ? ERROR_INVALID_PARAMETER
                                               : ERROR_INVALID_HANDLE);
    wep_port_free(p);
    WSACleanup();
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The set                                                                  */

int epoll_ctl(HANDLE ephnd, int op, SOCKET sock, struct epoll_event *event) {
    /* EBADF first, for the port's handle and the socket's alike. */
    if (!wep_handle_open(ephnd))
        return wep_fail(ERROR_INVALID_HANDLE);
    BOOL sock_open =
        sock != 0 && sock != INVALID_SOCKET && wep_handle_open((HANDLE)sock);
    wep_port *p = sock_open ? wep_port_of(ephnd) : NULL;
    if (p == NULL) {
        if (!sock_open) {
            /* A socket closed while registered may still be in the set:
             * it goes now, as epoll forgets a closed descriptor. */
            p = wep_lookup(ephnd, FALSE);
            if (p != NULL && sock != 0 && sock != INVALID_SOCKET) {
                AcquireSRWLockExclusive(&p->lock);
                wep_port_forget(p, sock);
                ReleaseSRWLockExclusive(&p->lock);
            }
            return wep_fail(ERROR_INVALID_HANDLE);
        }
        return -1;
    }
    if (op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL)
        return wep_fail(ERROR_INVALID_PARAMETER);
    if (op != EPOLL_CTL_DEL && event == NULL)
        return wep_fail(ERROR_NOACCESS);
    AcquireSRWLockExclusive(&p->lock);
    int rc;
    if (op == EPOLL_CTL_ADD)
        rc = wep_port_add(p, sock, event);
    else if (op == EPOLL_CTL_MOD)
        rc = wep_port_mod(p, sock, event);
    else
        rc = wep_port_del(p, sock);
    /* A thread asleep in epoll_wait() would see the change only once it
     * wakes: make the requests now. */
    if (rc == 0 && p->sleepers > 0)
        wep_port_flush(p, true);
    int saved_errno = errno;
    DWORD saved_error = GetLastError();
    ReleaseSRWLockExclusive(&p->lock);
    errno = saved_errno;
    SetLastError(saved_error);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* The wait                                                                 */

/* Milliseconds on the performance counter: GetTickCount64() moves in steps
 * of 10 to 16 ms, which would end a wait that early. */
static ULONGLONG wep_now_ms(void) {
    static LARGE_INTEGER freq;
    LARGE_INTEGER now;
    if (freq.QuadPart == 0)
        QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&now);
    return (ULONGLONG)(now.QuadPart / freq.QuadPart * 1000 +
                       now.QuadPart % freq.QuadPart * 1000 / freq.QuadPart);
}

int epoll_wait(HANDLE ephnd, struct epoll_event *events, int maxevents,
               int timeout) {
    if (maxevents <= 0)
        return wep_fail(ERROR_INVALID_PARAMETER);
    if (events == NULL)
        return wep_fail(ERROR_NOACCESS);
    wep_port *p = wep_port_of(ephnd);
    if (p == NULL)
        return -1;
    ULONGLONG deadline = timeout > 0 ? wep_now_ms() + (ULONGLONG)timeout : 0;
    DWORD wait_ms = timeout < 0 ? INFINITE : (DWORD)timeout;
    OVERLAPPED_ENTRY done[WEP_BATCH];
    ULONG batch = (ULONG)(maxevents < WEP_BATCH ? maxevents : WEP_BATCH);
    /* Until the port's queue has been seen empty in this call, what it
     * holds may predate the application's last actions (port.h): take it
     * without waiting, as `old` completions. */
    bool drained = false;
    AcquireSRWLockExclusive(&p->lock);
    p->gen++;
    ReleaseSRWLockExclusive(&p->lock);
    for (int rounds = 1;; rounds++) {
        AcquireSRWLockExclusive(&p->lock);
        wep_port_flush(p, false);
        p->sleepers++;
        ReleaseSRWLockExclusive(&p->lock);

        ULONG n = 0;
        BOOL ok = GetQueuedCompletionStatusEx(p->iocp, done, batch, &n,
                                              drained ? wait_ms : 0, FALSE);
        DWORD err = ok ? 0 : GetLastError();

        AcquireSRWLockExclusive(&p->lock);
        p->sleepers--;
        int got = ok ? wep_port_feed(p, done, n, !drained, events) : 0;
        /* The sockets just handled are queued for their next request,
         * which threads asleep here need now, not when this thread next
         * waits (port.h). */
        if (p->sleepers > 0)
            wep_port_flush(p, true);
        ReleaseSRWLockExclusive(&p->lock);

        if (got > 0)
            return got;
        if (!ok && err != WAIT_TIMEOUT)
            return wep_fail(err);
        bool was_drained = drained;
        if (!ok || n < batch)
            drained = true;
        if (!ok && (was_drained || timeout == 0))
            return 0;
        /* Completions that made no event: a cancel on the way to a wider
         * request, a condition no longer wanted, a closed socket.  The
         * requests they queued are submitted by the next round, which may
         * complete at once: a zero timeout tries a few rounds (each one
         * settles requests, so they run out), any other timeout waits
         * again for what is left of it. */
        if (timeout == 0) {
            if (rounds >= 8)
                return 0;
        } else if (timeout > 0) {
            ULONGLONG now = wep_now_ms();
            if (now >= deadline)
                return 0;
            wait_ms = (DWORD)(deadline - now);
        }
    }
}
