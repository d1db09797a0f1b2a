/*
 * The differential fuzzer: a libFuzzer target that runs each input against
 * pollers of one process, each on another backend (epoll, poll and uring on
 * Linux, kqueue and poll on the BSDs and macOS, wepoll and poll on Windows),
 * over sockets of their own, in lockstep, and aborts at the first
 * observable result in which one differs from the first.  It needs no model
 * of what the poller must do: the backends must agree, wait by wait.  (The
 * operation fuzzer, fuzz_ops.c, checks one backend against an exact model;
 * this one reaches what that model leaves out, because agreement needs no
 * model.)  Where the kernel refuses io_uring, uring is left out with a
 * message, and the others are still compared.
 *
 * The pollers are "worlds".  Each world holds its own poller, channels,
 * socket pairs and files, in the same slots; every operation is decoded
 * once from the input and applied to every world, one after the other, and
 * each writes what it observed (return codes, bytes read, payloads taken)
 * to its world's log.  Every world is compared with the first (epoll on
 * Linux), so that one input checks each pair; acts that differ at a wait
 * mask that wait's counters for that pair only.  The logs must be equal.
 * What the callbacks observe (probes, deinits, and the calls they make back
 * into the poller) goes to a second log per world, compared as a multiset:
 * the order of probes follows the round's list, and so the harvest order.
 * After every operation, for every channel number: attached or not, SeqN,
 * wants, act, po_channel_errno(), deadline, and po_count(); after every
 * wait: its return value and total, the kernel calls made (po_stats), and
 * what a walk returns, as a set.
 *
 * Some differences are the backends' right: docs/guide/differences.md
 * names each, with its reason, and the comparison masks exactly those
 * (dz_may_lack(), dz_behind(), dz_op_end()).  Everything else must match.
 *
 * Determinism.  POSIX pairs are AF_UNIX socketpairs, whose readiness
 * changes within the call that changes it, so every wait has timeout 0.
 * Windows pairs are loopback TCP connections: before a wait or a read that
 * must see bytes or a FIN in flight, the fuzzer waits until the system
 * reports the end readable (sp_settle()), as fuzz_ops.c does, and before a
 * read until every byte written has arrived (dz_arrive()); a peer reads
 * what it was sent before it closes, so that a close is never a reset.  Writes
 * are bounded so that every socket stays writable. Deadlines are only in the
 * past or never.  The worlds share the process's descriptor table, so a number
 * one world closes can be the next socket of another: a descriptor closed
 * behind a poller's back is replaced at once by /dev/null (dup2), in every
 * world, so that its number never serves another socket while a channel names
 * it.
 *
 * Input format.  Byte 0 configures the run: bit 0 the reconciliation (0:
 * PO_RECONCILE_CHANGED, 1: PO_RECONCILE_FULL, unless POLLEROS_FUZZ_RECONCILE
 * is changed or full), bits 1-3 max_events (dz_max_events[]).  Then
 * operations: an opcode byte (modulo DZ_NOPS) and its argument bytes, listed
 * at dz_op().  A wait's walk reads action bytes (dz_walk()).  A missing
 * byte reads as 0, so every input is valid.  Each input ends with one more
 * wait and walk, then po_destroy() of every poller.
 *
 * POLLEROS_FUZZ_TRACE=1 prints every operation to stderr.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "polleros.h"
#include "sockpair.h"
#include "until.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <fcntl.h>
#include <unistd.h>
#endif

enum {
    DZ_NUMS = 48,    /* channel numbers in play */
    DZ_RES = 32,     /* socket pairs and files open at once, per world */
    DZ_MAXW = 16,    /* writes in flight per direction of a pair */
    DZ_MAXLEN = 200, /* bytes per write */
    DZ_LOG = 1024,   /* records per log and operation */
    DZ_WORLDS = 3,   /* at most: a reference and two to compare with it */
    DZ_MAGIC = 0x0d1ff0d1
};

/* Per-channel behaviours chosen at attach. */
enum {
    FL_CLOSE = 1,   /* deinit closes its socket or file (else: it goes free) */
    FL_TOUCH = 2,   /* the probe touches its own channel */
    FL_MARK = 4,    /* the next probe marks its channel for deletion */
    FL_REENTER = 8, /* probe and deinit call back into the poller */
    FL_DEINIT_RD = 16 /* deinit reads its socket to the end */
};

/* What a resource slot holds. */
enum { RK_FREE, RK_PAIR, RK_FILE, RK_DIR, RK_NULL };

typedef sp_sock dz_sock;
#define DZ_NONE SP_NONE

/* A socket pair (fd: the end a channel watches; peer: the fuzzer's end) or
 * a descriptor that is no socket (fd only). */
typedef struct dz_res {
    int kind;
    dz_sock fd, peer;
    uint32_t id; /* seeds the byte pattern of both directions */
    int owner;   /* the channel number holding fd, or -1 */
    uint64_t in_wr, in_rd, out_wr, out_rd;
    int in_n, out_n;
    bool peer_shut, peer_closed, reset;
    bool ghost; /* fd is a duplicate: the original closed behind the back */
    bool ghost_held; /* ... while the kernel held it */
} dz_res;

struct dz_world;

typedef struct dz_chan {
    uint32_t magic;
    struct dz_world *w;
    int num;
    bool live;
    bool notifier;
    po_channel *ch;
    po_notifier *n;
    uint64_t next_value; /* the next payload this notifier is sent */
    int res;             /* the resource it watches, or -1 */
    po_socket sock;      /* what it was given (a negative one, say) */
    po_triggers wants;
    unsigned flags;
    bool fresh;   /* given its socket since the last wait: not registered */
    bool tainted; /* see dz_behind() */
} dz_chan;

/* A record of a log: what was observed, for which channel or slot. */
typedef struct dz_rec {
    const char *what;
    int num;
    long long v;
} dz_rec;

typedef struct dz_world {
    po_poller *p;
    const char *backend;
    dz_res res[DZ_RES];
    dz_chan chan[DZ_NUMS];
    uint32_t res_ids;
    po_channel *gone; /* the last channel deleted since the last wait */
    bool destroying;
    bool in_cb; /* inside a probe or a deinit: dz_out() logs to cb */
    int nlog, ncb;
    po_stats base; /* counters at the start of the operation */
    /* The last wait. */
    int rc;
    po_triggers total;
    uint64_t harvested; /* kernel events it took, stale ones included */
    po_triggers pre_kint[DZ_NUMS];
    bool lack[DZ_NUMS]; /* may lack the channel's kernel triggers */
    /* The channel's kernel triggers were reported by the last wait: on
     * wepoll, this wait re-makes its poll request (dz_may_lack()). */
    bool reported[DZ_NUMS];
    /* wepoll: poll requests cancelled whose completions may not have been
     * taken yet (dz_may_lack()). */
    int cancels;
    bool wepoll;
    /* Last: what LLVMFuzzerTestOneInput() clears ends here. */
    dz_rec log[DZ_LOG];
    dz_rec cb[DZ_LOG]; /* the callbacks' log: compared as a multiset */
} dz_world;

static struct {
    dz_world w[DZ_WORLDS];
    int nw;    /* worlds in play: those whose backend this system has */
    int other; /* the world compared with w[0] now (dz_same()) */
    bool changed;
    unsigned max_events;
    const uint8_t *in;
    size_t len, pos;
    unsigned nop;
    const char *opname;
    /* Masks of the current operation (dz_op_end()); mask_events[o] is
     * set when w[o]'s acts differed from w[0]'s at a wait. */
    bool mask_calls, mask_stale, mask_events[DZ_WORLDS];
    /* A po_wait_until() whose deadline was ahead and that triggered
     * nothing (or ran on wepoll) may make more kernel waits than one, as
     * many as the time takes (dz_wait()). */
    bool mask_waits;
    /* A uring world is in play.  The thread that holds its ring sees
     * EINTR from the other worlds' kernel waits with no signal sent (seen:
     * epoll_pwait2 under strace, about once a minute of fuzzing), which
     * ends their rounds early, as the header lets an interrupted wait do;
     * so a round's end is checked against its deadline only without one
     * (fuzz_ops.c checks every backend alone). */
    bool uring;
    bool stop_walk; /* a wait was asked for inside the walk */
} dz;

static bool dz_trace;
static int dz_forced_mode = -1;
static fq_mask dz_quiet; /* what a timed wait blocks (until.h) */
static const unsigned dz_max_events[8] = {0, 1, 2, 3, 4, 1, 2, 8};

/* The backends compared, the first with each other one. */
typedef struct dz_backend {
    po_backend_kind kind;
    const char *name;
} dz_backend;
#ifdef __linux__
static const dz_backend dz_backends[] = {{PO_BACKEND_EPOLL, "epoll"},
                                         {PO_BACKEND_POLL, "poll"},
                                         {PO_BACKEND_URING, "uring"}};
