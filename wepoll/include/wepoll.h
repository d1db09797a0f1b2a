/*
 * The wepoll API: Linux's epoll calls for Windows sockets.
 *
 * This is polleros's own implementation of the interface published by the
 * wepoll library (https://github.com/piscisaureus/wepoll): the same five
 * functions, the same types and the same constant values, so that a program
 * written against wepoll builds against this file unchanged, and polleros
 * can link either (CMake: -DPOLLEROS_WEPOLL=bridge|system).  It is built
 * over the Ancillary Function Driver: each registered socket has one
 * IOCTL_AFD_POLL request outstanding on a \Device\Afd handle that is tied to
 * an I/O completion port; epoll_wait() dequeues the completions, turns them
 * into epoll events and submits the next request.
 *
 * Behaviour, as wepoll documents it:
 *   - the port is a HANDLE (close it with epoll_close(), nothing else);
 *     sockets are SOCKETs, the keys of the set;
 *   - level-triggered: a condition that still holds is reported again by
 *     the next epoll_wait(); EPOLLONESHOT disarms a socket after one report
 *     until EPOLL_CTL_MOD arms it again; there is no edge-triggered mode;
 *   - EPOLLERR and EPOLLHUP are always watched, as on Linux;
 *   - a socket closed while registered drops out of the set by itself (at
 *     the latest when epoll_wait() next runs); EPOLL_CTL_MOD or _DEL on a
 *     closed socket fails with EBADF, as on Linux.  Until it has dropped
 *     out, a new socket given the closed one's handle value is taken for it
 *     (EEXIST on ADD): remove a socket with EPOLL_CTL_DEL before closing it;
 *   - a report holds at the moment epoll_wait() returns it: a completion
 *     that may predate the caller's last reads and writes is checked again
 *     first (port.h), so a socket drained meanwhile is not reported;
 *   - only sockets can be registered: anything else fails with ENOTSOCK;
 *   - every failure returns -1 (NULL for the create calls) and sets both
 *     errno and GetLastError(): EBADF/ERROR_INVALID_HANDLE (not an open
 *     handle), EINVAL/ERROR_INVALID_PARAMETER (not a port, bad op, size,
 *     flags or maxevents), EEXIST/ERROR_ALREADY_EXISTS (ADD of a registered
 *     socket), ENOENT/ERROR_NOT_FOUND (MOD or DEL of an unregistered one),
 *     ENOTSOCK/WSAENOTSOCK, ENOMEM/ERROR_NOT_ENOUGH_MEMORY,
 *     EFAULT/ERROR_NOACCESS (a NULL event or event array).
 *
 * Threading: every function may be called from any thread, and different
 * ports may be used by different threads at the same time.  One port may be
 * shared too: epoll_ctl() and epoll_wait() serialise on a per-port lock that
 * is never held while epoll_wait() sleeps, and an epoll_ctl() made while
 * another thread sleeps in epoll_wait() on the same port takes effect at
 * once.  As with epoll, a condition that holds wakes the threads asleep on
 * the port one after another, and each returns it if it still holds then
 * (level-triggered: every one of them does while nobody acts on it); a
 * oneshot socket's is returned by one of them.  The one thing not allowed
 * is epoll_close() of a port while another thread is still inside a call on
 * it (as with close() of an fd in use).  polleros itself uses each port
 * from one thread at a time.
 *
 * Winsock: epoll_create*() calls WSAStartup() and epoll_close() the matching
 * WSACleanup(), so the port works whatever the caller did; the caller still
 * needs its own WSAStartup() to make sockets.
 *
 * Memory: every byte a port needs (the port, a record per socket, the table
 * of its sockets, a record per driver handle, a buffer for re-checks) comes
 * from the allocator it was made with, epoll_create_with() below, or from
 * the C library's malloc() for the other create calls.  What Windows itself
 * allocates behind the handles (the completion port, the driver's handles,
 * Winsock's own state) is the system's.  The library's global state needs
 * no memory of its own: a fixed table of the open ports, chained through
 * the ports (so that a wrong HANDLE is an error, not a crash), and the
 * ntdll entry points it looks up once.
 */
#ifndef POLLEROS_WEPOLL_H
#define POLLEROS_WEPOLL_H

#include <stddef.h>
#include <stdint.h>

#ifndef WEPOLL_EXPORT
#define WEPOLL_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Event bits, with wepoll's values (EPOLLONESHOT is bit 31 here, not bit 30
 * as on Linux; EPOLLET does not exist).  Both an enum, for code that names
 * its type, and macros, for code that tests them with #ifdef. */
