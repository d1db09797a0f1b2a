/*
 * The echo programs' socket layer on POSIX systems: descriptors and
 * errno.
 */
#define _POSIX_C_SOURCE 200809L
#include "echo_common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Strict POSIX mode hides it on some systems (macOS); its value is fixed. */
#ifndef INADDR_LOOPBACK
#define INADDR_LOOPBACK ((in_addr_t)0x7f000001)
#endif

bool echo_net_start(void) {
    /* A write to a peer that went away must come back as EPIPE, handled
     * like any other connection error, not kill the process. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);
    return true;
}

uint64_t echo_raise_nofile(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t want = rl.rlim_max;
        rl.rlim_cur = want;
        /* macOS reports an unlimited hard limit but refuses a soft limit
         * above OPEN_MAX: fall back to a large finite value. */
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && want > 10240) {
            rl.rlim_cur = 10240;
            setrlimit(RLIMIT_NOFILE, &rl);
        }
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
}

int echo_sock_errno(void) { return errno; }
bool echo_would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK; }
bool echo_interrupted(int err) { return err == EINTR; }
bool echo_in_progress(int err) { return err == EINPROGRESS; }
bool echo_peer_aborted(int err) { return err == ECONNABORTED; }
bool echo_out_of_files(int err) {
    return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}
bool echo_refused(int err) { return err == ECONNREFUSED; }
const char *echo_strerror(int err) { return strerror(err); }

echo_sock echo_tcp_socket(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return ECHO_NO_SOCK;
    if (!echo_set_nonblock(fd)) {
        return echo_close_failed(fd);
    }
    return fd;
}

void echo_close(echo_sock s) { close(s); }

echo_sock echo_close_failed(echo_sock s) {
    int saved = errno;
    close(s);
    errno = saved;
    return ECHO_NO_SOCK;
}

static struct sockaddr_in echo_loopback(uint16_t port) {
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sa;
}

echo_sock echo_tcp_listen(uint16_t port, int backlog, uint16_t *bound) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return ECHO_NO_SOCK;
    int one = 1;
    struct sockaddr_in sa = echo_loopback(port);
    socklen_t len = sizeof sa;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        (backlog >= 0 && listen(fd, backlog) != 0) || !echo_set_nonblock(fd) ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        return echo_close_failed(fd);
    }
    *bound = ntohs(sa.sin_port);
    return fd;
}

echo_sock echo_tcp_bound(uint16_t *bound) {
    return echo_tcp_listen(0, -1, bound);
}

echo_sock echo_accept(echo_sock l) {
    int fd = accept(l, NULL, NULL);
    if (fd < 0)
        return ECHO_NO_SOCK;
    if (!echo_set_nonblock(fd)) {
        return echo_close_failed(fd);
    }
    return fd;
}

int echo_connect_loopback(echo_sock s, uint16_t port) {
    struct sockaddr_in sa = echo_loopback(port);
    return connect(s, (struct sockaddr *)&sa, sizeof sa) == 0 ? 0 : errno;
}

bool echo_set_nonblock(echo_sock fd) {
    int fl = fcntl(fd, F_GETFL);
    int fd_fl = fcntl(fd, F_GETFD);
    return fl >= 0 && fd_fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0 &&
           fcntl(fd, F_SETFD, fd_fl | FD_CLOEXEC) == 0;
}

void echo_set_nodelay(echo_sock fd) {
    int one = 1;
    /* Only a latency matter: a failure changes no result. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

long echo_send(echo_sock s, const void *buf, size_t n) {
    return (long)send(s, buf, n, 0);
}

long echo_recv(echo_sock s, void *buf, size_t n) {
    return (long)recv(s, buf, n, 0);
}

bool echo_shutdown_send(echo_sock s) { return shutdown(s, SHUT_WR) == 0; }

int echo_so_error(echo_sock s) {
    int err = 0;
    socklen_t len = sizeof err;
    return getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) == 0 ? err : errno;
}

double echo_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
