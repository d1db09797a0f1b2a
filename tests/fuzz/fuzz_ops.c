/*
 * The operation fuzzer: a libFuzzer target that decodes its input into a
 * sequence of operations on one poller, runs them against polleros and
 * against a model of what must be true, and aborts on the first difference.
 *
 * The model is exact, not approximate, because everything the fuzzer does is
 * deterministic: its sockets are AF_UNIX stream pairs, whose readiness
 * changes synchronously with write(), read(), shutdown() and close() (the
 * kernel has woken every poll table before the call returns), and it bounds
 * the bytes in flight so that a socket is always writable.  (On Windows the
 * pairs are loopback TCP connections, made as deterministic by waiting for
 * what is in flight to arrive: see "The system's sockets" below.)  So for
 * every wait the model knows which channels must be triggered and with
 * exactly which triggers, and it checks:
 *   - po_count() and po_find() for every channel number, after every
 *     operation; each channel's SeqN, socket, ctx, number, act and
 *     deadline;
 *   - SeqNs: the model hands them out itself, from 1, one per attach and per
 *     po_set_socket(), none on a failed call;
 *   - deinit: exactly once per channel, only when the model deletes it, with
 *     the channel and ctx it was attached with;
 *   - each wait's return value, total, and every live channel's act and
 *     wants; that no wait allocates; which channels were probed (every live
 *     one in PO_RECONCILE_FULL, exactly the candidates in
 *     PO_RECONCILE_CHANGED); the kernel calls made (adds, mods, dels,
 *     events) and the stale events dropped: a socket closed behind the
 *     poller's back while a duplicate keeps it open leaves a registration
 *     in epoll whose events carry the deleted channel's SeqN, while the
 *     descriptor number serves a new channel;
 *   - the walk: only channels triggered by the wait, each at most once, with
 *     the act the wait gave it, never one deleted or attached during the walk,
 *     and all of them when the walk runs to its end; a stopped walk's
 *     iterator returns nothing after the next wait;
 *   - every byte read from a socket is the next byte its peer wrote (both
 *     directions), then the connection reset (ECONNRESET, when the peer
 *     closed with bytes of ours unread) and EOF exactly where expected;
 *   - refusals (PO_EEXIST, PO_EINUSE, PO_ENOENT, PO_EINVAL) change nothing;
 *     an injected allocation failure gives PO_ENOMEM and changes nothing; a
 *     negative descriptor other than PO_NO_SOCKET is refused (PO_EINVAL) by
 *     attach and po_set_socket (POSIX);
 *   - po_set_socket() (a new socket, the same, none) of a channel with an
 *     act keeps of it only PO_POOL, PO_TIMEOUT and a PO_ERR its probe
 *     asked for, and a walk in progress visits it later only if any is
 *     left, with that act;
 *   - notifiers of every capacity (rounded up to a power of two, at least
 *     2; 0 is 1024; above 2^24 refused): po_notify() queues until the queue
 *     is full, then PO_EAGAIN; po_notifier_take() gives every payload once,
 *     oldest first, then PO_EAGAIN; the channel's act is PO_NOTIFY exactly
 *     while a wake-up waits (a payload was sent since the last take that
 *     found the queue empty);
 *   - deadlines: one already past fires PO_TIMEOUT at the next wait, ORed
 *     with the rest, and is gone; PO_NEVER and far ones never fire; a
 *     deadline survives po_set_socket() and leaves with its channel;
 *   - po_wait_until() with a deadline of 0, long past, now or up to 1 ms
 *     ahead: the same round as po_wait()'s, to the act; one that triggers
 *     nothing returns at or after its deadline; more than one kernel wait
 *     only for a deadline still ahead as it began, and only in a round
 *     that ends untriggered (fz_wait());
 *   - signal channels (fz_sig[]: signals the engine leaves alone) of one
 *     to three signals: attach refused with PO_EINVAL (no signal, a number
 *     the system refuses, SIGKILL, SIGSTOP, NULLs), PO_EEXIST, PO_EINUSE
 *     (a signal another channel holds), PO_ENOMEM, PO_EBUSY (in a probe or
 *     a deinit), each changing nothing; a raise() is reported PO_NOTIFY by
 *     the next wait, only on the channel that holds it; po_signal_take()
 *     gives each number that arrived since it was last taken once (a
 *     real-time one once per instance on epoll, whose signalfd queues
 *     them), then PO_EAGAIN; a quiet signal no channel holds is reported
 *     by none; and the process matches the model (fz_sig_check()): the
 *     signals held are blocked (epoll, and pending exactly while not
 *     taken), handled (poll, uring) or ignored (kqueue), and delete and
 *     po_destroy() put each back as it was;
 *   - fork() (fz_fork()): in the child po_after_fork() keeps every channel
 *     and re-registers each at its next wait (adds, no dels), gives each
 *     notifier and signal channel an object of its own (a new socket and
 *     SeqN, nothing to take), a second call does nothing, and the rest of
 *     the input runs there under the model; the parent's po_destroy() is
 *     whole;
 *   - a channel deleted since the last wait: its pointer may still be given
 *     to the API until the next wait, which refuses po_set_socket() and
 *     po_set_deadline() (PO_EINVAL), ignores po_touch() and
 *     po_mark_delete(), and gives no deadline and no act;
 *   - every call from every context: at the top level, in a walk before and
 *     after the channel it concerns is visited, in a probe, and in a deinit
 *     run by po_delete(), po_delete_group(), po_delete_marked() or
 *     po_destroy().  From a probe or a deinit every call that changes the
 *     poller (attach, the deletions, po_set_socket(), po_set_deadline(),
 *     po_notifier_attach(), po_signal_attach(), po_wait(),
 *     po_wait_until(), po_after_fork(), po_destroy()) is refused with
 *     PO_EBUSY and changes nothing, and the calls allowed there (po_find(),
 *     po_count(), the accessors, po_touch(), po_mark_delete(), po_notify()
 *     and po_notifier_take() on a notifier still attached, raise() and
 *     po_signal_take() on a signal channel still attached) do what they do
 *     anywhere; in a deinit, the channels the call deletes leave the poller
 *     one by one, each just before its deinit;
 *   - po_destroy(), at the end of an input or wherever the input says (a
 *     walk may be in progress): every channel still attached is deinit'd
 *     once, every allocation was freed (and LeakSanitizer checks the
 *     process).
 *
 * Input format.  Byte 0 configures the run: bit 0 chooses the reconciliation
 * (0: PO_RECONCILE_CHANGED, 1: PO_RECONCILE_FULL) unless the environment's
 * POLLEROS_FUZZ_RECONCILE (changed, full), else POLLEROS_RECONCILE, does;
 * bit 1 gives the poller a spin (po_options.spin_ns: bit 2 chooses
 * FZ_SPIN_LONG_NS, else FZ_SPIN_SHORT_NS), under which a po_wait()
 * timeout, like a po_wait_until() deadline, may take several kernel waits
 * and is never cut short.
 * The backend is the one POLLEROS_BACKEND names (the library reads it), else
 * the platform's default.  The rest is operations: an opcode byte (modulo
 * FZ_NOPS) and its argument bytes, listed at fz_op().  A wait's walk reads
 * one action byte per walked channel (fz_walk()).  A missing byte reads as 0,
 * so every input is valid.  Each input runs in a fresh poller and ends with
 * po_destroy(): its own, or one more wait and walk and po_destroy() (after
 * a fork(), in the child, which then _exit()s: the parent ends its input
 * at the fork); at most FZ_PAIRS socket pairs and FZ_NOTES notifiers and
 * signal channels are open at any time.
 *
 * POLLEROS_FUZZ_TRACE=1 prints every operation to stderr, for reading a
 * crash's input.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef _WIN32
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "polleros.h"
#include "sockpair.h"
#include "until.h"

enum {
    FZ_NUMS = 192,   /* channel numbers in play (fz_number()) */
    FZ_PAIRS = 48,   /* socket pairs open at once, at most */
    FZ_INCS = 2048,  /* channels attached per input, at most */
    FZ_MAXW = 16,    /* writes in flight per direction of a pair */
    FZ_MAXLEN = 200, /* bytes per write */
    FZ_BULK = 72,    /* channels one bulk attach adds, at most */
    FZ_NOTES = 16,   /* notifiers and signal channels per input, at most */
    /* po_options.spin_ns, when byte 0 asks for one: shorter than the
     * timed waits, or longer (all of such a wait is a spin). */
    FZ_SPIN_SHORT_NS = 20000,
    FZ_SPIN_LONG_NS = 2000000,
    FZ_NSIG = 6, /* signals in play (fz_sig[]) */
    FZ_MAGIC = 0x7a11c0de
};

/* Per-channel behaviours chosen at attach (fz_inc.flags). */
enum {
    FL_CLOSE = 1,      /* deinit closes the socket pair (else: it goes free) */
    FL_TOUCH = 2,      /* the probe calls po_touch() on its own channel */
    FL_MARK = 4,       /* the next probe marks its channel for deletion */
    FL_REENTER = 8,    /* the probe and deinit try calls that must be EBUSY */
    FL_DEINIT_RD = 16, /* deinit reads the socket (it must still be open) */
    FL_CALLS = 32      /* the probe and deinit make the calls allowed there */
};

typedef struct fz_inc fz_inc;

/* A socket as the poller takes it; FZ_NONE is "none" (a closed peer). */
typedef po_socket fz_sock;
#define FZ_NONE PO_NO_SOCKET
/* For the trace and the failure messages (PO_NO_SOCKET prints as -1). */
#define FZ_SNUM(s) ((long long)(s))

/* A socket pair: `fd` is the end a channel watches, `peer` the other end,
 * which the fuzzer writes, reads, shuts down and closes. */
typedef struct fz_pair {
    bool open; /* the slot is in use: fd is open */
    fz_sock fd, peer;
    uint32_t id; /* seeds the byte pattern of both directions */
    fz_inc *owner;
    uint64_t in_wr, in_rd;   /* bytes peer -> fd: written, read */
    uint64_t out_wr, out_rd; /* bytes fd -> peer */
    int in_n, out_n;         /* writes in flight (bounded by FZ_MAXW) */
    bool peer_shut;          /* the peer shut down its sending side */
    bool peer_closed;        /* the peer end is closed: fd is hung up */
    bool reset; /* the peer closed with bytes of fd unread: ECONNRESET */
    /* A ghost: its channel's socket was closed behind the poller's back
     * while a duplicate (now `fd`) kept the connection open, and the
     * channel deleted.  epoll keeps the registration, which belongs to the
     * open file, with the old interest and SeqN: its events must be dropped
     * as stale.  A ghost is never attached again. */
    bool ghost;
    unsigned ghost_kint;
} fz_pair;

/* One channel, from po_attach() to its deinit. */
struct fz_inc {
    uint32_t magic;
    int num; /* index of its number, fz_number() */
    po_channel *ch;
    po_seqn seqn;
    fz_pair *pair;      /* NULL: no socket */
    po_triggers wants;  /* what its probe returns from now on */
    po_triggers pwants; /* what it returned last: po_channel_wants() */
    unsigned flags;
    unsigned arg; /* FL_CALLS: which calls, on which notifier */
    bool live, marked;
    bool cand;     /* PO_RECONCILE_CHANGED must probe it at the next wait */
    bool widened;  /* this wait widened its kernel interest (fz_late()) */
    bool touched;  /* its probe touched it during this wait */
    unsigned kint; /* the kernel interest the model says it holds */
    bool expect_deinit;
    int deinits;
    int probes;         /* during the current wait */
    po_triggers expect; /* its act in this round */
    bool visited;       /* walked in this round */
    /* Its deadline as po_channel_deadline() must give it; due: the next
     * wait fires it (set in the past), else it is PO_NEVER or far enough
     * ahead never to fire in a run. */
    po_time deadline;
    bool due;
    int del_call; /* the deletion call (fz_state.del_call) that deleted it */
    /* A notifier's channel (the library's probe and deinit, ctx `nt`): its
     * queue holds payloads sent .. taken-1, of capacity ncap; `pending`: a
     * wake-up was written and no take has drained it since, so the kernel
     * object (nsock) is readable. */
    po_notifier *nt;
    fz_sock nsock;
    size_t ncap;
    uint64_t sent, taken;
    bool pending;
    /* A signal channel's (also the library's probe and deinit, ctx `sg`,
     * kernel object nsock): its signals, bit i for fz_sig[i], and how many
     * of each have arrived and not been taken (at most one where they
     * coalesce).  With a handler (fz_state.sigmech FZ_SIG_FLAGS) its
     * wake-up is `pending` as a notifier's is. */
    po_signal *sg;
    unsigned sigs;
    unsigned arrived[FZ_NSIG];
};

typedef struct fz_state {
    po_poller *p;
    bool changed;
    bool epoll, poll, wepoll; /* the backend */
    int sigmech;              /* how its signal channels hear signals */
    bool sig_dirty;           /* a signal's mask or action may have changed */
    fz_pair pair[FZ_PAIRS];
    int npairs;
    uint32_t pair_ids;
    int ninc;               /* inc[0..ninc-1] are in use */
    fz_inc *note[FZ_NOTES]; /* the notifiers, live or not, of this input */
    int nnote;
    /* Deleting: the model has deleted the victims of the call in progress,
     * numbered del_call; each leaves the poller just before its deinit. */
    bool deleting;
    int del_call;
    int pending; /* victims (not notifiers) whose deinit has yet to run */
    bool ended;  /* po_destroy() ran: the input is over */
    bool child;  /* the child of a fork: it _exit()s at the end */
    bool spin;   /* the poller spins before a timed wait's end */
    fz_inc *by_num[FZ_NUMS];
    size_t nlive;
    po_seqn next_seqn; /* every SeqN given from now on is at least this */
    po_stats stats;    /* what the kernel calls must be */
    /* The input. */
    const uint8_t *in;
    size_t len, pos;
    unsigned nop;
    const char *opname;
    /* The round. */
    bool in_wait;
    int nround; /* round[0..nround-1]: the channels this round triggered */
    bool walk_stopped;
    bool stop_walk;  /* a wait was asked for during the walk */
    po_iter last_it; /* the last walk's iterator, dead after a wait */
    bool have_last_it;
    /* The allocator. */
    long allocs;   /* blocks live */
    long fail_in;  /* the allocation this many from now fails; -1 none */
    bool may_fail; /* an allocation failure was armed for this call */
    /* The numbers to check after the operation (fz_check()). */
    bool dirty[FZ_NUMS];
    int dirtyn[FZ_NUMS];
    int ndirty;
    int ndead; /* dead[0..ndead-1]: deleted since the last wait */
    /* Last, and not cleared between inputs: only what is in use is read. */
    fz_inc *round[FZ_INCS];
    fz_inc *dead[FZ_INCS];
    fz_inc inc[FZ_INCS];
} fz_state;

