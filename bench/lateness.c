/*
 * Deadline lateness (lateness.h): the run, the traffic and the figures.
 *
 * usage: deadlines --lateness [--backend epoll|poll|uring] [OPTIONS]
 *        lateness_libuv|lateness_libevent|lateness_libev [OPTIONS]
 * OPTIONS: [--traffic] [--slack NS] [--spin NS] [-n TOTAL] [-k PENDING]
 * --slack sets this thread's Linux timer slack (prctl PR_SET_TIMERSLACK)
 * before the run; without it the run keeps the one it inherited.  --spin
 * (polleros only) is po_options.spin_ns; the backend column then reads
 * e.g. epoll+spin100us.  Prints one TSV line: lateness, lib, backend,
 * traffic (0/1), slack_ns, n, p50_us, p99_us, max_us, early, and the loop
 * thread's CPU time per fired deadline in us (what a spin costs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "lateness.h"

uint64_t lt_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t lt_rnd(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

uint64_t lt_next(lt_run *r) {
    r->armed++;
    return lt_now() + 1000000u + lt_rnd(&r->seed) % 49000000u;
}

bool lt_fired(lt_run *r, uint64_t deadline) {
    int64_t late = (int64_t)(lt_now() - deadline);
    if (r->fired < r->total) {
        r->late[r->fired++] = late;
        r->early += late < 0;
    }
    return r->armed < r->total;
}

void lt_drain(int fd) {
    char buf[256];
    while (read(fd, buf, sizeof buf) > 0) {
    }
}

/* ------------------------------------------------------------------------ */
/* Traffic                                                                  */

typedef struct lt_traffic {
    int out[LT_SOCKS];
    volatile int stop;
    pthread_t thread;
} lt_traffic;

static void *lt_writer(void *arg) {
    lt_traffic *t = arg;
    const struct timespec gap = {0, 20000};
    for (unsigned i = 0; !t->stop; i++) {
        if (write(t->out[i % LT_SOCKS], "x", 1) < 0 && errno != EAGAIN)
            break;
        nanosleep(&gap, NULL);
    }
    return NULL;
}

static int lt_traffic_start(lt_traffic *t, lt_run *r) {
    for (int i = 0; i < LT_SOCKS; i++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
            return -1;
        fcntl(sv[0], F_SETFL, O_NONBLOCK);
        fcntl(sv[1], F_SETFL, O_NONBLOCK);
        r->fd[i] = sv[0];
        t->out[i] = sv[1];
    }
    t->stop = 0;
    return pthread_create(&t->thread, NULL, lt_writer, t) == 0 ? 0 : -1;
}

static void lt_traffic_stop(lt_traffic *t, lt_run *r) {
    t->stop = 1;
    pthread_join(t->thread, NULL);
    for (int i = 0; i < LT_SOCKS; i++) {
        close(t->out[i]);
        close(r->fd[i]);
    }
}

/* ------------------------------------------------------------------------ */

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The calling thread's CPU time (user + system), in us: the loop's alone,
 * not the traffic thread's. */
static double lt_thread_cpu_us(void) {
    struct rusage u;
    if (getrusage(RUSAGE_THREAD, &u) != 0)
        return 0;
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e6 +
           (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

int lt_main(const char *lib, lt_driver *run, int argc, char **argv) {
    const char *backend = "-";
    bool traffic = false;
    long slack = -1;
    lt_run r;
    memset(&r, 0, sizeof r);
    r.total = 10000;
    r.pending = 100;
    r.seed = 0x853c49e6748fea9bu;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc)
            backend = argv[++i];
        else if (strcmp(argv[i], "--traffic") == 0)
            traffic = true;
        else if (strcmp(argv[i], "--slack") == 0 && i + 1 < argc)
            slack = atol(argv[++i]);
        else if (strcmp(argv[i], "--spin") == 0 && i + 1 < argc)
            r.spin = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            r.total = (size_t)atol(argv[++i]);
        else if (strcmp(argv[i], "-k") == 0 && i + 1 < argc)
            r.pending = (size_t)atol(argv[++i]);
        else {
            fprintf(stderr, "deadlines --lateness: bad argument %s\n", argv[i]);
            return 2;
        }
    }
    if (strcmp(lib, "polleros") == 0 && strcmp(backend, "-") == 0)
        backend = "epoll";
    if (r.spin > 0 && strcmp(lib, "polleros") != 0) {
        fprintf(stderr, "lateness: --spin is polleros's option\n");
        return 2;
    }
    char label[64];
    if (r.spin > 0)
        snprintf(label, sizeof label, "%s+spin%lluus", backend,
                 (unsigned long long)(r.spin / 1000));
#ifdef __linux__
    if (slack >= 0 && prctl(PR_SET_TIMERSLACK, (unsigned long)slack) != 0)
        perror("deadlines: PR_SET_TIMERSLACK");
    slack = prctl(PR_GET_TIMERSLACK);
#endif
    r.late = calloc(r.total, sizeof *r.late);
    for (int i = 0; i < LT_SOCKS; i++)
        r.fd[i] = -1;
    lt_traffic t;
    if (traffic && lt_traffic_start(&t, &r) != 0) {
        perror("deadlines: traffic");
        return 1;
    }
    double cpu0 = lt_thread_cpu_us();
    int rc = run(&r, backend);
    double cpu = lt_thread_cpu_us() - cpu0;
    if (traffic)
        lt_traffic_stop(&t, &r);
    if (rc == 0 && r.fired > 0) {
        qsort(r.late, r.fired, sizeof *r.late, cmp_i64);
        double p50 = (double)r.late[r.fired / 2] / 1e3;
        double p99 = (double)r.late[r.fired * 99 / 100] / 1e3;
        double max = (double)r.late[r.fired - 1] / 1e3;
        printf("lateness\t%s\t%s\t%d\t%ld\t%zu\t%.1f\t%.1f\t%.1f\t%zu\t%.1f\n",
               lib, r.spin > 0 ? label : backend, traffic, slack, r.fired, p50,
               p99, max, r.early, cpu / (double)r.fired);
    }
    free(r.late);
    return rc == 1 ? 0 : rc;
}
