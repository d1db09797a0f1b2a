/*
 * The churn soak: a long run of attach, delete, re-socket and mark/delete
 * with descriptor numbers reused at once, under a steady stream of traffic,
 * across thousands of socket-pair channels.  Every event the poller delivers
 * is checked against the channel incarnation that must get it, and every
 * byte sent is checked against every byte received.
 *
 *   soak [--ops N] [--channels N] [--backend epoll|poll|uring|...]
 *        [--reconcile changed|full] [--seed N] [--writes N] [--churn N]
 *
 * A slot is a place for one channel; its incarnations follow one another,
 * each with its own socket pair, and usually its predecessor's descriptor
 * numbers (closed just before).  Each round does --churn operations (delete
 * and attach again under the same or a new number, po_set_socket to a new
 * pair, mark for po_delete_marked, a peer that hangs up, a channel that
 * stops reading for a few rounds with PO_POOL), --writes peer writes of 1 to
 * 4 messages, then one po_wait and a walk.  A message is 16 bytes, the
 * incarnation's id and its sequence number on that socket.
 *
 * Counted as errors (the program exits 1 unless all are 0; 77 when the
 * kernel refuses the backend):
 *   misrouted: a walked channel that is not a live incarnation, or whose
 *     SeqN, socket or number is not its own, or an act it cannot have
 *     (PO_RECV with nothing to read, PO_POOL while reading, anything else);
 *   missed: a channel that wanted PO_RECV with bytes or a hang-up waiting,
 *     not triggered by the wait (the harvest is as large as the channel
 *     count, so every ready channel is due in every wait);
 *   bytes: a message with another incarnation's id or out of sequence, a
 *     read that fails, a short or failed write;
 *   deinit: a deinit that is not exactly one per incarnation;
 *   SeqN: a SeqN not above every SeqN handed out before it.
 * An operation is one po_attach, po_delete, po_set_socket or po_mark_delete.
 *
 * It builds for Windows too (mingw-w64; scripts/test-windows.sh runs it
 * under Wine): the pairs are loopback TCP connections there, see "The
 * system" below.  One wait must then report every due channel: keep
 * --writes (plus the hang-ups of --churn) under the most events one wait
 * harvests, which on the wepoll backend is its bridge's batch of 256.
 */
#define _POSIX_C_SOURCE 200809L
#include "sockpair.h" /* first: winsock2.h before windows.h */

#ifdef _WIN32
#include <windows.h>

#include <psapi.h>
#else
#include <sys/resource.h>
#include <time.h>
#endif
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "polleros.h"

/* ------------------------------------------------------------------------ */
/* The system                                                               */

/*
 * A socket as the poller takes it (a descriptor; a SOCKET on Windows, whose
 * values Winsock hands out again as POSIX does descriptor numbers: Wine the
 * lowest free one, Windows the last freed).  POSIX pairs are AF_UNIX
 * socketpairs.  Windows has no socketpair() (and Wine no AF_UNIX): a pair is
 * a loopback TCP connection, Nagle off, whose bytes and FIN reach the other
 * end a little after the call that sent them; so before each wait the soak
 * waits until every channel the wait must report is readable by the
 * system's own account (sk_os_settle()), as it always is at once on POSIX.
 * A peer that hangs up sends a FIN (it never has bytes unread: channels do
 * not write), which the channel reads as EOF, as on POSIX.
 */
typedef po_socket sk_sock;
#define SK_NONE PO_NO_SOCKET
#define SK_SNUM(s) ((long long)(s))

/* A system call that failed: what it was, and the system's error. */
static void sk_die(const char *what) {
    fprintf(stderr, "soak: %s: %s\n", what, sp_strerror(sp_errno()));
    exit(2);
}

/* A call of sockpair.h that failed (it says what and why). */
static void sk_die_sp(void) {
    fprintf(stderr, "soak: %s\n", sp_why());
    exit(2);
}

