/*
 * Signals under load: another process sends COUNT kill()s, cycling through
 * three signals, while the loop relays a byte stream between two sockets
 * for a third process.  It checks that
 *   - every signal number is taken at least once after its last kill(),
 *   - no number is taken that was not sent before the take,
 *   - the stream arrives whole: every byte, in order.
 *
 *   signal_storm [COUNT]      (default 5000; the backend: POLLEROS_BACKEND)
 *
 * prints what it saw and exits 0 when all three hold.  The sender marks
 * its progress in memory shared with the loop: sent[k] counts the kill()s
 * of signal k begun, done[k] is set once the last of them has returned.
 * A take of signal k was made after its last kill() for certain when
 * done[k] was set before the take began.  The last kill() can also be
 * taken between its return and that mark, and nothing comes after it to
 * take again: the loop then sees sent[k] complete after its take, and the
 * end proves the take was the last one owed, since a wait after the
 * sender has exited reports nothing and leaves nothing to take.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE  /* MAP_ANONYMOUS */
#define _DARWIN_C_SOURCE /* the same, on macOS */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "polleros.h"

static const int ss_sig[3] = {SIGUSR1, SIGUSR2, SIGHUP};

typedef struct ss_shared {
    atomic_long sent[3];
    atomic_int done[3];
    atomic_int stop; /* the sender is done: the stream may end */
} ss_shared;

static unsigned char ss_byte(unsigned long long i) {
    return (unsigned char)((i * 2654435761u) >> 13);
}

static void ss_die(const char *what) {
    perror(what);
    exit(2);
}

static void ss_pair(int sv[2]) {
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        ss_die("socketpair");
    for (int i = 0; i < 2; i++)
        if (fcntl(sv[i], F_SETFL, fcntl(sv[i], F_GETFL) | O_NONBLOCK) != 0)
            ss_die("fcntl");
}

/* The sender: count kill()s of the loop's process, in turn. */
static void ss_sender(ss_shared *sh, pid_t loop, long count) {
    for (long i = 0; i < count; i++) {
        int k = (int)(i % 3);
        atomic_fetch_add(&sh->sent[k], 1);
        if (kill(loop, ss_sig[k]) != 0)
            ss_die("kill");
        if (i + 3 >= count)
            atomic_store(&sh->done[k], 1);
    }
    atomic_store(&sh->stop, 1);
    _exit(0);
}

/* The stream's ends: writes a pattern into `out` until the sender is done,
 * then closes it, and reads back from `in` what the loop relayed,
 * checking every byte.  Exits 0 when all came back, in order. */
static void ss_peer(ss_shared *sh, int out, int in) {
    static unsigned char buf[65536];
    unsigned long long wrote = 0, got = 0;
    int out_open = 1;
    for (;;) {
        struct pollfd fds[2] = {{in, POLLIN, 0}, {out, POLLOUT, 0}};
        if (poll(fds, out_open ? 2 : 1, 100) < 0 && errno != EINTR)
            ss_die("poll");
        if (out_open && atomic_load(&sh->stop)) {
            close(out);
            out_open = 0;
        } else if (out_open && (fds[1].revents & POLLOUT)) {
            for (size_t i = 0; i < sizeof buf; i++)
                buf[i] = ss_byte(wrote + i);
            ssize_t n = write(out, buf, sizeof buf);
            if (n > 0)
                wrote += (unsigned long long)n;
        }
        ssize_t n;
        while ((n = read(in, buf, sizeof buf)) > 0) {
            for (ssize_t i = 0; i < n; i++)
                if (buf[i] != ss_byte(got + (unsigned long long)i)) {
                    fprintf(stderr, "byte %llu differs\n",
                            got + (unsigned long long)i);
                    _exit(1);
                }
            got += (unsigned long long)n;
        }
        if (n == 0) {
            printf("stream: %llu bytes written, %llu read back\n", wrote, got);
            _exit(got == wrote && !out_open ? 0 : 1);
        }
    }
}