#elif defined(_WIN32)
static const dz_backend dz_backends[] = {{PO_BACKEND_WEPOLL, "wepoll"},
                                         {PO_BACKEND_POLL, "poll"}};
#else
static const dz_backend dz_backends[] = {{PO_BACKEND_KQUEUE, "kqueue"},
                                         {PO_BACKEND_POLL, "poll"}};
#endif
enum { DZ_NBACKENDS = sizeof dz_backends / sizeof dz_backends[0] };
_Static_assert((int)DZ_NBACKENDS <= (int)DZ_WORLDS, "a world per backend");
/* Those in play, in dz.w[]'s order. */
static const dz_backend *dz_in_play[DZ_WORLDS];

/* ------------------------------------------------------------------------ */
/* Reporting                                                                */

#if defined(__MINGW32__)
#define DZ_PRINTF __attribute__((format(gnu_printf, 1, 2)))
#elif defined(__GNUC__)
#define DZ_PRINTF __attribute__((format(printf, 1, 2)))
#else
#define DZ_PRINTF
#endif
_Noreturn static void dz_fail(const char *fmt, ...) DZ_PRINTF;
static void dz_log(const char *fmt, ...) DZ_PRINTF;

static void dz_fail(const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "polleros diff: op #%u (%s), %s vs %s, %s: ", dz.nop,
            dz.opname ? dz.opname : "-", dz.w[0].backend,
            dz.w[dz.other].backend, dz.changed ? "changed" : "full");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    abort();
}

