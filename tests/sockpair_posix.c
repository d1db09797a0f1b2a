/* The socket pairs of sockpair.h on POSIX systems: AF_UNIX socketpairs. */
#define _POSIX_C_SOURCE 200809L
#include "sockpair.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Some systems have no MSG_NOSIGNAL; SIGPIPE is ignored there (sp_start()). */
#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

static char sp_why_buf[128];

static int sp_failed(const char *what) {
    snprintf(sp_why_buf, sizeof sp_why_buf, "%s: %s", what, strerror(errno));
    return -1;
}

const char *sp_why(void) { return sp_why_buf; }

int sp_start(void) {
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

static int sp_nonblock(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)
        return sp_failed("fcntl");
    return 0;
}

int sp_pair(sp_sock sv[2]) {
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return sp_failed("socketpair");
    if (sp_nonblock(sv[0]) != 0 || sp_nonblock(sv[1]) != 0) {
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    return 0;
}

int sp_close(sp_sock s) { return close(s); }
int sp_discard(sp_sock s) { return close(s); }
int sp_shutdown_send(sp_sock s) { return shutdown(s, SHUT_WR); }

sp_sock sp_dup(sp_sock s) {
    int d = fcntl(s, F_DUPFD_CLOEXEC, s + 1);
    if (d < 0)
        sp_failed("dup");
    return d < 0 ? SP_NONE : d;
}

long sp_read(sp_sock s, void *buf, size_t n) { return (long)read(s, buf, n); }
long sp_write(sp_sock s, const void *buf, size_t n) {
    return (long)send(s, buf, n, MSG_NOSIGNAL);
}

int sp_errno(void) { return errno; }
const char *sp_strerror(int e) { return strerror(e); }
bool sp_again(int e) { return e == EAGAIN || e == EWOULDBLOCK; }
bool sp_reset(int e) { return e == ECONNRESET; }

int sp_settle(const sp_sock *s, size_t n, sp_pollfd *pfd) {
    (void)s;
    (void)n;
    (void)pfd;
    return 0;
}