static void sk_pair(sk_sock sv[2]) {
    if (sp_pair(sv) != 0)
        sk_die_sp();
}

static void sk_os_settle(const sk_sock *s, size_t n, sp_pollfd *pfd) {
    if (sp_settle(s, n, pfd) != 0)
        sk_die_sp();
}

#ifdef _WIN32

static double sk_now(void) {
    LARGE_INTEGER f, t;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&t);
    return (double)t.QuadPart / (double)f.QuadPart;
}

/* No descriptor limit to raise. */
static int sk_os_limits(int channels) {
    (void)channels;
    return 0;
}

static double sk_peak_rss_mb(void) {
    PROCESS_MEMORY_COUNTERS pmc;
    if (!GetProcessMemoryInfo(GetCurrentProcess(), &pmc, sizeof pmc))
        return 0;
    return (double)pmc.PeakWorkingSetSize / (1024.0 * 1024.0);
}
#else
static double sk_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Two descriptors per channel, and a few more; nonzero if the limit is too
 * low for that. */
static int sk_os_limits(int channels) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
        rl.rlim_cur < (rlim_t)channels * 2 + 64) {
        fprintf(stderr,
                "soak: %d channels need %d descriptors; the limit is %llu\n",
                channels, channels * 2 + 64, (unsigned long long)rl.rlim_cur);
        return 1;
    }
    return 0;
}

static double sk_peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}
#endif

enum {
    SK_MSG = 16,
    MAX_IN_FLIGHT = 24,
    POOL_ROUNDS = 3,
    MAX_GHOSTS = 32,
    GHOST_ROUNDS = 5,
    SK_MAGIC = 0x50a4
};

/* A ghost: a socket closed behind the poller's back while a duplicate keeps
 * the connection open.  epoll keeps such a registration (it belongs to the
 * open file, not to the number) and goes on reporting it with the old SeqN;
 * meanwhile the number serves a new channel.  Those events must be dropped
 * as stale, never delivered to the channel that reused the number. */
typedef struct sk_ghost {
    sk_sock dup, peer;
    uint64_t until_round;
} sk_ghost;

typedef struct sk_inc {
    uint32_t magic;
    bool live;
    bool expect_deinit;
    int slot;
    uint64_t id;
    po_chn chn;
    po_channel *ch;
    po_seqn seqn;
    sk_sock fd, peer;
    po_triggers wants; /* PO_RECV, or PO_POOL while it does not read */
    int pool_left;     /* rounds of PO_POOL to go */
    bool peer_closed;
    uint64_t sent, got; /* messages on the current socket */
    uint64_t sent_bytes, got_bytes;
    int in_flight; /* writes not yet read, bounded */
    uint8_t part[SK_MSG];
    size_t npart;
    uint64_t due_round; /* a wait in this round must trigger it */
    uint64_t seen_round;
    bool pending_listed;
    bool marked;
    struct sk_inc *next_free;
} sk_inc;

typedef struct sk_opts {
    long ops;
    int channels;
    int writes, churn;
    po_backend_kind backend;
    po_reconcile reconcile;
    uint64_t seed;
} sk_opts;

static struct {
    sk_opts o;
    po_poller *p;
    sk_inc **slot;    /* the live incarnation of each slot, or NULL */
    sk_inc *free;     /* recycled incarnations */
    sk_inc *limbo;    /* deleted this round: recycled at its end */
    sk_inc **pending; /* incarnations with bytes or a hang-up not read */
    size_t npending;
    sk_sock *due;       /* the sockets a wait must report (sk_os_settle()) */
    sp_pollfd *due_pfd; /* and room to poll them */
    uint64_t rng;
    uint64_t next_id;
    po_chn next_chn;
    uint64_t round;
    /* Counts. */
    long ops, attaches, deletes, resockets, marks, hangups, pools;
    int marked_now; /* marked since the last po_delete_marked() */
    size_t pending_cap;
    long fd_reused;
    sk_ghost ghost[MAX_GHOSTS];
    int nghosts;
    long ghosts;
    uint64_t msgs_sent, bytes_sent, bytes_got, bytes_discarded;
    uint64_t events;
    long misrouted, missed, byte_errors, deinit_errors, seqn_errors;
    po_seqn last_seqn;
} sk;