static void dz_log(const char *fmt, ...) {
    if (!dz_trace)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Two observations of the same thing that must be equal: a of w[0], b of
 * w[dz.other]. */
static void dz_same(const char *what, int num, long long a, long long b) {
    if (a != b)
        dz_fail("%s of channel/slot %d: %s %lld (%#llx), %s %lld (%#llx)", what,
                num, dz.w[0].backend, a, (unsigned long long)a,
                dz.w[dz.other].backend, b, (unsigned long long)b);
}

static void dz_cb(dz_world *w, const char *what, int num, long long v) {
    if (w->ncb == DZ_LOG)
        dz_fail("callback log full");
    w->cb[w->ncb++] = (dz_rec){what, num, v};
}

/* What a callback observes goes to the callback log: callbacks run in an
 * order of the backend's. */
static void dz_out(dz_world *w, const char *what, int num, long long v) {
    if (w->in_cb) {
        dz_cb(w, what, num, v);
        return;
    }
    if (w->nlog == DZ_LOG)
        dz_fail("log full");
    w->log[w->nlog++] = (dz_rec){what, num, v};
}

static int dz_rec_cmp(const void *a, const void *b) {
    const dz_rec *x = a, *y = b;
    int c = strcmp(x->what, y->what);
    if (c != 0)
        return c;
    if (x->num != y->num)
        return x->num < y->num ? -1 : 1;
    return x->v < y->v ? -1 : x->v > y->v;
}

/* Two worlds' logs: the operation log in order, the callback log as a
 * multiset. */
static void dz_compare_log_pair(dz_world *a, dz_world *b) {
    for (int i = 0; i < a->nlog && i < b->nlog; i++) {
        if (strcmp(a->log[i].what, b->log[i].what) != 0 ||
            a->log[i].num != b->log[i].num)
            dz_fail("record %d: %s of %d in %s, %s of %d in %s", i,
                    a->log[i].what, a->log[i].num, a->backend, b->log[i].what,
                    b->log[i].num, b->backend);
        dz_same(a->log[i].what, a->log[i].num, a->log[i].v, b->log[i].v);
    }
    dz_same("records logged", -1, a->nlog, b->nlog);
    qsort(a->cb, (size_t)a->ncb, sizeof a->cb[0], dz_rec_cmp);
    qsort(b->cb, (size_t)b->ncb, sizeof b->cb[0], dz_rec_cmp);
    for (int i = 0; i < a->ncb && i < b->ncb; i++) {
        if (dz_rec_cmp(&a->cb[i], &b->cb[i]) != 0)
            dz_fail("callbacks differ: %s of channel %d (%lld) in %s, %s of "
                    "channel %d (%lld) in %s",
                    a->cb[i].what, a->cb[i].num, a->cb[i].v, a->backend,
                    b->cb[i].what, b->cb[i].num, b->cb[i].v, b->backend);
    }
    dz_same("callback records", -1, a->ncb, b->ncb);
}

static void dz_compare_logs(void) {
    for (int o = 1; o < dz.nw; o++) {
        dz.other = o;
        dz_compare_log_pair(&dz.w[0], &dz.w[o]);
    }
    for (int k = 0; k < dz.nw; k++)
        dz.w[k].nlog = dz.w[k].ncb = 0;
}

/* ------------------------------------------------------------------------ */
/* Input and channel numbers                                                */

static unsigned dz_byte(void) { return dz.pos < dz.len ? dz.in[dz.pos++] : 0u; }

static po_chn dz_number(int i) {
    static const po_chn edge[8] = {
        0,         1, 2, 63, 0xffffffffu, UINT64_C(1) << 32, UINT64_MAX - 1,
        UINT64_MAX};
    return i < 8 ? edge[i] : UINT64_C(0x10000) + (po_chn)i * 7919u;
}

/* A number that is never in play. */
#define DZ_ABSENT ((po_chn)UINT64_C(0xabad1dea))

/* ------------------------------------------------------------------------ */
/* Descriptors that are no socket                                           */

#ifdef _WIN32
static char dz_file_path[MAX_PATH];

static void dz_files_start(void) {
    char dir[MAX_PATH];
    if (GetTempPathA(sizeof dir, dir) == 0 ||
        GetTempFileNameA(dir, "pod", 0, dz_file_path) == 0)
        dz_fail("GetTempFileName: error %lu", GetLastError());
}
static void dz_files_stop(void) { DeleteFileA(dz_file_path); }

static dz_sock dz_open(int kind) {
    const char *path = kind == RK_FILE  ? dz_file_path
                       : kind == RK_DIR ? "."
                                        : "NUL";
    HANDLE h = CreateFileA(
        path, GENERIC_READ,
        FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
        OPEN_EXISTING, kind == RK_DIR ? FILE_FLAG_BACKUP_SEMANTICS : 0, NULL);
    if (h == INVALID_HANDLE_VALUE)
        dz_fail("CreateFile(%s): error %lu", path, GetLastError());
    return (dz_sock)(uintptr_t)h;
}
static void dz_close_file(dz_sock s) { CloseHandle((HANDLE)(uintptr_t)s); }
#else
static char dz_file_path[64];

static void dz_files_start(void) {
    strcpy(dz_file_path, "/tmp/polleros-diff-XXXXXX");
    int fd = mkstemp(dz_file_path);
    if (fd < 0)
        dz_fail("mkstemp: cannot make a regular file");
    close(fd);
}
static void dz_files_stop(void) { unlink(dz_file_path); }

static dz_sock dz_open(int kind) {
    const char *path = kind == RK_FILE  ? dz_file_path
                       : kind == RK_DIR ? "."
                                        : "/dev/null";
    int fd = open(path, (kind == RK_DIR ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0)
        dz_fail("open(%s) failed", path);
    return fd;
}
static void dz_close_file(dz_sock s) { close(s); }
#endif

/* ------------------------------------------------------------------------ */
/* Resources and byte streams                                               */

static uint8_t dz_pattern(uint32_t id, uint64_t off, unsigned dir) {
    uint64_t x = ((uint64_t)id * UINT64_C(0x9E3779B97F4A7C15)) ^
                 ((off + 1) * UINT64_C(0xBF58476D1CE4E5B9)) ^ dir;
    x ^= x >> 31;
    x *= UINT64_C(0x94D049BB133111EB);
    return (uint8_t)(x >> 56);
}

/* A free slot, the same in every world (their slots are in step), or -1. */
static int dz_free_slot(const dz_world *w) {
    for (int i = 0; i < DZ_RES; i++)
        if (w->res[i].kind == RK_FREE)
            return i;
    return -1;
}

static int dz_new_res(dz_world *w, int kind) {
    int i = dz_free_slot(w);
    if (i < 0)
        return -1;
    dz_res *r = &w->res[i];
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->owner = -1;
    r->peer = DZ_NONE;
    r->id = ++w->res_ids;
    if (kind == RK_PAIR) {
        dz_sock sv[2];
        if (sp_pair(sv) != 0)
            dz_fail("%s", sp_why());
        r->fd = sv[0];
        r->peer = sv[1];
    } else {
        r->fd = dz_open(kind);
    }
    return i;
}

static void dz_close_res(dz_world *w, int i) {
    dz_res *r = &w->res[i];
    /* wepoll: the poll request of a ghost's closed handle on the socket its
     * duplicate kept completes only now, with no event (dz_may_lack()). */
    w->cancels += w->wepoll && r->ghost_held;
    if (r->kind == RK_PAIR) {
        if (sp_discard(r->fd) != 0)
            dz_fail("close of slot %d: %s", i, sp_strerror(sp_errno()));
        if (r->peer != DZ_NONE && sp_discard(r->peer) != 0)
            dz_fail("close of slot %d's peer: %s", i, sp_strerror(sp_errno()));
    } else {
        dz_close_file(r->fd);
    }
    r->kind = RK_FREE;
}

/* A slot chosen by b among those of a kind (pairs, pairs no channel holds,
 * slots no channel holds, pairs a channel holds), or -1. */
enum { PK_PAIR, PK_FREE_PAIR, PK_UNOWNED, PK_OWNED_PAIR };
static int dz_pick(const dz_world *w, unsigned b, int which) {
    for (int k = 0; k < DZ_RES; k++) {
        int i = (int)((b + (unsigned)k) % DZ_RES);
        const dz_res *r = &w->res[i];
        bool pair = r->kind == RK_PAIR;
        if (r->kind == RK_FREE || (which == PK_PAIR && !pair) ||
            (which == PK_FREE_PAIR && (!pair || r->owner >= 0)) ||
            (which == PK_UNOWNED && r->owner >= 0) ||
            (which == PK_OWNED_PAIR && (!pair || r->owner < 0)))
            continue;
        return i;
    }
    return -1;
}

/* Whether the end should read something now (bytes, EOF or a reset): then,
 * on Windows, it is waited for. */
static bool dz_due(const dz_res *r, bool local) {
    if (!local)
        return r->out_wr > r->out_rd;
    return r->in_wr > r->in_rd || r->peer_shut || r->peer_closed || r->reset;
}

/* Windows: waits until all `pending` bytes written to the end s have
 * arrived, so that a read takes what it takes on POSIX, where nothing is
 * in flight. */
static void dz_arrive(dz_sock s, uint64_t pending) {
#ifdef _WIN32
    for (int tries = 0; tries < 5000; tries++) {
        u_long n = 0;
        if (ioctlsocket((SOCKET)s, FIONREAD, &n) != 0 || n >= pending)
            return; /* (an error is the read's to report) */
        Sleep(1);
    }
    dz_fail("%llu bytes written never arrived", (unsigned long long)pending);
#else
    (void)s;
    (void)pending;
#endif
}

/* Reads at most max bytes from one end of pair i, checks them against the
 * stream's pattern and returns what the read gave: a byte count, 0 for
 * EOF, -1 for nothing to read, -2 for a reset, -3 for another error. */
static long dz_read_raw(dz_world *w, int i, bool local, size_t max) {
    dz_res *r = &w->res[i];
    uint8_t buf[4096];
    if (max > sizeof buf)
        max = sizeof buf;
    dz_sock fd = local ? r->fd : r->peer;
    uint64_t *rd = local ? &r->in_rd : &r->out_rd;
    const uint64_t *wr = local ? &r->in_wr : &r->out_wr;
    if (dz_due(r, local)) {
        sp_pollfd pfd[1];
        if (sp_settle(&fd, 1, pfd) != 0)
            dz_fail("slot %d: %s", i, sp_why());
        dz_arrive(fd, *wr - *rd);
    }
    long n = sp_read(fd, buf, max);
    if (n > 0) {
        if ((uint64_t)n > *wr - *rd)
            dz_fail("slot %d: read %ld bytes, %llu were written", i, n,
                    (unsigned long long)(*wr - *rd));
        for (long k = 0; k < n; k++)
            if (buf[k] != dz_pattern(r->id, *rd + (uint64_t)k, local))
                dz_fail("slot %d: byte %llu read from %s is wrong", i,
                        (unsigned long long)(*rd + (uint64_t)k),
                        local ? "fd" : "peer");
        *rd += (uint64_t)n;
        if (*rd == *wr)
            *(local ? &r->in_n : &r->out_n) = 0;
    } else if (n < 0) {
        int e = sp_errno();
        n = sp_again(e) ? -1 : sp_reset(e) ? -2 : -3;
        if (n == -2)
            r->reset = false;
    }
    return n;
}

static void dz_read(dz_world *w, int i, bool local, size_t max) {
    dz_out(w, local ? "read" : "peer read", i, dz_read_raw(w, i, local, max));
}

/* Reads until nothing more comes (EOF, nothing to read, an error), and
 * logs how many bytes came and how it ended: how the stream was cut into
 * reads is the system's, not the poller's. */
static void dz_drain(dz_world *w, int i, bool local) {
    long long total = 0;
    long n;
    while ((n = dz_read_raw(w, i, local, 4096)) > 0)
        total += n;
    dz_out(w, local ? "drain: bytes" : "peer drain: bytes", i, total);
    dz_out(w, local ? "drain: end" : "peer drain: end", i, n);
}

/* Writes len bytes at one end of pair i when the stream allows it: the
 * other end open and reading, and few enough writes in flight that the
 * socket stays writable. */
static void dz_write(dz_world *w, int i, bool local, size_t len) {
    dz_res *r = &w->res[i];
    uint8_t buf[DZ_MAXLEN];
    uint64_t *wr = local ? &r->out_wr : &r->in_wr;
    int *n_in_flight = local ? &r->out_n : &r->in_n;
    if (r->peer == DZ_NONE || (!local && r->peer_shut) ||
        *n_in_flight >= DZ_MAXW)
        return;
    if (len > sizeof buf)
        len = sizeof buf;
    for (size_t k = 0; k < len; k++)
        buf[k] = dz_pattern(r->id, *wr + k, !local);
    long n = sp_write(local ? r->fd : r->peer, buf, len);
    dz_out(w, local ? "write" : "peer write", i, n);
    if (n != (long)len)
        dz_fail("slot %d: write of %zu bytes gave %ld (%s)", i, len, n,
                n < 0 ? sp_strerror(sp_errno()) : "short");
    *wr += len;
    (*n_in_flight)++;
}

static void dz_peer_close(dz_world *w, int i) {
    dz_res *r = &w->res[i];
    if (r->peer == DZ_NONE)
        return;
    /* TCP: bytes the peer leaves unread would make its close a reset. */
    if (!SP_CLOSE_HANGS_UP)
        dz_drain(w, i, false);
    if (sp_close(r->peer) != 0)
        dz_fail("close of slot %d's peer failed", i);
    r->peer = DZ_NONE;
    r->peer_closed = true;
    if (r->out_wr > r->out_rd)
        r->reset = true; /* AF_UNIX: what the peer left unread resets */
    r->out_rd = r->out_wr;
    r->out_n = 0;
}

/* The kernel interest the wants ask for (as po_wait() derives it). */
static po_triggers dz_interest(po_triggers wants) {
    return (po_triggers)(((wants & (PO_RECV | PO_NOTIFY | PO_ACCEPT)) ? 1 : 0) |
                         ((wants & (PO_SEND | PO_CONNECT)) ? 2 : 0));
}

/* What the kernel holds for the channel, as far as the fuzzer can tell
 * from the outside: what its last probe asked for, unless it was given its
 * socket since, or parked. */
static po_triggers dz_kint(const dz_chan *c) {
    if (!c->live || c->fresh || c->res < 0 || po_channel_errno(c->ch) != 0)
        return 0;
    return dz_interest(po_channel_wants(c->ch));
}

/* The socket of slot i leaves the kernel, which held it. */
static void dz_unreg(dz_world *w, int i) {
    (void)i;
    w->cancels += w->wepoll;
}

/* ------------------------------------------------------------------------ */
/* Callbacks                                                                */

static dz_chan *dz_chan_of(po_channel *ch, void *ctx) {
    dz_chan *c = ctx;
    if (c == NULL || c->magic != DZ_MAGIC || c->ch != ch)
        dz_fail("a callback got a channel or ctx the fuzzer never gave");
    return c;
}

static const po_channel_ops dz_ops;

/* A signal every system lets a channel hold, for a refused attach only:
 * the pollers share the process's signals (docs/guide/differences.md). */
static const int dz_signo = SIGINT;

/* Every call that changes the poller, from inside a probe or a deinit: each
 * must be refused alike (PO_EBUSY), and the calls allowed there answer
 * alike. */
static void dz_reenter(dz_chan *c, const char *where) {
    dz_world *w = c->w;
    po_chn self = dz_number(c->num), group[2] = {self, DZ_ABSENT};
    po_notifier *n = NULL;
    long long rcs = 0;
    int rc[] = {
        po_attach(w->p, DZ_ABSENT, PO_NO_SOCKET, &dz_ops, NULL, NULL),
        po_delete(w->p, self),
        po_delete_group(w->p, group, 2),
        po_delete_marked(w->p),
        po_wait(w->p, 0, NULL),
        po_wait_until(w->p, 0, NULL),
        po_wait_until(w->p, PO_NEVER, NULL),
        po_after_fork(w->p),
        po_signal_attach(w->p, DZ_ABSENT, &dz_signo, 1, NULL, NULL),
        po_set_socket(c->ch, PO_NO_SOCKET),
        po_set_deadline(c->ch, PO_NEVER),
        po_notifier_attach(w->p, DZ_ABSENT, 1, &n, NULL),
        po_destroy(w->p),
    };
    for (size_t k = 0; k < sizeof rc / sizeof rc[0]; k++)
        rcs = rcs * 16 + (rc[k] + 10);
    dz_cb(w, where, c->num, rcs);
    dz_cb(w, "callback: po_find(self)", c->num, po_find(w->p, self) == c->ch);
    po_touch(c->ch);
}

static po_triggers dz_probe(po_channel *ch, void *ctx) {
    dz_chan *c = dz_chan_of(ch, ctx);
    if (!c->live)
        dz_fail("probe of deleted channel %d in %s", c->num, c->w->backend);
    c->w->in_cb = true;
    dz_cb(c->w, "probe", c->num, c->wants);
    if (c->flags & FL_REENTER) {
        dz_reenter(c, "probe: refused calls");
        dz_cb(c->w, "probe: po_count", c->num, (long long)po_count(c->w->p));
    }
    if (c->flags & FL_TOUCH)
        po_touch(ch);
    if (c->flags & FL_MARK) {
        po_mark_delete(ch);
        c->flags &= ~(unsigned)FL_MARK;
    }
    c->w->in_cb = false;
    return c->wants;
}

/* The channel's resource goes back to the fuzzer (or is closed). */
static void dz_release(dz_chan *c, bool close) {
    if (c->res < 0)
        return;
    dz_world *w = c->w;
    w->res[c->res].owner = -1;
    if (close)
        dz_close_res(w, c->res);
    c->res = -1;
}

static void dz_deinit(po_channel *ch, void *ctx) {
    dz_chan *c = dz_chan_of(ch, ctx);
    dz_world *w = c->w;
    if (!c->live)
        dz_fail("second deinit of channel %d in %s", c->num, w->backend);
    w->in_cb = true;
    dz_cb(w, "deinit", c->num, 0);
    if (c->res >= 0 && dz_kint(c) != 0)
        dz_unreg(w, c->res);
    if (c->flags & FL_REENTER)
        dz_reenter(c, "deinit: refused calls");
    c->live = false;
    c->tainted = false;
    if (!w->destroying)
        w->gone = ch;
    if (c->res >= 0 && (c->flags & FL_DEINIT_RD) &&
        w->res[c->res].kind == RK_PAIR)
        dz_drain(w, c->res, true);
    dz_release(c, (c->flags & FL_CLOSE) != 0);
    w->in_cb = false;
}

static const po_channel_ops dz_ops = {dz_probe, dz_deinit};

/* ------------------------------------------------------------------------ */
/* Checks after every operation                                             */

/* Whether the acts of channel num in w[0] (a) and w[dz.other] (b) may
 * differ as they do: only in kernel triggers, which the world that lacks
 * them may lack this round (w->lack, set by the wait). */
static bool dz_acts_agree(int num, po_triggers a, po_triggers b) {
    const po_triggers kernel = PO_KERNEL_TRIGGERS | PO_ERR;
    if (a == b)
        return true;
    if (dz.w[0].lack[num] && (a & ~b) == 0 && (b & ~a & ~kernel) == 0)
        return true;
    return dz.w[dz.other].lack[num] && (b & ~a) == 0 && (a & ~b & ~kernel) == 0;
}

/* Channel i of w[0] (x) and of w[dz.other] (y). */
static void dz_check_chan(int i, const dz_chan *x, const dz_chan *y) {
    dz_same("attached", i, x->live, y->live);
    if (!x->live)
        return;
    dz_same("SeqN", i, (long long)po_channel_seqn(x->ch),
            (long long)po_channel_seqn(y->ch));
    dz_same("number", i, (long long)po_channel_chn(x->ch),
            (long long)po_channel_chn(y->ch));
    dz_same("wants", i, po_channel_wants(x->ch), po_channel_wants(y->ch));
    dz_same("deadline", i, (long long)po_channel_deadline(x->ch),
            (long long)po_channel_deadline(y->ch));
    dz_same("tainted", i, x->tainted, y->tainted);
    if (x->tainted)
        return;
    dz_same("po_channel_errno", i, po_channel_errno(x->ch),
            po_channel_errno(y->ch));
    po_triggers ax = po_channel_act(x->ch), ay = po_channel_act(y->ch);
    if (!dz_acts_agree(i, ax, ay))
        dz_same("act", i, ax, ay);
}

static void dz_check(void) {
    size_t live = 0;
    for (int i = 0; i < DZ_NUMS; i++) {
        for (int k = 0; k < dz.nw; k++) {
            dz_chan *c = &dz.w[k].chan[i];
            po_channel *found = po_find(dz.w[k].p, dz_number(i));
            /* A notifier's deinit is the library's: its deletion shows
             * here (and, once waited for, cancels its poll request). */
            if (c->live && c->notifier && found != c->ch) {
                c->live = false;
                dz.w[k].cancels += dz.w[k].wepoll && !c->fresh;
            }
            if (found != (c->live ? c->ch : NULL))
                dz_fail("%s: po_find(channel %d) is %p, expected %p",
                        dz.w[k].backend, i, (void *)found,
                        (void *)(c->live ? c->ch : NULL));
            if (c->live && !c->notifier && po_channel_socket(c->ch) != c->sock)
                dz_fail("%s: channel %d watches socket %lld, given %lld",
                        dz.w[k].backend, i, (long long)po_channel_socket(c->ch),
                        (long long)c->sock);
        }
        live += dz.w[0].chan[i].live;
        for (int o = 1; o < dz.nw; o++) {
            dz.other = o;
            dz_check_chan(i, &dz.w[0].chan[i], &dz.w[o].chan[i]);
        }
    }
    for (int o = 1; o < dz.nw; o++) {
        dz.other = o;
        dz_same("po_count", -1, (long long)po_count(dz.w[0].p),
                (long long)po_count(dz.w[o].p));
    }
    if (po_count(dz.w[0].p) != live)
        dz_fail("po_count is %zu, %zu channels attached", po_count(dz.w[0].p),
                live);
}

static bool dz_any_tainted(void) {
    for (int i = 0; i < DZ_NUMS; i++)
        if (dz.w[0].chan[i].live && dz.w[0].chan[i].tainted)
            return true;
    return false;
}

static bool dz_any_ghost(void) {
    for (int k = 0; k < dz.nw; k++)
        for (int i = 0; i < DZ_RES; i++)
            if (dz.w[k].res[i].kind == RK_PAIR && dz.w[k].res[i].ghost)
                return true;
    return false;
}

/* Start of an operation: the counters it is to be compared by. */
static void dz_op_begin(void) {
    dz.mask_calls = dz_any_tainted();
    dz.mask_stale = dz_any_ghost();
    dz.mask_waits = false;
    for (int k = 0; k < dz.nw; k++) {
        po_get_stats(dz.w[k].p, &dz.w[k].base);
        dz.mask_events[k] = false;
    }
}

/* End of an operation: the logs, the channels, and what the kernel calls
 * of the operation counted, but for what a difference of the backends'
 * explains (docs/guide/differences.md). */
static void dz_op_end(void) {
    dz_compare_logs();
    dz_check();
    po_stats s[DZ_WORLDS];
    for (int k = 0; k < dz.nw; k++) {
        po_get_stats(dz.w[k].p, &s[k]);
        s[k].adds -= dz.w[k].base.adds;
        s[k].mods -= dz.w[k].base.mods;
        s[k].dels -= dz.w[k].base.dels;
        s[k].waits -= dz.w[k].base.waits;
        s[k].events -= dz.w[k].base.events;
        s[k].stale -= dz.w[k].base.stale;
    }
    dz.mask_calls |= dz_any_tainted();
    dz.mask_stale |= dz_any_ghost();
    for (int o = 1; o < dz.nw; o++) {
        dz.other = o;
        if (!dz.mask_waits)
            dz_same("kernel waits (po_stats)", -1, (long long)s[0].waits,
                    (long long)s[o].waits);
        if (!dz.mask_calls) {
            dz_same("adds (po_stats)", -1, (long long)s[0].adds,
                    (long long)s[o].adds);
            dz_same("mods (po_stats)", -1, (long long)s[0].mods,
                    (long long)s[o].mods);
            dz_same("dels (po_stats)", -1, (long long)s[0].dels,
                    (long long)s[o].dels);
        }
        if (!dz.mask_calls && !dz.mask_events[o])
            dz_same("events (po_stats)", -1, (long long)s[0].events,
                    (long long)s[o].events);
        if (!dz.mask_stale)
            dz_same("stale (po_stats)", -1, (long long)s[0].stale,
                    (long long)s[o].stale);
    }
    dz_op_begin();
}

/* ------------------------------------------------------------------------ */
/* Attaching, sockets, deleting                                             */

/* The socket to give a channel, chosen by b%8 (then the pick byte): none, a
 * new pair, a pair no channel holds, a pair a channel holds (refused), a
 * regular file, a directory, /dev/null (Windows: NUL), a negative
 * descriptor (POSIX; none on Windows).  *res is the slot, or -1. */
static po_socket dz_socket(dz_world *w, unsigned b, unsigned pick, int *res) {
    *res = -1;
    switch (b % 8) {
    case 1:
        *res = dz_new_res(w, RK_PAIR);
        break;
    case 2:
        *res = dz_pick(w, pick, PK_FREE_PAIR);
        if (*res < 0)
            *res = dz_new_res(w, RK_PAIR);
        break;
    case 3:
        *res = dz_pick(w, pick, PK_OWNED_PAIR);
        break;
    case 4:
        *res = dz_new_res(w, RK_FILE);
        break;
    case 5:
        *res = dz_new_res(w, RK_DIR);
        break;
    case 6:
        *res = dz_new_res(w, RK_NULL);
        break;
    case 7:
#ifndef _WIN32
        return -2 - (int)(pick % 3);
#else
        break;
#endif
    default:
        break;
    }
    return *res >= 0 ? w->res[*res].fd : PO_NO_SOCKET;
}

/* A slot made for a call that refused it goes back. */
static void dz_unused(dz_world *w, int res, unsigned b) {
    unsigned k = b % 8;
    if (res >= 0 && w->res[res].owner < 0 && k != 2 && k != 3)
        dz_close_res(w, res);
}

static void dz_attach(dz_world *w, int num, unsigned sockb, unsigned pick,
                      po_triggers wants) {
    dz_chan *c = &w->chan[num];
    int res;
    po_socket s = dz_socket(w, sockb, pick, &res);
    dz_chan fresh = {.magic = DZ_MAGIC,
                     .w = w,
                     .num = num,
                     .live = true,
                     .res = res,
                     .sock = s,
                     .wants = wants,
                     .flags = sockb >> 3,
                     .fresh = true};
    bool was_live = c->live;
    dz_chan saved = *c;
    if (!was_live)
        *c = fresh; /* ready for a callback, should one run */
    po_channel *ch = NULL;
    int rc = po_attach(w->p, dz_number(num), s, &dz_ops, c, &ch);
    dz_out(w, "po_attach", num, rc);
    dz_log("  %s: attach %d sock %lld (slot %d) wants %#x flags %#x: %d",
           w->backend, num, (long long)s, res, wants, sockb >> 3, rc);
    if (rc != PO_OK) {
        *c = saved;
        dz_unused(w, res, sockb);
        return;
    }
    if (was_live)
        dz_fail("%s: attach of live channel %d succeeded", w->backend, num);
    c->ch = ch;
    if (res >= 0)
        w->res[res].owner = num;
}

static void dz_set_socket(dz_world *w, dz_chan *c, unsigned sockb,
                          unsigned pick) {
    int res = c->res;
    po_socket s = c->sock;
    if (sockb % 9 != 8) /* 8: the same socket again */
        s = dz_socket(w, sockb, pick, &res);
    bool held = dz_kint(c) != 0;
    int rc = po_set_socket(c->ch, s);
    dz_out(w, "po_set_socket", c->num, rc);
    dz_log("  %s: set_socket %d sock %lld (slot %d): %d", w->backend, c->num,
           (long long)s, res, rc);
    if (rc != PO_OK) {
        if (res != c->res)
            dz_unused(w, res, sockb);
        return;
    }
    if (held)
        dz_unreg(w, c->res);
    if (res != c->res) {
        dz_release(c, false);
        c->res = res;
        if (res >= 0)
            w->res[res].owner = c->num;
    }
    c->sock = s;
    c->fresh = true;
    c->tainted = false;
}

static void dz_delete(dz_world *w, int num) {
    int rc = po_delete(w->p, dz_number(num));
    dz_out(w, "po_delete", num, rc);
    dz_log("  %s: delete %d: %d", w->backend, num, rc);
}

/* ------------------------------------------------------------------------ */
/* Behind the poller's back                                                 */

/*
 * The channel's socket is closed behind the poller's back, and its number
 * taken at once by /dev/null (dup2: no other socket of any world can get
 * it in between).  If the kernel did not hold the socket, the next add
 * meets /dev/null, which every backend refuses alike (PO_ERR, EPERM).  If
 * it did, the backends differ by design: epoll's registration went with the
 * socket, and nothing is reported until the next kernel call for the
 * channel fails (ENOENT), while poll watches whatever the number names now,
 * and reports /dev/null readable and writable.  The channel is then
 * "tainted": its act and errno, and the counters of kernel calls and
 * events, are not compared until it is given a socket again or deleted;
 * it is touched after every wait in every world, so that all probe it
 * alike (docs/guide/differences.md).
 */
static void dz_behind(dz_world *w, dz_chan *c) {
#ifdef _WIN32
    (void)w;
    (void)c;
#else
    dz_res *r = &w->res[c->res];
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0 || dup2(null, r->fd) != r->fd)
        dz_fail("dup2 of /dev/null failed");
    close(null);
    if (r->peer != DZ_NONE)
        sp_close(r->peer);
    r->peer = DZ_NONE;
    r->kind = RK_NULL;
    c->tainted = dz_kint(c) != 0;
    dz_log("  %s: channel %d's fd %d closed behind its back%s", w->backend,
           c->num, r->fd, c->tainted ? " (registered: tainted)" : "");
#endif
}

/* The channel's socket is closed behind the poller's back while a
 * duplicate keeps the connection open (a ghost), and the channel deleted:
 * epoll keeps the registration, whose events are stale from then on. */
static void dz_ghost(dz_world *w, dz_chan *c) {
    dz_res *r = &w->res[c->res];
    dz_sock dup = sp_dup(r->fd);
    if (dup == DZ_NONE)
        dz_fail("%s", sp_why());
    if (sp_close(r->fd) != 0)
        dz_fail("close behind the back failed");
    dz_log("  %s: channel %d's socket %lld closed behind its back, kept as "
           "%lld",
           w->backend, c->num, (long long)r->fd, (long long)dup);
    r->fd = dup;
    r->ghost = true;
    r->ghost_held = dz_kint(c) != 0;
    if (r->ghost_held)
        dz_unreg(w, c->res);
    dz_release(c, false);
    dz_delete(w, c->num);
}

/* ------------------------------------------------------------------------ */
/* The wait and the walk                                                    */

/* Windows: every end due to read something has it (see the header). */
static void dz_settle(dz_world *w) {
    dz_sock due[DZ_RES];
    sp_pollfd pfd[DZ_RES];
    size_t n = 0;
    for (int i = 0; i < DZ_RES; i++)
        if (w->res[i].kind == RK_PAIR && dz_due(&w->res[i], true))
            due[n++] = w->res[i].fd;
    if (n > 0 && sp_settle(due, n, pfd) != 0)
        dz_fail("%s", sp_why());
}

/* Whether the wait widened the channel's interest. */
static bool dz_widened(const dz_world *w, const dz_chan *c) {
    po_triggers before = w->pre_kint[c->num], now = dz_kint(c);
    return before != 0 && (now & ~before) != 0;
}

/*
 * Whether world w may lack channel c's kernel triggers at this wait, with
 * another world's: when its harvest was cut at max_events (the
 * backends take the ready sockets in different orders; on wepoll the
 * completions of cancelled poll requests, which bring no event, count
 * towards the cut), and on wepoll when other events were ready and this
 * wait made the socket's poll request: the first one for a socket put in
 * the kernel, one re-made for an interest widened, and the one that
 * follows the last wait's report of the socket.  Wine completes an AFD
 * poll request after the call that makes it, so a wait that finds other
 * completions already queued returns without it.
 */
static bool dz_may_lack(const dz_world *w, const dz_chan *c) {
    unsigned max = dz.max_events ? dz.max_events : 256;
    if (w->harvested + (uint64_t)w->cancels >= max)
        return true;
    bool made = (w->pre_kint[c->num] == 0 && dz_kint(c) != 0) ||
                dz_widened(w, c) || w->reported[c->num];
    return w->wepoll && w->harvested > 0 && made;
}

/*
 * A round in every world: po_wait() for timeout ms, or with `until`
 * po_wait_until() of the deadline b chooses (fq_until_at(), each world
 * reading its own clock), which, when it triggers nothing, must return at
 * or after its deadline (but see dz.uring), and may make more kernel waits than
 * one only if the deadline was ahead when it began; also when something
 * triggers if a kernel wait can take nothing but what triggers nothing (and is
 * then made again): a ghost's stale events (max_events may leave the live ones
 * to the next kernel wait), or on wepoll the completions of cancelled poll
 * requests.  The kernel waits are then not compared.
 */
static void dz_wait(int timeout, bool until, unsigned b) {
    for (int k = 0; k < dz.nw; k++) {
        dz_world *w = &dz.w[k];
        dz_settle(w);
        for (int i = 0; i < DZ_NUMS; i++)
            w->pre_kint[i] = dz_kint(&w->chan[i]);
        po_stats before, after;
        po_get_stats(w->p, &before);
        w->total = 0;
        po_time at = until ? fq_until_at(b) : 0;
        fq_mask was;
        fq_hold(&dz_quiet, &was);
        po_time start = po_now();
        w->rc = until ? po_wait_until(w->p, at, &w->total)
                      : po_wait(w->p, timeout, &w->total);
        po_time end = po_now();
        fq_release(&was);
        po_get_stats(w->p, &after);
        bool again_ok =
            until && at > start && (w->rc == 0 || w->wepoll || dz_any_ghost());
        if (until && w->rc == 0 && end < at && !dz.uring)
            dz_fail("%s: po_wait_until returned untriggered %llu ns before "
                    "its deadline",
                    w->backend, (unsigned long long)(at - end));
        if (after.waits - before.waits != 1 && !again_ok)
            dz_fail("%s: %llu kernel waits for a round that %s", w->backend,
                    (unsigned long long)(after.waits - before.waits),
                    w->rc ? "triggered" : "had no time to wait");
        dz.mask_waits |= again_ok;
        w->harvested =
            after.events + after.stale - before.events - before.stale;
        w->gone = NULL;

        /* What the wait returned is what the channels got. */
        int n = 0;
        po_triggers total = 0;
        for (int i = 0; i < DZ_NUMS; i++) {
            dz_chan *c = &w->chan[i];
            c->fresh = false;
            if (c->live && po_channel_act(c->ch) != 0) {
                n++;
                total |= po_channel_act(c->ch);
                dz_log("    channel %d: act %#x, errno %d", i,
                       po_channel_act(c->ch), po_channel_errno(c->ch));
            }
        }
        /* wepoll: a socket that left the kernel (since the last wait, or in
         * this one's phase A) or whose interest changed leaves a request
         * cancelled, or watching what is no longer wanted, whose completion
         * a wait takes, at once or later, without an event. */
        for (int i = 0; w->wepoll && i < DZ_NUMS; i++) {
            dz_chan *c = &w->chan[i];
            w->cancels +=
                c->live && w->pre_kint[i] != 0 && dz_kint(c) != w->pre_kint[i];
        }
        dz_log("  %s: wait: %d, total %#x, %llu events, %d cancelled",
               w->backend, w->rc, w->total, (unsigned long long)w->harvested,
               w->cancels);
        if (w->rc != n || w->total != (n ? total : PO_TIMEOUT))
            dz_fail("%s: wait returned %d, total %#x; %d channels have acts, "
                    "their OR %#x",
                    w->backend, w->rc, w->total, n, total);
    }
    /* masked[o]: w[o]'s act of some channel differs from w[0]'s (or a
     * channel is tainted); dz_acts_agree() judges each act, and the wait's
     * return value, total and events are not compared for that pair. */
    bool masked[DZ_WORLDS] = {false};
    for (int i = 0; i < DZ_NUMS; i++) {
        bool live = true, differ = false;
        for (int k = 0; k < dz.nw; k++) {
            dz.w[k].lack[i] = false;
            live = live && dz.w[k].chan[i].live;
        }
        if (!live)
            continue;
        const dz_chan *x = &dz.w[0].chan[i];
        for (int o = 1; o < dz.nw; o++) {
            bool d =
                po_channel_act(dz.w[o].chan[i].ch) != po_channel_act(x->ch);
            masked[o] |= d || x->tainted;
            differ |= d || x->tainted;
        }
        if (!differ)
            continue;
        for (int k = 0; k < dz.nw; k++) {
            dz_chan *c = &dz.w[k].chan[i];
            dz.w[k].lack[i] = dz_may_lack(&dz.w[k], c);
            dz_log("    channel %d: acts differ; %s may lack them: %d", i,
                   dz.w[k].backend, dz.w[k].lack[i]);
            /* Every world probes it at the next wait, whichever it
             * triggered. */
            po_touch(c->ch);
        }
    }
    unsigned max = dz.max_events ? dz.max_events : 256;
    for (int k = 0; k < dz.nw; k++) {
        dz_world *w = &dz.w[k];
        for (int i = 0; i < DZ_NUMS; i++) {
            dz_chan *c = &w->chan[i];
            w->reported[i] =
                c->live && dz_kint(c) != 0 &&
                (po_channel_act(c->ch) & (PO_KERNEL_TRIGGERS | PO_ERR)) != 0;
        }
        /* A wait that took fewer completions than it could took all those
         * that had come. */
        if (w->harvested + (uint64_t)w->cancels < max)
            w->cancels = 0;
    }
    for (int o = 1; o < dz.nw; o++) {
        dz.other = o;
        dz.mask_events[o] |= masked[o];
        if (!masked[o] && !dz_any_tainted()) {
            dz_same("po_wait", -1, dz.w[0].rc, dz.w[o].rc);
            dz_same("total", -1, dz.w[0].total, dz.w[o].total);
        } else {
            dz_same("po_wait < 0", -1, dz.w[0].rc < 0, dz.w[o].rc < 0);
        }
    }
}

/* What a walk of world w returns, as a set: the live channels with an act,
 * each once (order is each backend's: not compared). */
static void dz_survey(dz_world *w, bool *seen) {
    po_iter it = PO_ITER_INIT;
    memset(seen, 0, DZ_NUMS * sizeof *seen);
    for (po_channel *ch; (ch = po_next_triggered(w->p, &it)) != NULL;) {
        dz_chan *c = po_channel_ctx(ch);
        if (po_find(w->p, po_channel_chn(ch)) != ch)
            dz_fail("%s: the walk returned a channel not attached", w->backend);
        if (c == NULL || c->magic != DZ_MAGIC) {
            /* A notifier's ctx is its po_notifier: find its number. */
            c = NULL;
            for (int i = 0; i < DZ_NUMS && c == NULL; i++)
                if (w->chan[i].live && w->chan[i].ch == ch)
                    c = &w->chan[i];
            if (c == NULL)
                dz_fail("%s: the walk returned an unknown channel", w->backend);
        }
        if (seen[c->num])
            dz_fail("%s: the walk returned channel %d twice", w->backend,
                    c->num);
        if (po_channel_act(ch) == 0)
            dz_fail("%s: the walk returned channel %d without an act",
                    w->backend, c->num);
        seen[c->num] = true;
    }
    for (int i = 0; i < DZ_NUMS; i++) {
        dz_chan *c = &w->chan[i];
        bool acts = c->live && po_channel_act(c->ch) != 0;
        if (acts != seen[i])
            dz_fail("%s: channel %d has act %#x, and the walk %s it",
                    w->backend, i, c->live ? po_channel_act(c->ch) : 0,
                    seen[i] ? "returned" : "did not return");
    }
}

static void dz_surveys(void) {
    bool seen[DZ_WORLDS][DZ_NUMS];
    for (int k = 0; k < dz.nw; k++)
        dz_survey(&dz.w[k], seen[k]);
    dz_check(); /* each act, hence the sets, masked as for the wait */
}

static void dz_op(bool in_walk);

/*
 * One action for channel num, triggered in a world at least, chosen by a %
 * 12 (the walk reads one action byte per channel, and another while the
 * high bit is set): 0 nothing; 1 read its socket to the end; 2 read up to 1
 * + b % 64 bytes; 3 write 1 + b % DZ_MAXLEN bytes to its peer; 4 change its
 * own wants to b (its own turn: po_touch() only in a world that did not
 * trigger it); 5 delete it; 6 mark it; 7 stop the walk; 8 give it another
 * socket (b, pick as for set_sock); 9..11 any operation of dz_op() (a wait
 * among them stops the walk).  Returns whether the walk goes on.
 */
static bool dz_act(int num, unsigned a) {
    unsigned b = 0, pick = 0;
    switch (a % 12) {
    case 2:
    case 3:
    case 4:
        b = dz_byte();
        break;
    case 8:
        b = dz_byte();
        pick = dz_byte();
        break;
    case 7:
        return false;
    case 9:
    case 10:
    case 11:
        dz_op(true);
        return !dz.stop_walk;
    default:
        break;
    }
    for (int k = 0; k < dz.nw; k++) {
        dz_world *w = &dz.w[k];
        dz_chan *c = &w->chan[num];
        if (!c->live)
            continue;
        bool pair = c->res >= 0 && w->res[c->res].kind == RK_PAIR;
        switch (a % 12) {
        case 1:
            if (pair)
                dz_drain(w, c->res, true);
            break;
        case 2:
            if (pair)
                dz_read(w, c->res, true, 1 + b % 64);
            break;
        case 3:
            if (pair)
                dz_write(w, c->res, false, 1 + b % DZ_MAXLEN);
            break;
        case 4:
            if (c->notifier)
                break;
            c->wants = (po_triggers)b;
            if (po_channel_act(c->ch) == 0)
                po_touch(c->ch);
            break;
        case 5:
            dz_delete(w, num);
            break;
        case 6:
            po_mark_delete(c->ch);
            break;
        case 8:
            if (!c->notifier)
                dz_set_socket(w, c, b, pick);
            break;
        default:
            break;
        }
    }
    return true;
}

/* The walk, in the order of channel numbers, which the worlds share: a
 * channel is walked when any world triggered it, and each action is
 * applied to all.  What po_next_triggered() returns is compared as a set,
 * before the walk and after it (dz_surveys()). */
static void dz_walk(void) {
    dz.stop_walk = false;
    dz_surveys();
    for (int i = 0; i < DZ_NUMS && !dz.stop_walk; i++) {
        bool acts = false;
        for (int k = 0; k < dz.nw; k++) {
            dz_chan *c = &dz.w[k].chan[i];
            acts |= c->live && po_channel_act(c->ch) != 0;
        }
        if (!acts)
            continue;
        char name[32];
        snprintf(name, sizeof name, "walk, channel %d", i);
        dz_log("  %s", name);
        unsigned a;
        do {
            dz.opname = name;
            a = dz_byte();
            if (!dz_act(i, a & 0x7f))
                dz.stop_walk = true;
            dz_op_end();
        } while (!dz.stop_walk && (a & 0x80) && dz.w[0].chan[i].live &&
                 dz.pos < dz.len);
    }
    dz.opname = "walk";
    dz_surveys();
}

/* ------------------------------------------------------------------------ */
/* Operations                                                               */

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
    OP_NOTIFIER,
    OP_NOTIFY,
    OP_TAKE,
    OP_DEADLINE,
    OP_BEHIND,
    OP_GHOST,
    OP_CLOSE_FREE,
    OP_GONE,
    OP_ATTACH2, /* attach, wait and peer writes are the common operations */
    OP_WAIT2,
    OP_PEER_WRITE2,
    OP_WAIT_UNTIL,
    DZ_NOPS
};

