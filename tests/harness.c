#define _POSIX_C_SOURCE 200809L
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* CTest's SKIP_RETURN_CODE. */
enum { T_SKIPPED = 77 };

void po_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "FAIL %s:%d [%s]: ", file, line, t_backend());
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

void po_skip(const char *why) {
    printf("SKIP [%s]: %s\n", t_backend(), why);
    exit(T_SKIPPED);
}

const char *t_backend(void) {
    const char *b = getenv("POLLEROS_BACKEND");
    return b && *b ? b : "default";
}

po_poller *t_poller_opts(const po_options *opt) {
    int err = 0;
    po_poller *p = po_create(opt, &err);
    if (p == NULL)
        po_fail(__FILE__, __LINE__, "po_create: %s", po_strerror(err));
    if (getenv("POLLEROS_BACKEND") && *getenv("POLLEROS_BACKEND"))
        CHECK(strcmp(po_backend_name(p), t_backend()) == 0);
    return p;
}

po_poller *t_poller(void) { return t_poller_opts(NULL); }

int64_t t_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void t_nonblock_cloexec(int fd) {
    int fl = fcntl(fd, F_GETFL);
    CHECK(fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0);
    CHECK(fcntl(fd, F_SETFD, FD_CLOEXEC) == 0);
}

void t_socketpair(int sv[2]) {
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    t_nonblock_cloexec(sv[0]);
    t_nonblock_cloexec(sv[1]);
}

int t_tcp_socket(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    t_nonblock_cloexec(fd);
    return fd;
}

int t_accept(int listener) {
    int fd = accept(listener, NULL, NULL);
    CHECK(fd >= 0);
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

int t_listener(uint16_t *port) {
    int fd = t_tcp_socket();
    struct sockaddr_in sa = t_loopback(0);
    CHECK(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    CHECK(listen(fd, 128) == 0);
    socklen_t len = sizeof sa;
    CHECK(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

int t_connect(uint16_t port) {
    int fd = t_tcp_socket();
    struct sockaddr_in sa = t_loopback(port);
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    CHECK(rc == 0 || errno == EINPROGRESS);
    return fd;
}

uint16_t t_closed_port(void) {
    uint16_t port;
    int fd = t_listener(&port);
    close(fd);
    return port;
}

void t_write_all(int fd, const void *buf, size_t n) {
    const char *b = buf;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            po_fail(__FILE__, __LINE__, "write: %s", strerror(errno));
        b += w;
        n -= (size_t)w;
    }
}

long t_read_some(int fd, void *buf, size_t n) {
    for (;;) {
        ssize_t r = read(fd, buf, n);
        if (r >= 0)
            return (long)r;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return -1;
        po_fail(__FILE__, __LINE__, "read: %s", strerror(errno));
    }
}

static po_triggers t_probe(po_channel *ch, void *ctx) {
    (void)ch;
    t_chan *c = ctx;
    c->probes++;
    return c->want;
}

static void t_deinit(po_channel *ch, void *ctx) {
    (void)ch;
    t_chan *c = ctx;
    c->deinits++;
}

const po_channel_ops t_ops = {t_probe, t_deinit};

bool t_triggered(po_poller *p, const po_channel *ch) {
    po_iter it = PO_ITER_INIT;
    for (po_channel *c; (c = po_next_triggered(p, &it)) != NULL;)
        if (c == ch)
            return true;
    return false;
}

po_triggers t_wait_for(po_poller *p, po_channel *ch, po_triggers trig,
                       int rounds, int timeout_ms) {
    for (int i = 0; i < rounds; i++) {
        CHECK(po_wait(p, timeout_ms, NULL) >= 0);
        if (t_triggered(p, ch) && (po_channel_act(ch) & trig) == trig)
            return po_channel_act(ch);
    }
    return 0;
}

static const struct {
    const char *name;
    void (*run)(void);
} t_cases[] = {
#define PO_CASE(name) {#name, case_##name},
#include "cases.h"
#undef PO_CASE
};

int main(int argc, char **argv) {
    size_t n = sizeof t_cases / sizeof t_cases[0];
    if (argc != 2) {
        fprintf(stderr, "usage: %s CASE | --list\n", argv[0]);
        return 2;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(argv[1], "--list") == 0) {
            puts(t_cases[i].name);
        } else if (strcmp(argv[1], t_cases[i].name) == 0) {
            t_cases[i].run();
            printf("PASS [%s] %s\n", t_backend(), t_cases[i].name);
            return 0;
        }
    }
    if (strcmp(argv[1], "--list") == 0)
        return 0;
    fprintf(stderr, "no case named %s\n", argv[1]);
    return 2;
}