static uint64_t sk_rand(void) {
    /* xorshift64*: deterministic for a seed. */
    sk.rng ^= sk.rng >> 12;
    sk.rng ^= sk.rng << 25;
    sk.rng ^= sk.rng >> 27;
    return sk.rng * UINT64_C(2685821657736338717);
}
static unsigned sk_below(unsigned n) { return (unsigned)(sk_rand() % n); }

/* ------------------------------------------------------------------------ */
/* Incarnations                                                             */

static void sk_list_pending(sk_inc *c) {
    if (c->pending_listed)
        return;
    if (sk.npending == sk.pending_cap) {
        fprintf(stderr, "soak: the pending list overflowed\n");
        exit(2);
    }
    c->pending_listed = true;
    sk.pending[sk.npending++] = c;
}

/* Reads what the socket holds and checks every message: this incarnation's
 * id, the next sequence number.  Returns false at EOF. */
static bool sk_read(sk_inc *c) {
    uint8_t buf[8192];
    for (;;) {
        long n = sp_read(c->fd, buf, sizeof buf);
        if (n == 0) {
            if (!c->peer_closed) {
                sk.byte_errors++;
                fprintf(stderr, "soak: EOF on a socket whose peer is open\n");
            }
            return false;
        }
        if (n < 0) {
            if (sp_again(sp_errno()))
                return true;
            sk.byte_errors++;
            fprintf(stderr, "soak: read: %s\n", sp_strerror(sp_errno()));
            return true;
        }
        sk.bytes_got += (uint64_t)n;
        c->got_bytes += (uint64_t)n;
        for (long i = 0; i < n; i++) {
            c->part[c->npart++] = buf[i];
            if (c->npart < SK_MSG)
                continue;
            uint64_t id, seq;
            memcpy(&id, c->part, 8);
            memcpy(&seq, c->part + 8, 8);
            c->npart = 0;
            if (id != c->id || seq != c->got) {
                if (sk.byte_errors++ < 10)
                    fprintf(stderr,
                            "soak: incarnation %llu got message %llu of "
                            "incarnation %llu, expected %llu\n",
                            (unsigned long long)c->id, (unsigned long long)seq,
                            (unsigned long long)id, (unsigned long long)c->got);
            }
            c->got++;
        }
        if (c->got_bytes == c->sent_bytes)
            c->in_flight = 0;
    }
}

static po_triggers sk_probe(po_channel *ch, void *ctx) {
    (void)ch;
    return ((sk_inc *)ctx)->wants;
}

static void sk_close_pair(sk_inc *c) {
    if ((c->fd != SK_NONE && sp_discard(c->fd) != 0) ||
        (c->peer != SK_NONE && sp_discard(c->peer) != 0))
        sk_die("close");
    c->fd = c->peer = SK_NONE;
}

static void sk_deinit(po_channel *ch, void *ctx) {
    sk_inc *c = ctx;
    if (c->magic != SK_MAGIC || !c->live || !c->expect_deinit || c->ch != ch) {
        sk.deinit_errors++;
        return;
    }
    c->live = false;
    /* Whatever the peer sent and nobody read goes with the socket. */
    sk.bytes_discarded += c->sent_bytes - c->got_bytes;
    sk_close_pair(c);
    c->next_free = sk.limbo;
    sk.limbo = c;
}

static const po_channel_ops sk_ops = {sk_probe, sk_deinit};

