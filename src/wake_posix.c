#ifdef __linux__
#define _GNU_SOURCE /* eventfd's flags */
#include <sys/eventfd.h>
#else
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#endif
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "wake.h"

#ifdef __linux__
/* An eventfd: one descriptor, and a counter that cannot fill up as a pipe
 * can. */
int po__wake_open(po__wake *w) {
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0)
        return errno;
    w->rd = w->wr = fd;
    return 0;
}

void po__wake_close(po__wake *w) { close(w->rd); }

int po__wake_signal(po__wake *w) {
    uint64_t one = 1;
    while (write(w->wr, &one, sizeof one) < 0)
        if (errno != EINTR)
            return errno == EAGAIN ? 0 : errno; /* EAGAIN: readable anyway */
    return 0;
}

void po__wake_drain(po__wake *w) {
    uint64_t count;
    while (read(w->rd, &count, sizeof count) < 0 && errno == EINTR)
        ;
}
#else
/* A pipe.  pipe2() is missing on macOS, so the flags are set after: no
 * other thread execs in between for a library that owns the descriptors. */
static int po__wake_flags(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return errno;
    return 0;
}

int po__wake_open(po__wake *w) {
    int fds[2];
    if (pipe(fds) < 0)
        return errno;
    int e = po__wake_flags(fds[0]);
    if (e == 0)
        e = po__wake_flags(fds[1]);
    if (e != 0) {
        close(fds[0]);
        close(fds[1]);
        return e;
    }
    w->rd = fds[0];
    w->wr = fds[1];
    return 0;
}

void po__wake_close(po__wake *w) {
    close(w->rd);
    close(w->wr);
}

int po__wake_signal(po__wake *w) {
    char b = 1;
    while (write(w->wr, &b, 1) < 0)
        if (errno != EINTR)
            return errno == EAGAIN ? 0 : errno; /* a full pipe is readable */
    return 0;
}

void po__wake_drain(po__wake *w) {
    char buf[64];
    for (;;) {
        ssize_t n = read(w->rd, buf, sizeof buf);
        if (n <= 0 && !(n < 0 && errno == EINTR))
            return;
    }
}
#endif