static const char *const dz_opnames[DZ_NOPS] = {
    "attach",     "delete",     "delete_group", "mark",       "del_marked",
    "set_sock",   "wants",      "touch",        "peer_write", "peer_read",
    "peer_close", "peer_shut",  "read",         "write",      "wait",
    "notifier",   "notify",     "take",         "deadline",   "behind",
    "ghost",      "close_free", "gone",         "attach",     "wait",
    "peer_write", "wait_until"};

/* The operation's arguments, decoded once for every world. */
typedef struct dz_args {
    unsigned op, a[4];
    int nums[8];
    size_t n;
} dz_args;

/* How many argument bytes each operation reads after the opcode. */
static const uint8_t dz_nargs[DZ_NOPS] = {
    [OP_ATTACH] = 4,    [OP_ATTACH2] = 4,     [OP_SET_SOCKET] = 3,
    [OP_GROUP] = 1,     [OP_WANTS] = 2,       [OP_PEER_WRITE] = 2,
    [OP_WRITE] = 2,     [OP_PEER_WRITE2] = 2, [OP_READ] = 2,
    [OP_NOTIFIER] = 2,  [OP_NOTIFY] = 2,      [OP_TAKE] = 2,
    [OP_DEADLINE] = 2,  [OP_DELETE] = 1,      [OP_MARK] = 1,
    [OP_TOUCH] = 1,     [OP_PEER_READ] = 1,   [OP_PEER_CLOSE] = 1,
    [OP_PEER_SHUT] = 1, [OP_WAIT] = 1,        [OP_WAIT2] = 1,
    [OP_BEHIND] = 1,    [OP_GHOST] = 1,       [OP_CLOSE_FREE] = 1,
    [OP_WAIT_UNTIL] = 1};