/* Every attach and every new socket gets a SeqN above all before it. */
static void sk_new_seqn(sk_inc *c) {
    c->seqn = po_channel_seqn(c->ch);
    if (c->seqn <= sk.last_seqn)
        sk.seqn_errors++;
    sk.last_seqn = c->seqn;
}

/* A new incarnation in slot s, under its predecessor's number or a new one,
 * on a new pair (whose descriptors are usually the ones just closed). */
static void sk_attach(int s, po_chn chn, sk_sock old_fd) {
    sk_inc *c = sk.free;
    if (c != NULL)
        sk.free = c->next_free;
    else if ((c = malloc(sizeof *c)) == NULL)
        sk_die("malloc");
    memset(c, 0, sizeof *c);
    c->magic = SK_MAGIC;
    c->slot = s;
    c->id = ++sk.next_id;
    c->chn = chn;
    c->wants = PO_RECV;
    sk_sock sv[2];
    sk_pair(sv);
    c->fd = sv[0];
    c->peer = sv[1];
    sk.fd_reused += c->fd == old_fd;
    int rc = po_attach(sk.p, chn, c->fd, &sk_ops, c, &c->ch);
    if (rc != PO_OK) {
        fprintf(stderr, "soak: po_attach: %s\n", po_strerror(rc));
        exit(2);
    }
    sk_new_seqn(c);
    c->live = true;
    sk.slot[s] = c;
    sk.ops++;
    sk.attaches++;
}

static void sk_delete(sk_inc *c, bool drain) {
    int s = c->slot;
    sk_sock fd = c->fd;
    po_chn chn = c->chn;
    if (drain && !c->peer_closed)
        sk_read(c);
    c->expect_deinit = true;
    if (po_delete(sk.p, chn) != PO_OK || c->live) {
        sk.deinit_errors++;
        fprintf(stderr, "soak: po_delete of %llu failed or skipped deinit\n",
                (unsigned long long)chn);
    }
    sk.slot[s] = NULL;
    sk.ops++;
    sk.deletes++;
    /* Half the time the same number comes back at once. */
    sk_attach(s, sk_below(2) ? chn : sk.next_chn++, fd);
}

static void sk_resocket(sk_inc *c) {
    sk_sock sv[2];
    sk_pair(sv);
    if (po_set_socket(c->ch, sv[0]) != PO_OK) {
        fprintf(stderr, "soak: po_set_socket failed\n");
        exit(2);
    }
    /* The old socket is the application's again: read what is left, check
     * it, close it.  The channel starts a new stream on the new one. */
    if (!c->peer_closed)
        sk_read(c);
    sk.bytes_discarded += c->sent_bytes - c->got_bytes;
    sk_close_pair(c);
    c->fd = sv[0];
    c->peer = sv[1];
    sk_new_seqn(c);
    c->sent = c->got = c->sent_bytes = c->got_bytes = 0;
    c->npart = 0;
    c->in_flight = 0;
    c->peer_closed = false;
    sk.ops++;
    sk.resockets++;
}

/* ------------------------------------------------------------------------ */
/* A round                                                                  */

static void sk_write(sk_inc *c) {
    if (c->peer_closed || c->in_flight >= MAX_IN_FLIGHT)
        return;
    uint64_t buf[4][2]; /* messages: id, sequence number */
    unsigned n = 1 + (unsigned)(sk_rand() & 3);
    for (unsigned i = 0; i < n; i++) {
        buf[i][0] = c->id;
        buf[i][1] = c->sent + i;
    }
    _Static_assert(sizeof buf[0] == SK_MSG, "a message is two words");
    long w = sp_write(c->peer, buf, n * SK_MSG);
    if (w != (long)(n * SK_MSG)) {
        sk.byte_errors++;
        fprintf(stderr, "soak: peer write: %ld of %u\n", w, n * SK_MSG);
        return;
    }
    c->sent += n;
    c->sent_bytes += n * SK_MSG;
    c->in_flight++;
    sk.msgs_sent += n;
    sk.bytes_sent += n * SK_MSG;
    sk_list_pending(c);
}