static double ss_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The relay's two channels: `in` reads what the peer writes, `out` writes
 * it back; the buffer between them bounds what is in flight. */
typedef struct ss_relay {
    int in, out;
    unsigned char buf[65536];
    size_t len, off;
    int eof;
    unsigned long long relayed;
} ss_relay;

/* What the loop saw of the signals. */
typedef struct ss_seen {
    long takes[3];
    int after_last[3]; /* taken with done[k] set before the take */
    int covered[3];    /* taken with every kill() of k begun before */
    int unsent, stray;
} ss_seen;

static void ss_take_all(po_signal *s, ss_shared *sh, const long total[3],
                        ss_seen *seen) {
    for (;;) {
        int done[3], signo;
        for (int k = 0; k < 3; k++)
            done[k] = atomic_load(&sh->done[k]);
        if (po_signal_take(s, &signo) != PO_OK)
            return;
        int k = 0;
        while (k < 3 && ss_sig[k] != signo)
            k++;
        if (k == 3) {
            seen->stray++;
            continue;
        }
        long sent = atomic_load(&sh->sent[k]);
        if (sent == 0)
            seen->unsent++;
        seen->takes[k]++;
        seen->after_last[k] |= done[k];
        seen->covered[k] |= sent == total[k];
    }
}

static po_triggers ss_in_probe(po_channel *ch, void *ctx) {
    (void)ch;
    ss_relay *r = ctx;
    return r->len == 0 && !r->eof ? PO_RECV : 0;
}
static po_triggers ss_out_probe(po_channel *ch, void *ctx) {
    (void)ch;
    ss_relay *r = ctx;
    return r->len > r->off ? PO_SEND : 0;
}
static const po_channel_ops ss_in_ops = {ss_in_probe, NULL};
static const po_channel_ops ss_out_ops = {ss_out_probe, NULL};