/* The live channel of number b in world w (an application's, not a
 * notifier, when app), or NULL. */
static dz_chan *dz_live(dz_world *w, unsigned b, bool app) {
    dz_chan *c = &w->chan[b % DZ_NUMS];
    return c->live && !(app && c->notifier) ? c : NULL;
}

static void dz_notifier(dz_world *w, int num, size_t capacity) {
    dz_chan *c = &w->chan[num];
    po_notifier *n = NULL;
    po_channel *ch = NULL;
    int rc = po_notifier_attach(w->p, dz_number(num), capacity, &n, &ch);
    dz_out(w, "po_notifier_attach", num, rc);
    if (rc != PO_OK)
        return;
    *c = (dz_chan){.magic = DZ_MAGIC,
                   .w = w,
                   .num = num,
                   .live = true,
                   .notifier = true,
                   .ch = ch,
                   .n = n,
                   .res = -1};
    c->sock = po_channel_socket(ch);
}

/* The calls a channel pointer allows after its deletion, until the next
 * wait. */
static void dz_gone(dz_world *w) {
    po_channel *ch = w->gone;
    if (ch == NULL)
        return;
    po_touch(ch);
    po_mark_delete(ch);
    dz_out(w, "gone: po_set_socket", -1, po_set_socket(ch, PO_NO_SOCKET));
    dz_out(w, "gone: po_set_deadline", -1, po_set_deadline(ch, 1));
    dz_out(w, "gone: po_channel_deadline", -1,
           (long long)po_channel_deadline(ch));
    dz_out(w, "gone: po_channel_act", -1, po_channel_act(ch));
}

