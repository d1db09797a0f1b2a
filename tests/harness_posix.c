/*
 * The socket helpers on POSIX systems: descriptors, AF_UNIX pairs, poll(2).
 * Only POSIX.1-2008 calls (no SOCK_NONBLOCK, accept4 or dup3, which not
 * every system has), so the suite builds for Linux, macOS and the BSDs.
 */
#define _POSIX_C_SOURCE 200809L
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Strict POSIX mode hides it on some systems (macOS); its value is fixed. */
#ifndef INADDR_LOOPBACK
#define INADDR_LOOPBACK ((in_addr_t)0x7f000001)
#endif

const int t_econnrefused = ECONNREFUSED;

int64_t t_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void t_setenv(const char *name, const char *value) {
    if (value)
        CHECK(setenv(name, value, 1) == 0);
    else
        CHECK(unsetenv(name) == 0);
}

static void t_nonblock_cloexec(int fd) {
    int fl = fcntl(fd, F_GETFL);
    CHECK(fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0);
    CHECK(fcntl(fd, F_SETFD, FD_CLOEXEC) == 0);
}

void t_socketpair(t_sock sv[2]) {
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    t_nonblock_cloexec(sv[0]);
    t_nonblock_cloexec(sv[1]);
}

void t_close(t_sock s) { CHECK_EQ(close(s), 0); }

void t_pair_done(t_sock sv[2]) {
    t_close(sv[0]);
    t_close(sv[1]);
}

/* The peer of an AF_UNIX end hangs up when it closes. */
void t_hangup(t_sock s) { t_close(s); }

void t_shutdown_send(t_sock s) { CHECK_EQ(shutdown(s, SHUT_WR), 0); }

t_sock t_dup(t_sock s) {
    int d = fcntl(s, F_DUPFD_CLOEXEC, 0);
    CHECK(d >= 0);
    return d;
}

bool t_socketpair_at(t_sock x, t_sock sv[2]) {
    t_socketpair(sv);
    if (sv[1] == x) {
        int tmp = sv[0];
        sv[0] = sv[1];
        sv[1] = tmp;
    }
    if (sv[0] != x) {
        CHECK_EQ(dup2(sv[0], x), x);
        t_nonblock_cloexec(x);
        t_close(sv[0]);
        sv[0] = x;
    }
    return true;
}

t_sock t_tcp_socket(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    t_nonblock_cloexec(fd);
    return fd;
}

t_sock t_accept(t_sock listener) {
    t_sock fd = t_accept_some(listener);
    CHECK(fd != T_NO_SOCK);
    return fd;
}

t_sock t_accept_some(t_sock listener) {
    int fd = accept(listener, NULL, NULL);
    if (fd < 0) {
        CHECK(errno == EAGAIN || errno == EWOULDBLOCK);
        return T_NO_SOCK;
    }
    t_nonblock_cloexec(fd);
    return fd;
}

static struct sockaddr_in t_loopback(uint16_t port) {
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sa;
}

