/*
 * What the backends need from the system where POSIX and Windows differ,
 * so that a backend file has no platform blocks: the epoll object (Linux's,
 * or on Windows the wepoll API's port with Winsock started for it), the
 * poll call (poll(2), or WSAPoll with its differences smoothed over) and
 * whether a descriptor can be watched at all.  os_posix.c and os_win.c
 * implement it; every kernel call here is a fault site (fault.h).
 */
#ifndef POLLEROS_OS_H
#define POLLEROS_OS_H

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "backend.h"
#include "polleros.h"

#ifdef _WIN32
#include <winsock2.h>

#include "wepoll.h"
typedef HANDLE po__epfd;
typedef WSAPOLLFD po__pollfd;
#define PO__EPFD_NONE NULL
/* The epoll backend's table: the wepoll API's. */
#define PO__EPOLL_BACKEND po__backend_wepoll
#define PO__EPOLL_NAME "wepoll"
#define PO__EPOLL_KIND PO_BACKEND_WEPOLL
#else
#include <poll.h>
#include <time.h>
#ifdef __linux__
#include <sys/epoll.h>
#include <sys/syscall.h>
#endif
typedef int po__epfd;
typedef struct pollfd po__pollfd;
#define PO__EPFD_NONE (-1)
#define PO__EPOLL_BACKEND po__backend_epoll
#define PO__EPOLL_NAME "epoll"
#define PO__EPOLL_KIND PO_BACKEND_EPOLL

/* A wait's timeout (backend.h; not negative) as the timespec of the POSIX
 * calls that take one, to the nanosecond. */
static inline struct timespec po__timespec(po__timeout timeout) {
    struct timespec ts;
    int64_t s = timeout / 1000000000;
    ts.tv_sec = s < INT_MAX ? (time_t)s : INT_MAX;
    ts.tv_nsec = (long)(timeout % 1000000000);
    return ts;
}
#endif

#if defined(_WIN32) || defined(__linux__)
/* The kernel's event mask is handed to the core as it is (PO__EV_NVAL, 0x20,
 * is no epoll event, so it never appears). */
_Static_assert((unsigned)EPOLLIN == PO__EV_IN &&
                   (unsigned)EPOLLOUT == PO__EV_OUT &&
                   (unsigned)EPOLLERR == PO__EV_ERR &&
                   (unsigned)EPOLLHUP == PO__EV_HUP,
               "epoll's event bits are the core's");
/* The kernel fills the core's events (po__epoll_ready()). */
_Static_assert(sizeof(struct epoll_event) == sizeof(po__event) &&
                   offsetof(struct epoll_event, data) ==
                       offsetof(po__event, token),
               "epoll_event's layout is po__event's");

/* The epoll_event that registers `interest` (PO__IN, PO__OUT) under a
 * channel's token: the epoll and uring backends'. */
static inline struct epoll_event po__epoll_event(unsigned interest,
                                                 po_seqn token) {
    struct epoll_event ev;
    ev.events = ((interest & PO__IN) ? EPOLLIN : 0u) |
                ((interest & PO__OUT) ? EPOLLOUT : 0u);
    ev.data.u64 = token;
    return ev;
}
#endif

/* A new epoll object, not inherited by child processes; PO__EPFD_NONE with
 * errno set on failure.  On Windows it holds a Winsock reference until
 * po__epoll_close(), and its bridge's memory comes from the C library
 * (po_allocator in polleros.h says why). */
po__epfd po__epoll_open(void);
void po__epoll_close(po__epfd ep);

/* epoll_wait() into the core's events (whose layout is the kernel's, as
 * checked above): their number, or -errno.  Inline, and on
 * x86-64 Linux the system call itself: the C library's wrapper costs
 * about five more instructions a wait, and its errno a call to find it. */
#if defined(_WIN32) || defined(__linux__)
static inline int po__epoll_ready(po__epfd ep, po__event *events, int cap,
                                  int timeout_ms) {
#if defined(__linux__) && defined(__x86_64__) && defined(__GNUC__)
    register long r10 __asm__("r10") = (long)timeout_ms;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"((long)__NR_epoll_wait), "D"((long)ep), "S"(events),
                       "d"((long)cap), "r"(r10)
                     : "rcx", "r11", "memory");
    return (int)ret;
#else
    int n =
        epoll_wait(ep, (struct epoll_event *)(void *)events, cap, timeout_ms);
    return n >= 0 ? n : -errno;
#endif
}

/* A wait of `timeout` (backend.h; positive: 0 and -1 po__epoll_ready()
 * takes as they are) into the core's events: their number, or -errno.  On
 * Linux, epoll_pwait2 (5.11) with the timeout to the nanosecond; a kernel
 * without it (ENOSYS, or EPERM from a seccomp filter that does not know the
 * call) is remembered in *coarse, set only by that, and then this wait and
 * every later one take epoll_wait with the timeout rounded up to whole
 * milliseconds, which is all wepoll's GetQueuedCompletionStatusEx takes. */
int po__epoll_timed(po__epfd ep, po__event *events, int cap,
                    po__timeout timeout, bool *coarse);
#endif

/* Before and after a poll backend's life: 0 or an errno. */
int po__poll_start(void);
void po__poll_stop(void);
/* Whether `s` can be watched by poll: 0 or an errno (EPERM for a file that
 * cannot; ENOTSOCK for a handle that is no socket on Windows; EBADF). */
int po__poll_check(po_socket s);
/* poll() over n entries for up to `timeout` (backend.h): the number of
 * ready entries, or -errno.  ppoll with a timespec on Linux; elsewhere
 * poll with the timeout rounded up to whole milliseconds.  Windows: an
 * empty vector sleeps, and a closed socket is reported POLLNVAL. */
int po__poll(po__pollfd *fds, size_t n, po__timeout timeout);
/* The PO_EV_* bits of a POLLHUP: a peer's FIN is EOF to read (PO__EV_IN) on
 * Windows unless POLLERR comes with it, a hang-up everywhere else. */
unsigned po__poll_hup(short revents);

/* Whether a POSIX descriptor can be watched for readiness at all, for the
 * backends whose kernel call would accept it anyway: poll(2) reports a
 * regular file, a directory or /dev/null ready on every call, kqueue
 * watches a regular file's read offset, while epoll refuses each of them
 * with EPERM.  0 when fd can be watched; EPERM when it cannot (a regular
 * file, a directory, a block device, and on Linux any other file epoll
 * refuses, such as /dev/null); the errno of fstat() (EBADF) when fd is not
 * open. */
int po__pollable(int fd);

#endif