static void dz_apply(dz_world *w, const dz_args *g) {
    dz_chan *c = NULL;
    int slot;
    const unsigned *a = g->a;
    switch (g->op) {
    case OP_ATTACH:
    case OP_ATTACH2:
        dz_attach(w, (int)(a[0] % DZ_NUMS), a[1], a[2], (po_triggers)a[3]);
        break;
    case OP_DELETE:
        dz_delete(w, (int)(a[0] % DZ_NUMS));
        break;
    case OP_GROUP: {
        po_chn chns[8];
        for (size_t i = 0; i < g->n; i++)
            chns[i] = dz_number(g->nums[i]);
        dz_out(w, "po_delete_group", -1, po_delete_group(w->p, chns, g->n));
        break;
    }
    case OP_MARK:
        if ((c = dz_live(w, a[0], false)) != NULL)
            po_mark_delete(c->ch);
        break;
    case OP_DELETE_MARKED:
        dz_out(w, "po_delete_marked", -1, po_delete_marked(w->p));
        break;
    case OP_SET_SOCKET:
        if ((c = dz_live(w, a[0], true)) != NULL)
            dz_set_socket(w, c, a[1], a[2]);
        break;
    case OP_WANTS:
    case OP_TOUCH:
        if ((c = dz_live(w, a[0], true)) != NULL) {
            if (g->op == OP_WANTS)
                c->wants = (po_triggers)a[1];
            po_touch(c->ch);
        }
        break;
    case OP_PEER_WRITE:
    case OP_PEER_WRITE2:
    case OP_WRITE:
        if ((slot = dz_pick(w, a[0], PK_PAIR)) >= 0)
            dz_write(w, slot, g->op == OP_WRITE, 1 + a[1] % DZ_MAXLEN);
        break;
    case OP_READ:
        if ((slot = dz_pick(w, a[0], PK_PAIR)) >= 0)
            dz_read(w, slot, true, 1 + a[1] % 256);
        break;
    case OP_PEER_READ:
    case OP_PEER_CLOSE:
    case OP_PEER_SHUT:
        slot = dz_pick(w, a[0], PK_PAIR);
        if (slot < 0 || w->res[slot].peer == DZ_NONE)
            break;
        if (g->op == OP_PEER_READ) {
            dz_drain(w, slot, false);
        } else if (g->op == OP_PEER_CLOSE) {
            dz_peer_close(w, slot);
        } else if (!w->res[slot].peer_shut) {
            dz_out(w, "peer shutdown", slot,
                   sp_shutdown_send(w->res[slot].peer));
            w->res[slot].peer_shut = true;
        }
        break;
    case OP_NOTIFIER:
        dz_notifier(w, (int)(a[0] % DZ_NUMS), a[1] % 10);
        break;
    case OP_NOTIFY:
        for (unsigned i = 0; (c = dz_live(w, a[0], false)) != NULL &&
                             c->notifier && i < 1 + a[1] % 8;
             i++) {
            int rc = po_notify(c->n, c->next_value);
            dz_out(w, "po_notify", c->num, rc);
            if (rc == PO_OK)
                c->next_value++;
        }
        break;
    case OP_TAKE:
        for (unsigned i = 0; (c = dz_live(w, a[0], false)) != NULL &&
                             c->notifier && i < 1 + a[1] % 8;
             i++) {
            uint64_t v = 0;
            int rc = po_notifier_take(c->n, &v);
            dz_out(w, "po_notifier_take", c->num, rc);
            dz_out(w, "payload taken", c->num, (long long)v);
        }
        break;
    case OP_DEADLINE:
        if ((c = dz_live(w, a[0], false)) != NULL)
            dz_out(w, "po_set_deadline", c->num,
                   po_set_deadline(c->ch, a[1] % 4 ? (po_time)a[1] : PO_NEVER));
        break;
    case OP_BEHIND:
    case OP_GHOST:
        c = dz_live(w, a[0], true);
        if (c == NULL || c->res < 0 || w->res[c->res].kind != RK_PAIR ||
            w->res[c->res].ghost)
            break;
        if (g->op == OP_BEHIND)
            dz_behind(w, c);
        else
            dz_ghost(w, c);
        break;
    case OP_CLOSE_FREE:
        if ((slot = dz_pick(w, a[0], PK_UNOWNED)) >= 0)
            dz_close_res(w, slot);
        break;
    case OP_GONE:
        dz_gone(w);
        break;
    default:
        break;
    }
}