t_sock t_listener_backlog(int backlog, uint16_t *port) {
    int fd = t_tcp_socket();
    struct sockaddr_in sa = t_loopback(0);
    CHECK(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    CHECK(listen(fd, backlog) == 0);
    socklen_t len = sizeof sa;
    CHECK(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

t_sock t_listener(uint16_t *port) { return t_listener_backlog(128, port); }

t_sock t_connect(uint16_t port) {
    int fd = t_tcp_socket();
    struct sockaddr_in sa = t_loopback(port);
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    CHECK(rc == 0 || errno == EINPROGRESS);
    return fd;
}

uint16_t t_closed_port(void) {
    uint16_t port;
    int fd = t_listener(&port);
    t_close(fd);
    return port;
}

int t_so_error(t_sock s) {
    int e = -1;
    socklen_t len = sizeof e;
    CHECK_EQ(getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &len), 0);
    return e;
}

long t_write_some(t_sock s, const void *buf, size_t n) {
    for (;;) {
        ssize_t w = write(s, buf, n);
        if (w >= 0)
            return (long)w;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return -1;
        po_fail(__FILE__, __LINE__, "write: %s", strerror(errno));
    }
}

void t_write_all(t_sock s, const void *buf, size_t n) {
    const char *b = buf;
    while (n > 0) {
        long w = t_write_some(s, b, n);
        if (w < 0)
            po_fail(__FILE__, __LINE__, "write: %s", strerror(EAGAIN));
        b += w;
        n -= (size_t)w;
    }
}

long t_read_some(t_sock s, void *buf, size_t n) {
    for (;;) {
        ssize_t r = read(s, buf, n);
        if (r >= 0)
            return (long)r;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return -1;
        po_fail(__FILE__, __LINE__, "read: %s", strerror(errno));
    }
}

bool t_ready(t_sock s, bool writable, int timeout_ms) {
    short events = writable ? POLLOUT : POLLIN;
    struct pollfd pfd = {s, events, 0};
    int rc = poll(&pfd, 1, timeout_ms);
    CHECK(rc >= 0);
    return rc == 1 && (pfd.revents & events);
}

bool t_pipe(t_sock p[2]) {
    CHECK_EQ(pipe(p), 0);
    t_nonblock_cloexec(p[0]);
    t_nonblock_cloexec(p[1]);
    return true;
}

t_sock t_regular_file(const void *data, size_t n) {
    const char *dir = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/polleros_t_file_XXXXXX",
             dir && *dir ? dir : "/tmp");
    int f = mkstemp(path);
    CHECK(f >= 0);
    CHECK_EQ(unlink(path), 0);
    t_write_all(f, data, n);
    CHECK_EQ(lseek(f, 0, SEEK_SET), 0); /* bytes ahead of the offset */
    return f;
}

void t_close_file(t_sock f) { t_close(f); }

t_sock t_open_special(const char *what) {
    int fd = open(strcmp(what, "dir") == 0 ? "/" : "/dev/null",
                  O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    return fd;
}

int t_file_errno(const char *backend) {
    /* Every POSIX backend refuses what epoll cannot watch. */
    (void)backend;
    return EPERM;
}

void t_fd_limit(size_t n) {
    struct rlimit rl;
    CHECK_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < n) {
        /* Just what is needed: macOS refuses a soft limit above
         * kern.maxfilesperproc, its hard limit RLIM_INFINITY among them. */
        CHECK(rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= n);
        rl.rlim_cur = (rlim_t)n;
        CHECK_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
}

const bool t_has_fork = true;

long t_fork(void) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        t_in_child();
    return (long)pid;
}

void t_child_exit(void) { _Exit(0); }

int t_child_status(long pid) {
    int status = 0;
    pid_t got;
    while ((got = waitpid((pid_t)pid, &status, 0)) < 0 && errno == EINTR)
        ;
    CHECK_EQ(got, pid);
    CHECK(WIFEXITED(status));
    return WEXITSTATUS(status);
}

void t_child_passed(long pid) { CHECK_EQ(t_child_status(pid), 0); }

void t_fd_cap(int extra) {
    static struct rlimit saved;
    static bool capped;
    if (extra < 0) {
        if (capped)
            CHECK_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
        capped = false;
        return;
    }
    int fd = open("/dev/null", O_RDONLY);
    CHECK(fd >= 0);
    t_close(fd);
    if (!capped)
        CHECK_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
    struct rlimit rl = saved;
    rl.rlim_cur = (rlim_t)fd + (rlim_t)extra;
    CHECK_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
    capped = true;
}

struct t_thread {
    pthread_t id;
    void (*fn)(void *);
    void *arg;
};

static void *t_thread_main(void *arg) {
    t_thread *t = arg;
    t->fn(t->arg);
    return NULL;
}

t_thread *t_thread_start(void (*fn)(void *), void *arg) {
    t_thread *t = malloc(sizeof *t);
    CHECK(t != NULL);
    t->fn = fn;
    t->arg = arg;
    CHECK_EQ(pthread_create(&t->id, NULL, t_thread_main, t), 0);
    return t;
}

void t_thread_join(t_thread *t) {
    CHECK_EQ(pthread_join(t->id, NULL), 0);
    free(t);
}

void t_yield(void) { sched_yield(); }

void t_sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}