/* Closes c's socket behind the poller's back, keeping a duplicate, deletes
 * c and attaches a new incarnation on the number just freed; the ghost's
 * peer then writes, so that the old registration fires. */
static void sk_ghost_one(sk_inc *c) {
    if (sk.nghosts == MAX_GHOSTS || c->peer_closed)
        return;
    sk_ghost *g = &sk.ghost[sk.nghosts];
    g->dup = sp_dup(c->fd);
    if (g->dup == SK_NONE)
        sk_die_sp();
    g->peer = c->peer;
    g->until_round = sk.round + GHOST_ROUNDS;
    sk.nghosts++;
    sk.ghosts++;
    sk_sock fd = c->fd;
    int s = c->slot;
    po_chn chn = c->chn;
    if (sp_close(fd) != 0)
        sk_die("close");
    c->fd = c->peer = SK_NONE; /* the ghost has them now */
    sk.bytes_discarded += c->sent_bytes - c->got_bytes;
    c->got_bytes = c->sent_bytes;
    c->expect_deinit = true;
    if (po_delete(sk.p, chn) != PO_OK || c->live)
        sk.deinit_errors++;
    sk.slot[s] = NULL;
    sk.ops++;
    sk.deletes++;
    sk_attach(s, sk_below(2) ? chn : sk.next_chn++, fd);
    static const char junk[SK_MSG] = "ghost";
    if (sp_write(g->peer, junk, sizeof junk) != (long)sizeof junk)
        sk_die("ghost write");
}

static void sk_ghosts_expire(void) {
    for (int i = 0; i < sk.nghosts;) {
        sk_ghost *g = &sk.ghost[i];
        if (g->until_round > sk.round) {
            i++;
            continue;
        }
        if (sp_discard(g->dup) != 0 || sp_discard(g->peer) != 0)
            sk_die("close");
        *g = sk.ghost[--sk.nghosts];
    }
}

static void sk_churn_one(void) {
    int s = (int)sk_below((unsigned)sk.o.channels);
    sk_inc *c = sk.slot[s];
    if (c == NULL)
        return;
    unsigned r = sk_below(100);
    if (r < 45) {
        sk_delete(c, sk_below(4) != 0);
    } else if (r < 60) {
        sk_resocket(c);
    } else if (r < 75) {
        po_mark_delete(c->ch); /* deleted after the walk */
        sk.ops++;
        sk.marks++;
        if (!c->marked)
            sk.marked_now++;
        c->marked = true;
    } else if (r < 85) {
        if (!c->peer_closed) { /* RECV, then EOF, then the walk deletes */
            if (sp_close(c->peer) != 0)
                sk_die("close");
            c->peer = SK_NONE;
            c->peer_closed = true;
            sk.hangups++;
            sk_list_pending(c);
        }
    } else if (r < 88) {
        sk_ghost_one(c);
    } else if (c->wants == PO_RECV) {
        /* Stops reading for a while; outside its turn, so touched. */
        c->wants = PO_POOL;
        c->pool_left = POOL_ROUNDS;
        po_touch(c->ch);
        sk.pools++;
    }
}

static void sk_walk(void) {
    po_iter it = PO_ITER_INIT;
    for (po_channel *ch; (ch = po_next_triggered(sk.p, &it)) != NULL;) {
        sk_inc *c = po_channel_ctx(ch);
        sk.events++;
        if (c == NULL || c->magic != SK_MAGIC || !c->live || c->ch != ch ||
            po_channel_seqn(ch) != c->seqn || po_channel_socket(ch) != c->fd ||
            po_channel_chn(ch) != c->chn || c->seen_round == sk.round) {
            sk.misrouted++;
            continue;
        }
        c->seen_round = sk.round;
        po_triggers act = po_channel_act(ch);
        po_triggers expect = c->wants == PO_POOL
                                 ? PO_POOL
                                 : (c->due_round == sk.round ? PO_RECV : 0);
        if (act != expect) {
            if (sk.misrouted++ < 10)
                fprintf(stderr,
                        "soak: incarnation %llu (fd %lld): act %#x, expected "
                        "%#x\n",
                        (unsigned long long)c->id, SK_SNUM(c->fd), act, expect);
            continue;
        }
        if (act & PO_POOL) {
            if (--c->pool_left == 0)
                c->wants = PO_RECV; /* its own turn: no touch needed */
            continue;
        }
        if (!sk_read(c)) /* EOF: this connection is over */
            sk_delete(c, false);
    }
}