/*
 * One operation, decoded here once and applied to each world
 * (dz_apply()).  Arguments, one byte each:
 *   attach        number, socket (b%8: dz_socket(); b>>3: flags FL_*),
 *                 pick, wants
 *   delete, mark, touch   number;   wants   number, wants (and po_touch())
 *   delete_group  count (1..8), numbers
 *   set_sock      number, socket (b%9: as attach, or 8: the same), pick
 *   peer_write, write     slot, length;   read   slot, length
 *   peer_read, peer_close, peer_shut      slot
 *   wait          timeout (b == 255: 1 ms, else 0), then the walk
 *   wait_until    deadline (fq_until_at()), then the walk
 *   notifier      number, capacity (b%10; 0 is the default)
 *   notify, take  number, count (1..8)
 *   deadline      number, b (b%4 == 0: PO_NEVER, else b ns: long past)
 *   behind        number: its socket closed behind the poller's back
 *                 (POSIX; dz_behind())
 *   ghost         number: the same with a duplicate kept, then deleted
 *   close_free    slot: closes a socket or file no channel holds
 *   gone          the calls a channel deleted since the last wait allows
 * Inside a walk, a wait stops the walk instead.
 */
static void dz_op(bool in_walk) {
    dz_args g;
    memset(&g, 0, sizeof g);
    g.op = dz_byte() % DZ_NOPS;
    for (unsigned i = 0; i < dz_nargs[g.op]; i++)
        g.a[i] = dz_byte();
    if (g.op == OP_GROUP) {
        g.n = 1 + g.a[0] % 8;
        for (size_t i = 0; i < g.n; i++)
            g.nums[i] = (int)(dz_byte() % DZ_NUMS);
    }
    /* The name stays until the next operation: the checks that follow it
     * (dz_op_end()) report under it. */
    dz.opname = dz_opnames[g.op];
    dz.nop++;
    dz_log("op #%u %s%s", dz.nop, dz.opname, in_walk ? " (in walk)" : "");
    if (g.op == OP_WAIT || g.op == OP_WAIT2 || g.op == OP_WAIT_UNTIL) {
        if (in_walk) {
            dz.stop_walk = true; /* a wait in a walk ends it */
        } else {
            dz_wait(g.a[0] == 255 ? 1 : 0, g.op == OP_WAIT_UNTIL, g.a[0]);
            dz_walk();
        }
    } else {
        for (int k = 0; k < dz.nw; k++)
            dz_apply(&dz.w[k], &g);
    }
}

