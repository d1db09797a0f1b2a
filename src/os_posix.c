/*
 * os.h on POSIX systems.
 */
#ifdef __linux__
#define _GNU_SOURCE /* ppoll, syscall */
#else
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fault.h"
#include "harvest.h"
#include "os.h"
#include "poller.h"

#ifdef __linux__
po__epfd po__epoll_open(void) {
    int fd = PO__FAULT(PO__FAULT_CREATE, -1, epoll_create1(EPOLL_CLOEXEC));
    return fd < 0 ? PO__EPFD_NONE : fd;
}

void po__epoll_close(po__epfd ep) {
    (void)PO__FAULT_AFTER(PO__FAULT_CLOSE, close(ep));
}

/* New system calls have one number on every architecture; the C library's
 * wrapper (glibc 2.35) is not needed, nor always there. */
#ifndef __NR_epoll_pwait2
#define __NR_epoll_pwait2 441
#endif

int po__epoll_timed(po__epfd ep, po__event *events, int cap,
                    po__timeout timeout, bool *coarse) {
    if (!*coarse) {
        struct timespec ts = po__timespec(timeout);
        long n = PO__FAULT(
            PO__FAULT_WAIT_TIMED, -1,
            syscall(__NR_epoll_pwait2, ep, events, cap, &ts, NULL, (size_t)0));
        if (n >= 0)
            return (int)n;
        /* epoll_pwait2 has no EPERM of its own: only a filter gives it. */
        if (errno != ENOSYS && errno != EPERM)
            return -errno;
        *coarse = true;
    }
    return po__epoll_ready(ep, events, cap, po__timeout_ms(timeout));
}
#endif

unsigned long po__process(void) { return (unsigned long)getpid(); }

int po__poll_start(void) { return 0; }
void po__poll_stop(void) {}

/* The check's kernel calls are the poll backend's add site. */
int po__poll_check(po_socket s) {
    return PO__FAULT(PO__FAULT_CTL_ADD, errno, po__pollable(s));
}

int po__poll(po__pollfd *fds, size_t n, po__timeout timeout) {
#ifdef __linux__
    struct timespec ts = po__timespec(timeout);
    int rc = PO__FAULT(PO__FAULT_WAIT, -1,
                       ppoll(fds, (nfds_t)n, timeout < 0 ? NULL : &ts, NULL));
#else
    int rc = PO__FAULT(PO__FAULT_WAIT, -1,
                       poll(fds, (nfds_t)n, po__timeout_ms(timeout)));
#endif
    return rc < 0 ? -errno : rc;
}

unsigned po__poll_hup(short revents) {
    (void)revents;
    return PO__EV_HUP;
}

int po__pollable(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0)
        return errno;
    if (S_ISSOCK(st.st_mode) || S_ISFIFO(st.st_mode))
        return 0;
    if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode))
        return EPERM;
#ifdef __linux__
    /* A device or an anonymous file (eventfd, timerfd, a tty, /dev/null)
     * may or may not be pollable, and nothing but epoll tells: a device
     * without a poll method is what it refuses with EPERM.  Only such
     * descriptors pay for the three calls. */
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        return 0; /* cannot tell: let the wait judge it */
    struct epoll_event ev = {0};
    int e = epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : errno;
    close(ep);
    return e == EPERM ? EPERM : 0;
#else
    return 0;
#endif
}
