#define _GNU_SOURCE /* accept4 */
#include "churn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "echo_common.h"
#include "echo_server_util.h"

/* The response's bytes: what they are does not matter, only how many. */
static char churn_payload[CHURN_RESPONSE];

bool churn_server_start(int argc, char **argv, const char *prog,
                        bool with_backend, churn_server *out) {
    const char *mode = NULL, *port_file = NULL;
    out->backend = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--mode") == 0)
            mode = argv[i + 1];
        else if (strcmp(argv[i], "--port-file") == 0)
            port_file = argv[i + 1];
        else if (with_backend && strcmp(argv[i], "--backend") == 0)
            out->backend = argv[i + 1];
        else
            mode = NULL, i = argc;
    }
    if (mode == NULL || port_file == NULL || argc % 2 == 0 ||
        (strcmp(mode, "conn") != 0 && strcmp(mode, "interest") != 0)) {
        fprintf(stderr, "usage: %s --mode conn|interest --port-file PATH%s\n",
                prog, with_backend ? " [--backend NAME]" : "");
        return false;
    }
    out->mode = strcmp(mode, "conn") == 0 ? CHURN_CONN : CHURN_INTEREST;
    echo_server_prepare();
    uint16_t port;
    out->listen_fd = echo_server_listen(0, &port);
    if (out->listen_fd < 0) {
        perror("listen");
        return false;
    }
    return echo_write_port_file(port_file, port);
}

void *churn_accept(const churn_server *s, size_t size) {
    int fd;
    churn_conn *c;
    do {
        fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return NULL;
        c = calloc(1, size);
        if (c == NULL)
            close(fd);
    } while (c == NULL);
    c->fd = fd;
    /* Loopback's self-tuned send buffer would take a whole response in one
     * write; a fixed one makes each response's first write short, which is
     * the workload.
     * Without TCP_NODELAY a response's last segment would wait for the
     * client's delayed ACK.  Once per connection, and connections live long
     * in that mode. */
    int sndbuf = CHURN_SNDBUF, one = 1;
    if (s->mode == CHURN_INTEREST) {
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return c;
}

/* One write: a short one is not retried at once, which would find the
 * socket full, or not, depending on how fast the client reads. */
churn_want churn_writable(churn_conn *c) {
    ssize_t n =
        write(c->fd, churn_payload + (CHURN_RESPONSE - c->left), c->left);
    if (n < 0)
        return errno == EAGAIN ? CHURN_WRITE : CHURN_CLOSE;
    c->left -= (size_t)n;
    return c->left > 0 ? CHURN_WRITE : CHURN_READ;
}

churn_want churn_readable(const churn_server *s, churn_conn *c) {
    char req[CHURN_REQUEST];
    ssize_t n = read(c->fd, req, sizeof req - c->got);
    if (n < 0 && errno == EAGAIN)
        return CHURN_READ;
    if (n <= 0) /* the client's EOF, or an error */
        return CHURN_CLOSE;
    c->got += (size_t)n;
    if (c->got < CHURN_REQUEST)
        return CHURN_READ;
    c->got = 0;
    if (s->mode == CHURN_CONN) {
        /* A 64-byte write into a fresh socket is never short; had it
         * failed, the client would see it and say so. */
        ssize_t w = write(c->fd, churn_payload, CHURN_REQUEST);
        (void)w;
        return CHURN_CLOSE;
    }
    c->left = CHURN_RESPONSE;
    return churn_writable(c);
}

void churn_close(churn_conn *c) { close(c->fd); }