int main(int argc, char **argv) {
    long count = argc > 1 ? atol(argv[1]) : 5000;
    if (count < 3) {
        fprintf(stderr, "usage: signal_storm [COUNT >= 3]\n");
        return 2;
    }
    ss_shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE,
                         MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED)
        ss_die("mmap");
    for (int k = 0; k < 3; k++) {
        atomic_init(&sh->sent[k], 0);
        atomic_init(&sh->done[k], 0);
    }
    atomic_init(&sh->stop, 0);

    int err;
    po_poller *p = po_create(NULL, &err);
    if (p == NULL) {
        fprintf(stderr, "po_create: %s\n", po_strerror(err));
        /* 77: skipped, where the backend POLLEROS_BACKEND names is not
         * available (io_uring refused). */
        return err == PO_ENOTSUP ? 77 : 2;
    }
    po_signal *s;
    po_channel *sch;
    int rc = po_signal_attach(p, 1, ss_sig, 3, &s, &sch);
    if (rc != PO_OK) {
        fprintf(stderr, "po_signal_attach: %s\n", po_strerror(rc));
        return 2;
    }
    int a[2], b[2]; /* peer writes a[0] -> loop reads a[1]; b likewise */
    ss_pair(a);
    ss_pair(b);
    pid_t peer = fork();
    if (peer < 0)
        ss_die("fork");
    if (peer == 0) {
        close(a[1]);
        close(b[1]);
        ss_peer(sh, a[0], b[0]);
    }
    close(a[0]);
    close(b[0]);
    static ss_relay r;
    r.in = a[1];
    r.out = b[1];
    po_channel *cin, *cout;
    if (po_attach(p, 2, r.in, &ss_in_ops, &r, &cin) != PO_OK ||
        po_attach(p, 3, r.out, &ss_out_ops, &r, &cout) != PO_OK)
        return 2;
    double t0 = ss_now();
    pid_t self = getpid();
    pid_t sender = fork();
    if (sender < 0)
        ss_die("fork");
    if (sender == 0)
        ss_sender(sh, self, count);

    long total[3], waits = 0;
    for (int k = 0; k < 3; k++)
        total[k] = count / 3 + (k < count % 3);
    ss_seen seen;
    memset(&seen, 0, sizeof seen);
    double sent_at = 0, deadline = 0;
    int out_closed = 0;
    for (;;) {
        int all = 1;
        for (int k = 0; k < 3; k++)
            all &= seen.after_last[k] || seen.covered[k];
        if (all && out_closed)
            break;
        if (sent_at == 0 && atomic_load(&sh->stop)) {
            sent_at = ss_now();
            deadline = sent_at + 10; /* then report what is missing */
        }
        if (deadline != 0 && ss_now() > deadline)
            break;
        rc = po_wait(p, 100, NULL);
        waits++;
        if (rc < 0) {
            fprintf(stderr, "po_wait: %s\n", po_strerror(rc));
            return 2;
        }
        po_iter it = PO_ITER_INIT;
        po_channel *ch;
        while ((ch = po_next_triggered(p, &it)) != NULL) {
            if (ch == sch) {
                ss_take_all(s, sh, total, &seen);
            } else if (ch == cin) {
                ssize_t n = read(r.in, r.buf, sizeof r.buf);
                if (n > 0) {
                    r.len = (size_t)n;
                    r.off = 0;
                } else if (n == 0) {
                    r.eof = 1;
                }
                po_touch(cout);
            } else if (ch == cout) {
                ssize_t n = write(r.out, r.buf + r.off, r.len - r.off);
                if (n > 0) {
                    r.off += (size_t)n;
                    r.relayed += (unsigned long long)n;
                }
                if (r.off == r.len) {
                    r.off = r.len = 0;
                    po_touch(cin);
                }
            }
        }
        if (r.eof && r.len == 0 && !out_closed) {
            shutdown(r.out, SHUT_WR); /* the peer reads EOF */
            out_closed = 1;
        }
    }
    double t1 = ss_now();
    int st_sender, st_peer;
    waitpid(sender, &st_sender, 0);
    waitpid(peer, &st_peer, 0);
    /* No kill() can come any more: a wait reports what is still owed, and
     * what it does not report must not be there to take. */
    int unreported = 0;
    if (po_wait(p, 200, NULL) > 0 && po_channel_act(sch) != 0)
        ss_take_all(s, sh, total, &seen);
    int signo;
    while (po_signal_take(s, &signo) == PO_OK)
        unreported++;
    int stream_ok = WIFEXITED(st_peer) && WEXITSTATUS(st_peer) == 0;
    int owed = 1;
    for (int k = 0; k < 3; k++)
        owed &= seen.after_last[k] || seen.covered[k];
    int ok = owed && !unreported && !seen.unsent && !seen.stray && stream_ok &&
             WIFEXITED(st_sender) && WEXITSTATUS(st_sender) == 0;
    printf("backend %s: %ld kill()s in %.3f s (%.0f a second)\n",
           po_backend_name(p), count, sent_at - t0,
           (double)count / (sent_at - t0));
    printf("takes: SIGUSR1 %ld, SIGUSR2 %ld, SIGHUP %ld (of %ld, %ld, %ld "
           "sent)\n",
           seen.takes[0], seen.takes[1], seen.takes[2],
           atomic_load(&sh->sent[0]), atomic_load(&sh->sent[1]),
           atomic_load(&sh->sent[2]));
    printf("taken after the last kill(): certainly %d %d %d, once all were "
           "begun %d %d %d; left unreported: %d\n",
           seen.after_last[0], seen.after_last[1], seen.after_last[2],
           seen.covered[0], seen.covered[1], seen.covered[2], unreported);
    printf("numbers never sent: %d, unknown numbers: %d\n", seen.unsent,
           seen.stray);
    printf("relayed %llu bytes in %ld waits, %.3f s; stream %s\n", r.relayed,
           waits, t1 - t0, stream_ok ? "whole" : "BROKEN");
    printf("%s\n", ok ? "PASS" : "FAIL");
    po_destroy(p);
    return ok ? 0 : 1;
}