/* ------------------------------------------------------------------------ */
/* One input                                                                */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A backend the kernel refuses here (io_uring under a container's seccomp
 * profile, the io_uring_disabled sysctl, an old kernel) is left out, said
 * once; the others are compared still. */
static void dz_pick_backends(void) {
    for (int k = 0; k < DZ_NBACKENDS; k++) {
        po_options opt;
        memset(&opt, 0, sizeof opt);
        opt.backend = dz_backends[k].kind;
        int err = 0;
        errno = 0;
        po_poller *p = po_create(&opt, &err);
        if (p != NULL) {
            po_destroy(p);
            dz_in_play[dz.nw++] = &dz_backends[k];
            dz.uring |= strcmp(dz_backends[k].name, "uring") == 0;
        } else if (k > 0 && err == PO_ENOTSUP) {
            fprintf(stderr, "polleros diff: %s left out: %s (%s)\n",
                    dz_backends[k].name, po_strerror(err), strerror(errno));
        } else {
            fprintf(stderr, "polleros diff: %s: %s\n", dz_backends[k].name,
                    po_strerror(err));
            exit(2);
        }
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    if (sp_start() != 0) {
        fprintf(stderr, "polleros diff: %s\n", sp_why());
        exit(2);
    }
    dz_files_start();
    atexit(dz_files_stop);
    fq_all(&dz_quiet);
    const char *t = getenv("POLLEROS_FUZZ_TRACE");
    dz_trace = t != NULL && *t != '\0' && strcmp(t, "0") != 0;
    const char *m = getenv("POLLEROS_FUZZ_RECONCILE");
    if (m != NULL && strcmp(m, "changed") == 0)
        dz_forced_mode = 0;
    else if (m != NULL && strcmp(m, "full") == 0)
        dz_forced_mode = 1;
    else if (m != NULL && *m != '\0') {
        fprintf(stderr, "POLLEROS_FUZZ_RECONCILE: changed or full\n");
        exit(2);
    }
    dz_pick_backends();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    dz.in = data;
    dz.len = size;
    dz.pos = 0;
    dz.nop = 0;
    dz.opname = "create";
    unsigned cfg = dz_byte();
    int full = dz_forced_mode >= 0 ? dz_forced_mode : (int)(cfg & 1);
    dz.changed = !full;
    dz.max_events = dz_max_events[(cfg >> 1) & 7];
    dz.other = 1;
    for (int k = 0; k < dz.nw; k++) {
        dz_world *w = &dz.w[k];
        memset(w, 0, offsetof(dz_world, log));
        w->backend = dz_in_play[k]->name;
    }
    for (int k = 0; k < dz.nw; k++) {
        dz_world *w = &dz.w[k];
        po_options opt;
        memset(&opt, 0, sizeof opt);
        opt.backend = dz_in_play[k]->kind;
        opt.reconcile = full ? PO_RECONCILE_FULL : PO_RECONCILE_CHANGED;
        opt.max_events = dz.max_events;
        int err = 0;
        w->p = po_create(&opt, &err);
        if (w->p == NULL)
            dz_fail("po_create of %s: %s", w->backend, po_strerror(err));
        if (strcmp(po_backend_name(w->p), w->backend) != 0)
            dz_fail("%s: po_create gave %s", w->backend, po_backend_name(w->p));
        w->wepoll = strcmp(w->backend, "wepoll") == 0;
        for (int i = 0; i < DZ_NUMS; i++)
            w->chan[i].res = -1;
    }
    dz_log("input of %zu bytes: %s vs %s%s%s, %s, max_events %u", size,
           dz.w[0].backend, dz.w[1].backend, dz.nw > 2 ? " and " : "",
           dz.nw > 2 ? dz.w[2].backend : "", dz.changed ? "changed" : "full",
           dz.max_events);
    dz_op_begin();
    while (dz.pos < dz.len) {
        dz_op(false);
        dz_op_end();
    }

    /* A last round sees the last operations' effects. */
    dz.opname = "final wait";
    dz.in = NULL;
    dz.pos = dz.len = 0;
    dz_wait(0, false, 0);
    dz_walk();
    dz_op_end();

    /* po_destroy() deinits every channel once, in an order of its own. */
    dz.opname = "destroy";
    for (int k = 0; k < dz.nw; k++) {
        dz_world *w = &dz.w[k];
        w->destroying = true;
        dz_out(w, "po_destroy", -1, po_destroy(w->p));
        w->p = NULL;
        for (int i = 0; i < DZ_NUMS; i++)
            if (w->chan[i].live && !w->chan[i].notifier)
                dz_fail("%s: po_destroy did not deinit channel %d", w->backend,
                        i);
        for (int i = 0; i < DZ_RES; i++)
            if (w->res[i].kind != RK_FREE)
                dz_close_res(w, i);
    }
    dz_compare_logs();
    return 0;
}
