/*
 * Bulk transfer through a proxy, with endpoints that cost as little as the
 * kernel allows, so that the proxy is the bottleneck: the sender sends a
 * file from the page cache with sendfile() (no copy), the sink discards
 * what it receives with recv(MSG_TRUNC) (no copy).  The proxy copies every
 * byte twice, in and out.
 *
 * usage: bulk sink PORT             discards every connection's bytes until
 *                                   its EOF, then closes it; runs until
 *                                   killed
 *        bulk send PORT STREAMS BYTES FILE
 *                                   STREAMS connections at once, each sends
 *                                   BYTES of FILE (over and over), shuts
 *                                   down its sending half and waits for the
 *                                   far end's close
 * send prints one TSV line: bulk, streams, bytes in all, seconds, GB/s,
 * and the sender's CPU seconds (its threads', user + system).
 * Linux only: recv(MSG_TRUNC) discards on TCP sockets there.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { BULK_MAX_STREAMS = 256 };

static struct sockaddr_in bulk_addr;
static int bulk_file;
static off_t bulk_file_size;
static long long bulk_bytes;

static void die(const char *what) {
    perror(what);
    exit(1);
}

static void *sink_one(void *arg) {
    int c = (int)(intptr_t)arg;
    while (recv(c, NULL, 1 << 22, MSG_TRUNC) > 0)
        ;
    close(c);
    return NULL;
}

_Noreturn static void sink(void) {
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (ls < 0 ||
        setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(ls, (struct sockaddr *)&bulk_addr, sizeof bulk_addr) != 0 ||
        listen(ls, 128) != 0)
        die("bulk sink: listen");
    for (;;) {
        int c = accept(ls, NULL, NULL);
        pthread_t t;
        if (c < 0)
            continue;
        if (pthread_create(&t, NULL, sink_one, (void *)(intptr_t)c) != 0)
            die("bulk sink: thread");
        pthread_detach(t);
    }
}

static void *send_one(void *arg) {
    (void)arg;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0 ||
        connect(s, (struct sockaddr *)&bulk_addr, sizeof bulk_addr) != 0)
        die("bulk send: connect");
    off_t off = 0;
    for (long long left = bulk_bytes; left > 0;) {
        size_t want = (size_t)(left < bulk_file_size - off
                                   ? left
                                   : (long long)(bulk_file_size - off));
        ssize_t n = sendfile(s, bulk_file, &off, want);
        if (n <= 0)
            die("bulk send: sendfile");
        left -= n;
        if (off == bulk_file_size)
            off = 0;
    }
    /* Done once the far end has taken it all and closed. */
    char b;
    if (shutdown(s, SHUT_WR) != 0)
        die("bulk send: shutdown");
    while (recv(s, &b, 1, 0) > 0)
        ;
    close(s);
    return NULL;
}

static double seconds(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int send_all(int streams, const char *path) {
    struct stat st;
    bulk_file = open(path, O_RDONLY);
    if (bulk_file < 0 || fstat(bulk_file, &st) != 0 || st.st_size == 0)
        die("bulk send: the file");
    bulk_file_size = st.st_size;
    pthread_t th[BULK_MAX_STREAMS];
    double t0 = seconds(CLOCK_MONOTONIC);
    double c0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
    for (int i = 0; i < streams; i++)
        if (pthread_create(&th[i], NULL, send_one, NULL) != 0)
            die("bulk send: thread");
    for (int i = 0; i < streams; i++)
        pthread_join(th[i], NULL);
    double wall = seconds(CLOCK_MONOTONIC) - t0;
    double cpu = seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
    double all = (double)bulk_bytes * streams;
    printf("bulk\t%d\t%.0f\t%.3f\t%.3f\t%.3f\n", streams, all, wall,
           all / wall / 1e9, cpu);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3)
        goto usage;
    bulk_addr.sin_family = AF_INET;
    bulk_addr.sin_port = htons((uint16_t)atoi(argv[2]));
    bulk_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (strcmp(argv[1], "sink") == 0 && argc == 3)
        sink();
    if (strcmp(argv[1], "send") == 0 && argc == 6) {
        int streams = atoi(argv[3]);
        bulk_bytes = atoll(argv[4]);
        if (streams < 1 || streams > BULK_MAX_STREAMS || bulk_bytes < 1)
            goto usage;
        return send_all(streams, argv[5]);
    }
usage:
    fprintf(stderr, "usage: bulk sink PORT | bulk send PORT STREAMS BYTES "
                    "FILE\n");
    return 2;
}
