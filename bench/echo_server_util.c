#define _POSIX_C_SOURCE 200809L
#include "echo_server_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static void usage(const char *prog) {
    fprintf(stderr,
            "usage: %s [--port N] [--port-file PATH] [--backend epoll]\n",
            prog);
}

bool echo_server_parse(int argc, char **argv, const char *prog,
                       echo_server_args *out) {
    out->port = 0;
    out->port_file = NULL;
    for (int i = 1; i < argc; i += 2) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        long port;
        if (v == NULL) {
            usage(prog);
            return false;
        }
        if (strcmp(o, "--port") == 0) {
            port = strtol(v, &end, 10);
            if (*v == '\0' || *end != '\0' || port < 0 || port > 65535) {
                usage(prog);
                return false;
            }
            out->port = (uint16_t)port;
        } else if (strcmp(o, "--port-file") == 0) {
            out->port_file = v;
        } else if (strcmp(o, "--backend") == 0 &&
                   (strcmp(v, "epoll") == 0 || strcmp(v, "default") == 0)) {
            continue;
        } else {
            usage(prog);
            return false;
        }
    }
    return true;
}

int echo_server_listen(uint16_t port, uint16_t *bound) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fl = fcntl(fd, F_GETFL);
    /* The client opens every connection at once: a short backlog would cost
     * each dropped SYN a one-second retransmission. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(fd, 4096) != 0 || fl < 0 ||
        fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    *bound = ntohs(sa.sin_port);
    return fd;
}

void echo_server_prepare(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
}