static void sk_round(void) {
    for (int i = 0; i < sk.o.churn; i++)
        sk_churn_one();
    for (int i = 0; i < sk.o.writes; i++) {
        sk_inc *c = sk.slot[sk_below((unsigned)sk.o.channels)];
        if (c != NULL)
            sk_write(c);
    }
    /* What the wait must report: every reading channel with bytes or a
     * hang-up waiting. */
    sk.round++;
    size_t ndue = 0;
    for (size_t i = 0; i < sk.npending; i++) {
        sk_inc *c = sk.pending[i];
        if (c->live && c->wants == PO_RECV &&
            (c->got_bytes < c->sent_bytes || c->peer_closed)) {
            c->due_round = sk.round;
            sk.due[ndue++] = c->fd;
        }
    }
    sk_os_settle(sk.due, ndue, sk.due_pfd);
    int rc = po_wait(sk.p, 0, NULL);
    if (rc < 0) {
        fprintf(stderr, "soak: po_wait: %s\n", po_strerror(rc));
        exit(2);
    }
    sk_walk();
    /* The identity map, for a sample of slots. */
    for (int i = 0; i < 64; i++) {
        sk_inc *c = sk.slot[sk_below((unsigned)sk.o.channels)];
        if (c != NULL && po_find(sk.p, c->chn) != c->ch)
            sk.misrouted++;
    }
    /* Marked channels go, and their slots get new incarnations. */
    if (sk.marked_now > 0) {
        int live_marked = 0;
        for (int s = 0; s < sk.o.channels; s++)
            if (sk.slot[s] != NULL && sk.slot[s]->marked) {
                sk.slot[s]->expect_deinit = true;
                live_marked++;
            }
        int n = po_delete_marked(sk.p);
        if (n != live_marked)
            sk.deinit_errors++;
        for (int s = 0; s < sk.o.channels; s++) {
            sk_inc *c = sk.slot[s];
            if (c == NULL || !c->marked)
                continue;
            if (c->live) {
                sk.deinit_errors++;
                continue;
            }
            sk.slot[s] = NULL;
            sk.deletes++;
            sk.ops++;
            sk_attach(s, sk.next_chn++, SK_NONE);
        }
        sk.marked_now = 0;
    }
    /* Missed: due, still live, and not walked. */
    size_t keep = 0;
    for (size_t i = 0; i < sk.npending; i++) {
        sk_inc *c = sk.pending[i];
        if (!c->live || c->magic != SK_MAGIC) {
            continue;
        }
        if (c->due_round == sk.round && c->seen_round != sk.round) {
            if (sk.missed++ < 10)
                fprintf(stderr,
                        "soak: incarnation %llu (fd %lld) was due "
                        "and not triggered\n",
                        (unsigned long long)c->id, SK_SNUM(c->fd));
        }
        if (c->got_bytes < c->sent_bytes || c->peer_closed)
            sk.pending[keep++] = c;
        else
            c->pending_listed = false;
    }
    sk.npending = keep;
    sk_ghosts_expire();
    /* Incarnations deleted this round are off every list of ours now, and
     * the poller can no longer walk them once the next wait has run: their
     * records may serve again. */
    while (sk.limbo != NULL) {
        sk_inc *c = sk.limbo;
        sk.limbo = c->next_free;
        c->magic = 0;
        c->next_free = sk.free;
        sk.free = c;
    }
}