/* clang-format off */
enum EPOLL_EVENTS {
    EPOLLIN      = (int)(1U << 0),
    EPOLLPRI     = (int)(1U << 1),
    EPOLLOUT     = (int)(1U << 2),
    EPOLLERR     = (int)(1U << 3),
    EPOLLHUP     = (int)(1U << 4),
    EPOLLRDNORM  = (int)(1U << 6),
    EPOLLRDBAND  = (int)(1U << 7),
    EPOLLWRNORM  = (int)(1U << 8),
    EPOLLWRBAND  = (int)(1U << 9),
    EPOLLMSG     = (int)(1U << 10),
    EPOLLRDHUP   = (int)(1U << 13),
    EPOLLONESHOT = (int)(1U << 31)
};
/* clang-format on */
#define EPOLLIN (1U << 0)
#define EPOLLPRI (1U << 1)
#define EPOLLOUT (1U << 2)
#define EPOLLERR (1U << 3)
#define EPOLLHUP (1U << 4)
#define EPOLLRDNORM (1U << 6)
#define EPOLLRDBAND (1U << 7)
#define EPOLLWRNORM (1U << 8)
#define EPOLLWRBAND (1U << 9)
#define EPOLLMSG (1U << 10) /* accepted, never reported */
#define EPOLLRDHUP (1U << 13)
#define EPOLLONESHOT (1U << 31)

#define EPOLL_CTL_ADD 1
#define EPOLL_CTL_MOD 2
#define EPOLL_CTL_DEL 3

/* The Windows types, spelled so that this header needs no windows.h. */
typedef void *HANDLE;
typedef uintptr_t SOCKET;

typedef union epoll_data {
    void *ptr;
    int fd;
    uint32_t u32;
    uint64_t u64;
    SOCKET sock;
    HANDLE hnd;
} epoll_data_t;

struct epoll_event {
    uint32_t events;
    epoll_data_t data;
};

/* A new port; size must be > 0 and is otherwise ignored.  NULL on error. */
WEPOLL_EXPORT HANDLE epoll_create(int size);
/* A new port; flags must be 0.  NULL on error. */
WEPOLL_EXPORT HANDLE epoll_create1(int flags);

/* Where a port's memory comes from, polleros's po_allocator in shape, so
 * that a program can hand the bridge the allocator it uses elsewhere.
 * malloc returns `size` bytes or NULL; free takes back what malloc gave,
 * never NULL; both get `ctx`.  The bridge never calls realloc, which may be
 * NULL.  A hook returning NULL makes the call that needed memory fail with
 * ENOMEM (ERROR_NOT_ENOUGH_MEMORY) and change nothing, but for epoll_wait(),
 * which then reports what the completions said without re-checking them,
 * and asks again at its next call.
 *
 * The hooks are called from the thread making the call that needs them:
 * epoll_create_with() (the port), epoll_ctl() (an ADD's socket record, its
 * table growing, a driver handle's record for every 32 sockets; a DEL's
 * free), epoll_wait() (the re-check buffer, once per port; the record of a
 * socket deleted while its request was out) and epoll_close() (all that is
 * left).  A port shared by threads calls them from each.  Once
 * epoll_close() has returned, every block has been freed, but for a
 * socket's record whose request the driver failed to cancel: that one is
 * leaked rather than freed under the kernel's writes. */
typedef struct wepoll_allocator {
    void *(*malloc)(size_t size, void *ctx);
    void *(*realloc)(void *ptr, size_t size, void *ctx);
    void (*free)(void *ptr, void *ctx);
    void *ctx;
} wepoll_allocator;

/* Defined where epoll_create_with() exists (upstream wepoll has no such
 * call), so that code built against either can test for it. */
#define WEPOLL_ALLOCATOR 1

/* A new port whose memory comes from *allocator, copied into the port;
 * NULL means the C library's malloc() and free().  NULL on error: EINVAL
 * if malloc or free is missing, ENOMEM if the port could not be
 * allocated. */
WEPOLL_EXPORT HANDLE epoll_create_with(const wepoll_allocator *allocator);
/* Closes a port: every socket leaves it, pending requests are cancelled. */
WEPOLL_EXPORT int epoll_close(HANDLE ephnd);
/* EPOLL_CTL_ADD, _MOD (event: the new events and data) or _DEL (event may
 * be NULL) for one socket. */
WEPOLL_EXPORT int epoll_ctl(HANDLE ephnd, int op, SOCKET sock,
                            struct epoll_event *event);
/* Waits up to timeout ms (-1: forever, 0: not at all) for events; stores at
 * most maxevents (> 0) of them and returns how many, 0 on timeout. */
WEPOLL_EXPORT int epoll_wait(HANDLE ephnd, struct epoll_event *events,
                             int maxevents, int timeout);

#ifdef __cplusplus
}
#endif

#endif /* POLLEROS_WEPOLL_H */
