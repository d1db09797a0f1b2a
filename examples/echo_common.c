#define _POSIX_C_SOURCE 200809L
#include "echo_common.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

bool echo_parse_u64(const char *opt, const char *arg, uint64_t min,
                    uint64_t max, uint64_t *out) {
    if (arg == NULL) {
        fprintf(stderr, "%s needs a value\n", opt);
        return false;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    /* strtoull accepts "-1" and wraps it: refuse any sign explicitly. */
    if (errno != 0 || end == arg || *end != '\0' || arg[0] == '-' ||
        arg[0] == '+' || v < min || v > max) {
        fprintf(stderr, "%s: '%s' is not a number in [%llu, %llu]\n", opt, arg,
                (unsigned long long)min, (unsigned long long)max);
        return false;
    }
    *out = v;
    return true;
}

bool echo_parse_backend(const char *arg, po_backend_kind *out) {
    static const struct {
        const char *name;
        po_backend_kind kind;
    } names[] = {{"default", PO_BACKEND_DEFAULT},
                 {"epoll", PO_BACKEND_EPOLL},
                 {"poll", PO_BACKEND_POLL},
                 {"kqueue", PO_BACKEND_KQUEUE},
                 {"wepoll", PO_BACKEND_WEPOLL}};
    for (size_t i = 0; arg != NULL && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(arg, names[i].name) == 0) {
            *out = names[i].kind;
            return true;
        }
    fprintf(stderr,
            "--backend: '%s' is not one of epoll, poll, kqueue, "
            "wepoll, default\n",
            arg ? arg : "");
    return false;
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

bool echo_set_nonblock(int fd) {
    int fl = fcntl(fd, F_GETFL);
    int fd_fl = fcntl(fd, F_GETFD);
    return fl >= 0 && fd_fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0 &&
           fcntl(fd, F_SETFD, fd_fl | FD_CLOEXEC) == 0;
}

void echo_set_nodelay(int fd) {
    int one = 1;
    /* Only a latency matter: a failure changes no result. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void echo_ignore_sigpipe(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);
}

double echo_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