static fz_state fz;
static bool fz_trace;
static int fz_forced_mode = -1; /* -1: byte 0 chooses; else 0 or 1 */

/* ------------------------------------------------------------------------ */
/* Reporting                                                                */

#if defined(__MINGW32__)
/* mingw's C99 stdio (__USE_MINGW_ANSI_STDIO), not the system's printf. */
#define FZ_PRINTF __attribute__((format(gnu_printf, 1, 2)))
#elif defined(__GNUC__)
#define FZ_PRINTF __attribute__((format(printf, 1, 2)))
#else
#define FZ_PRINTF
#endif
_Noreturn static void fz_fail(const char *fmt, ...) FZ_PRINTF;
static void fz_log(const char *fmt, ...) FZ_PRINTF;

static void fz_fail(const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "polleros fuzz: op #%u (%s), %s backend, %s: ", fz.nop,
            fz.opname ? fz.opname : "-", fz.p ? po_backend_name(fz.p) : "no",
            fz.changed ? "changed" : "full");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    abort();
}

#define FZ_CHECK(cond)                                                         \
    do {                                                                       \
        if (!(cond))                                                           \
            fz_fail("%s:%d: CHECK(%s)", __FILE__, __LINE__, #cond);            \
    } while (0)
#define FZ_EQ(a, b)                                                            \
    do {                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                    \
        if (a_ != b_)                                                          \
            fz_fail("%s:%d: %s == %lld, expected %s == %lld", __FILE__,        \
                    __LINE__, #a, a_, #b, b_);                                 \
    } while (0)

static void fz_log(const char *fmt, ...) {
    if (!fz_trace)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* ------------------------------------------------------------------------ */
/* Input                                                                    */

static unsigned fz_byte(void) { return fz.pos < fz.len ? fz.in[fz.pos++] : 0u; }

/* ------------------------------------------------------------------------ */
/* The allocator: counts blocks, fails on request, refuses to serve a wait. */

static bool fz_alloc_fails(void) {
    if (fz.in_wait)
        fz_fail("po_wait allocated memory");
    if (fz.fail_in < 0)
        return false;
    if (fz.fail_in-- > 0)
        return false;
    return true; /* one failure; fail_in is now -1 */
}

static void *fz_malloc(size_t n, void *ctx) {
    (void)ctx;
    if (fz_alloc_fails())
        return NULL;
    void *b = malloc(n);
    if (b != NULL)
        fz.allocs++;
    return b;
}

static void *fz_realloc(void *old, size_t n, void *ctx) {
    (void)ctx;
    if (fz_alloc_fails())
        return NULL;
    void *b = realloc(old, n);
    if (b != NULL && old == NULL)
        fz.allocs++;
    return b;
}

static void fz_free(void *b, void *ctx) {
    (void)ctx;
    if (b != NULL)
        fz.allocs--;
    free(b);
}

static const po_allocator fz_allocator = {fz_malloc, fz_realloc, fz_free, NULL};

/* Arms (k >= 0) the k-th allocation from now to fail, for the next call. */
static void fz_arm(long k) {
    fz.fail_in = k;
    fz.may_fail = k >= 0;
}
static void fz_disarm(void) {
    fz.fail_in = -1;
    fz.may_fail = false;
}

/* ------------------------------------------------------------------------ */
/* Channel numbers                                                          */

/* Sixteen numbers at the edges of the u64 range, then a spread of others. */
static po_chn fz_number(int i) {
    static const po_chn edge[16] = {0,
                                    1,
                                    2,
                                    3,
                                    7,
                                    8,
                                    63,
                                    64,
                                    1000,
                                    0x7fffffffu,
                                    0x80000000u,
                                    0xffffffffu,
                                    UINT64_C(0x100000000),
                                    UINT64_C(0x8000000000000000),
                                    UINT64_C(0xfffffffffffffffe),
                                    UINT64_MAX};
    return i < 16 ? edge[i] : UINT64_C(0x10000) + (po_chn)i * 7919u;
}

/* ------------------------------------------------------------------------ */
/* The system's sockets                                                     */

/*
 * POSIX: an AF_UNIX stream pair, whose readiness changes within the call
 * that changes it.  Windows has no socketpair() (and Wine no AF_UNIX): the
 * pair is a loopback TCP connection with Nagle off, and the model knows the
 * two ways in which it differs.
 *   - Bytes and a FIN go through the TCP stack and reach the other end a
 *     little after the call that sent them.  Whatever must see them (a read
 *     that expects bytes or EOF, a wait that expects a socket readable)
 *     first waits until the system itself reports the end readable
 *     (fz_os_settle(), a WSAPoll() of those ends): the poller under test is
 *     then asked about a state that has settled, as it always is on POSIX.
 *   - Closing a TCP end sends a FIN, which the other end cannot tell from
 *     a half-close (shutdown(SD_SEND)): EOF to read, no hang-up.  Closing it
 *     with bytes unread resets the connection instead, so fz_peer_close()
 *     reads the peer's pending bytes (checking them) before it closes: the
 *     channel's end sees EOF, never a reset.  Hang-ups and resets on
 *     Windows are the conformance suite's cases (peer_close_*, hang-ups).
 */
enum { FZ_HANGUP_ON_CLOSE = SP_CLOSE_HANGS_UP };

/* A notifier's wake-up is an eventfd or a pipe on POSIX, readable within
 * po_notify(); on Windows it is a byte through a loopback TCP pair, which
 * is settled as the pairs' bytes are, and so is never sent from a probe:
 * nothing can be settled between a probe and the kernel wait. */
#ifdef _WIN32
enum { FZ_WAKE_AT_ONCE = 0 };
#else
enum { FZ_WAKE_AT_ONCE = 1 };
#endif

/* Whether processes fork: po_after_fork() is PO_ENOTSUP on Windows. */
#ifdef _WIN32
enum { FZ_FORKS = 0 };
#else
enum { FZ_FORKS = 1 };
#endif

static void fz_os_start(void) {
    if (sp_start() != 0) {
        fprintf(stderr, "polleros fuzz: %s\n", sp_why());
        exit(2);
    }
}

/* Waits until each of the n ends is readable (bytes, or EOF), as the
 * system reports it; fails after seconds. */
static void fz_os_settle(const fz_sock *s, size_t n) {
    sp_pollfd pfd[2 * FZ_PAIRS];
    if (n > sizeof pfd / sizeof pfd[0])
        n = sizeof pfd / sizeof pfd[0];
    if (sp_settle(s, n, pfd) != 0)
        fz_fail("%s (the model says they are readable)", sp_why());
}

/* ------------------------------------------------------------------------ */
/* Socket pairs and their byte streams                                      */

static uint8_t fz_pattern(uint32_t id, uint64_t off, unsigned dir) {
    uint64_t x = ((uint64_t)id * UINT64_C(0x9E3779B97F4A7C15)) ^
                 ((off + 1) * UINT64_C(0xBF58476D1CE4E5B9)) ^ dir;
    x ^= x >> 31;
    x *= UINT64_C(0x94D049BB133111EB);
    return (uint8_t)(x >> 56);
}

static fz_pair *fz_new_pair(void) {
    if (fz.npairs == FZ_PAIRS)
        return NULL;
    fz_pair *pr = NULL;
    for (int i = 0; i < FZ_PAIRS && pr == NULL; i++)
        if (!fz.pair[i].open)
            pr = &fz.pair[i];
    fz_sock sv[2];
    if (sp_pair(sv) != 0)
        fz_fail("%s", sp_why());
    memset(pr, 0, sizeof *pr);
    pr->open = true;
    pr->fd = sv[0];
    pr->peer = sv[1];
    pr->id = ++fz.pair_ids;
    fz.npairs++;
    return pr;
}

static void fz_close_pair(fz_pair *pr) {
    FZ_CHECK(pr->open && pr->owner == NULL);
    FZ_EQ(sp_discard(pr->fd), 0);
    if (pr->peer != FZ_NONE)
        FZ_EQ(sp_discard(pr->peer), 0);
    pr->open = false;
    fz.npairs--;
}

/* An open pair chosen by b (any, or only those no channel holds, or only
 * those a channel holds), or NULL. */
enum { FZ_ANY, FZ_FREE, FZ_OWNED, FZ_UNOWNED };
static fz_pair *fz_pick_pair(unsigned b, int which) {
    for (int k = 0; k < FZ_PAIRS; k++) {
        fz_pair *pr = &fz.pair[(b + (unsigned)k) % FZ_PAIRS];
        if (!pr->open)
            continue;
        if ((which == FZ_FREE && (pr->owner || pr->ghost)) ||
            (which == FZ_OWNED && !pr->owner) ||
            (which == FZ_UNOWNED && pr->owner))
            continue;
        return pr;
    }
    return NULL;
}

/* Reads at most max bytes from one end and checks them against the model:
 * the next bytes of the stream, else the pending reset, else EOF where the
 * writer is gone, else nothing (EAGAIN).  Returns the bytes read, 0 at EOF,
 * -1 otherwise. */
static long fz_read_end(fz_pair *pr, bool local, size_t max) {
    uint8_t buf[4096];
    if (max > sizeof buf)
        max = sizeof buf;
    fz_sock fd = local ? pr->fd : pr->peer;
    uint64_t *wr = local ? &pr->in_wr : &pr->out_wr;
    uint64_t *rd = local ? &pr->in_rd : &pr->out_rd;
    int *n_in_flight = local ? &pr->in_n : &pr->out_n;
    uint64_t pending = *wr - *rd;
    bool eof = local && (pr->peer_shut || pr->peer_closed);
    if (pending > 0 || eof || (local && pr->reset))
        fz_os_settle(&fd, 1); /* something is due: let it arrive */
    long n = sp_read(fd, buf, max);
    int e = n < 0 ? sp_errno() : 0;
    const char *why = n < 0 ? sp_strerror(e) : n > 0 ? "data" : "EOF";
    if (pending > 0) {
        if (n <= 0 || (uint64_t)n > pending)
            fz_fail("read %s of pair %u: %ld (%s), expected up to %llu bytes",
                    local ? "fd" : "peer", pr->id, n, why,
                    (unsigned long long)pending);
        for (long i = 0; i < n; i++)
            if (buf[i] != fz_pattern(pr->id, *rd + (uint64_t)i, local))
                fz_fail("pair %u: byte %llu read from %s is wrong", pr->id,
                        (unsigned long long)(*rd + (uint64_t)i),
                        local ? "fd" : "peer");
        fz_log("  read %s of pair %u: %ld bytes", local ? "fd" : "peer", pr->id,
               n);
        *rd += (uint64_t)n;
        if (*rd == *wr)
            *n_in_flight = 0;
        return (long)n;
    }
    if (local && pr->reset) {
        if (n != -1 || !sp_reset(e))
            fz_fail("read fd of pair %u: %ld (%s), expected ECONNRESET", pr->id,
                    n, why);
        pr->reset = false;
        fz_log("  read fd of pair %u: ECONNRESET", pr->id);
        return -1;
    }
    if (eof && n != 0)
        fz_fail("read fd of pair %u: %ld (%s), expected EOF", pr->id, n, why);
    if (!eof && (n != -1 || !sp_again(e)))
        fz_fail("read %s of pair %u: %ld (%s), expected EAGAIN",
                local ? "fd" : "peer", pr->id, n, why);
    return eof ? 0 : -1;
}

/* Reads until the model says the next read finds nothing, then reads once
 * more to see that it does (EOF or EAGAIN). */
static void fz_drain(fz_pair *pr, bool local) {
    for (;;) {
        bool more = local ? (pr->in_wr > pr->in_rd || pr->reset)
                          : pr->out_wr > pr->out_rd;
        long n = fz_read_end(pr, local, 4096);
        if (!more)
            break;
        (void)n;
    }
}

/* Writes len bytes of the stream at one end if the model allows it: the
 * other end open and reading, and few enough writes in flight that the
 * socket stays writable. */
static void fz_write_end(fz_pair *pr, bool local, size_t len) {
    uint8_t buf[FZ_MAXLEN];
    fz_sock fd = local ? pr->fd : pr->peer;
    uint64_t *wr = local ? &pr->out_wr : &pr->in_wr;
    int *n_in_flight = local ? &pr->out_n : &pr->in_n;
    if (pr->peer == FZ_NONE || (!local && pr->peer_shut) ||
        *n_in_flight >= FZ_MAXW)
        return;
    if (len > sizeof buf)
        len = sizeof buf;
    for (size_t i = 0; i < len; i++)
        buf[i] = fz_pattern(pr->id, *wr + i, !local);
    long n = sp_write(fd, buf, len);
    if (n != (long)len)
        fz_fail("write %s of pair %u: %ld of %zu (%s)", local ? "fd" : "peer",
                pr->id, n, len, n < 0 ? sp_strerror(sp_errno()) : "short");
    fz_log("  write %s of pair %u: %zu bytes", local ? "fd" : "peer", pr->id,
           len);
    *wr += len;
    (*n_in_flight)++;
}

static void fz_peer_close(fz_pair *pr) {
    if (pr->peer == FZ_NONE)
        return;
    /* TCP: what the peer leaves unread would turn its FIN into a reset
     * (see fz_os_settle()'s section): it reads it first. */
    if (!FZ_HANGUP_ON_CLOSE)
        fz_drain(pr, false);
    FZ_EQ(sp_close(pr->peer), 0);
    pr->peer = FZ_NONE;
    pr->peer_closed = true;
    fz_log("  peer of pair %u closed", pr->id);
    /* AF_UNIX: closing with unread bytes resets the connection, and those
     * bytes are gone. */
    if (pr->out_wr > pr->out_rd)
        pr->reset = true;
    pr->out_rd = pr->out_wr;
    pr->out_n = 0;
}

static void fz_peer_shut(fz_pair *pr) {
    if (pr->peer == FZ_NONE || pr->peer_shut)
        return;
    FZ_EQ(sp_shutdown_send(pr->peer), 0);
    pr->peer_shut = true;
    fz_log("  peer of pair %u shut down", pr->id);
}

/* ------------------------------------------------------------------------ */
/* The model's view of the kernel                                           */

enum { FZ_IN = 1, FZ_OUT = 2 };

/* A channel made by the library (a notifier or a signal channel): its
 * probe, deinit and kernel object are the library's. */
static bool fz_lib(const fz_inc *c) { return c->nt != NULL || c->sg != NULL; }

static void *fz_ctx(const fz_inc *c) {
    return c->nt ? (void *)c->nt : c->sg ? (void *)c->sg : (void *)c;
}

/* How the backend's signal channels hear signals (docs/guide/signals.md):
 * a signalfd (epoll), whose readiness is the signals pending; a kqueue of
 * EVFILT_SIGNAL filters, likewise; or a handler (poll, uring, Windows)
 * that raises a flag and writes a wake-up object, drained by the take that
 * finds no flag raised, as a notifier's is. */
enum { FZ_SIG_FD, FZ_SIG_KQUEUE, FZ_SIG_FLAGS };

/* Whether a library channel's kernel object is readable. */
static bool fz_lib_ready(const fz_inc *c) {
    if (c->sg == NULL || fz.sigmech == FZ_SIG_FLAGS)
        return c->pending;
    for (int i = 0; i < FZ_NSIG; i++)
        if (c->arrived[i] > 0)
            return true;
    return false;
}

static unsigned fz_interest(const fz_inc *c) {
    if (c->pair == NULL && !fz_lib(c))
        return 0;
    return ((c->wants & (PO_RECV | PO_NOTIFY | PO_ACCEPT)) ? FZ_IN : 0u) |
           ((c->wants & (PO_SEND | PO_CONNECT)) ? FZ_OUT : 0u);
}

/* Whether the kernel has an event for the channel's socket with its
 * interest, and which triggers polleros must make of it. */
static bool fz_readable(const fz_pair *pr) {
    return pr->in_wr > pr->in_rd || pr->peer_shut || pr->peer_closed;
}

/* Whether a ghost's registration fires (see fz_pair.ghost). */
static bool fz_ghost_fires(const fz_pair *pr) {
    unsigned k = pr->ghost_kint;
    return k != 0 && (((k & FZ_IN) && fz_readable(pr)) || (k & FZ_OUT) ||
                      pr->peer_closed || pr->reset);
}

static bool fz_event(const fz_inc *c, unsigned kint, po_triggers *t) {
    const fz_pair *pr = c->pair;
    po_triggers w = c->wants;
    *t = 0;
    if (fz_lib(c) && (kint & FZ_IN) && fz_lib_ready(c)) {
        *t = PO_NOTIFY; /* its probe wants PO_NOTIFY alone */
        return true;
    }
    if (pr == NULL || kint == 0)
        return false;
    bool readable = fz_readable(pr);
    bool ev = false;
    if ((kint & FZ_IN) && readable) {
        *t |= (w & PO_RECV) ? PO_RECV : (w & PO_NOTIFY) ? PO_NOTIFY : PO_ACCEPT;
        ev = true;
    }
    if (kint & FZ_OUT) { /* always writable: fz_write_end() sees to it */
        *t |= (w & PO_SEND) ? PO_SEND : PO_CONNECT;
        ev = true;
    }
    if (pr->peer_closed && FZ_HANGUP_ON_CLOSE) {
        *t |= (w & PO_RECV) ? PO_RECV : PO_ERR;
        ev = true;
    }
    if (pr->reset) {
        *t |= PO_ERR;
        ev = true;
    }
    return ev;
}

/* ------------------------------------------------------------------------ */
/* Checks after every operation                                             */

static fz_sock fz_sock_of(const fz_inc *c) {
    return fz_lib(c) ? c->nsock : c->pair ? c->pair->fd : FZ_NONE;
}

/* The SeqN a channel was just given: above every SeqN given before, so that
 * none is ever used twice (not necessarily the next number: the poller picks
 * one whose token resolves without hashing). */
static po_seqn fz_new_seqn(const po_channel *ch) {
    po_seqn s = po_channel_seqn(ch);
    FZ_CHECK(s >= fz.next_seqn);
    fz.next_seqn = s + 1;
    return s;
}

static void fz_check_channel(const fz_inc *c) {
    FZ_CHECK(po_find(fz.p, fz_number(c->num)) == c->ch);
    FZ_EQ(po_channel_chn(c->ch), fz_number(c->num));
    FZ_EQ(po_channel_seqn(c->ch), c->seqn);
    FZ_CHECK(po_channel_ctx(c->ch) == fz_ctx(c));
    FZ_EQ(po_channel_socket(c->ch), fz_sock_of(c));
    FZ_EQ(po_channel_errno(c->ch), 0);
    FZ_EQ(po_channel_act(c->ch), c->expect);
    FZ_EQ(po_channel_deadline(c->ch), c->deadline);
}

static void fz_check_number(int i) {
    fz_inc *c = fz.by_num[i];
    if (c == NULL)
        FZ_CHECK(po_find(fz.p, fz_number(i)) == NULL);
    else
        fz_check_channel(c);
}

/* Every number (full), or those the operations since the last check used:
 * a lookup per number per operation would cost most of the fuzzer's time,
 * and every wait checks them all anyway. */
static void fz_sig_check(void);

static void fz_check_full(bool full) {
    FZ_EQ(po_count(fz.p), fz.nlive);
    for (int i = 0; i < fz.ndirty; i++) {
        fz.dirty[fz.dirtyn[i]] = false;
        if (!full)
            fz_check_number(fz.dirtyn[i]);
    }
    fz.ndirty = 0;
    for (int i = 0; full && i < FZ_NUMS; i++)
        fz_check_number(i);
    po_stats st;
    po_get_stats(fz.p, &st);
    FZ_EQ(st.adds, fz.stats.adds);
    FZ_EQ(st.mods, fz.stats.mods);
    FZ_EQ(st.dels, fz.stats.dels);
    FZ_EQ(st.waits, fz.stats.waits);
    FZ_EQ(st.events, fz.stats.events);
    /* Stale events come only from ghosts, and only epoll keeps those: the
     * wepoll bridge forgets a socket found closed (its del), and poll's
     * vector entry goes with the del.  uring's count is not modelled: its
     * del reaches the kernel at the next wait, and a socket closed before
     * then while a duplicate lives stays registered, where epoll's del at
     * the call removed it (docs/guide/differences.md). */
    if (fz.epoll)
        FZ_EQ(st.stale, fz.stats.stale);
    else if (fz.poll || fz.wepoll)
        FZ_EQ(st.stale, 0);
    if (fz.sig_dirty)
        fz_sig_check();
}

static void fz_check(void) { fz_check_full(false); }

/* The number's channel may have changed: the next check looks at it. */
static void fz_dirty(int num) {
    if (fz.dirty[num])
        return;
    fz.dirty[num] = true;
    fz.dirtyn[fz.ndirty++] = num;
}

/* The next channel record, counted at once so that fz_inc_of() accepts it
 * should a callback run. */
static fz_inc *fz_inc_new(int num, po_triggers wants) {
    fz_inc *c = &fz.inc[fz.ninc++];
    memset(c, 0, sizeof *c);
    c->magic = FZ_MAGIC;
    c->num = num;
    c->wants = wants;
    c->deadline = PO_NEVER;
    return c;
}

/* ------------------------------------------------------------------------ */
/* Notifiers and deadlines                                                  */

/* The i-th payload sent to notifier c: a different value per notifier and
 * per place in its queue, so that one lost, taken twice or out of turn
 * shows. */
static uint64_t fz_payload(const fz_inc *c, uint64_t i) {
    uint64_t x =
        ((uint64_t)(c - fz.inc) << 40) ^ (i * UINT64_C(0x9E3779B97F4A7C15));
    return x ^ (x >> 29);
}

/* Sends k payloads (k < 0: until the queue refuses one): each is queued
 * with PO_OK until capacity payloads wait, then refused with PO_EAGAIN. */
static void fz_notify(fz_inc *c, int k) {
    for (int i = 0; k < 0 || i < k; i++) {
        bool full = c->sent - c->taken == c->ncap;
        int rc = po_notify(c->nt, fz_payload(c, c->sent));
        fz_log("  notify %d (%llu waiting of %zu): %d", c->num,
               (unsigned long long)(c->sent - c->taken), c->ncap, rc);
        if (full) {
            FZ_EQ(rc, PO_EAGAIN);
            if (k < 0)
                break;
            continue;
        }
        FZ_EQ(rc, PO_OK);
        c->sent++;
        c->pending = true;
    }
}

/* Takes k payloads (k < 0: until the queue is empty): each is the oldest
 * one sent, and an empty queue gives PO_EAGAIN, after which the channel
 * stays quiet until the next payload. */
static void fz_take(fz_inc *c, int k) {
    for (int i = 0; k < 0 || i < k; i++) {
        bool empty = c->sent == c->taken;
        if (empty && c->pending && !FZ_WAKE_AT_ONCE)
            fz_os_settle(&c->nsock, 1); /* so that the take drains it */
        uint64_t v = 0;
        int rc = po_notifier_take(c->nt, &v);
        fz_log("  take %d (%llu waiting): %d", c->num,
               (unsigned long long)(c->sent - c->taken), rc);
        if (empty) {
            FZ_EQ(rc, PO_EAGAIN);
            c->pending = false;
            if (k < 0)
                break;
            continue;
        }
        FZ_EQ(rc, PO_OK);
        if (v != fz_payload(c, c->taken))
            fz_fail("notifier %d: payload %llu taken as %#llx, sent as %#llx",
                    c->num, (unsigned long long)c->taken, (unsigned long long)v,
                    (unsigned long long)fz_payload(c, c->taken));
        c->taken++;
    }
}

/* A notifier (or, with sig, a signal channel) chosen by b among those
 * attached, or NULL. */
static fz_inc *fz_pick_note(unsigned b, bool sig) {
    for (int k = 0; k < fz.nnote; k++) {
        fz_inc *c = fz.note[(b + (unsigned)k) % (unsigned)fz.nnote];
        if (c->live && (c->sg != NULL) == sig)
            return c;
    }
    return NULL;
}

/* Whether a callback may use the notifier: attached, or deleted by the
 * call in progress and not yet gone (po_find() still finds it). */
static bool fz_note_usable(const fz_inc *c) {
    if (c->live)
        return true;
    return fz.deleting && c->del_call == fz.del_call &&
           po_find(fz.p, fz_number(c->num)) == c->ch;
}

/* ------------------------------------------------------------------------ */
/* Signals                                                                  */

/*
 * The signals in play: none that the engine handles itself (libFuzzer:
 * SIGALRM, SIGINT, SIGTERM, SIGUSR1, SIGUSR2, SIGXFSZ and the faults;
 * the sanitizers: the faults) or that the fuzzer's own calls can send
 * (SIGPIPE, SIGCHLD), and none whose default action stops the process
 * (SIGTTIN: a wrong disposition would hang the run instead of failing
 * it).  Each is raised only while a channel holds it, or when its default
 * action ignores it (`quiet`), which then shows that no channel reports
 * it.  The real-time one is queued by the kernel: a signalfd (epoll)
 * passes on every instance, the other backends one.  On Windows the
 * numbers are console events, which the fuzzer hands to the library's
 * handler as the system would (a process cannot send itself one under
 * Wine).
 */
typedef struct fz_signum {
    int signo;
    bool quiet; /* the default action ignores it */
    bool rt;    /* real-time: queued */
} fz_signum;
static fz_signum fz_sig[FZ_NSIG];
static int fz_nsig;
static fq_mask fz_quiet; /* what a timed wait blocks (until.h) */

#ifdef _WIN32
int po__sig_console_event(unsigned long event);
/* CTRL_C_EVENT, CTRL_BREAK_EVENT, CTRL_CLOSE_EVENT, for fz_sig[] in turn. */
static const unsigned long fz_sig_event[] = {0, 1, 2};
static const int fz_bad_sig[] = {0, -1, SIGSEGV, SIGABRT, 65, 1000, INT_MIN};
#else
/* The process as the fuzzer found it: each signal's action and whether
 * the thread blocks it, which every signal no channel holds must have. */
static struct sigaction fz_sig_was[FZ_NSIG];
static bool fz_sig_blocked[FZ_NSIG];
static const int fz_bad_sig[] = {
    0,  -1, SIGKILL, SIGSTOP, 65, 1000, INT_MIN,
#ifdef __linux__
    32, 33 /* the C library's own */
#endif
};
#endif
enum { FZ_NBAD = sizeof fz_bad_sig / sizeof fz_bad_sig[0] };

static void fz_sig_add(int signo, bool quiet, bool rt) {
    fz_sig[fz_nsig++] = (fz_signum){signo, quiet, rt};
}

static void fz_sig_start(void) {
    fq_all(&fz_quiet);
#ifdef _WIN32
    fz_sig_add(SIGINT, false, false);
    fz_sig_add(SIGBREAK, false, false);
    fz_sig_add(SIGTERM, false, false);
#else
#ifdef SIGWINCH
    fz_sig_add(SIGWINCH, true, false);
#endif
    fz_sig_add(SIGURG, true, false);
    fz_sig_add(SIGCONT, true, false);
    fz_sig_add(SIGHUP, false, false);
    fz_sig_add(SIGVTALRM, false, false);
#ifdef SIGRTMIN
    fz_sig_add(SIGRTMIN + 2, false, true);
#endif
    sigset_t mask;
    pthread_sigmask(SIG_BLOCK, NULL, &mask);
    for (int i = 0; i < fz_nsig; i++) {
        fq_leave(&fz_quiet, fz_sig[i].signo);
        sigaction(fz_sig[i].signo, NULL, &fz_sig_was[i]);
        fz_sig_blocked[i] = sigismember(&mask, fz_sig[i].signo) == 1;
    }
#endif
}

/* The signal channel holding fz_sig[i], or NULL: one attached, or one the
 * deletion in progress has not yet deinit'd. */
static fz_inc *fz_sig_owner(int i) {
    for (int k = 0; k < fz.nnote; k++)
        if ((fz.note[k]->sigs >> i & 1) && fz_note_usable(fz.note[k]))
            return fz.note[k];
    return NULL;
}

static int fz_sig_index(int signo) {
    for (int i = 0; i < fz_nsig; i++)
        if (fz_sig[i].signo == signo)
            return i;
    return -1;
}

/*
 * What the signals' channels do to the process, checked against the
 * system: a signal held on epoll is blocked in the thread and pending
 * exactly while the model has it arrived and not taken; one held through
 * a handler (poll, uring) has an action that is neither the default nor
 * SIG_IGN; one held on kqueue is ignored; and every signal no channel
 * holds (any more: delete and po_destroy() put it back) is as the fuzzer
 * found it, unblocked and pending nowhere.
 */
static void fz_sig_check(void) {
#ifndef _WIN32
    sigset_t mask, pend;
    FZ_EQ(pthread_sigmask(SIG_BLOCK, NULL, &mask), 0);
    FZ_EQ(sigpending(&pend), 0);
    for (int i = 0; i < fz_nsig; i++) {
        int signo = fz_sig[i].signo;
        struct sigaction sa;
        FZ_EQ(sigaction(signo, NULL, &sa), 0);
        bool blocked = sigismember(&mask, signo) == 1;
        bool pending = sigismember(&pend, signo) == 1;
        bool was = sa.sa_handler == fz_sig_was[i].sa_handler;
        const fz_inc *c = fz_sig_owner(i);
        const char *why = NULL;
        if (c == NULL)
            why = blocked != fz_sig_blocked[i] ? "blocked"
                  : !was                       ? "its action replaced"
                  : pending                    ? "pending"
                                               : NULL;
        else if (fz.sigmech == FZ_SIG_FD)
            why = !blocked                         ? "not blocked"
                  : !was                           ? "its action replaced"
                  : pending != (c->arrived[i] > 0) ? "pending or not"
                                                   : NULL;
        else if (fz.sigmech == FZ_SIG_KQUEUE)
            why = sa.sa_handler != SIG_IGN ? "not ignored"
                  : blocked                ? "blocked"
                                           : NULL;
        else
            why = was || sa.sa_handler == SIG_IGN ? "no handler"
                  : blocked                       ? "blocked"
                  : pending                       ? "pending"
                                                  : NULL;
        if (why != NULL && c != NULL)
            fz_fail("signal %d, held by channel %d, %u arrived: %s", signo,
                    c->num, c->arrived[i], why);
        if (why != NULL)
            fz_fail("signal %d, held by no channel: %s", signo, why);
    }
#endif
    fz.sig_dirty = false;
}

/* The model's record of a notifier or a signal channel that po_*_attach()
 * just made: the channel, found by number when the call was not asked for
 * it, whose ctx must be the object the call gave (obj, when asked for). */
static fz_inc *fz_object_attached(int num, po_channel *ch, const void *obj) {
    if (ch == NULL)
        ch = po_find(fz.p, fz_number(num));
    FZ_CHECK(ch != NULL);
    FZ_CHECK(obj == NULL || po_channel_ctx(ch) == obj);
    fz_inc *c = fz_inc_new(num, PO_NOTIFY);
    c->ch = ch;
    c->nsock = po_channel_socket(ch);
    c->live = true;
    c->cand = true;
    c->seqn = fz_new_seqn(c->ch);
    fz.by_num[num] = c;
    fz.nlive++;
    fz.note[fz.nnote++] = c;
    return c;
}

/* Attaches a signal channel for the signals the bytes pick (an index past
 * fz_sig[] picks a number no system accepts), as number num; mode as for
 * fz_notifier_attach().  Refused, and nothing changed: PO_EINVAL for no
 * signal or a bad one, PO_EEXIST, PO_EINUSE for a signal another channel
 * holds, PO_ENOMEM (before PO_EINUSE: the record is allocated before the
 * signals are claimed). */
static void fz_sig_attach(int num, const unsigned *pick, size_t n,
                          unsigned mode) {
    if (fz.ninc == FZ_INCS || fz.nnote == FZ_NOTES)
        return;
    int sigs[3];
    unsigned set = 0;
    bool bad = n == 0, claimed = false;
    for (size_t i = 0; i < n; i++) {
        unsigned k = pick[i] % (unsigned)(fz_nsig + 1);
        if (k == (unsigned)fz_nsig) {
            sigs[i] = fz_bad_sig[(pick[i] >> 4) % FZ_NBAD];
            bad = true;
            continue;
        }
        sigs[i] = fz_sig[k].signo;
        set |= 1u << k;
        claimed |= fz_sig_owner((int)k) != NULL;
    }
    po_signal *sg = NULL;
    po_channel *ch = NULL;
    bool dup = fz.by_num[num] != NULL;
    fz_dirty(num);
    int rc = po_signal_attach(fz.p, fz_number(num), sigs, n,
                              (mode & 1) ? &sg : NULL, (mode & 2) ? &ch : NULL);
    fz_log("  signal channel %d, %zu signals (%#x%s): %d", num, n, set,
           bad ? ", a bad one" : "", rc);
    if (bad)
        FZ_EQ(rc, PO_EINVAL);
    else if (dup)
        FZ_EQ(rc, PO_EEXIST);
    else if (rc == PO_ENOMEM && fz.may_fail)
        return; /* refused for want of memory: nothing may have changed */
    else
        FZ_EQ(rc, claimed ? PO_EINUSE : PO_OK);
    if (rc != PO_OK)
        return;
    fz_inc *c = fz_object_attached(num, ch, sg);
    c->sg = po_channel_ctx(c->ch);
    c->sigs = set;
    fz.sig_dirty = true;
}

/* Raises fz_sig[i] in the thread, as the kernel would deliver one sent by
 * another process: while a channel holds it (or it is quiet, and then no
 * channel may report it). */
static void fz_raise(int i) {
    fz_inc *c = fz_sig_owner(i);
    if (c == NULL && !fz_sig[i].quiet)
        return;
#ifdef _WIN32
    FZ_EQ(po__sig_console_event(fz_sig_event[i]) != 0, c != NULL);
#else
    FZ_EQ(raise(fz_sig[i].signo), 0);
#endif
    fz_log("  raise %d (held by %d)", fz_sig[i].signo, c ? c->num : -1);
    if (c == NULL)
        return;
    if (fz_sig[i].rt && fz.sigmech == FZ_SIG_FD)
        c->arrived[i]++;
    else
        c->arrived[i] = 1;
    c->pending = true;
    fz.sig_dirty = true;
}

/* Raises the signal of c's set that b picks. */
static void fz_raise_in(const fz_inc *c, unsigned b) {
    for (int k = 0; k < fz_nsig; k++) {
        int i = (int)((b + (unsigned)k) % (unsigned)fz_nsig);
        if (c->sigs >> i & 1) {
            fz_raise(i);
            return;
        }
    }
}

/* Takes k signal numbers (k < 0: until PO_EAGAIN): each one that arrived
 * and was not taken since, once per arrival that the kernel kept; then
 * PO_EAGAIN, after which the channel stays quiet until the next signal. */
static void fz_sig_take(fz_inc *c, int k) {
    for (int n = 0; k < 0 || n < k; n++) {
        bool empty = true;
        for (int i = 0; i < fz_nsig; i++)
            empty = empty && c->arrived[i] == 0;
        if (empty && c->pending && !FZ_WAKE_AT_ONCE)
            fz_os_settle(&c->nsock, 1); /* so that the take drains it */
        int signo = 0;
        int rc = po_signal_take(c->sg, &signo);
        fz_log("  signal take %d: %d, signal %d", c->num, rc, signo);
        if (empty) {
            FZ_EQ(rc, PO_EAGAIN);
            c->pending = false;
            if (k < 0)
                break;
            continue;
        }
        FZ_EQ(rc, PO_OK);
        int i = fz_sig_index(signo);
        if (i < 0 || !(c->sigs >> i & 1) || c->arrived[i] == 0)
            fz_fail("channel %d took signal %d, which %s", c->num, signo,
                    i < 0 || !(c->sigs >> i & 1) ? "it does not hold"
                                                 : "was not pending");
        c->arrived[i]--;
        fz.sig_dirty = true;
    }
}

/* The signal calls' refusals: PO_EINVAL for NULLs and no signals. */
static void fz_sig_refusals(unsigned b) {
    int one = fz_sig[b % (unsigned)fz_nsig].signo, signo;
    FZ_EQ(po_signal_attach(NULL, 1, &one, 1, NULL, NULL), PO_EINVAL);
    FZ_EQ(po_signal_attach(fz.p, 1, NULL, 1, NULL, NULL), PO_EINVAL);
    FZ_EQ(po_signal_attach(fz.p, 1, &one, 0, NULL, NULL), PO_EINVAL);
    FZ_EQ(po_signal_take(NULL, &signo), PO_EINVAL);
    fz_inc *c = fz_pick_note(b, true);
    if (c != NULL)
        FZ_EQ(po_signal_take(c->sg, NULL), PO_EINVAL);
}

/* A deadline chosen by b: none, one already past (the next wait fires it,
 * without blocking), or one no run lives to see. */
static po_time fz_deadline_at(unsigned b, bool *due) {
    *due = false;
    switch (b % 5) {
    case 0:
        return PO_NEVER;
    case 1:
        *due = true;
        return 0;
    case 2:
        *due = true;
        return po_now();
    case 3:
        return po_now() + 3600 * 1000 * PO_MSEC;
    default:
        return PO_NEVER - 1;
    }
}

static void fz_set_deadline(fz_inc *c, unsigned b) {
    bool due;
    po_time at = fz_deadline_at(b, &due);
    bool first = c->deadline == PO_NEVER && at != PO_NEVER;
    int rc = po_set_deadline(c->ch, at);
    fz_log("  deadline %d: %llu%s: %d", c->num, (unsigned long long)at,
           due ? " (due)" : "", rc);
    fz_dirty(c->num);
    if (rc == PO_ENOMEM && fz.may_fail && first)
        return; /* the first deadline of a channel needs memory */
    FZ_EQ(rc, PO_OK);
    c->deadline = at;
    c->due = due;
}

/*
 * A channel deleted since the last wait, whose pointer the application may
 * still pass to the API until the next wait: a change is refused with
 * PO_EINVAL (PO_EBUSY from a probe or a deinit, as every change), touch and
 * mark do nothing, and it has no deadline and no act.
 */
static void fz_dead_calls(fz_inc *c, unsigned b, bool callback) {
    int refused = callback ? PO_EBUSY : PO_EINVAL;
    bool due;
    fz_pair *pr = fz_pick_pair(b, FZ_FREE);
    fz_log("  deleted channel %d used", c->num);
    FZ_EQ(po_set_deadline(c->ch, fz_deadline_at(b, &due)), refused);
    FZ_EQ(po_channel_deadline(c->ch), PO_NEVER);
    FZ_EQ(po_channel_act(c->ch), 0);
    FZ_EQ(po_set_socket(c->ch, pr ? pr->fd : PO_NO_SOCKET), refused);
    po_touch(c->ch);
    po_mark_delete(c->ch);
}

/* ------------------------------------------------------------------------ */
/* Callbacks                                                                */

static fz_inc *fz_inc_of(po_channel *ch, void *ctx) {
    fz_inc *c = ctx;
    if (c < fz.inc || c >= fz.inc + fz.ninc || c->magic != FZ_MAGIC)
        fz_fail("a callback got a ctx the fuzzer never gave: %p", ctx);
    if (c->ch != ch)
        fz_fail("a callback got channel %p with the ctx of channel %p",
                (void *)ch, (void *)c->ch);
    return c;
}

static const po_channel_ops fz_ops; /* the probe and deinit below */

/* Another attached channel for c's callbacks to use (c->arg picks it), or
 * NULL. */
static fz_inc *fz_other(const fz_inc *c) {
    for (unsigned k = 0; k < FZ_NUMS; k++) {
        fz_inc *o = fz.by_num[(c->arg + k) % FZ_NUMS];
        if (o != NULL && o != c)
            return o;
    }
    return NULL;
}

/* From inside a probe or a deinit every call that changes the poller must
 * be refused, and refused without effect. */
static void fz_reenter(fz_inc *c) {
    po_chn absent = fz_number(FZ_NUMS - 1) + 1;
    po_chn group[2] = {fz_number(c->num), absent};
    FZ_EQ(po_attach(fz.p, absent, PO_NO_SOCKET, &fz_ops, NULL, NULL), PO_EBUSY);
    FZ_EQ(po_delete(fz.p, fz_number(c->num)), PO_EBUSY);
    FZ_EQ(po_delete_group(fz.p, group, 2), PO_EBUSY);
    FZ_EQ(po_delete_marked(fz.p), PO_EBUSY);
    FZ_EQ(po_wait(fz.p, 0, NULL), PO_EBUSY);
    FZ_EQ(po_wait_until(fz.p, 0, NULL), PO_EBUSY);
    FZ_EQ(po_wait_until(fz.p, PO_NEVER, NULL), PO_EBUSY);
    FZ_EQ(po_after_fork(fz.p), FZ_FORKS ? PO_EBUSY : PO_ENOTSUP);
    FZ_EQ(po_signal_attach(fz.p, absent,
                           &fz_sig[c->arg % (unsigned)fz_nsig].signo, 1, NULL,
                           NULL),
          PO_EBUSY);
    FZ_EQ(po_set_socket(c->ch, PO_NO_SOCKET), PO_EBUSY);
    FZ_EQ(po_set_socket(c->ch, po_channel_socket(c->ch)), PO_EBUSY);
    FZ_EQ(po_set_deadline(c->ch, 0), PO_EBUSY);
    FZ_EQ(po_set_deadline(c->ch, PO_NEVER), PO_EBUSY);
    FZ_EQ(po_notifier_attach(fz.p, absent, 2, NULL, NULL), PO_EBUSY);
    FZ_EQ(po_destroy(fz.p), PO_EBUSY);
    fz_inc *o = fz_other(c);
    if (o != NULL) {
        FZ_EQ(po_set_deadline(o->ch, 0), PO_EBUSY);
        FZ_EQ(po_set_socket(o->ch, PO_NO_SOCKET), PO_EBUSY);
    }
}

/* In a deinit: the victims of the deletion in progress leave the poller
 * one by one, each just before its deinit, so po_count() and po_find()
 * see those whose deinit has yet to run, and not this one.  Notifiers'
 * deinits are the library's: po_find() says which have run. */
static void fz_check_victims(const fz_inc *c, bool all) {
    size_t n = fz.nlive + (size_t)fz.pending;
    FZ_CHECK(po_find(fz.p, fz_number(c->num)) == NULL);
    for (int i = 0; i < fz.nnote; i++) {
        const fz_inc *v = fz.note[i];
        if (v->live || v->del_call != fz.del_call)
            continue;
        po_channel *f = po_find(fz.p, fz_number(v->num));
        FZ_CHECK(f == NULL || f == v->ch);
        n += f != NULL;
    }
    FZ_EQ(po_count(fz.p), n);
    for (int i = 0; all && i < fz.ninc; i++) {
        const fz_inc *v = &fz.inc[i];
        if (!fz_lib(v) && !v->live && v->del_call == fz.del_call &&
            v->deinits == 0)
            FZ_CHECK(po_find(fz.p, fz_number(v->num)) == v->ch);
    }
}

/*
 * The calls a probe or a deinit may make (FL_CALLS), as c->arg chooses:
 * the accessors and lookups, whose answers the model knows; payloads sent
 * to or taken from a notifier that is still attached (arg bits 0-3 pick
 * it, bits 4-5 say send and take, bits 6-7 how many); another channel
 * marked (in a probe: a deinit may run in po_delete_marked(), which may or
 * may not reach the channel it marks) or touched (in a deinit: in a probe
 * it may or may not have been probed already in this wait); and, in a
 * deinit, a channel deleted since the last wait.
 */
static void fz_calls(fz_inc *c, bool deinit) {
    fz_inc *o = fz_other(c);
    if (o != NULL && deinit) {
        po_touch(o->ch);
        o->cand = true;
    } else if (o != NULL) {
        po_mark_delete(o->ch);
        o->marked = true;
    }
    FZ_EQ(po_channel_deadline(c->ch), c->deadline);
    if (deinit) {
        FZ_EQ(po_channel_act(c->ch), 0);
        fz_check_victims(c, true);
    } else {
        FZ_EQ(po_count(fz.p), fz.nlive);
        FZ_CHECK(po_find(fz.p, fz_number(c->num)) == c->ch);
    }
    fz_inc *n = fz.nnote ? fz.note[(c->arg & 15) % (unsigned)fz.nnote] : NULL;
    if (n != NULL && fz_note_usable(n)) {
        int k = 1 + (int)(c->arg >> 6);
        /* A signal raised, as a payload sent: only what a deinit does is
         * settled on Windows before the next wait (see FZ_WAKE_AT_ONCE). */
        bool send = (c->arg & 16) && (deinit || FZ_WAKE_AT_ONCE);
        if (send && n->sg)
            fz_raise_in(n, c->arg);
        else if (send)
            fz_notify(n, k);
        if ((c->arg & 32) && n->sg)
            fz_sig_take(n, k);
        else if (c->arg & 32)
            fz_take(n, k);
    }
    /* Not one this call deletes, which may not have left the poller yet. */
    fz_inc *d = fz.ndead ? fz.dead[c->arg % (unsigned)fz.ndead] : NULL;
    if (deinit && d != NULL && (d == c || d->del_call != fz.del_call))
        fz_dead_calls(d, c->arg, true);
}

static po_triggers fz_probe(po_channel *ch, void *ctx) {
    fz_inc *c = fz_inc_of(ch, ctx);
    if (!fz.in_wait)
        fz_fail("probe outside po_wait");
    if (!c->live)
        fz_fail("probe of a deleted channel (number %d)", c->num);
    if (++c->probes > 1)
        fz_fail("channel %d probed twice in one wait", c->num);
    if (c->flags & FL_REENTER)
        fz_reenter(c);
    if (c->flags & FL_CALLS)
        fz_calls(c, false);
    if (c->flags & FL_TOUCH) {
        po_touch(ch);
        c->touched = true;
    }
    if (c->flags & FL_MARK) {
        po_mark_delete(ch);
        c->marked = true;
        c->flags &= ~(unsigned)FL_MARK;
    }
    return c->wants;
}

static void fz_deinit(po_channel *ch, void *ctx) {
    fz_inc *c = fz_inc_of(ch, ctx);
    if (!c->expect_deinit || !fz.deleting)
        fz_fail("deinit of channel %d, which was not being deleted", c->num);
    if (++c->deinits > 1)
        fz_fail("second deinit of channel %d", c->num);
    fz.pending--;
    FZ_EQ(po_channel_chn(ch), fz_number(c->num));
    fz_check_victims(c, false);
    if (c->flags & FL_REENTER)
        fz_reenter(c);
    if (c->flags & FL_CALLS)
        fz_calls(c, true);
    fz_pair *pr = c->pair;
    c->pair = NULL;
    if (pr == NULL)
        return;
    pr->owner = NULL;
    /* The poller no longer watches the socket: it may be read and closed. */
    if (c->flags & FL_DEINIT_RD)
        fz_drain(pr, true);
    if (c->flags & FL_CLOSE)
        fz_close_pair(pr);
}

static const po_channel_ops fz_ops = {fz_probe, fz_deinit};

/* ------------------------------------------------------------------------ */
/* Deleting                                                                 */

/* The model's half of a deletion: the channel leaves every map and its
 * kernel registration now; its deinit must follow within the same call. */
static void fz_expect_delete(fz_inc *c) {
    FZ_CHECK(c->live);
    fz_dirty(c->num);
    c->live = false;
    c->expect_deinit = true;
    c->del_call = fz.del_call;
    if (!fz_lib(c))
        fz.pending++;
    if (c->sg != NULL)
        fz.sig_dirty = true;
    fz.dead[fz.ndead++] = c;
    c->expect = 0;
    c->deadline = PO_NEVER; /* it leaves with the channel */
    c->due = false;
    fz.by_num[c->num] = NULL;
    fz.nlive--;
    if (c->kint)
        fz.stats.dels++;
    c->kint = 0;
}

/* A notifier's deinit is the library's: fz_check() sees it gone. */
static void fz_check_deinit(const fz_inc *c) {
    if (!fz_lib(c) && c->deinits != 1)
        fz_fail("channel %d deleted without its deinit", c->num);
}

/* A deletion call: the model deletes its victims first (fz_expect_delete),
 * then the call runs their deinits. */
static void fz_deleting(bool begin) {
    if (begin)
        fz.del_call++;
    else if (fz.pending != 0)
        fz_fail("the deletion returned with %d deinit(s) not run", fz.pending);
    fz.deleting = begin;
}

static void fz_delete(fz_inc *c) {
    fz_log("  delete %d", c->num);
    fz_deleting(true);
    fz_expect_delete(c);
    FZ_EQ(po_delete(fz.p, fz_number(c->num)), PO_OK);
    fz_deleting(false);
    fz_check_deinit(c);
}

static void fz_delete_group(const int *nums, size_t n) {
    po_chn chns[FZ_BULK];
    fz_inc *victims[FZ_BULK];
    size_t nv = 0;
    fz_deleting(true);
    for (size_t i = 0; i < n; i++) {
        chns[i] = fz_number(nums[i]);
        fz_inc *c = fz.by_num[nums[i]];
        if (c != NULL) {
            fz_expect_delete(c);
            victims[nv++] = c;
        }
    }
    fz_log("  delete_group of %zu: %zu live", n, nv);
    FZ_EQ(po_delete_group(fz.p, chns, n), nv);
    fz_deleting(false);
    for (size_t i = 0; i < nv; i++)
        fz_check_deinit(victims[i]);
}

static void fz_delete_marked(void) {
    int n = 0;
    fz_deleting(true);
    for (int i = 0; i < fz.ninc; i++)
        if (fz.inc[i].live && fz.inc[i].marked) {
            fz_expect_delete(&fz.inc[i]);
            n++;
        }
    fz_log("  delete_marked: %d", n);
    FZ_EQ(po_delete_marked(fz.p), n);
    fz_deleting(false);
    for (int i = 0; i < fz.ninc; i++)
        if (fz.inc[i].expect_deinit)
            fz_check_deinit(&fz.inc[i]);
}

/* ------------------------------------------------------------------------ */
/* Attaching and sockets                                                    */

/* A socket for attach or po_set_socket, chosen by b: none, a new pair, a
 * pair no channel holds, or one another channel holds (to be refused). */
static fz_pair *fz_choose_socket(unsigned b, unsigned pick, bool *taken) {
    *taken = false;
    switch (b % 4) {
    case 0:
        return NULL;
    case 1:
        return fz_new_pair();
    case 2: {
        fz_pair *pr = fz_pick_pair(pick, FZ_FREE);
        return pr ? pr : fz_new_pair();
    }
    default: {
        fz_pair *pr = fz_pick_pair(pick, FZ_OWNED);
        *taken = pr != NULL;
        return pr;
    }
    }
}

static void fz_attach(int num, unsigned sockb, unsigned pick, unsigned flags,
                      po_triggers wants) {
    if (fz.ninc == FZ_INCS)
        return;
    bool taken;
    fz_pair *pr = fz_choose_socket(sockb, pick, &taken);
    fz_dirty(num);
    fz_inc *c = fz_inc_new(num, wants);
    c->flags = flags;
    c->arg = pick;
    po_channel *ch = NULL;
    bool dup = fz.by_num[num] != NULL;
    int rc = po_attach(fz.p, fz_number(num), pr ? pr->fd : PO_NO_SOCKET,
                       &fz_ops, c, &ch);
    fz_log("  attach %d sock %lld%s wants %#x flags %#x: %d", num,
           FZ_SNUM(pr ? pr->fd : FZ_NONE), taken ? " (taken)" : "", wants,
           flags, rc);
    if (dup && taken) {
        if (rc != PO_EEXIST && rc != PO_EINUSE)
            fz_fail("attach of a taken number and socket: %d", rc);
    } else if (dup) {
        FZ_EQ(rc, PO_EEXIST);
    } else if (taken) {
        FZ_EQ(rc, PO_EINUSE);
    } else if (rc == PO_ENOMEM && fz.may_fail) {
        /* refused for want of memory: nothing may have changed */
    } else {
        FZ_EQ(rc, PO_OK);
    }
    if (rc != PO_OK) {
        fz.ninc--;
        memset(c, 0, sizeof *c);
        return;
    }
    FZ_CHECK(ch != NULL);
    c->ch = ch;
    c->live = true;
    c->cand = true;
    c->seqn = fz_new_seqn(c->ch);
    c->pair = pr;
    if (pr)
        pr->owner = c;
    fz.by_num[num] = c;
    fz.nlive++;
}

static void fz_set_socket(fz_inc *c, unsigned sockb, unsigned pick,
                          bool close_old) {
    bool taken = false;
    fz_pair *pr;
    if (sockb % 5 == 4) {
        pr = c->pair; /* the same socket again: re-registered, new SeqN */
    } else {
        pr = fz_choose_socket(sockb, pick, &taken);
        if (pr == c->pair)
            taken = false; /* its own socket, picked among the taken */
    }
    fz_dirty(c->num);
    int rc = po_set_socket(c->ch, pr ? pr->fd : PO_NO_SOCKET);
    fz_log("  set_socket %d: sock %lld%s: %d", c->num,
           FZ_SNUM(pr ? pr->fd : FZ_NONE), taken ? " (taken)" : "", rc);
    if (taken)
        FZ_EQ(rc, PO_EINUSE);
    else if (!(rc == PO_ENOMEM && fz.may_fail))
        FZ_EQ(rc, PO_OK);
    if (rc != PO_OK)
        return;
    if (c->kint)
        fz.stats.dels++;
    c->kint = 0;
    c->seqn = fz_new_seqn(c->ch);
    c->cand = true;
    /* The new incarnation keeps only the triggers that are the channel's
     * own, not its old socket's; the walk visits it only if any is left. */
    c->expect &= PO_POOL | PO_TIMEOUT | (c->pwants & PO_ERR);
    fz_pair *old = c->pair;
    c->pair = pr;
    if (pr)
        pr->owner = c;
    if (old != NULL && old != pr) {
        old->owner = NULL;
        if (close_old) /* unregistered already: it may be closed at once */
            fz_close_pair(old);
    }
}

/* Closes c's socket behind the poller's back, keeping a duplicate, and
 * deletes c: the number is free for the next socket pair at once. */
static void fz_ghost(fz_inc *c) {
    fz_pair *pr = c->pair;
    fz_sock dup = sp_dup(pr->fd);
    if (dup == FZ_NONE)
        fz_fail("%s", sp_why());
    fz_log("  ghost %d: fd %lld closed, kept as %lld", c->num, FZ_SNUM(pr->fd),
           FZ_SNUM(dup));
    FZ_EQ(sp_close(pr->fd), 0);
    pr->fd = dup;
    pr->ghost = true;
    pr->ghost_kint = c->kint;
    pr->owner = NULL;
    c->pair = NULL;
    fz_delete(c);
}

static void fz_set_wants(fz_inc *c, po_triggers w, bool touch) {
    fz_log("  wants %d: %#x%s", c->num, w, touch ? " (touched)" : "");
    if (!fz_lib(c)) /* a notifier's probe is the library's */
        c->wants = w;
    if (touch) {
        po_touch(c->ch);
        c->cand = true;
    }
}

/* A notifier's capacity chosen by b: every small one, the default (0), a
 * few that round up far, and two too large. */
static size_t fz_capacity(unsigned b) {
    switch (b) {
    case 255:
        return 1000;
    case 254:
        return 1025;
    case 253:
        return ((size_t)1 << 24) + 1;
    case 252:
        return SIZE_MAX;
    default:
        return b % 40;
    }
}

/* mode bit 0: ask for the notifier, bit 1: for its channel (either may be
 * NULL; the channel's ctx is the notifier). */
static void fz_notifier_attach(int num, unsigned capb, unsigned mode) {
    if (fz.ninc == FZ_INCS || fz.nnote == FZ_NOTES)
        return;
    size_t cap = fz_capacity(capb);
    /* Rounded up to a power of two, at least 2: a one-cell ring cannot
     * tell full from empty. */
    size_t real = 2;
    while (real < (cap ? cap : 1024) && real <= (size_t)1 << 24)
        real *= 2;
    po_notifier *n = NULL;
    po_channel *ch = NULL;
    bool dup = fz.by_num[num] != NULL;
    fz_dirty(num);
    int rc =
        po_notifier_attach(fz.p, fz_number(num), cap, (mode & 1) ? &n : NULL,
                           (mode & 2) ? &ch : NULL);
    fz_log("  notifier %d, capacity %zu: %d", num, cap, rc);
    if (cap > (size_t)1 << 24)
        FZ_EQ(rc, PO_EINVAL);
    else if (rc == PO_ENOMEM && fz.may_fail)
        return; /* refused for want of memory: nothing may have changed */
    else
        FZ_EQ(rc, dup ? PO_EEXIST : PO_OK);
    if (rc != PO_OK)
        return;
    fz_inc *c = fz_object_attached(num, ch, n);
    c->nt = po_channel_ctx(c->ch);
    c->ncap = real;
}

/* POSIX: a negative descriptor other than PO_NO_SOCKET names no socket:
 * attach and po_set_socket refuse it with PO_EINVAL and change nothing.
 * (Every SOCKET value may be a socket on Windows.) */
static void fz_bad_socket(int num, unsigned b) {
#ifdef _WIN32
    (void)num;
    (void)b;
#else
    static const int bad[4] = {-2, -5, -1000, INT_MIN};
    po_socket s = bad[b % 4];
    fz_log("  bad socket %d for %d", s, num);
    fz_dirty(num);
    FZ_EQ(po_attach(fz.p, fz_number(num), s, &fz_ops, NULL, NULL), PO_EINVAL);
    if (fz.by_num[num] != NULL)
        FZ_EQ(po_set_socket(fz.by_num[num]->ch, s), PO_EINVAL);
#endif
}

/* po_destroy() at the top level (a walk may be in progress): every channel
 * still attached is deinit'd once, leaving the poller just before its
 * deinit, and everything is freed.  The input ends there. */
static void fz_destroy(void) {
    fz_log("  destroy");
    fz_deleting(true);
    for (int i = 0; i < fz.ninc; i++)
        if (fz.inc[i].live)
            fz_expect_delete(&fz.inc[i]);
    fz.ndead = 0; /* no pointer outlives the poller */
    FZ_EQ(po_destroy(fz.p), PO_OK);
    fz_deleting(false);
    fz.p = NULL;
    fz.ended = true;
    fz.stop_walk = true;
    for (int i = 0; i < fz.ninc; i++)
        fz_check_deinit(&fz.inc[i]);
    if (fz.allocs != 0)
        fz_fail("%ld blocks still allocated after po_destroy", fz.allocs);
    fz_sig_check(); /* every signal as it was before the input */
}

#ifndef _WIN32
/*
 * fork(): the child runs the rest of the input under the model and ends
 * there (_exit(), never back into the engine, with the status of its
 * checks: a failed one aborts it).  The parent ends its input first, with
 * po_destroy() and its copies of the sockets closed, so that the child
 * is alone with them, then waits for the child and fails if it failed.  In the
 * child po_after_fork() gives the poller objects of its own, and the model says
 * what that does: every channel keeps its number, SeqN, wants, act and deadline
 * and is probed at the next wait (a candidate), which adds the socket of each
 * that wants anything (the parent's registrations are not the child's, and no
 * del is made for them; a ghost's is not there at all); a notifier or a signal
 * channel gets a kernel object of its own, so a new socket and SeqN as with
 * po_set_socket() (its act loses PO_NOTIFY), and nothing to take: the parent's
 * payloads and pending signals stay the parent's.  A second call does nothing.
 * An allocation failure armed for the fork (the uring backend's new ring
 * allocates) may fail the first call with PO_ENOMEM, which leaves the poller
 * for another call: that one must succeed.
 */
static void fz_after_fork(void) {
    int rc = po_after_fork(fz.p);
    if (rc == PO_ENOMEM && fz.may_fail) {
        /* The poller is as before the call, for another one. */
        fz_log("  after_fork: PO_ENOMEM, again");
        fz_disarm();
        rc = po_after_fork(fz.p);
    }
    FZ_EQ(rc, PO_OK);
    po_seqn lo = PO_NEVER, hi = 0;
    int renewed = 0;
    for (int i = 0; i < fz.ninc; i++) {
        fz_inc *c = &fz.inc[i];
        if (!c->live)
            continue;
        fz_dirty(c->num);
        c->kint = 0;
        c->cand = true;
        if (!fz_lib(c))
            continue;
        c->nsock = po_channel_socket(c->ch);
        c->seqn = po_channel_seqn(c->ch);
        lo = c->seqn < lo ? c->seqn : lo;
        hi = c->seqn > hi ? c->seqn : hi;
        renewed++;
        c->expect &= PO_POOL | PO_TIMEOUT;
        c->taken = c->sent;
        c->pending = false;
        memset(c->arrived, 0, sizeof c->arrived);
    }
    /* New SeqNs, in the order the poller keeps its channels. */
    if (renewed > 0) {
        FZ_CHECK(lo >= fz.next_seqn && hi - lo >= (po_seqn)renewed - 1);
        fz.next_seqn = hi + 1;
    }
    for (int i = 0; i < FZ_PAIRS; i++)
        fz.pair[i].ghost_kint = 0;
    fz.have_last_it = false;
    fz_check_full(true);
    FZ_EQ(po_after_fork(fz.p), PO_OK);
    fz_check_full(true);
    fz.sig_dirty = true;
}

/*
 * A forking input runs some 17 ms instead of one (the page tables of a
 * sanitized process, copied, then copied on write), and the mutants of
 * one mostly fork too: they would halve the fuzzing rate.  So after the
 * first FZ_FREE_FORKS of a process (every seed replay, and an input run
 * alone) an input forks at most every FZ_FORK_GAP; one that does not
 * then runs on as the parent would not, without the fork.
 */
enum { FZ_FREE_FORKS = 32 };
#define FZ_FORK_GAP (250 * PO_MSEC)

static bool fz_may_fork(void) {
    static unsigned long forks;
    static po_time last;
    po_time now = po_now();
    if (forks >= FZ_FREE_FORKS && now - last < FZ_FORK_GAP)
        return false;
    forks++;
    last = now;
    return true;
}

#endif

static void fz_fork(void) {
#ifndef _WIN32
    if (!fz_may_fork())
        return;
    /* The child waits until the parent has closed its copies of the
     * sockets: a peer the child closes must hang up, as the model says. */
    int go[2];
    if (pipe(go) != 0)
        fz_fail("pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        fz_fail("fork: %s", strerror(errno));
    if (pid == 0) {
        char b;
        long n;
        close(go[1]);
        while ((n = (long)read(go[0], &b, 1)) < 0 && errno == EINTR)
            ;
        close(go[0]);
        if (n != 1)
            _exit(3); /* the parent failed first */
        /* The engine's timer is the parent's: one of the child's own, so
         * that a child that hangs ends (its parent's timeout would leave it
         * behind). */
        alarm(30);
        fz.child = true;
        fz_log("  forked: the child goes on");
        fz_after_fork();
        return;
    }
    close(go[0]);
    fz_log("  forked: the parent ends its input");
    fz.pos = fz.len;
    /* What the parent's deinits would read is the child's. */
    for (int i = 0; i < fz.ninc; i++)
        fz.inc[i].flags &= ~(unsigned)FL_DEINIT_RD;
    fz_destroy();
    for (int i = 0; i < FZ_PAIRS; i++)
        if (fz.pair[i].open) {
            fz.pair[i].owner = NULL;
            fz_close_pair(&fz.pair[i]);
        }
    FZ_EQ(write(go[1], "g", 1), 1);
    close(go[1]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            fz_fail("waitpid: %s", strerror(errno));
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fz_fail("the child failed: %s %d", WIFEXITED(st) ? "exit" : "signal",
                WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    fz_log("  forked: the child passed");
#endif
}

/* ------------------------------------------------------------------------ */
/* The wait and the walk                                                    */

/* Every end the model says is readable is readable for the system too
 * (fz_os_settle()): a no-op on POSIX. */
static void fz_settle(void) {
    fz_sock due[FZ_PAIRS + FZ_NOTES];
    size_t n = 0;
    for (int i = 0; i < FZ_PAIRS; i++)
        if (fz.pair[i].open && fz_readable(&fz.pair[i]))
            due[n++] = fz.pair[i].fd;
    for (int i = 0; i < fz.nnote && !FZ_WAKE_AT_ONCE; i++)
        if (fz.note[i]->live && fz.note[i]->pending)
            due[n++] = fz.note[i]->nsock;
    if (n > 0)
        fz_os_settle(due, n);
}

/*
 * wepoll (wepoll/, the AFD_POLL bridge): a socket whose interest a wait
 * widens (a mod that adds events: IN -> IN|OUT, say) while its poll request
 * is outstanding has that request cancelled, and the wider one is made when
 * the cancellation's completion comes back.  epoll_wait() returns as soon as
 * one round of completions gives events, so when other sockets have events
 * in that round the wider request is made only by the next epoll_wait(),
 * and the socket's events come one wait late (epoll itself reports them at
 * once).  So for such a channel, and only at that wait, and only when the
 * wait harvested kernel events (its own, from the old request, or other
 * sockets'), the model accepts an act without some of its kernel triggers:
 * never one it could not have, never without its internal ones.  The wait
 * after it is checked exactly as always: the events must come then.  The
 * count is printed at exit (fz_report()).
 */
static unsigned long fz_late_events;

static void fz_late(const po_stats *before, int *expect_n,
                    po_triggers *expect_total) {
    po_stats now;
    po_get_stats(fz.p, &now);
    if (now.events + now.stale == before->events + before->stale)
        return; /* nothing harvested: the bridge went on and made them */
    bool changed = false;
    for (int i = 0; i < fz.nround; i++) {
        fz_inc *c = fz.round[i];
        po_triggers act = po_channel_act(c->ch);
        po_triggers internal = (po_triggers)((c->wants & PO_INTERNAL_TRIGGERS) |
                                             (c->expect & PO_TIMEOUT));
        if (!c->widened || act == c->expect || (act & ~c->expect) != 0 ||
            (act & internal) != internal)
            continue;
        fz_log("  late: channel %d act %#x, expected %#x (widened interest)",
               c->num, act, c->expect);
        fz_late_events++;
        /* No kernel trigger at all: its event did not come this wait.  (On
         * Windows every kernel trigger is a readable or writable one.) */
        if ((act & ~PO_INTERNAL_TRIGGERS) == 0)
            fz.stats.events--;
        c->expect = act;
        changed = true;
    }
    if (!changed)
        return;
    int n = 0;
    *expect_n = 0;
    *expect_total = 0;
    for (int i = 0; i < fz.nround; i++) {
        fz_inc *c = fz.round[i];
        if (c->expect == 0)
            continue;
        fz.round[n++] = c;
        (*expect_n)++;
        *expect_total |= c->expect;
    }
    fz.nround = n;
}

static void fz_report(void) {
    if (fz_late_events > 0)
        fprintf(stderr,
                "polleros fuzz: %lu event(s) came one wait late, after a "
                "widened interest (wepoll; see fz_late())\n",
                fz_late_events);
}

/*
 * One round: po_wait(), or with `until` po_wait_until() (b chooses the
 * timeout or the deadline).  The model's prediction is the same for both;
 * po_wait_until() adds that a round that triggers nothing ends at or
 * after its deadline, and that it may take more than one kernel wait only
 * then, when the deadline was still ahead as it began: a kernel wait may
 * end before it (a timeout rounded to the kernel's unit, stale events) and
 * is made again for the rest.  (On wepoll also when something triggers: a
 * kernel wait that takes only the completions of cancelled poll requests
 * triggers nothing and is made again.)  Each of those kernel waits takes
 * the ghosts' stale events again.
 */
static void fz_wait(unsigned b, bool until) {
    /* Mostly 0: a 1 ms sleep per idle wait would halve the fuzzer's rate. */
    int timeout = b == 255 ? 1 : 0;
    int expect_n = 0, ghosts = 0;
    po_triggers expect_total = 0;
    fz.nround = 0;
    fz.ndead = 0; /* deleted channels' pointers die with this wait */
    fz_settle();
    for (int i = 0; i < fz.ninc; i++) {
        fz_inc *c = &fz.inc[i];
        c->probes = 0;
        c->touched = false;
        c->visited = false;
        c->expect = 0;
        c->widened = false;
        if (!c->live)
            continue;
        if (fz.changed && !c->cand)
            continue;
        /* Phase A: what the probe returns (c->wants) becomes the interest,
         * at the cost of one kernel call if it changed. */
        unsigned k = fz_interest(c);
        if (k != c->kint && k == 0)
            fz.stats.dels++;
        else if (k != c->kint && c->kint == 0)
            fz.stats.adds++;
        else if (k != c->kint)
            fz.stats.mods++;
        if (k != c->kint)
            fz_log("  kernel: channel %d (sock %lld) interest %#x -> %#x",
                   c->num, FZ_SNUM(fz_sock_of(c)), c->kint, k);
        c->widened = c->kint != 0 && (k & ~c->kint) != 0;
        c->kint = k;
        c->pwants = c->wants;
    }
    for (int i = 0; i < FZ_PAIRS; i++)
        if (fz.pair[i].open && fz.pair[i].ghost && fz.epoll &&
            fz_ghost_fires(&fz.pair[i]))
            ghosts++;
    fz.stats.stale += (uint64_t)ghosts;
    fz.stats.waits++;
    po_triggers total = 0;
    po_stats before, after;
    po_get_stats(fz.p, &before);
    po_time at = until ? fq_until_at(b) : 0;
    fq_mask was;
    fq_hold(&fz_quiet, &was);
    po_time start = po_now();
    fz.in_wait = true;
    int rc = until ? po_wait_until(fz.p, at, &total)
                   : po_wait(fz.p, timeout, &total);
    fz.in_wait = false;
    po_time end = po_now();
    fq_release(&was);
    po_get_stats(fz.p, &after);
    if (until)
        fz_log("  wait_until(%s%llu ns): %d, total %#x, %llu kernel waits",
               at > start ? "now + " : "",
               (unsigned long long)(at > start ? at - start : at), rc, total,
               (unsigned long long)(after.waits - before.waits));
    else
        fz_log("  wait(%d): %d, total %#x", timeout, rc, total);
    /* Phases B and C, after the fact: the probes may have taken payloads
     * (FL_CALLS), which the kernel wait sees. */
    for (int i = 0; i < fz.ninc; i++) {
        fz_inc *c = &fz.inc[i];
        if (!c->live)
            continue;
        po_triggers t = c->wants & PO_INTERNAL_TRIGGERS, kt;
        if (fz_event(c, c->kint, &kt)) {
            fz.stats.events++;
            t |= kt;
        }
        if (c->due) { /* and the deadline is gone */
            t |= PO_TIMEOUT;
            c->due = false;
            c->deadline = PO_NEVER;
        }
        c->expect = t;
        if (t != 0) {
            expect_n++;
            expect_total |= t;
            fz.round[fz.nround++] = c;
        }
    }
    if (fz.wepoll)
        fz_late(&before, &expect_n, &expect_total);
    FZ_EQ(rc, expect_n);
    FZ_EQ(total, expect_n ? expect_total : PO_TIMEOUT);
    if (until && rc == 0 && end < at)
        fz_fail("po_wait_until returned untriggered %llu ns before its "
                "deadline",
                (unsigned long long)(at - end));
    /* A spin makes po_wait()'s timeout exact too, in waits that do not
     * block. */
    bool spun = fz.spin && !until && timeout > 0;
    if (spun && rc == 0 && end - start < (po_time)timeout * PO_MSEC)
        fz_fail("po_wait(%d) with a spin returned untriggered after %llu ns",
                timeout, (unsigned long long)(end - start));
    uint64_t again = after.waits - before.waits - 1;
    if (again > 0 &&
        !(((until && at > start) || spun) && (rc == 0 || fz.wepoll)))
        fz_fail("%llu kernel waits for a %s that %s",
                (unsigned long long)again + 1,
                until ? "po_wait_until" : "po_wait",
                rc ? "triggered" : "had its deadline past");
    fz.stats.waits += again;
    fz.stats.stale += again * (uint64_t)ghosts;
    for (int i = 0; i < fz.ninc; i++) {
        fz_inc *c = &fz.inc[i];
        if (!c->live)
            continue;
        bool probed = !fz.changed || c->cand;
        if (!fz_lib(c) && c->probes != (probed ? 1 : 0))
            fz_fail("channel %d probed %d times, expected %d", c->num,
                    c->probes, probed ? 1 : 0);
        FZ_EQ(po_channel_wants(c->ch), c->pwants);
        if (po_channel_act(c->ch) != c->expect)
            fz_fail("channel %d (sock %lld, wants %#x): act %#x, expected %#x",
                    c->num, FZ_SNUM(fz_sock_of(c)), c->wants,
                    po_channel_act(c->ch), c->expect);
        /* Candidates of the next wait: what this one triggered, and what
         * touched itself in its probe. */
        c->cand = c->expect != 0 || c->touched;
    }
    if (fz.have_last_it) {
        FZ_CHECK(po_next_triggered(fz.p, &fz.last_it) == NULL);
        fz.have_last_it = false;
    }
    fz_check_full(true);
}

static void fz_op(bool in_walk);

/*
 * One action of the walked channel c, chosen by a % 16 (the walk reads one
 * action byte per channel, and another while the high bit is set):
 *   0 nothing; 1 read its socket to the end (a notifier: take every
 *   payload); 2 read up to 1 + b % 64 bytes, readiness must stay (a
 *   notifier: take 1 + b % 4); 3 write 1 + b % FZ_MAXLEN bytes to its peer
 *   (a notifier: send 1 + b % 4 payloads); 4 change its own wants to b,
 *   without po_touch() (its own turn); 5 delete itself; 6 mark itself; 7
 *   stop the walk; 8 set its socket (b, pick: as set_sock); 9 set its
 *   deadline (b: as deadline); 10 delete itself, then pass its pointer to
 *   the API (fz_dead_calls(), b); 11..15 any operation of fz_op() (a wait
 *   among them stops the walk).
 */
static bool fz_act(fz_inc *c, unsigned a) {
    switch (a % 16) {
    case 0:
        break;
    case 1: /* read everything there is, to EOF */
        if (c->sg)
            fz_sig_take(c, -1);
        else if (c->nt)
            fz_take(c, -1);
        else if (c->pair)
            fz_drain(c->pair, true);
        break;
    case 2: /* read a little: readiness must stay */
        if (c->sg)
            fz_sig_take(c, 1 + (int)(fz_byte() % 4));
        else if (c->nt)
            fz_take(c, 1 + (int)(fz_byte() % 4));
        else if (c->pair)
            fz_read_end(c->pair, true, 1 + fz_byte() % 64);
        break;
    case 3:
        if (c->sg)
            fz_raise_in(c, fz_byte());
        else if (c->nt)
            fz_notify(c, 1 + (int)(fz_byte() % 4));
        else if (c->pair)
            fz_write_end(c->pair, true, 1 + fz_byte() % FZ_MAXLEN);
        break;
    case 4: /* its own turn: no po_touch() needed */
        fz_set_wants(c, (po_triggers)fz_byte(), false);
        break;
    case 5:
        fz_delete(c);
        break;
    case 6:
        po_mark_delete(c->ch);
        c->marked = true;
        break;
    case 7:
        return false; /* stop the walk here */
    case 8: {
        unsigned sockb = fz_byte(), pick = fz_byte();
        if (!fz_lib(c))
            fz_set_socket(c, (sockb & 0x7f) % 5, pick, (sockb & 0x80) != 0);
        break;
    }
    case 9:
        fz_set_deadline(c, fz_byte());
        break;
    case 10:
        fz_delete(c);
        fz_dead_calls(c, fz_byte(), false);
        break;
    default:
        fz_op(true);
        break;
    }
    return !fz.stop_walk;
}

/* The channel a walk returned: one of the fuzzer's, or a notifier's. */
static fz_inc *fz_walked(po_channel *ch) {
    fz_inc *c = po_channel_ctx(ch);
    if (c >= fz.inc && c < fz.inc + fz.ninc && c->magic == FZ_MAGIC &&
        c->ch == ch)
        return c;
    for (int i = 0; i < fz.nnote; i++)
        if (fz.note[i]->ch == ch && fz_ctx(fz.note[i]) == (void *)c)
            return fz.note[i];
    fz_fail("the walk returned an unknown channel %p", (void *)ch);
}

static void fz_walk(void) {
    po_iter it = PO_ITER_INIT;
    fz.walk_stopped = false;
    fz.stop_walk = false;
    for (int steps = 0;; steps++) {
        po_channel *ch = po_next_triggered(fz.p, &it);
        if (ch == NULL)
            break;
        if (steps >= fz.nround)
            fz_fail("the walk goes on past the %d triggered channels",
                    fz.nround);
        fz_inc *c = fz_walked(ch);
        if (!c->live)
            fz_fail("the walk returned deleted channel %d", c->num);
        if (c->expect == 0)
            fz_fail("the walk returned channel %d, not triggered", c->num);
        if (c->visited)
            fz_fail("the walk returned channel %d twice", c->num);
        c->visited = true;
        FZ_EQ(po_channel_act(ch), c->expect);
        fz_log("  walk: channel %d act %#x", c->num, c->expect);
        /* Actions while the high bit asks for one more. */
        unsigned a;
        bool go = true;
        do {
            a = fz_byte();
            go = fz_act(c, a & 0x7f);
            if (fz.ended)
                return; /* destroyed, the walk with it */
            fz_check();
        } while (go && (a & 0x80) && c->live && fz.pos < fz.len);
        if (!go) {
            fz.walk_stopped = true;
            break;
        }
    }
    if (!fz.walk_stopped) {
        FZ_CHECK(po_next_triggered(fz.p, &it) == NULL);
        for (int i = 0; i < fz.nround; i++) {
            fz_inc *c = fz.round[i];
            if (c->live && !c->visited && c->expect != 0)
                fz_fail("triggered channel %d (act %#x) was not walked", c->num,
                        c->expect);
        }
    }
    fz.last_it = it;
    fz.have_last_it = true;
}

/* ------------------------------------------------------------------------ */
/* Operations                                                               */

/* Calls that must be refused and change nothing. */
static void fz_refusals(unsigned b) {
    po_chn absent = UINT64_C(0xdead0000) + b;
    po_iter it = PO_ITER_INIT;
    static const po_channel_ops no_probe = {NULL, fz_deinit};
    FZ_EQ(po_attach(NULL, absent, PO_NO_SOCKET, &fz_ops, NULL, NULL),
          PO_EINVAL);
    FZ_EQ(po_attach(fz.p, absent, PO_NO_SOCKET, NULL, NULL, NULL), PO_EINVAL);
    FZ_EQ(po_attach(fz.p, absent, PO_NO_SOCKET, &no_probe, NULL, NULL),
          PO_EINVAL);
    FZ_EQ(po_delete(fz.p, absent), PO_ENOENT);
    FZ_EQ(po_delete(NULL, absent), PO_EINVAL);
    FZ_CHECK(po_find(fz.p, absent) == NULL);
    FZ_CHECK(po_find(NULL, 0) == NULL);
    FZ_EQ(po_set_socket(NULL, PO_NO_SOCKET), PO_EINVAL);
    FZ_EQ(po_delete_group(fz.p, NULL, 0), 0);
    FZ_EQ(po_delete_group(fz.p, NULL, 1), PO_EINVAL);
    FZ_EQ(po_delete_group(fz.p, &absent, 1), 0);
    FZ_EQ(po_delete_marked(NULL), PO_EINVAL);
    FZ_EQ(po_wait(NULL, 0, NULL), PO_EINVAL);
    FZ_EQ(po_wait_until(NULL, 0, NULL), PO_EINVAL);
    FZ_EQ(po_after_fork(NULL), PO_EINVAL);
    /* In the process that holds the poller's objects: nothing to do. */
    FZ_EQ(po_after_fork(fz.p), FZ_FORKS ? PO_OK : PO_ENOTSUP);
    FZ_CHECK(po_next_triggered(NULL, &it) == NULL);
    FZ_CHECK(po_next_triggered(fz.p, NULL) == NULL);
    po_touch(NULL);
    po_mark_delete(NULL);
    FZ_EQ(po_destroy(NULL), PO_OK);
    FZ_EQ(po_set_deadline(NULL, 0), PO_EINVAL);
    FZ_EQ(po_channel_deadline(NULL), PO_NEVER);
    FZ_EQ(po_notify(NULL, 0), PO_EINVAL);
    uint64_t v;
    FZ_EQ(po_notifier_take(NULL, &v), PO_EINVAL);
    FZ_EQ(po_notifier_attach(NULL, absent, 0, NULL, NULL), PO_EINVAL);
    fz_inc *n = fz_pick_note(b, false);
    if (n != NULL)
        FZ_EQ(po_notifier_take(n->nt, NULL), PO_EINVAL);
    fz_sig_refusals(b);
}

enum {
    OP_ATTACH,
    OP_DELETE,
    OP_GROUP,
    OP_MARK,
    OP_DELETE_MARKED,
    OP_SET_SOCKET,
    OP_WANTS,
    OP_TOUCH,
    OP_PEER_WRITE,
    OP_PEER_READ,
    OP_PEER_CLOSE,
    OP_PEER_SHUT,
    OP_READ,
    OP_WRITE,
    OP_WAIT,
    OP_ALLOC_FAIL,
    OP_BULK_ATTACH,
    OP_BULK_DELETE,
    OP_REFUSALS,
    OP_ATTACH2, /* attach is the most common operation */
    OP_PEER_WRITE2,
    OP_WAIT2,
    OP_CLOSE_FREE,
    OP_GHOST,
    OP_DESTROY,
    OP_NOTIFIER,
    OP_NOTIFY,
    OP_TAKE,
    OP_DEADLINE,
    OP_DEAD,
    OP_BAD_SOCKET,
    OP_WAIT_UNTIL,
    OP_SIGNAL,
    OP_RAISE,
    OP_SIG_TAKE,
    OP_FORK,
    FZ_NOPS
};

static const char *const fz_opnames[FZ_NOPS] = {
    "attach",     "delete",      "delete_group", "mark",       "del_marked",
    "set_sock",   "wants",       "touch",        "peer_write", "peer_read",
    "peer_close", "peer_shut",   "read",         "write",      "wait",
    "alloc_fail", "bulk_attach", "bulk_del",     "refusals",   "attach",
    "peer_write", "wait",        "close_free",   "ghost",      "destroy",
    "notifier",   "notify",      "take",         "deadline",   "dead",
    "bad_socket", "wait_until",  "signal",       "raise",      "sig_take",
    "fork"};

/*
 * One operation.  Arguments, one byte each:
 *   attach        number, socket (b%4: none, new pair, a free pair, a taken
 *                 one; b>>2: flags FL_*), pair pick, wants
 *   delete        number (an absent one must give PO_ENOENT)
 *   delete_group  count (1..8), numbers
 *   mark          number
 *   set_sock      number, socket (b%5: as attach, or 4: the same; b&0x80:
 *                 close the old pair at once), pair pick
 *   wants, touch  number (wants: the new wants); both call po_touch()
 *   peer_write    pair, length;  peer_read, peer_close, peer_shut: pair
 *   read, write   pair (the channel's end, any pair), length
 *   wait          timeout (b == 255: 1 ms, else 0), then the walk
 *   alloc_fail    k: the k-th (b%8) allocation of the next call fails
 *   bulk_attach   first number, count (1..FZ_BULK), wants: socketless
 *   bulk_del      first number, count: one po_delete_group
 *   refusals      a number not in play
 *   close_free    pair: closes a pair no channel holds (ghosts too)
 *   ghost         number: closes its socket behind the poller's back,
 *                 keeping a duplicate (fz_pair.ghost), then deletes it
 *   destroy       b: if b % 16 == 0, po_destroy(), which ends the input
 *   notifier      number, capacity (fz_capacity()), b (bit 0: ask for the
 *                 notifier, bit 1: for its channel)
 *   notify, take  notifier pick, count (1 + b % 64; b & 0x40: until the
 *                 queue is full, or empty)
 *   deadline      number, deadline (fz_deadline_at())
 *   dead          pick among the channels deleted since the last wait, b:
 *                 pass its pointer to the API (fz_dead_calls())
 *   bad_socket    number, b: attach and po_set_socket with a negative
 *                 descriptor (POSIX), refused
 *   wait_until    deadline (fq_until_at()), then the walk
 *   signal        number, count (b % 4: 0 to 3), that many signal picks
 *                 (fz_sig_attach()), b (as notifier's)
 *   raise         signal pick (fz_raise())
 *   sig_take      signal channel pick, count (1 + b % 4; b & 0x40: until
 *                 PO_EAGAIN)
 *   fork          b: if b % 8 == 0, outside a walk, and not in a child
 *                 already, fork() (fz_fork(); POSIX)
 * Inside a walk, a wait stops the walk instead (a wait in a walk ends it);
 * the next wait outside it runs the wait.
 */
static void fz_op(bool in_walk) {
    unsigned op = fz_byte() % FZ_NOPS;
    const char *outer = fz.opname;
    fz.opname = fz_opnames[op];
    fz.nop++;
    fz_log("op #%u %s%s", fz.nop, fz.opname, in_walk ? " (in walk)" : "");
    switch (op) {
    case OP_ATTACH:
    case OP_ATTACH2: {
        int num = (int)(fz_byte() % FZ_NUMS);
        unsigned sockb = fz_byte(), pick = fz_byte();
        fz_attach(num, sockb, pick, sockb >> 2, (po_triggers)fz_byte());
        break;
    }
    case OP_DELETE: {
        int num = (int)(fz_byte() % FZ_NUMS);
        if (fz.by_num[num])
            fz_delete(fz.by_num[num]);
        else
            FZ_EQ(po_delete(fz.p, fz_number(num)), PO_ENOENT);
        break;
    }
    case OP_GROUP: {
        int nums[8];
        size_t n = 1 + fz_byte() % 8;
        for (size_t i = 0; i < n; i++)
            nums[i] = (int)(fz_byte() % FZ_NUMS);
        fz_delete_group(nums, n);
        break;
    }
    case OP_MARK: {
        fz_inc *c = fz.by_num[fz_byte() % FZ_NUMS];
        if (c) {
            po_mark_delete(c->ch);
            c->marked = true;
        }
        break;
    }
    case OP_DELETE_MARKED:
        fz_delete_marked();
        break;
    case OP_SET_SOCKET: {
        fz_inc *c = fz.by_num[fz_byte() % FZ_NUMS];
        unsigned sockb = fz_byte(), pick = fz_byte();
        if (c && !fz_lib(c)) /* a notifier's socket is its own */
            fz_set_socket(c, (sockb & 0x7f) % 5, pick, (sockb & 0x80) != 0);
        break;
    }
    case OP_WANTS:
    case OP_TOUCH: {
        fz_inc *c = fz.by_num[fz_byte() % FZ_NUMS];
        po_triggers w = op == OP_WANTS ? (po_triggers)fz_byte() : 0;
        if (c)
            fz_set_wants(c, op == OP_WANTS ? w : c->wants, true);
        break;
    }
    case OP_PEER_WRITE:
    case OP_PEER_WRITE2:
    case OP_WRITE: {
        fz_pair *pr = fz_pick_pair(fz_byte(), FZ_ANY);
        size_t len = 1 + fz_byte() % FZ_MAXLEN;
        if (pr)
            fz_write_end(pr, op == OP_WRITE, len);
        break;
    }
    case OP_PEER_READ:
    case OP_PEER_CLOSE:
    case OP_PEER_SHUT: {
        fz_pair *pr = fz_pick_pair(fz_byte(), FZ_ANY);
        if (pr == NULL || pr->peer == FZ_NONE)
            break;
        if (op == OP_PEER_READ)
            fz_drain(pr, false);
        else if (op == OP_PEER_CLOSE)
            fz_peer_close(pr);
        else
            fz_peer_shut(pr);
        break;
    }
    case OP_READ: {
        fz_pair *pr = fz_pick_pair(fz_byte(), FZ_ANY);
        size_t max = 1 + fz_byte() % 256;
        if (pr)
            fz_read_end(pr, true, max);
        break;
    }
    case OP_WAIT:
    case OP_WAIT2:
    case OP_WAIT_UNTIL: {
        unsigned b = fz_byte();
        if (in_walk) {
            fz.stop_walk = true; /* the walk ends where the next wait runs */
        } else {
            fz_wait(b, op == OP_WAIT_UNTIL);
            fz_walk();
        }
        break;
    }
    case OP_SIGNAL: {
        int num = (int)(fz_byte() % FZ_NUMS);
        unsigned pick[3];
        size_t n = fz_byte() % 4;
        for (size_t i = 0; i < n; i++)
            pick[i] = fz_byte();
        fz_sig_attach(num, pick, n, fz_byte());
        break;
    }
    case OP_RAISE:
        fz_raise((int)(fz_byte() % (unsigned)fz_nsig));
        break;
    case OP_FORK:
        if (fz_byte() % 8 == 0 && !in_walk && !fz.child)
            fz_fork();
        break;
    case OP_SIG_TAKE: {
        fz_inc *c = fz_pick_note(fz_byte(), true);
        unsigned b = fz_byte();
        if (c)
            fz_sig_take(c, (b & 0x40) ? -1 : 1 + (int)(b % 4));
        break;
    }
    case OP_GHOST: {
        fz_inc *c = fz.by_num[fz_byte() % FZ_NUMS];
        if (c && c->pair)
            fz_ghost(c);
        break;
    }
    case OP_CLOSE_FREE: { /* a socket no channel holds is the fuzzer's */
        fz_pair *pr = fz_pick_pair(fz_byte(), FZ_UNOWNED);
        if (pr)
            fz_close_pair(pr);
        break;
    }
    case OP_ALLOC_FAIL:
        fz_arm((long)(fz_byte() % 8));
        fz.opname = outer;
        return; /* armed for the next operation */
    case OP_BULK_ATTACH: {
        int first = (int)(fz_byte() % FZ_NUMS);
        int n = 1 + (int)(fz_byte() % FZ_BULK);
        po_triggers w = (po_triggers)fz_byte();
        for (int i = 0; i < n; i++)
            fz_attach((first + i) % FZ_NUMS, 0, 0, 0, w);
        break;
    }
    case OP_BULK_DELETE: {
        int nums[FZ_BULK];
        int first = (int)(fz_byte() % FZ_NUMS);
        size_t n = 1 + fz_byte() % FZ_BULK;
        for (size_t i = 0; i < n; i++)
            nums[i] = (first + (int)i) % FZ_NUMS;
        fz_delete_group(nums, n);
        break;
    }
    case OP_REFUSALS:
        fz_refusals(fz_byte());
        break;
    case OP_DESTROY:
        if (fz_byte() % 16 == 0)
            fz_destroy();
        break;
    case OP_NOTIFIER: {
        int num = (int)(fz_byte() % FZ_NUMS);
        unsigned capb = fz_byte();
        fz_notifier_attach(num, capb, fz_byte());
        break;
    }
    case OP_NOTIFY:
    case OP_TAKE: {
        fz_inc *c = fz_pick_note(fz_byte(), false);
        unsigned b = fz_byte();
        int k = (b & 0x40) ? -1 : 1 + (int)(b % 64);
        if (c && op == OP_NOTIFY)
            fz_notify(c, k);
        else if (c)
            fz_take(c, k);
        break;
    }
    case OP_DEADLINE: {
        fz_inc *c = fz.by_num[fz_byte() % FZ_NUMS];
        unsigned b = fz_byte();
        if (c)
            fz_set_deadline(c, b);
        break;
    }
    case OP_DEAD: {
        unsigned pick = fz_byte(), b = fz_byte();
        if (fz.ndead > 0)
            fz_dead_calls(fz.dead[pick % (unsigned)fz.ndead], b, false);
        break;
    }
    case OP_BAD_SOCKET: {
        int num = (int)(fz_byte() % FZ_NUMS);
        fz_bad_socket(num, fz_byte());
        break;
    }
    default:
        break;
    }
    fz_disarm();
    if (!fz.ended)
        fz_check();
    fz.opname = outer;
}

/* ------------------------------------------------------------------------ */
/* One input                                                                */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fz_os_start();
    fz_sig_start();
    atexit(fz_report);
    const char *t = getenv("POLLEROS_FUZZ_TRACE");
    fz_trace = t != NULL && *t != '\0' && strcmp(t, "0") != 0;
    /* The library's own variable too, so that a run can be told the mode
     * as the conformance suite is. */
    const char *m = getenv("POLLEROS_FUZZ_RECONCILE");
    if (m == NULL || *m == '\0')
        m = getenv("POLLEROS_RECONCILE");
    if (m != NULL && strcmp(m, "changed") == 0)
        fz_forced_mode = 0;
    else if (m != NULL && strcmp(m, "full") == 0)
        fz_forced_mode = 1;
    else if (m != NULL && *m != '\0') {
        fprintf(
            stderr,
            "POLLEROS_FUZZ_RECONCILE, POLLEROS_RECONCILE: changed or full\n");
        exit(2);
    }
    /* A backend the kernel refuses here (io_uring under a seccomp profile,
     * the io_uring_disabled sysctl, an old kernel) has nothing to fuzz: the
     * exit status says skipped, as the conformance suite's does. */
    int err = 0;
    errno = 0;
    po_poller *p = po_create(NULL, &err);
    if (p == NULL && err == PO_ENOTSUP) {
        fprintf(stderr, "polleros fuzz: skipped: backend %s: %s (%s)\n",
                getenv("POLLEROS_BACKEND") ? getenv("POLLEROS_BACKEND") : "-",
                po_strerror(err), strerror(errno));
        exit(77);
    }
    po_destroy(p);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    memset(&fz, 0, offsetof(fz_state, round));
    fz.in = data;
    fz.len = size;
    fz.next_seqn = 1;
    fz.fail_in = -1;
    fz.opname = "create";
    unsigned cfg = fz_byte();
    int full = fz_forced_mode >= 0 ? fz_forced_mode : (int)(cfg & 1);
    fz.changed = !full;
    po_options opt;
    memset(&opt, 0, sizeof opt);
    opt.allocator = &fz_allocator;
    opt.reconcile = full ? PO_RECONCILE_FULL : PO_RECONCILE_CHANGED;
    fz.spin = (cfg & 2) != 0;
    opt.spin_ns = !fz.spin ? 0 : cfg & 4 ? FZ_SPIN_LONG_NS : FZ_SPIN_SHORT_NS;
    int err = 0;
    fz.p = po_create(&opt, &err);
    if (fz.p == NULL)
        fz_fail("po_create: %s", po_strerror(err));
    fz.epoll = strcmp(po_backend_name(fz.p), "epoll") == 0;
    fz.poll = strcmp(po_backend_name(fz.p), "poll") == 0;
    fz.wepoll = strcmp(po_backend_name(fz.p), "wepoll") == 0;
    fz.sigmech = fz.epoll                                       ? FZ_SIG_FD
                 : strcmp(po_backend_name(fz.p), "kqueue") == 0 ? FZ_SIG_KQUEUE
                                                                : FZ_SIG_FLAGS;
    fz_log("input of %zu bytes: %s, %s%s", size, po_backend_name(fz.p),
           fz.changed ? "changed" : "full", fz.spin ? ", spin" : "");

    while (fz.pos < fz.len && !fz.ended)
        fz_op(false);

    /* Unless the input destroyed it: a last round sees the last
     * operations' effects, and po_destroy() ends the run.  (fz.in stays:
     * a forked child _exit()s in the engine's call, and valgrind's leak
     * check there must find the input's buffer still referenced.) */
    fz.pos = fz.len = 0;
    if (!fz.ended) {
        fz.opname = "final wait";
        fz_wait(0, false);
        fz_walk();
    }
    if (!fz.ended) {
        fz.opname = "destroy";
        fz_destroy();
    }
    for (int i = 0; i < FZ_PAIRS; i++)
        if (fz.pair[i].open) {
            fz.pair[i].owner = NULL;
            fz_close_pair(&fz.pair[i]);
        }
#ifndef _WIN32
    if (fz.child)
        _exit(0); /* every check passed; never back into the engine */
#endif
    return 0;
}