/* ------------------------------------------------------------------------ */

static void sk_usage(void) {
    fprintf(stderr, "usage: soak [--ops N] [--channels N] [--backend NAME] "
                    "[--reconcile changed|full] [--seed N] [--writes N] "
                    "[--churn N]\n");
    exit(2);
}

static void sk_args(int argc, char **argv) {
    sk_opts *o = &sk.o;
    o->ops = 1000000;
    o->channels = 5000;
    o->writes = 200;
    o->churn = 50;
    o->backend = PO_BACKEND_DEFAULT;
    o->reconcile = PO_RECONCILE_CHANGED;
    o->seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            sk_usage();
        i++;
        if (strcmp(a, "--ops") == 0)
            o->ops = atol(v);
        else if (strcmp(a, "--channels") == 0)
            o->channels = atoi(v);
        else if (strcmp(a, "--writes") == 0)
            o->writes = atoi(v);
        else if (strcmp(a, "--churn") == 0)
            o->churn = atoi(v);
        else if (strcmp(a, "--seed") == 0)
            o->seed = strtoull(v, NULL, 10);
        else if (strcmp(a, "--backend") == 0)
            o->backend = strcmp(v, "epoll") == 0    ? PO_BACKEND_EPOLL
                         : strcmp(v, "poll") == 0   ? PO_BACKEND_POLL
                         : strcmp(v, "kqueue") == 0 ? PO_BACKEND_KQUEUE
                         : strcmp(v, "wepoll") == 0 ? PO_BACKEND_WEPOLL
                         : strcmp(v, "uring") == 0  ? PO_BACKEND_URING
                                                    : (sk_usage(), 0);
        else if (strcmp(a, "--reconcile") == 0)
            o->reconcile = strcmp(v, "changed") == 0 ? PO_RECONCILE_CHANGED
                           : strcmp(v, "full") == 0  ? PO_RECONCILE_FULL
                                                     : (sk_usage(), 0);
        else
            sk_usage();
    }
    if (o->ops < 1 || o->channels < 1 || o->writes < 0 || o->churn < 0)
        sk_usage();
}

