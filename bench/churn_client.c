/*
 * The one load generator of the churn benchmark (churn.h), the same for
 * every server: C connections at once on non-blocking sockets, driven by a
 * bare epoll (no event library, so that nothing of a library under test
 * runs on this side).
 *
 *   conn      each slot connects, sends the request, reads the response,
 *             closes and starts again
 *   interest  C connections stay open; each sends a request, reads the
 *             whole response and sends the next
 *
 * Runs WARMUP seconds untimed, then SECONDS timed, and prints one line:
 * mode conns done seconds rate cpu total errors, where done and rate are
 * the timed connections (or messages), cpu the client's own CPU time over
 * the timed part as a fraction of it, total what it did over the whole run
 * (what the server's kernel calls are divided by) and errors the failed
 * connections.
 *
 * Usage: churn_client --mode conn|interest --port N [--conns C]
 *                     [--seconds S] [--warmup S]
 */
#define _GNU_SOURCE /* SOCK_NONBLOCK */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "churn.h"
#include "measure.h"

typedef struct slot {
    int fd;
    bool connecting;
    size_t got;
} slot;

static struct sockaddr_in addr;
static int ep;
static bool interest;
static unsigned long long done, errors;
static char buf[CHURN_RESPONSE];

static double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

static bool send_request(slot *s) {
    static const char req[CHURN_REQUEST];
    s->got = 0;
    return write(s->fd, req, sizeof req) == (ssize_t)sizeof req;
}

static void watch(slot *s, int op, uint32_t events) {
    struct epoll_event ev = {.events = events, .data.ptr = s};
    if (epoll_ctl(ep, op, s->fd, &ev) != 0) {
        perror("churn_client: epoll_ctl");
        exit(1);
    }
}

static void start(slot *s) {
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (s->fd < 0) {
        perror("churn_client: socket");
        exit(1);
    }
    int one = 1;
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc = connect(s->fd, (struct sockaddr *)&addr, sizeof addr);
    if (rc != 0 && errno != EINPROGRESS) {
        perror("churn_client: connect");
        exit(1);
    }
    s->connecting = rc != 0;
    if (!s->connecting && !send_request(s))
        errors++;
    watch(s, EPOLL_CTL_ADD, s->connecting ? EPOLLOUT : EPOLLIN);
}

static void restart(slot *s) {
    close(s->fd);
    start(s);
}

static void on_event(slot *s) {
    if (s->connecting) {
        s->connecting = false;
        if (!send_request(s)) {
            errors++;
            restart(s);
            return;
        }
        watch(s, EPOLL_CTL_MOD, EPOLLIN);
        return;
    }
    size_t want = interest ? CHURN_RESPONSE : CHURN_REQUEST;
    for (;;) {
        ssize_t n = read(s->fd, buf, want - s->got);
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            if (interest) {
                fprintf(stderr, "churn_client: the server closed\n");
                exit(1);
            }
            errors++;
            restart(s);
            return;
        }
        s->got += (size_t)n;
        if (s->got < want)
            continue;
        done++;
        if (!interest) {
            restart(s);
            return;
        }
        if (!send_request(s)) {
            fprintf(stderr, "churn_client: a request failed\n");
            exit(1);
        }
    }
}

static double arg_num(const char *v) {
    char *end;
    double d = strtod(v, &end);
    return *v != '\0' && *end == '\0' && d >= 0 ? d : -1;
}

int main(int argc, char **argv) {
    const char *mode = NULL;
    double port = -1, conns = 100, seconds = 3, warmup = 0.5;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *o = argv[i], *v = argv[i + 1];
        if (strcmp(o, "--mode") == 0)
            mode = v;
        else if (strcmp(o, "--port") == 0)
            port = arg_num(v);
        else if (strcmp(o, "--conns") == 0)
            conns = arg_num(v);
        else if (strcmp(o, "--seconds") == 0)
            seconds = arg_num(v);
        else if (strcmp(o, "--warmup") == 0)
            warmup = arg_num(v);
        else
            mode = NULL, i = argc;
    }
    if (mode == NULL || argc % 2 == 0 || port < 1 || port > 65535 ||
        conns < 1 || conns > 10000 || seconds <= 0 || warmup < 0 ||
        (strcmp(mode, "conn") != 0 && strcmp(mode, "interest") != 0)) {
        fprintf(stderr, "usage: churn_client --mode conn|interest --port N "
                        "[--conns C] [--seconds S] [--warmup S]\n");
        return 2;
    }
    interest = strcmp(mode, "interest") == 0;
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ep = epoll_create1(EPOLL_CLOEXEC);
    slot *slots = calloc((size_t)conns, sizeof *slots);
    if (ep < 0 || slots == NULL) {
        perror("churn_client");
        return 1;
    }
    for (int i = 0; i < (int)conns; i++)
        start(&slots[i]);
    struct epoll_event evs[256];
    double t = now_ns(), t0 = t + warmup * 1e9, t1 = t0 + seconds * 1e9;
    double cpu0 = 0;
    unsigned long long done0 = 0;
    bool timing = false;
    while (t < t1) {
        int n = epoll_wait(ep, evs, 256, 100);
        for (int i = 0; i < n; i++)
            on_event(evs[i].data.ptr);
        t = now_ns();
        if (!timing && t >= t0) {
            timing = true;
            t0 = t;
            t1 = t0 + seconds * 1e9;
            done0 = done;
            cpu0 = cpu_s();
        }
    }
    double secs = (t - t0) / 1e9;
    printf("%s\t%d\t%llu\t%.3f\t%.0f\t%.2f\t%llu\t%llu\n", mode, (int)conns,
           done - done0, secs, (double)(done - done0) / secs,
           (cpu_s() - cpu0) / secs, done, errors);
    return 0;
}
