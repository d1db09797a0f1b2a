#define _POSIX_C_SOURCE 200809L
#include "pollable.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/epoll.h>
#endif

int po_pollable(int fd) {
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