int main(int argc, char **argv) {
    sk_args(argc, argv);
    if (sp_start() != 0)
        sk_die_sp();
    sk.rng = sk.o.seed * UINT64_C(0x9E3779B97F4A7C15) + 1;

    if (sk_os_limits(sk.o.channels) != 0)
        return 2;

    po_options opt;
    memset(&opt, 0, sizeof opt);
    opt.backend = sk.o.backend;
    opt.reconcile = sk.o.reconcile;
    /* One wait can harvest every channel: each ready one is due in it. */
    opt.max_events = (unsigned)sk.o.channels;
    int err;
    errno = 0;
    sk.p = po_create(&opt, &err);
    /* A backend the kernel refuses here (io_uring under a seccomp profile,
     * the io_uring_disabled sysctl) is skipped, as the conformance suite
     * skips it. */
    if (sk.p == NULL && err == PO_ENOTSUP) {
        printf("soak: skipped: %s (%s)\n", po_strerror(err), strerror(errno));
        return 77;
    }
    if (sk.p == NULL) {
        fprintf(stderr, "soak: po_create: %s\n", po_strerror(err));
        return 2;
    }
    sk.slot = calloc((size_t)sk.o.channels, sizeof *sk.slot);
    /* A slot's incarnations can be listed more than once in a round. */
    sk.pending_cap = (size_t)sk.o.channels * 2 + (size_t)sk.o.churn * 4 + 64;
    sk.pending = calloc(sk.pending_cap, sizeof *sk.pending);
    sk.due = calloc(sk.pending_cap, sizeof *sk.due);
    sk.due_pfd = calloc(sk.pending_cap, sizeof *sk.due_pfd);
    if (sk.slot == NULL || sk.pending == NULL || sk.due == NULL ||
        sk.due_pfd == NULL)
        sk_die("calloc");
    sk.next_chn = (po_chn)sk.o.channels;
    for (int s = 0; s < sk.o.channels; s++)
        sk_attach(s, (po_chn)s, SK_NONE);
    long setup_ops = sk.ops;
    sk.attaches = 0; /* the counts are of the churn, after the set-up */

    double t0 = sk_now();
    while (sk.ops - setup_ops < sk.o.ops)
        sk_round();
    double secs = sk_now() - t0;
    long ops = sk.ops - setup_ops;

    /* The end: every byte still in flight is read and checked, then the
     * poller goes, with a deinit for each channel. */
    for (int s = 0; s < sk.o.channels; s++) {
        sk_inc *c = sk.slot[s];
        if (c == NULL)
            continue;
        sk_read(c); /* to EOF where the peer hung up */
        c->expect_deinit = true;
    }
    po_stats st;
    po_get_stats(sk.p, &st);
    const char *backend = po_backend_name(sk.p); /* a static string */
    po_destroy(sk.p);
    uint64_t rounds = sk.round;
    sk.round = UINT64_MAX; /* every ghost goes */
    sk_ghosts_expire();
    for (int s = 0; s < sk.o.channels; s++)
        if (sk.slot[s] != NULL && sk.slot[s]->live)
            sk.deinit_errors++;
    if (sk.bytes_sent != sk.bytes_got + sk.bytes_discarded) {
        fprintf(stderr,
                "soak: %llu bytes sent, %llu received, %llu "
                "discarded with their sockets\n",
                (unsigned long long)sk.bytes_sent,
                (unsigned long long)sk.bytes_got,
                (unsigned long long)sk.bytes_discarded);
        sk.byte_errors++;
    }

    printf("soak: %s, %s reconciliation, %d channels, seed %llu\n", backend,
           sk.o.reconcile == PO_RECONCILE_FULL ? "full" : "changed",
           sk.o.channels, (unsigned long long)sk.o.seed);
    printf("soak: %ld operations in %llu rounds: %ld attach, %ld delete, %ld "
           "set_socket, %ld mark; %ld hang-ups, %ld pool pauses; %ld "
           "attaches reused the last descriptor number\n",
           ops, (unsigned long long)rounds, sk.attaches, sk.deletes,
           sk.resockets, sk.marks, sk.hangups, sk.pools, sk.fd_reused);
    printf("soak: %llu messages, %llu bytes sent, %llu received, %llu "
           "discarded with deleted sockets; %llu channels walked\n",
           (unsigned long long)sk.msgs_sent, (unsigned long long)sk.bytes_sent,
           (unsigned long long)sk.bytes_got,
           (unsigned long long)sk.bytes_discarded,
           (unsigned long long)sk.events);
    printf("soak: %ld sockets closed behind the poller's back (a duplicate "
           "kept open); %llu kernel events, %llu stale ones dropped\n",
           sk.ghosts, (unsigned long long)st.events,
           (unsigned long long)st.stale);
    printf("soak: %.0f operations/s, %.0f messages/s, %.1f s, peak RSS %.1f "
           "MB\n",
           (double)ops / secs, (double)sk.msgs_sent / secs, secs,
           sk_peak_rss_mb());
    printf("soak: misrouted %ld, missed %ld, byte errors %ld, deinit errors "
           "%ld, SeqN errors %ld\n",
           sk.misrouted, sk.missed, sk.byte_errors, sk.deinit_errors,
           sk.seqn_errors);
    bool ok = sk.misrouted == 0 && sk.missed == 0 && sk.byte_errors == 0 &&
              sk.deinit_errors == 0 && sk.seqn_errors == 0;
    puts(ok ? "soak: PASS" : "soak: FAIL");
    return ok ? 0 : 1;
}
