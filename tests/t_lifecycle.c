/*
 * Conformance: the channel lifecycle.  SeqN assignment, refusals, deinit
 * exactly once on every path, mutation during a walk, scale beyond the fd
 * limit, re-entry from callbacks, the walk's lifetime, backend choice and
 * allocation failure at every allocation of a scenario.
 */
#include "harness.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Helpers of this file                                                      */

/* Every socket pair a case opens, closed by l_close_all(). */
enum { L_MAXPAIRS = 1024 };
static t_sock l_pairs[L_MAXPAIRS][2];
static int l_npairs;

static void l_pair(t_sock sv[2]) {
    t_socketpair(sv);
    CHECK(l_npairs < L_MAXPAIRS);
    l_pairs[l_npairs][0] = sv[0];
    l_pairs[l_npairs][1] = sv[1];
    l_npairs++;
}

/* A socket closed by the test (or a deinit) already. */
static void l_forget_fd(t_sock fd) {
    for (int i = 0; i < l_npairs; i++)
        for (int k = 0; k < 2; k++)
            if (l_pairs[i][k] == fd)
                l_pairs[i][k] = T_NO_SOCK;
}

static void l_close_all(void) {
    for (int i = 0; i < l_npairs; i++) {
        t_sock *sv = l_pairs[i];
        if (sv[0] != T_NO_SOCK && sv[1] != T_NO_SOCK)
            t_pair_done(sv);
        else if (sv[0] != T_NO_SOCK)
            t_close(sv[0]);
        else if (sv[1] != T_NO_SOCK)
            t_close(sv[1]);
    }
    l_npairs = 0;
}

/*
 * A channel that records what the poller does to it.  `fd` is the socket the
 * channel watches (T_NO_SOCK: none), `peer` the other end of its pair, `ready`
 * says bytes were written to the peer and not yet read.
 */
typedef struct l_chan {
    po_triggers want;
    po_chn chn;
    po_channel *ch;
    po_seqn seqn;
    t_sock fd;
    t_sock peer;
    bool ready;
    bool close_in_deinit;
    int probes;
    int deinits;
    int visits;
    int bad; /* a callback saw the wrong channel, ctx, number or socket */
} l_chan;

static po_triggers l_probe(po_channel *ch, void *ctx) {
    l_chan *c = ctx;
    if (ch != c->ch || c->deinits != 0)
        c->bad++;
    c->probes++;
    return c->want;
}

static void l_deinit(po_channel *ch, void *ctx) {
    l_chan *c = ctx;
    c->deinits++;
    if (ch != c->ch || po_channel_ctx(ch) != ctx ||
        po_channel_chn(ch) != c->chn || po_channel_socket(ch) != c->fd)
        c->bad++;
    /* The poller no longer watches the socket: deinit may close it. */
    if (c->close_in_deinit && c->fd != T_NO_SOCK) {
        t_close(c->fd);
        l_forget_fd(c->fd);
    }
}

static const po_channel_ops l_ops = {l_probe, l_deinit};

static void l_init(l_chan *c, po_chn chn, t_sock fd, t_sock peer,
                   po_triggers want) {
    memset(c, 0, sizeof *c);
    c->chn = chn;
    c->fd = fd;
    c->peer = peer;
    T_WANT(c, want);
}

static po_channel *l_attach(po_poller *p, l_chan *c) {
    po_channel *ch = NULL;
    CHECK_EQ(po_attach(p, c->chn, c->fd, &l_ops, c, &ch), PO_OK);
    CHECK(ch != NULL);
    c->ch = ch;
    c->seqn = po_channel_seqn(ch);
    CHECK_EQ(po_channel_chn(ch), c->chn);
    CHECK(po_channel_ctx(ch) == c);
    CHECK(po_channel_socket(ch) == c->fd);
    CHECK(po_find(p, c->chn) == ch);
    return ch;
}

/* A channel attached with a fresh socket pair. */
static po_channel *l_attach_pair(po_poller *p, l_chan *c, po_chn chn,
                                 po_triggers want) {
    t_sock sv[2];
    l_pair(sv);
    l_init(c, chn, sv[0], sv[1], want);
    return l_attach(p, c);
}

static void l_poke(l_chan *c) {
    CHECK(c->peer != T_NO_SOCK);
    t_write_all(c->peer, "x", 1);
    c->ready = true;
}

static void l_drain(l_chan *c) {
    char buf[256];
    long got = 0, r;
    while ((r = t_read_some(c->fd, buf, sizeof buf)) > 0)
        got += r;
    CHECK(got > 0);
    c->ready = false;
}

static bool l_live(const l_chan *c) { return c->ch != NULL && c->deinits == 0; }

/* What the channel must be triggered with in a round; 0 for nothing. */
static po_triggers l_expect(const l_chan *c) {
    if (!l_live(c))
        return 0;
    po_triggers t = c->want & PO_INTERNAL_TRIGGERS;
    if ((c->want & PO_RECV) && c->fd != T_NO_SOCK && c->ready)
        t |= PO_RECV;
    if ((c->want & PO_SEND) && c->fd != T_NO_SOCK)
        t |= PO_SEND;
    return t;
}

static l_chan *l_find_ctx(l_chan *const *set, int n, const void *ctx) {
    for (int i = 0; i < n; i++)
        if (set[i] == ctx)
            return set[i];
    return NULL;
}

/* Walks the last round with a fresh iterator: every visited channel is one of
 * set[0..n), live, visited once.  Sets visits; returns how many. */
static int l_walk(po_poller *p, l_chan *const *set, int n) {
    for (int i = 0; i < n; i++)
        set[i]->visits = 0;
    int walked = 0;
    po_iter it = PO_ITER_INIT;
    for (po_channel *ch; (ch = po_next_triggered(p, &it)) != NULL;) {
        l_chan *c = l_find_ctx(set, n, po_channel_ctx(ch));
        CHECK(c != NULL);
        CHECK(c->ch == ch);
        CHECK_EQ(c->deinits, 0);
        CHECK(po_channel_act(ch) != 0);
        CHECK_EQ(++c->visits, 1);
        walked++;
    }
    CHECK(po_next_triggered(p, &it) == NULL);
    return walked;
}

/* One po_wait; the triggered set, each act and the total must be exactly
 * what the model of set[0..n) says. */
static int l_round(po_poller *p, l_chan *const *set, int n) {
    int expect = 0;
    po_triggers expect_total = 0;
    for (int i = 0; i < n; i++) {
        po_triggers t = l_expect(set[i]);
        if (t) {
            expect++;
            expect_total |= t;
        }
    }
    po_triggers total = 0;
    int got = po_wait(p, expect ? 2000 : 0, &total);
    CHECK_EQ(got, expect);
    CHECK_EQ(total, expect ? expect_total : PO_TIMEOUT);
    CHECK_EQ(l_walk(p, set, n), expect);
    for (int i = 0; i < n; i++) {
        po_triggers t = l_expect(set[i]);
        CHECK_EQ(set[i]->visits, t != 0);
        if (t)
            CHECK_EQ(po_channel_act(set[i]->ch), t);
    }
    return got;
}

/* An allocator over the C library's, for cases that only need a complete
 * one. */
static void *plain_malloc(size_t n, void *ctx) {
    (void)ctx;
    return malloc(n);
}
static void *plain_realloc(void *ptr, size_t n, void *ctx) {
    (void)ctx;
    return realloc(ptr, n);
}
static void plain_free(void *ptr, void *ctx) {
    (void)ctx;
    free(ptr);
}

/* ------------------------------------------------------------------------ */
/* SeqN                                                                      */

void case_attach_monotonic_seqn(void) {
    enum { N = 10, RE = 3 };
    static const po_chn nums[N] = {10, 0,     UINT64_MAX,        3, 7, 1,
                                   2,  99999, UINT64_C(1) << 40, 42};
    po_poller *p = t_poller();
    l_chan c[N], again[RE], late;
    CHECK_EQ(po_count(p), 0);
    for (int i = 0; i < N; i++) {
        l_init(&c[i], nums[i], T_NO_SOCK, T_NO_SOCK, 0);
        l_attach(p, &c[i]);
        CHECK_EQ(c[i].seqn, i + 1);
        CHECK_EQ(po_count(p), i + 1);
    }
    /* Every map grew meanwhile: each number still finds its channel. */
    for (int i = 0; i < N; i++) {
        CHECK(po_find(p, nums[i]) == c[i].ch);
        CHECK_EQ(po_channel_seqn(c[i].ch), i + 1);
        CHECK_EQ(po_channel_chn(c[i].ch), nums[i]);
    }
    /* A wait does not renumber. */
    CHECK(po_wait(p, 0, NULL) >= 0);
    for (int i = 0; i < N; i++)
        CHECK_EQ(po_channel_seqn(c[i].ch), i + 1);

    po_seqn next = N + 1, last = N;
    /* Deleting and re-attaching a number never gives an old SeqN back. */
    for (int r = 0; r < RE; r++) {
        l_chan *old = r == 0 ? &c[3] : &again[r - 1];
        CHECK_EQ(po_delete(p, nums[3]), PO_OK);
        CHECK_EQ(old->deinits, 1);
        CHECK_EQ(po_count(p), N - 1);
        CHECK(po_find(p, nums[3]) == NULL);
        l_init(&again[r], nums[3], T_NO_SOCK, T_NO_SOCK, 0);
        l_attach(p, &again[r]);
        CHECK_EQ(again[r].seqn, next);
        CHECK(again[r].seqn > last);
        last = again[r].seqn;
        next++;
        CHECK_EQ(po_count(p), N);
    }
    /* Also the number 0 and the largest number. */
    for (int k = 1; k <= 2; k++) {
        l_chan *z = &c[k];
        CHECK_EQ(po_delete(p, nums[k]), PO_OK);
        CHECK_EQ(z->deinits, 1);
        l_init(z, nums[k], T_NO_SOCK, T_NO_SOCK, 0);
        l_attach(p, z);
        CHECK_EQ(z->seqn, next++);
    }

    /* po_set_socket gives a new SeqN each time; the pointer stays. */
    t_sock sv[2];
    l_pair(sv);
    po_channel *ch0 = c[0].ch;
    CHECK_EQ(po_set_socket(ch0, sv[0]), PO_OK);
    c[0].fd = sv[0];
    CHECK_EQ(po_channel_seqn(ch0), next++);
    CHECK(po_find(p, nums[0]) == ch0);
    CHECK(po_channel_socket(ch0) == sv[0]);
    T_WANT(&c[0], PO_RECV);
    CHECK(po_wait(p, 0, NULL) >= 0); /* registers it */
    CHECK_EQ(po_channel_seqn(ch0), next - 1);
    CHECK_EQ(po_set_socket(ch0, sv[0]), PO_OK); /* the same socket again */
    CHECK_EQ(po_channel_seqn(ch0), next++);
    CHECK_EQ(po_set_socket(ch0, PO_NO_SOCKET), PO_OK);
    c[0].fd = T_NO_SOCK;
    CHECK_EQ(po_channel_seqn(ch0), next++);
    CHECK(po_channel_socket(ch0) == PO_NO_SOCKET);
    CHECK(po_find(p, nums[0]) == ch0);
    CHECK_EQ(po_count(p), N);

    /* The channels nobody touched kept their SeqN. */
    for (int i = 4; i < N; i++) {
        CHECK_EQ(po_channel_seqn(c[i].ch), i + 1);
        CHECK(po_find(p, nums[i]) == c[i].ch);
    }
    /* And the next attach continues the sequence. */
    l_init(&late, 5555, T_NO_SOCK, T_NO_SOCK, 0);
    l_attach(p, &late);
    CHECK_EQ(late.seqn, next);
    CHECK_EQ(po_count(p), N + 1);

    /* Deleting counts down. */
    CHECK_EQ(po_delete(p, 5555), PO_OK);
    CHECK_EQ(po_delete(p, nums[9]), PO_OK);
    CHECK_EQ(po_count(p), N - 1);
    po_destroy(p);
    for (int i = 0; i < N; i++)
        CHECK_EQ(c[i].bad, 0);

    /* SeqNs belong to a poller: another one starts at 1. */
    po_poller *q = t_poller();
    l_chan first;
    l_init(&first, nums[0], T_NO_SOCK, T_NO_SOCK, 0);
    l_attach(q, &first);
    CHECK_EQ(first.seqn, 1);
    po_destroy(q);
    CHECK_EQ(first.deinits, 1);
    l_close_all();
}

/* SeqNs under churn: channels that live on while others come and go, and
 * renew their own SeqN now and then.  Each new SeqN is above every one
 * before it, and every event reaches the channel of its socket, however the
 * SeqNs of the living and the new fall. */
void case_seqn_churn_resolves(void) {
    enum { LIVE = 5, ROUNDS = 400 };
    po_poller *p = t_poller();
    l_chan live[LIVE], tmp;
    po_seqn last = 0;
    for (int i = 0; i < LIVE; i++) {
        l_attach_pair(p, &live[i], (po_chn)i, PO_RECV);
        CHECK(live[i].seqn > last);
        last = live[i].seqn;
    }
    t_sock sv[2];
    l_pair(sv);
    for (int r = 0; r < ROUNDS; r++) {
        l_init(&tmp, 1000 + (po_chn)r, sv[0], sv[1], PO_RECV);
        l_attach(p, &tmp);
        CHECK(tmp.seqn > last);
        last = tmp.seqn;
        if (r % 7 == 3) {
            l_chan *c = &live[r % LIVE];
            CHECK_EQ(po_set_socket(c->ch, c->fd), PO_OK);
            CHECK(po_channel_seqn(c->ch) > last);
            last = c->seqn = po_channel_seqn(c->ch);
        }
        if (r % 10 == 0) {
            l_chan *a = &live[r % LIVE], *b = &live[(r / 10) % LIVE];
            l_poke(a);
            l_poke(b);
            l_poke(&tmp);
            int want = a == b ? 2 : 3;
            CHECK_EQ(po_wait(p, 2000, NULL), want);
            po_iter it = PO_ITER_INIT;
            for (po_channel *ch; (ch = po_next_triggered(p, &it)) != NULL;) {
                l_chan *c = po_channel_ctx(ch);
                CHECK(c == a || c == b || c == &tmp);
                CHECK_EQ(po_channel_act(ch), PO_RECV);
                CHECK_EQ(po_channel_seqn(ch), c->seqn);
                c->visits++;
                l_drain(c);
            }
        }
        CHECK_EQ(po_delete(p, tmp.chn), PO_OK);
        CHECK_EQ(tmp.deinits, 1);
    }
    CHECK(po_wait(p, 0, NULL) == 0);
    po_destroy(p);
    for (int i = 0; i < LIVE; i++) {
        CHECK(live[i].visits > 0);
        CHECK_EQ(live[i].bad, 0);
    }
    l_close_all();
}

/* ------------------------------------------------------------------------ */
/* Refusals                                                                  */

void case_attach_duplicate_refused(void) {
    static const po_chn nums[3] = {5, 0, UINT64_MAX};
    po_poller *p = t_poller();
    l_chan orig[3], dup, fresh;
    t_sock sv[2], other[2];
    l_pair(sv);
    l_pair(other);
    l_init(&orig[0], nums[0], sv[0], sv[1], PO_RECV);
    l_init(&orig[1], nums[1], T_NO_SOCK, T_NO_SOCK, 0);
    l_init(&orig[2], nums[2], T_NO_SOCK, T_NO_SOCK, PO_POOL);
    for (int i = 0; i < 3; i++)
        l_attach(p, &orig[i]);
    l_init(&dup, 0, other[0], other[1], PO_RECV | PO_POOL);

    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < 3; i++) {
            po_channel *out = NULL;
            CHECK_EQ(po_attach(p, nums[i], PO_NO_SOCKET, &l_ops, &dup, &out),
                     PO_EEXIST);
            CHECK_EQ(po_attach(p, nums[i], other[0], &l_ops, &dup, &out),
                     PO_EEXIST);
            CHECK_EQ(po_attach(p, nums[i], other[0], &l_ops, &dup, NULL),
                     PO_EEXIST);
        }
        /* Nothing changed. */
        CHECK_EQ(po_count(p), 3);
        for (int i = 0; i < 3; i++) {
            CHECK(po_find(p, nums[i]) == orig[i].ch);
            CHECK(po_channel_ctx(orig[i].ch) == &orig[i]);
            CHECK_EQ(po_channel_seqn(orig[i].ch), i + 1);
            CHECK_EQ(po_channel_chn(orig[i].ch), nums[i]);
            CHECK_EQ(orig[i].deinits, 0);
        }
        CHECK(po_channel_socket(orig[0].ch) == sv[0]);
        /* The originals still work; the refused ops are never called. */
        l_chan *set[3] = {&orig[0], &orig[1], &orig[2]};
        l_poke(&orig[0]);
        l_round(p, set, 3);
        l_drain(&orig[0]);
        CHECK_EQ(dup.probes, 0);
        CHECK_EQ(dup.deinits, 0);
    }

    /* The refused attach took no SeqN and did not take its socket. */
    l_init(&fresh, 6, other[0], other[1], PO_RECV);
    l_attach(p, &fresh);
    CHECK_EQ(fresh.seqn, 4);
    CHECK_EQ(po_count(p), 4);

    po_destroy(p);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(orig[i].deinits, 1);
        CHECK_EQ(orig[i].bad, 0);
    }
    CHECK_EQ(fresh.deinits, 1);
    CHECK_EQ(dup.deinits, 0);
    CHECK_EQ(dup.probes, 0);
    l_close_all();
}

void case_delete_unknown_refused(void) {
    po_poller *p = t_poller();
    /* An empty poller knows no number, not even 0. */
    CHECK_EQ(po_delete(p, 1), PO_ENOENT);
    CHECK_EQ(po_delete(p, 0), PO_ENOENT);
    CHECK_EQ(po_delete(p, UINT64_MAX), PO_ENOENT);
    CHECK_EQ(po_count(p), 0);

    l_chan c[3];
    l_init(&c[0], 1, T_NO_SOCK, T_NO_SOCK, PO_POOL);
    l_init(&c[1], 2, T_NO_SOCK, T_NO_SOCK, 0);
    l_attach_pair(p, &c[2], 3, PO_RECV);
    l_attach(p, &c[0]);
    l_attach(p, &c[1]);
    l_chan *set[3] = {&c[0], &c[1], &c[2]};

    static const po_chn unknown[] = {0, 4, UINT64_MAX, 1000, UINT64_C(1) << 33};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        CHECK_EQ(po_delete(p, unknown[i]), PO_ENOENT);
    CHECK_EQ(po_count(p), 3);
    for (int i = 0; i < 3; i++) {
        CHECK(po_find(p, c[i].chn) == c[i].ch);
        CHECK_EQ(po_channel_seqn(c[i].ch), c[i].seqn);
        CHECK_EQ(c[i].deinits, 0);
    }

    /* An already deleted number. */
    CHECK_EQ(po_delete(p, 2), PO_OK);
    CHECK_EQ(c[1].deinits, 1);
    CHECK_EQ(po_delete(p, 2), PO_ENOENT);
    CHECK_EQ(c[1].deinits, 1);
    CHECK_EQ(po_count(p), 2);

    /* Deleted while on the triggered list (its memory is kept for the walk):
     * still unknown to a second delete, and never deinited twice. */
    l_poke(&c[2]);
    l_round(p, set, 3);
    CHECK_EQ(po_delete(p, 1), PO_OK);
    CHECK_EQ(po_delete(p, 1), PO_ENOENT);
    CHECK_EQ(c[0].deinits, 1);
    CHECK_EQ(po_delete(p, 3), PO_OK);
    CHECK_EQ(po_delete(p, 3), PO_ENOENT);
    CHECK_EQ(c[2].deinits, 1);
    CHECK_EQ(po_count(p), 0);
    /* ... and after the next wait forgot them. */
    CHECK_EQ(po_wait(p, 0, NULL), 0);
    CHECK_EQ(po_delete(p, 1), PO_ENOENT);
    CHECK_EQ(po_delete(p, 3), PO_ENOENT);
    po_chn grp[3] = {1, 2, 3};
    CHECK_EQ(po_delete_group(p, grp, 3), 0);

    /* The refusals took no SeqN. */
    l_chan after;
    l_init(&after, 2, T_NO_SOCK, T_NO_SOCK, 0);
    l_attach(p, &after);
    CHECK_EQ(after.seqn, 4);
    po_destroy(p);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(c[i].deinits, 1);
        CHECK_EQ(c[i].bad, 0);
    }
    CHECK_EQ(after.deinits, 1);
    l_close_all();
}

void case_null_and_invalid_args(void) {
    int err;
    po_options o;

    /* An allocator with a hook missing. */
    const po_allocator full = {plain_malloc, plain_realloc, plain_free, NULL};
    for (int hole = 0; hole < 4; hole++) {
        po_allocator a = full;
        if (hole == 0 || hole == 3)
            a.malloc = NULL;
        if (hole == 1 || hole == 3)
            a.realloc = NULL;
        if (hole == 2 || hole == 3)
            a.free = NULL;
        memset(&o, 0, sizeof o);
        o.allocator = &a;
        err = 12345;
        CHECK(po_create(&o, &err) == NULL);
        CHECK_EQ(err, PO_EINVAL);
        CHECK(po_create(&o, NULL) == NULL);
    }
    /* The complete one is accepted, so the refusals above were the hole's. */
    memset(&o, 0, sizeof o);
    o.allocator = &full;
    po_poller *q = t_poller_opts(&o);
    po_destroy(q);

    /* A backend kind out of range. */
    const po_backend_kind bad_kinds[] = {
        (po_backend_kind)(PO_BACKEND_URING + 1), (po_backend_kind)99,
        (po_backend_kind)-1};
    for (size_t i = 0; i < sizeof bad_kinds / sizeof bad_kinds[0]; i++) {
        memset(&o, 0, sizeof o);
        o.backend = bad_kinds[i];
        err = 12345;
        CHECK(po_create(&o, &err) == NULL);
        CHECK_EQ(err, PO_EINVAL);
    }

    /* The poller-less calls. */
    po_destroy(NULL);
    CHECK(po_backend_name(NULL) == NULL);
    CHECK_EQ(po_count(NULL), 0);
    CHECK_EQ(po_last_errno(NULL), 0);
    po_stats st;
    po_get_stats(NULL, &st);
    CHECK(po_find(NULL, 1) == NULL);
    CHECK_EQ(po_delete(NULL, 1), PO_EINVAL);
    po_chn grp[2] = {1, 2};
    CHECK_EQ(po_delete_group(NULL, grp, 2), PO_EINVAL);
    CHECK_EQ(po_delete_marked(NULL), PO_EINVAL);
    po_mark_delete(NULL);
    CHECK_EQ(po_set_socket(NULL, PO_NO_SOCKET), PO_EINVAL);
    po_triggers total = 0;
    CHECK_EQ(po_wait(NULL, 0, &total), PO_EINVAL);
    CHECK_EQ(po_wait(NULL, 0, NULL), PO_EINVAL);
    po_iter it = PO_ITER_INIT;
    CHECK(po_next_triggered(NULL, &it) == NULL);

    po_poller *p = t_poller();
    po_get_stats(p, NULL);
    CHECK(po_next_triggered(p, NULL) == NULL);
    t_sock sv[2];
    l_pair(sv);
    l_chan c, keep;
    l_init(&c, 1, sv[0], sv[1], PO_RECV);
    l_init(&keep, 2, T_NO_SOCK, T_NO_SOCK, PO_POOL);
    const po_channel_ops no_probe = {NULL, l_deinit};
    po_channel *out = NULL;
    CHECK_EQ(po_attach(NULL, 1, sv[0], &l_ops, &c, &out), PO_EINVAL);
    CHECK_EQ(po_attach(p, 1, sv[0], NULL, &c, &out), PO_EINVAL);
    CHECK_EQ(po_attach(p, 1, sv[0], &no_probe, &c, &out), PO_EINVAL);
    CHECK_EQ(po_attach(p, 1, PO_NO_SOCKET, &no_probe, &c, NULL), PO_EINVAL);
    CHECK_EQ(po_count(p), 0);
    CHECK(po_find(p, 1) == NULL);
    CHECK_EQ(c.deinits, 0);
    CHECK_EQ(c.probes, 0);

    /* Nothing was taken by the refusals: number, socket, SeqN are free. */
    l_attach(p, &c);
    CHECK_EQ(c.seqn, 1);
    l_attach(p, &keep);
    CHECK_EQ(keep.seqn, 2);

    /* NULL chns with n > 0 deletes nothing; with n == 0 it is empty. */
    CHECK_EQ(po_delete_group(p, NULL, 2), PO_EINVAL);
    CHECK_EQ(po_delete_group(p, NULL, 0), 0);
    CHECK_EQ(po_delete_group(p, grp, 0), 0);
    po_mark_delete(NULL);
    CHECK_EQ(po_delete_marked(p), 0);
    CHECK_EQ(po_count(p), 2);
    CHECK_EQ(c.deinits, 0);
    CHECK_EQ(keep.deinits, 0);

    /* A NULL total is fine; so is a NULL deinit. */
    l_chan *set[2] = {&c, &keep};
    l_poke(&c);
    CHECK_EQ(po_wait(p, 2000, NULL), 2);
    CHECK(t_triggered(p, c.ch));
    CHECK(t_triggered(p, keep.ch));
    l_drain(&c);
    l_round(p, set, 2);
    l_chan nodeinit;
    const po_channel_ops probe_only = {l_probe, NULL};
    l_init(&nodeinit, 3, T_NO_SOCK, T_NO_SOCK, PO_POOL);
    CHECK_EQ(
        po_attach(p, 3, PO_NO_SOCKET, &probe_only, &nodeinit, &nodeinit.ch),
        PO_OK);
    CHECK_EQ(po_wait(p, 0, &total), 2);
    CHECK_EQ(nodeinit.probes, 1);
    CHECK_EQ(po_delete(p, 3), PO_OK);
    CHECK_EQ(nodeinit.deinits, 0);
    l_init(&nodeinit, 4, T_NO_SOCK, T_NO_SOCK, 0);
    CHECK_EQ(po_attach(p, 4, PO_NO_SOCKET, &probe_only, &nodeinit, NULL),
             PO_OK);
    po_destroy(p); /* with a NULL-deinit channel still attached */
    CHECK_EQ(c.deinits, 1);
    CHECK_EQ(keep.deinits, 1);
    CHECK_EQ(c.bad + keep.bad, 0);

    /* po_strerror: a distinct, non-empty string for every code; unknown
     * codes get a string of their own too. */
    const int codes[] = {PO_OK,     PO_EINVAL, PO_ENOMEM,  PO_EEXIST, PO_ENOENT,
                         PO_EINUSE, PO_EBUSY,  PO_ENOTSUP, PO_ESYS,   -1000};
    enum { NCODES = sizeof codes / sizeof codes[0] };
    for (int i = 0; i < NCODES; i++) {
        const char *s = po_strerror(codes[i]);
        CHECK(s != NULL);
        CHECK(s[0] != '\0');
        for (int j = 0; j < i; j++)
            CHECK(strcmp(s, po_strerror(codes[j])) != 0);
    }
    const int unknown[] = {1, 77, -9, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *s = po_strerror(unknown[i]);
        CHECK(s != NULL);
        for (int j = 0; j < NCODES - 1; j++)
            CHECK(strcmp(s, po_strerror(codes[j])) != 0);
    }
    l_close_all();
}

void case_socket_in_use_refused(void) {
    po_poller *p = t_poller();
    t_sock sv[2], sv2[2];
    l_pair(sv);
    l_pair(sv2);
    l_chan a, b, c, d, e, f;
    l_init(&a, 1, sv[0], sv[1], PO_RECV);
    l_attach(p, &a);
    CHECK_EQ(a.seqn, 1);

    /* A second channel on the same socket. */
    l_init(&b, 2, sv[0], sv[1], PO_RECV);
    CHECK_EQ(po_attach(p, 2, sv[0], &l_ops, &b, NULL), PO_EINUSE);
    CHECK_EQ(po_count(p), 1);
    CHECK(po_find(p, 2) == NULL);
    CHECK(po_find(p, 1) == a.ch);
    CHECK(po_channel_socket(a.ch) == sv[0]);
    CHECK_EQ(po_channel_seqn(a.ch), 1);
    CHECK_EQ(b.deinits + b.probes, 0);

    /* PO_NO_SOCKET is nobody's: many socketless channels coexist. */
    l_init(&b, 2, T_NO_SOCK, T_NO_SOCK, PO_RECV);
    l_attach(p, &b);
    CHECK_EQ(b.seqn, 2); /* the refusal took no SeqN */
    l_init(&c, 3, T_NO_SOCK, T_NO_SOCK, 0);
    l_attach(p, &c);
    CHECK_EQ(c.seqn, 3);

    /* po_set_socket to another channel's socket. */
    CHECK_EQ(po_set_socket(b.ch, sv[0]), PO_EINUSE);
    CHECK(po_channel_socket(b.ch) == PO_NO_SOCKET);
    CHECK_EQ(po_channel_seqn(b.ch), 2);
    CHECK(po_channel_socket(a.ch) == sv[0]);
    CHECK_EQ(po_channel_seqn(a.ch), 1);
    /* Its own socket again is not "in use". */
    CHECK_EQ(po_set_socket(a.ch, sv[0]), PO_OK);
    CHECK_EQ(po_channel_seqn(a.ch), 4);
    a.seqn = 4;

    /* The same once the socket is registered with the kernel: a (not b)
     * hears it. */
    l_chan *set[6] = {&a, &b, &c, &d, &e, &f};
    memset(&d, 0, sizeof d);
    memset(&e, 0, sizeof e);
    memset(&f, 0, sizeof f);
    l_poke(&a);
    l_round(p, set, 3);
    l_drain(&a);
    CHECK_EQ(po_attach(p, 4, sv[0], &l_ops, &d, NULL), PO_EINUSE);
    CHECK_EQ(po_set_socket(b.ch, sv[0]), PO_EINUSE);
    CHECK_EQ(po_set_socket(c.ch, sv[0]), PO_EINUSE);
    CHECK_EQ(po_count(p), 3);
    CHECK(po_find(p, 4) == NULL);
    CHECK(po_channel_socket(b.ch) == PO_NO_SOCKET);
    CHECK(po_channel_socket(c.ch) == PO_NO_SOCKET);
    CHECK_EQ(po_channel_seqn(b.ch), 2);
    CHECK_EQ(po_channel_seqn(c.ch), 3);
    CHECK_EQ(po_channel_seqn(a.ch), 4);
    /* a still holds it and is still served. */
    l_poke(&a);
    l_round(p, set, 3);
    l_drain(&a);

    /* b takes sv2; then a cannot take sv2. */
    CHECK_EQ(po_set_socket(b.ch, sv2[0]), PO_OK);
    b.fd = sv2[0];
    b.peer = sv2[1];
    CHECK_EQ(po_channel_seqn(b.ch), 5);
    CHECK_EQ(po_set_socket(a.ch, sv2[0]), PO_EINUSE);
    CHECK(po_channel_socket(a.ch) == sv[0]);
    CHECK_EQ(po_channel_seqn(a.ch), 4);

    /* A holder that lets go frees the socket at once. */
    CHECK_EQ(po_set_socket(a.ch, PO_NO_SOCKET), PO_OK);
    a.fd = T_NO_SOCK;
    CHECK_EQ(po_channel_seqn(a.ch), 6);
    CHECK_EQ(po_set_socket(c.ch, sv[0]), PO_OK);
    c.fd = sv[0];
    c.peer = sv[1];
    T_WANT(&c, PO_RECV);
    CHECK_EQ(po_channel_seqn(c.ch), 7);

    /* A deleted holder frees it: attach with b's socket after deleting b. */
    CHECK_EQ(po_delete(p, 2), PO_OK);
    CHECK_EQ(b.deinits, 1);
    l_init(&d, 4, sv2[0], sv2[1], PO_RECV);
    l_attach(p, &d);
    CHECK_EQ(d.seqn, 8);

    /* A holder deleted during the walk (still listed) frees it too. */
    l_poke(&c);
    l_round(p, set, 6);
    po_iter it = PO_ITER_INIT;
    CHECK(po_next_triggered(p, &it) == c.ch);
    CHECK_EQ(po_delete(p, 3), PO_OK);
    CHECK_EQ(c.deinits, 1);
    l_init(&e, 5, sv[0], sv[1], PO_RECV);
    e.ready = true; /* c did not read the byte */
    l_attach(p, &e);
    CHECK_EQ(e.seqn, 9);
    CHECK(po_next_triggered(p, &it) == NULL);
    CHECK_EQ(po_attach(p, 6, sv[0], &l_ops, &f, NULL), PO_EINUSE);
    /* The new holder is the one that hears the socket. */
    l_round(p, set, 6);
    CHECK_EQ(e.visits, 1);
    l_drain(&e);

    po_destroy(p);
    CHECK_EQ(a.deinits + b.deinits + c.deinits + d.deinits + e.deinits, 5);
    CHECK_EQ(f.deinits + f.probes, 0);
    CHECK_EQ(a.bad + b.bad + c.bad + d.bad + e.bad, 0);
    l_close_all();
}

/* ------------------------------------------------------------------------ */
/* deinit exactly once                                                       */

static void stats_of(po_poller *p, po_stats *st) {
    memset(st, 0, sizeof *st);
    po_get_stats(p, st);
}

void case_deinit_once_delete(void) {
    enum { N = 6 };
    po_poller *p = t_poller();
    l_chan c[N];
    l_chan *set[N];
    for (int i = 0; i < N; i++)
        set[i] = &c[i];
    l_attach_pair(p, &c[0], 10, PO_RECV); /* registered, readable */
    c[0].close_in_deinit = true;
    l_attach_pair(p, &c[1], 11, 0); /* a socket never registered */
    c[1].close_in_deinit = true;
    l_init(&c[2], 12, T_NO_SOCK, T_NO_SOCK,
           PO_POOL); /* socketless, triggered */
    l_attach(p, &c[2]);
    l_attach_pair(p, &c[3], 13, PO_SEND);       /* registered, writable */
    l_init(&c[4], 14, T_NO_SOCK, T_NO_SOCK, 0); /* socketless, idle */
    l_attach(p, &c[4]);
    l_attach_pair(p, &c[5], 15, PO_RECV); /* registered, idle */
    c[5].close_in_deinit = true;

    l_poke(&c[0]);
    l_round(p, set, N);
    for (int i = 0; i < N; i++)
        CHECK_EQ(c[i].deinits, 0);

    /* Delete a listed channel in the walk: deinit runs at the delete, not
     * later, and once. */
    po_stats before, after;
    stats_of(p, &before);
    CHECK_EQ(po_delete(p, 13), PO_OK);
    stats_of(p, &after);
    CHECK_EQ(c[3].deinits, 1);
    CHECK_EQ(after.dels, before.dels + 1); /* it was registered */
    CHECK_EQ(po_delete(p, 13), PO_ENOENT);

    /* A registered channel whose deinit closes its socket. */
    before = after;
    CHECK_EQ(po_delete(p, 10), PO_OK);
    stats_of(p, &after);
    CHECK_EQ(c[0].deinits, 1);
    CHECK_EQ(after.dels, before.dels + 1);
    /* A socket never registered: nothing to unregister. */
    before = after;
    CHECK_EQ(po_delete(p, 11), PO_OK);
    stats_of(p, &after);
    CHECK_EQ(c[1].deinits, 1);
    CHECK_EQ(after.dels, before.dels);
    for (int i = 0; i < N; i++)
        CHECK_EQ(c[i].deinits, i == 0 || i == 1 || i == 3);

    /* The rest are served; the closed sockets make no event, stale or not. */
    before = after;
    l_round(p, set, N);
    l_round(p, set, N);
    stats_of(p, &after);
    CHECK_EQ(after.stale, before.stale);

    CHECK_EQ(po_delete(p, 12), PO_OK);
    CHECK_EQ(po_delete(p, 14), PO_OK);
    CHECK_EQ(po_delete(p, 15), PO_OK);
    CHECK_EQ(po_count(p), 0);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(c[i].deinits, 1);
        CHECK_EQ(po_delete(p, c[i].chn), PO_ENOENT);
    }
    CHECK_EQ(po_wait(p, 0, NULL), 0);
    po_destroy(p);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(c[i].deinits, 1);
        CHECK_EQ(c[i].bad, 0);
    }
    l_close_all();
}

void case_deinit_once_group(void) {
    enum { N = 10 };
    po_poller *p = t_poller();
    l_chan c[N];
    l_chan *set[N];
    for (int i = 0; i < N; i++) {
        set[i] = &c[i];
        if (i % 2 == 0) {
            l_attach_pair(p, &c[i], 100 + (po_chn)i, PO_RECV);
            c[i].close_in_deinit = true;
        } else {
            l_init(&c[i], 100 + (po_chn)i, T_NO_SOCK, T_NO_SOCK, 0);
            l_attach(p, &c[i]);
        }
    }
    l_poke(&c[0]);
    l_poke(&c[2]);
    l_round(p, set, N); /* registers the sockets */

    /* Known, unknown and repeated numbers. */
    const po_chn g1[] = {100, 102, 5000, 104, 102, 0, 101};
    CHECK_EQ(po_delete_group(p, g1, sizeof g1 / sizeof g1[0]), 4);
    CHECK_EQ(po_count(p), N - 4);
    for (int i = 0; i < N; i++) {
        bool gone = i == 0 || i == 1 || i == 2 || i == 4;
        CHECK_EQ(c[i].deinits, gone);
        CHECK(po_find(p, c[i].chn) == (gone ? NULL : c[i].ch));
    }
    /* Only unknown or deleted numbers; an empty group. */
    const po_chn g2[] = {100, 102, 777, 101};
    CHECK_EQ(po_delete_group(p, g2, sizeof g2 / sizeof g2[0]), 0);
    CHECK_EQ(po_delete_group(p, g2, 0), 0);
    CHECK_EQ(po_count(p), N - 4);
    l_round(p, set, N);

    /* A group deleted inside a walk: the ones not yet visited are not. */
    for (int i = 3; i < N; i += 2)
        T_WANT(&c[i], PO_POOL);
    CHECK_EQ(po_wait(p, 0, NULL), 4); /* 103 105 107 109 */
    po_iter it = PO_ITER_INIT;
    po_channel *first = po_next_triggered(p, &it);
    CHECK(first != NULL);
    l_chan *fc = po_channel_ctx(first);
    const po_chn g3[] = {103, 105, 107, 109, 9999};
    CHECK_EQ(po_delete_group(p, g3, 5), 4);
    CHECK(po_next_triggered(p, &it) == NULL);
    CHECK_EQ(fc->deinits, 1);
    CHECK_EQ(po_count(p), 2);
    CHECK_EQ(po_wait(p, 0, NULL), 0);

    po_destroy(p);
    int sum = 0;
    for (int i = 0; i < N; i++) {
        CHECK_EQ(c[i].deinits, 1);
        CHECK_EQ(c[i].bad, 0);
        sum += c[i].deinits;
    }
    CHECK_EQ(sum, N);
    l_close_all();
}

void case_deinit_once_marked(void) {
    enum { N = 10 };
    po_poller *p = t_poller();
    l_chan c[N], re3;
    l_chan *set[N + 1];
    for (int i = 0; i < N; i++) {
        set[i] = &c[i];
        if (i % 3 == 0)
            l_attach_pair(p, &c[i], (po_chn)i + 1, PO_RECV);
        else {
            l_init(&c[i], (po_chn)i + 1, T_NO_SOCK, T_NO_SOCK,
                   i % 3 == 1 ? PO_POOL : 0);
            l_attach(p, &c[i]);
        }
    }
    memset(&re3, 0, sizeof re3);
    set[N] = &re3;
    l_poke(&c[0]);
    l_round(p, set, N);

    /* Marking does not delete; marking twice counts once. */
    po_mark_delete(c[0].ch);
    po_mark_delete(c[1].ch);
    po_mark_delete(c[1].ch);
    po_mark_delete(c[2].ch);
    po_mark_delete(c[3].ch);
    po_mark_delete(c[4].ch);
    po_mark_delete(c[0].ch);
    CHECK_EQ(po_count(p), N);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(c[i].deinits, 0);
        CHECK(po_find(p, c[i].chn) == c[i].ch);
    }
    /* Marks survive a wait; marked channels are still served. */
    l_round(p, set, N);
    l_drain(&c[0]);

    /* An unmarked channel deleted directly does not use up a mark. */
    CHECK_EQ(po_delete(p, 10), PO_OK);
    CHECK_EQ(c[9].deinits, 1);
    /* Some marked ones deleted directly first. */
    CHECK_EQ(po_delete(p, 3), PO_OK);
    CHECK_EQ(c[2].deinits, 1);
    const po_chn g[] = {4};
    CHECK_EQ(po_delete_group(p, g, 1), 1);
    CHECK_EQ(c[3].deinits, 1);
    /* The number 3 comes back, unmarked. */
    l_init(&re3, 3, T_NO_SOCK, T_NO_SOCK, PO_POOL);
    l_attach(p, &re3);

    CHECK_EQ(po_delete_marked(p), 3); /* 1, 2, 5 */
    for (int i = 0; i < N; i++)
        CHECK_EQ(c[i].deinits, i <= 4 || i == 9);
    CHECK(po_find(p, 3) == re3.ch);
    CHECK_EQ(re3.deinits, 0);
    CHECK_EQ(po_count(p), N - 6 + 1);
    CHECK_EQ(po_delete_marked(p), 0);
    CHECK_EQ(po_count(p), N - 6 + 1);

    /* Marked during a walk, on the triggered list. */
    CHECK_EQ(l_round(p, set, N + 1), 2); /* re3 and 8 want PO_POOL */
    po_iter it = PO_ITER_INIT;
    po_channel *cur = po_next_triggered(p, &it);
    CHECK(cur != NULL);
    l_chan *cc = po_channel_ctx(cur);
    po_mark_delete(cur);
    po_mark_delete(c[5].ch); /* not triggered */
    CHECK_EQ(po_delete_marked(p), 2);
    CHECK_EQ(cc->deinits, 1);
    CHECK_EQ(c[5].deinits, 1);
    int rest = 0;
    for (po_channel *ch; (ch = po_next_triggered(p, &it)) != NULL;) {
        CHECK(ch != cur);
        rest++;
    }
    CHECK_EQ(rest, 1);
    /* A deleted channel's mark does not linger. */
    po_mark_delete(c[6].ch);
    CHECK_EQ(po_delete(p, 7), PO_OK);
    CHECK_EQ(po_delete_marked(p), 0);

    /* A marked channel left at destroy is deinited there, once. */
    po_mark_delete(c[8].ch);
    po_destroy(p);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(c[i].deinits, 1);
        CHECK_EQ(c[i].bad, 0);
    }
    CHECK_EQ(re3.deinits, 1);
    l_close_all();
}

void case_deinit_once_destroy(void) {
    enum { N = 12 };
    po_poller *p = t_poller();
    l_chan c[N];
    l_chan *set[N];
    for (int i = 0; i < N; i++) {
        set[i] = &c[i];
        memset(&c[i], 0, sizeof c[i]);
    }
    l_attach_pair(p, &c[0], 1, PO_RECV); /* registered, triggered */
    l_attach_pair(p, &c[1], 2, PO_RECV); /* registered, idle */
    l_attach_pair(p, &c[2], 3, PO_SEND); /* registered, triggered */
    l_attach_pair(p, &c[3], 4, 0);       /* socket, never registered */
    l_init(&c[4], 5, T_NO_SOCK, T_NO_SOCK, PO_POOL); /* socketless, triggered */
    l_attach(p, &c[4]);
    l_init(&c[5], 6, T_NO_SOCK, T_NO_SOCK, 0); /* socketless, idle */
    l_attach(p, &c[5]);
    l_init(&c[6], 7, T_NO_SOCK, T_NO_SOCK, 0); /* marked, never deleted */
    l_attach(p, &c[6]);
    l_attach_pair(p, &c[7], 8, PO_RECV); /* deleted while listed */
    l_attach_pair(p, &c[8], 9, PO_RECV); /* deleted before the wait */
    l_init(&c[9], 10, T_NO_SOCK, T_NO_SOCK,
           PO_POOL); /* got a socket, registered */
    l_attach(p, &c[9]);
    for (int i = 0; i < 9; i++)
        c[i].close_in_deinit = c[i].fd != T_NO_SOCK;

    CHECK_EQ(po_delete(p, 9), PO_OK);
    CHECK_EQ(c[8].deinits, 1);
    t_sock sv[2];
    l_pair(sv);
    CHECK_EQ(po_set_socket(c[9].ch, sv[0]), PO_OK);
    c[9].fd = sv[0];
    c[9].peer = sv[1];
    T_WANT(&c[9], PO_RECV);
    c[9].close_in_deinit = true;
    l_poke(&c[0]);
    l_poke(&c[7]);
    l_poke(&c[9]);
    po_mark_delete(c[6].ch);
    l_round(p, set, N);

    /* Attached after the last wait: a socket never registered. */
    l_attach_pair(p, &c[10], 11, PO_RECV);
    c[10].close_in_deinit = true;
    l_init(&c[11], 12, T_NO_SOCK, T_NO_SOCK, PO_POOL);
    l_attach(p, &c[11]);

    /* Destroy in the middle of a walk, after deleting a listed channel. */
    po_iter it = PO_ITER_INIT;
    CHECK(po_next_triggered(p, &it) != NULL);
    CHECK_EQ(po_delete(p, 8), PO_OK);
    CHECK_EQ(c[7].deinits, 1);
    for (int i = 0; i < N; i++)
        CHECK_EQ(c[i].deinits, i == 7 || i == 8);
    CHECK_EQ(po_count(p), N - 2);

    po_destroy(p);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(c[i].deinits, 1);
        CHECK_EQ(c[i].bad, 0);
    }
    l_close_all();
}

/* ------------------------------------------------------------------------ */
/* Mutation during a walk                                                    */

/* An original channel triggered this round that the walk has not reached. */
static l_chan *l_unvisited(l_chan *o, int n, const l_chan *cur) {
    for (int i = 0; i < n; i++)
        if (&o[i] != cur && l_live(&o[i]) && o[i].visits == 0)
            return &o[i];
    return NULL;
}

void case_mutate_during_walk(void) {
    enum { NP = 6, NS = 4, NO = NP + NS + 2, NN = 3, NALL = NO + NN };
    po_poller *p = t_poller();
    l_chan o[NO], nw[NN];
    l_chan *all[NALL];
    for (int i = 0; i < NO; i++)
        all[i] = &o[i];
    for (int i = 0; i < NN; i++) {
        memset(&nw[i], 0, sizeof nw[i]);
        all[NO + i] = &nw[i];
    }
    for (int i = 0; i < NP; i++) {
        l_init(&o[i], 100 + (po_chn)i, T_NO_SOCK, T_NO_SOCK, PO_POOL);
        l_attach(p, &o[i]);
    }
    for (int i = NP; i < NP + NS; i++) {
        l_attach_pair(p, &o[i], 100 + (po_chn)i, PO_RECV);
        l_poke(&o[i]);
    }
    l_chan *idle_dumb = &o[NP + NS], *idle_sock = &o[NP + NS + 1];
    l_init(idle_dumb, 110, T_NO_SOCK, T_NO_SOCK, 0);
    l_attach(p, idle_dumb);
    l_attach_pair(p, idle_sock, 111, PO_RECV);

    po_triggers total = 0;
    CHECK_EQ(po_wait(p, 2000, &total), NP + NS);
    CHECK_EQ(total, PO_POOL | PO_RECV);

    l_chan *delA = NULL, *delB = NULL, *cur2 = NULL, *v1 = NULL, *cur3 = NULL,
           *setC = NULL;
    po_seqn old3 = 0, oldC = 0;
    po_triggers kept3 = 0, keptC = 0;
    int visits = 0;
    t_sock sv[2];
    po_iter it = PO_ITER_INIT;
    for (po_channel *ch; (ch = po_next_triggered(p, &it)) != NULL;) {
        l_chan *c = l_find_ctx(all, NP + NS, po_channel_ctx(ch));
        CHECK(c != NULL); /* only this round's triggered originals */
        CHECK(c->ch == ch);
        CHECK_EQ(c->deinits, 0);
        CHECK_EQ(++c->visits, 1);
        visits++;
        if (visits == 1) {
            /* Delete one not visited yet, and an untriggered one; attach
             * two, one under the deleted number. */
            v1 = c;
            delA = l_unvisited(o, NP + NS, c);
            CHECK(delA != NULL);
            CHECK_EQ(po_delete(p, delA->chn), PO_OK);
            CHECK_EQ(delA->deinits, 1);
            CHECK_EQ(po_delete(p, idle_dumb->chn), PO_OK);
            CHECK_EQ(idle_dumb->deinits, 1);
            l_init(&nw[0], 200, T_NO_SOCK, T_NO_SOCK, PO_POOL);
            l_attach(p, &nw[0]);
            l_init(&nw[1], delA->chn, T_NO_SOCK, T_NO_SOCK, PO_POOL);
            l_attach(p, &nw[1]);
            CHECK(po_find(p, delA->chn) == nw[1].ch);
        } else if (visits == 2) {
            /* Delete the current one; mark one not visited and one visited,
             * delete the marked. */
            cur2 = c;
            CHECK_EQ(po_delete(p, c->chn), PO_OK);
            CHECK_EQ(c->deinits, 1);
            delB = l_unvisited(o, NP + NS, c);
            CHECK(delB != NULL);
            po_mark_delete(delB->ch);
            po_mark_delete(v1->ch);
            CHECK_EQ(po_delete_marked(p), 2);
            CHECK_EQ(delB->deinits, 1);
            CHECK_EQ(v1->deinits, 1);
        } else if (visits == 3) {
            /* New sockets for the current one and one not visited; attach a
             * channel with a readable socket. */
            cur3 = c;
            old3 = c->seqn;
            l_pair(sv);
            /* The old sockets' triggers go; a PO_POOL stays. */
            kept3 = po_channel_act(ch) & PO_POOL;
            CHECK_EQ(po_set_socket(ch, sv[0]), PO_OK);
            CHECK_EQ(po_channel_act(ch), kept3);
            c->fd = sv[0];
            c->peer = sv[1];
            c->ready = false;
            c->seqn = po_channel_seqn(ch);
            setC = l_unvisited(o, NP + NS, c);
            CHECK(setC != NULL);
            oldC = setC->seqn;
            l_pair(sv);
            keptC = po_channel_act(setC->ch) & PO_POOL;
            CHECK_EQ(po_set_socket(setC->ch, sv[0]), PO_OK);
            CHECK_EQ(po_channel_act(setC->ch), keptC);
            setC->fd = sv[0];
            setC->peer = sv[1];
            setC->ready = false;
            setC->seqn = po_channel_seqn(setC->ch);
            l_attach_pair(p, &nw[2], 201, PO_RECV);
            l_poke(&nw[2]);
        }
    }
    CHECK(po_next_triggered(p, &it) == NULL);
    CHECK(v1 && cur2 && cur3 && setC && delA && delB);
    CHECK(cur3->seqn > old3);
    CHECK(setC->seqn > oldC);

    /* Every triggered live channel exactly once; deleted-before-visit none,
     * nor one re-socketed before its visit with nothing of its own left. */
    CHECK_EQ(visits, NP + NS - 2 - !keptC);
    for (int i = 0; i < NP + NS; i++)
        CHECK_EQ(o[i].visits,
                 &o[i] == delA || &o[i] == delB || (&o[i] == setC && !keptC)
                     ? 0
                     : 1);
    CHECK_EQ(idle_dumb->visits + idle_sock->visits, 0);
    for (int i = 0; i < NO; i++) {
        bool gone = &o[i] == delA || &o[i] == delB || &o[i] == cur2 ||
                    &o[i] == v1 || &o[i] == idle_dumb;
        CHECK_EQ(o[i].deinits, gone);
    }
    CHECK_EQ(po_count(p), NO - 5 + NN);

    /* A fresh walk of the same round: the live triggered originals only. */
    CHECK_EQ(l_walk(p, all, NALL), NP + NS - 4 - !kept3 - !keptC);
    for (int i = 0; i < NN; i++)
        CHECK_EQ(nw[i].visits, 0);
    CHECK_EQ(setC->visits, keptC != 0);
    CHECK_EQ(cur3->visits, kept3 != 0);

    /* The next round: the new channels take part, the moved sockets too. */
    l_round(p, all, NALL);
    CHECK_EQ(nw[0].visits + nw[1].visits + nw[2].visits, 3);
    l_chan *moved[2] = {cur3, setC};
    for (int i = 0; i < 2; i++) {
        if (!(moved[i]->want & PO_RECV))
            T_WANT(moved[i], moved[i]->want | (PO_RECV));
        l_poke(moved[i]);
        l_round(p, all, NALL);
        CHECK_EQ(moved[i]->visits, 1);
        CHECK(po_channel_act(moved[i]->ch) & PO_RECV);
        l_drain(moved[i]);
    }

    po_destroy(p);
    for (int i = 0; i < NALL; i++) {
        CHECK_EQ(all[i]->deinits, 1);
        CHECK_EQ(all[i]->bad, 0);
    }
    l_close_all();
}

/* ------------------------------------------------------------------------ */
/* Scale                                                                     */

void case_attach_100k_socketless(void) {
    enum { N = 100000 };
    po_poller *p = t_poller();
    l_chan *c = calloc(N, sizeof *c);
    CHECK(c != NULL);
    /* Dense numbers from 0, and numbers from the top of the range. */
#define BIG_CHN(i) ((i) % 2 ? UINT64_MAX - (po_chn)(i) : (po_chn)(i))
    int pooled = 0, pooled_odd = 0;
    for (int i = 0; i < N; i++) {
        bool pool = i % 1000 == 7 || i % 1000 == 500;
        l_init(&c[i], BIG_CHN(i), T_NO_SOCK, T_NO_SOCK, pool ? PO_POOL : 0);
        pooled += pool;
        pooled_odd += pool && i % 2;
        CHECK_EQ(po_attach(p, c[i].chn, PO_NO_SOCKET, &l_ops, &c[i], &c[i].ch),
                 PO_OK);
        CHECK(c[i].ch != NULL);
        c[i].seqn = (po_seqn)i + 1;
        CHECK_EQ(po_channel_seqn(c[i].ch), c[i].seqn);
    }
    CHECK_EQ(po_count(p), N);
    for (int i = 0; i < N; i++) {
        CHECK(po_find(p, c[i].chn) == c[i].ch);
        CHECK_EQ(po_channel_seqn(c[i].ch), c[i].seqn);
        CHECK_EQ(po_channel_chn(c[i].ch), c[i].chn);
        CHECK(po_channel_ctx(c[i].ch) == &c[i]);
    }

    /* A round with the internal triggers of a few. */
    po_triggers total = 0;
    CHECK_EQ(po_wait(p, 2000, &total), pooled);
    CHECK_EQ(total, PO_POOL);
    po_iter it = PO_ITER_INIT;
    int walked = 0;
    for (po_channel *ch; (ch = po_next_triggered(p, &it)) != NULL;) {
        l_chan *cc = po_channel_ctx(ch);
        CHECK(cc->ch == ch);
        CHECK(cc->want == PO_POOL);
        CHECK_EQ(po_channel_act(ch), PO_POOL);
        CHECK_EQ(++cc->visits, 1);
        walked++;
    }
    CHECK_EQ(walked, pooled);
    for (int i = 0; i < N; i++)
        CHECK_EQ(c[i].probes, 1);

    /* Delete the even half: the rest is unchanged. */
    for (int i = 0; i < N; i += 2) {
        CHECK_EQ(po_delete(p, c[i].chn), PO_OK);
        CHECK_EQ(c[i].deinits, 1);
    }
    CHECK_EQ(po_count(p), N / 2);
    for (int i = 0; i < N; i++) {
        if (i % 2) {
            CHECK(po_find(p, c[i].chn) == c[i].ch);
            CHECK_EQ(po_channel_seqn(c[i].ch), c[i].seqn);
            CHECK_EQ(c[i].deinits, 0);
        } else {
            CHECK(po_find(p, c[i].chn) == NULL);
        }
    }
    CHECK_EQ(po_wait(p, 2000, &total), pooled_odd);
    CHECK_EQ(total, PO_POOL);

    /* Numbers come back with new SeqNs. */
    l_chan back;
    l_init(&back, BIG_CHN(0), T_NO_SOCK, T_NO_SOCK, 0);
    l_attach(p, &back);
    CHECK_EQ(back.seqn, (po_seqn)N + 1);

    po_destroy(p);
    long deinits = 0;
    for (int i = 0; i < N; i++) {
        CHECK_EQ(c[i].deinits, 1);
        CHECK_EQ(c[i].bad, 0);
        deinits += c[i].deinits;
    }
    CHECK_EQ(deinits, N);
    CHECK_EQ(back.deinits, 1);
#undef BIG_CHN
    free(c);
}

/* ------------------------------------------------------------------------ */
/* Re-entry from callbacks                                                   */

enum { RE_N = 9, RE_UNSET = 12345 };

typedef struct re_chan {
    l_chan base; /* first: l_ops-style bookkeeping */
    po_poller *p;
    po_chn other;     /* a live channel's number */
    po_channel *mark; /* marked from the probe, or NULL */
    t_sock spare;     /* a socket no channel holds */
    bool in_probe;    /* try the calls in the probe */
    bool in_deinit;   /* try the calls in deinit */
    int rc[RE_N];
    int tries;
    l_chan dummy;
} re_chan;

static void re_reset(re_chan *r) {
    for (int i = 0; i < RE_N; i++)
        r->rc[i] = RE_UNSET;
    r->tries = 0;
}

static void re_try(re_chan *r, po_channel *ch) {
    po_chn grp[2] = {r->other, po_channel_chn(ch)};
    int i = 0;
    r->rc[i++] = po_attach(r->p, 900001, PO_NO_SOCKET, &l_ops, &r->dummy, NULL);
    r->rc[i++] = po_attach(r->p, 900002, r->spare, &l_ops, &r->dummy, NULL);
    r->rc[i++] = po_delete(r->p, r->other);
    r->rc[i++] = po_delete(r->p, po_channel_chn(ch));
    r->rc[i++] = po_delete_group(r->p, grp, 2);
    r->rc[i++] = po_delete_marked(r->p);
    r->rc[i++] = po_wait(r->p, 0, NULL);
    r->rc[i++] = po_set_socket(ch, r->spare);
    r->rc[i++] = po_set_socket(ch, PO_NO_SOCKET);
    r->tries++;
}

static po_triggers re_probe(po_channel *ch, void *ctx) {
    re_chan *r = ctx;
    r->base.probes++;
    if (r->in_probe)
        re_try(r, ch);
    if (r->mark)
        po_mark_delete(r->mark);
    return r->base.want;
}

static void re_deinit(po_channel *ch, void *ctx) {
    re_chan *r = ctx;
    r->base.deinits++;
    if (ch != r->base.ch || po_channel_ctx(ch) != ctx)
        r->base.bad++;
    if (r->in_deinit)
        re_try(r, ch);
}

static const po_channel_ops re_ops = {re_probe, re_deinit};

static void re_init(re_chan *r, po_poller *p, po_chn chn, t_sock fd,
                    t_sock peer, po_triggers want, po_chn other, t_sock spare) {
    memset(r, 0, sizeof *r);
    l_init(&r->base, chn, fd, peer, want);
    r->p = p;
    r->other = other;
    r->spare = spare;
    re_reset(r);
}

static void re_attach(po_poller *p, re_chan *r) {
    CHECK_EQ(po_attach(p, r->base.chn, r->base.fd, &re_ops, r, &r->base.ch),
             PO_OK);
    r->base.seqn = po_channel_seqn(r->base.ch);
}

static void re_check_busy(const re_chan *r, int tries) {
    CHECK_EQ(r->tries, tries);
    for (int i = 0; i < RE_N; i++)
        if (r->rc[i] != PO_EBUSY)
            po_fail(__FILE__, __LINE__, "call %d from a callback gave %d (%s)",
                    i, r->rc[i], po_strerror(r->rc[i]));
}

void case_probe_reentry_busy(void) {
    po_poller *p = t_poller();
    t_sock sv[2], spare[2];
    l_pair(sv);
    l_pair(spare);
    l_chan other, victim, after;
    l_init(&other, 1, T_NO_SOCK, T_NO_SOCK, 0);
    l_attach(p, &other);
    l_init(&victim, 2, T_NO_SOCK, T_NO_SOCK, 0);
    l_attach(p, &victim);
    re_chan r, s;
    re_init(&r, p, 3, sv[0], sv[1], PO_RECV, 1, spare[0]);
    re_attach(p, &r);
    re_init(&s, p, 4, T_NO_SOCK, T_NO_SOCK, PO_POOL, 2, spare[0]);
    re_attach(p, &s);
    r.in_probe = s.in_probe = true;
    r.mark = victim.ch; /* allowed in a probe */
    s.mark = s.base.ch; /* a probe may mark its own channel */
    l_poke(&r.base);

    po_triggers total = 0;
    CHECK_EQ(po_wait(p, 2000, &total), 2);
    CHECK_EQ(total, PO_RECV | PO_POOL);
    re_check_busy(&r, 1);
    re_check_busy(&s, 1);
    CHECK(t_triggered(p, r.base.ch));
    CHECK_EQ(po_channel_act(r.base.ch), PO_RECV);
    CHECK_EQ(po_channel_act(s.base.ch), PO_POOL);

    /* Nothing the refused calls asked for happened. */
    CHECK_EQ(po_count(p), 4);
    CHECK(po_find(p, 900001) == NULL);
    CHECK(po_find(p, 900002) == NULL);
    CHECK(po_find(p, 1) == other.ch);
    CHECK(po_find(p, 2) == victim.ch);
    CHECK(po_find(p, 3) == r.base.ch);
    CHECK(po_find(p, 4) == s.base.ch);
    CHECK(po_channel_socket(r.base.ch) == sv[0]);
    CHECK_EQ(po_channel_seqn(r.base.ch), 3);
    CHECK_EQ(po_channel_seqn(s.base.ch), 4);
    CHECK_EQ(other.deinits + victim.deinits + r.base.deinits + s.base.deinits +
                 r.dummy.deinits + r.dummy.probes,
             0);

    /* The marks made in the probes take effect now. */
    r.in_probe = s.in_probe = false;
    r.mark = s.mark = NULL;
    CHECK_EQ(po_delete_marked(p), 2);
    CHECK_EQ(victim.deinits, 1);
    CHECK_EQ(s.base.deinits, 1);
    CHECK(po_find(p, 2) == NULL && po_find(p, 4) == NULL);
    CHECK_EQ(po_count(p), 2);

    /* The poller left callback mode: calls work, no SeqN was taken, the
     * spare socket is free. */
    l_init(&after, 5, spare[0], spare[1], PO_RECV);
    l_attach(p, &after);
    CHECK_EQ(after.seqn, 5);
    CHECK_EQ(po_delete(p, 5), PO_OK);
    CHECK_EQ(po_wait(p, 2000, NULL), 1); /* r's byte, still unread */
    l_drain(&r.base);

    /* From a deinit, on each deleting path. */
    r.in_deinit = true;
    re_reset(&r);
    CHECK_EQ(po_delete(p, 3), PO_OK); /* po_delete */
    re_check_busy(&r, 1);
    CHECK(po_find(p, 1) == other.ch);
    CHECK_EQ(po_count(p), 1);

    re_chan t, u, w;
    re_init(&t, p, 6, T_NO_SOCK, T_NO_SOCK, 0, 1, spare[0]);
    re_attach(p, &t);
    re_init(&u, p, 7, T_NO_SOCK, T_NO_SOCK, 0, 1, spare[0]);
    re_attach(p, &u);
    re_init(&w, p, 8, T_NO_SOCK, T_NO_SOCK, PO_POOL, 1, spare[0]);
    re_attach(p, &w);
    t.in_deinit = u.in_deinit = w.in_deinit = true;
    CHECK_EQ(t.base.seqn, 6); /* no refused attach took a SeqN */
    po_mark_delete(t.base.ch);
    CHECK_EQ(po_delete_marked(p), 1); /* po_delete_marked */
    re_check_busy(&t, 1);
    const po_chn g[] = {7};
    CHECK_EQ(po_delete_group(p, g, 1), 1); /* po_delete_group */
    re_check_busy(&u, 1);
    CHECK_EQ(po_count(p), 2);
    CHECK(po_find(p, 1) == other.ch);
    CHECK(po_find(p, 8) == w.base.ch);
    CHECK_EQ(po_wait(p, 0, NULL), 1);
    po_destroy(p); /* po_destroy */
    re_check_busy(&w, 1);

    CHECK_EQ(other.deinits, 1);
    CHECK_EQ(r.base.deinits + t.base.deinits + u.base.deinits + w.base.deinits,
             4);
    CHECK_EQ(r.base.bad + t.base.bad + u.base.bad + w.base.bad + s.base.bad, 0);
    CHECK_EQ(r.dummy.deinits + t.dummy.deinits + u.dummy.deinits +
                 w.dummy.deinits,
             0);
    l_close_all();
}

/* ------------------------------------------------------------------------ */
/* The walk's lifetime                                                       */

void case_walk_ends_at_next_wait(void) {
    enum { N1 = 4, N2 = 3 };
    po_poller *p = t_poller();
    l_chan r1[N1], r2[N2];
    l_chan *s1[N1], *s2[N2];
    for (int i = 0; i < N1; i++) {
        s1[i] = &r1[i];
        l_init(&r1[i], 10 + (po_chn)i, T_NO_SOCK, T_NO_SOCK, PO_POOL);
        l_attach(p, &r1[i]);
    }
    for (int i = 0; i < N2; i++) {
        s2[i] = &r2[i];
        memset(&r2[i], 0, sizeof r2[i]);
    }
    /* No wait yet: nothing to walk. */
    po_iter it0 = PO_ITER_INIT;
    CHECK(po_next_triggered(p, &it0) == NULL);

    CHECK_EQ(po_wait(p, 2000, NULL), N1);
    po_iter it1 = PO_ITER_INIT;
    po_channel *kept = po_next_triggered(p, &it1);
    CHECK(kept != NULL);
    /* Two fresh iterators walk the round fully, each. */
    CHECK_EQ(l_walk(p, s1, N1), N1);
    CHECK_EQ(l_walk(p, s1, N1), N1);
    po_iter done = PO_ITER_INIT;
    while (po_next_triggered(p, &done) != NULL) {
    }

    /* Delete every channel of round 1 but the one it1 returned: it1's next
     * step is freed by the next wait. */
    l_chan *kc = po_channel_ctx(kept);
    for (int i = 0; i < N1; i++)
        if (&r1[i] != kc)
            CHECK_EQ(po_delete(p, r1[i].chn), PO_OK);
    T_WANT(kc, 0);
    for (int i = 0; i < N2; i++) {
        l_init(&r2[i], 20 + (po_chn)i, T_NO_SOCK, T_NO_SOCK, PO_POOL);
        l_attach(p, &r2[i]);
    }

    CHECK_EQ(po_wait(p, 2000, NULL), N2);
    CHECK(po_next_triggered(p, &it1) == NULL);
    CHECK(po_next_triggered(p, &it1) == NULL);
    CHECK(po_next_triggered(p, &done) == NULL);
    CHECK_EQ(l_walk(p, s2, N2), N2);
    CHECK_EQ(l_walk(p, s2, N2), N2);

    /* A second fresh walk does not disturb one in progress. */
    po_iter part = PO_ITER_INIT;
    po_channel *a = po_next_triggered(p, &part);
    CHECK(a != NULL);
    CHECK_EQ(l_walk(p, s2, N2), N2);
    int rest = 0;
    for (po_channel *ch; (ch = po_next_triggered(p, &part)) != NULL;) {
        CHECK(ch != a);
        CHECK(l_find_ctx(s2, N2, po_channel_ctx(ch)) != NULL);
        rest++;
    }
    CHECK_EQ(rest, N2 - 1);

    /* A round that triggered nothing: nothing to walk, old walks stay over. */
    po_iter mid = PO_ITER_INIT;
    CHECK(po_next_triggered(p, &mid) != NULL);
    for (int i = 0; i < N2; i++)
        T_WANT(&r2[i], 0);
    po_triggers total = 0;
    CHECK_EQ(po_wait(p, 0, &total), 0);
    CHECK_EQ(total, PO_TIMEOUT);
    CHECK(po_next_triggered(p, &mid) == NULL);
    po_iter empty = PO_ITER_INIT;
    CHECK(po_next_triggered(p, &empty) == NULL);

    po_destroy(p);
    for (int i = 0; i < N1; i++)
        CHECK_EQ(r1[i].deinits, 1);
    for (int i = 0; i < N2; i++)
        CHECK_EQ(r2[i].deinits, 1);
}

/* ------------------------------------------------------------------------ */
/* Backend choice                                                            */

/* A poller of `kind` is created, named `name`, and works. */
static void bc_expect(po_backend_kind kind, const char *name) {
    po_options o;
    memset(&o, 0, sizeof o);
    o.backend = kind;
    int err = 12345;
    po_poller *p = po_create(kind == PO_BACKEND_DEFAULT ? NULL : &o, &err);
    if (p == NULL)
        po_fail(__FILE__, __LINE__, "po_create(kind %d) for %s: %s", (int)kind,
                name, po_strerror(err));
    CHECK(po_backend_name(p) != NULL);
    if (strcmp(po_backend_name(p), name) != 0)
        po_fail(__FILE__, __LINE__, "backend %s, expected %s",
                po_backend_name(p), name);
    l_chan c, d;
    l_attach_pair(p, &c, 1, PO_RECV);
    l_init(&d, 2, T_NO_SOCK, T_NO_SOCK, PO_POOL);
    l_attach(p, &d);
    l_chan *set[2] = {&c, &d};
    l_poke(&c);
    l_round(p, set, 2);
    po_destroy(p);
    CHECK_EQ(c.deinits + d.deinits, 2);
    l_close_all();
}

static void bc_refused(po_backend_kind kind, int code) {
    po_options o;
    memset(&o, 0, sizeof o);
    o.backend = kind;
    int err = 12345;
    CHECK(po_create(kind == PO_BACKEND_DEFAULT ? NULL : &o, &err) == NULL);
    CHECK_EQ(err, code);
    if (kind == PO_BACKEND_DEFAULT) {
        err = 12345;
        CHECK(po_create(&o, &err) == NULL); /* a zeroed struct, the same */
        CHECK_EQ(err, code);
    }
}

/* io_uring is a backend of this system only where the kernel allows it. */
static bool bc_native(po_backend_kind kind) {
    if (kind == PO_BACKEND_URING) {
        po_options o;
        memset(&o, 0, sizeof o);
        o.backend = kind;
        po_poller *p = po_create(&o, NULL);
        po_destroy(p);
        return p != NULL;
    }
    for (size_t i = 0; i < t_native_count; i++)
        if (t_native_backends[i].kind == kind)
            return true;
    return false;
}

/* Every backend of this system, chosen explicitly, works whatever the
 * environment says. */
static void bc_expect_natives(void) {
    for (size_t i = 0; i < t_native_count; i++)
        bc_expect(t_native_backends[i].kind, t_native_backends[i].name);
}

void case_backend_choice(void) {
    static const t_backend_info all[] = {{PO_BACKEND_EPOLL, "epoll"},
                                         {PO_BACKEND_POLL, "poll"},
                                         {PO_BACKEND_KQUEUE, "kqueue"},
                                         {PO_BACKEND_WEPOLL, "wepoll"},
                                         {PO_BACKEND_URING, "uring"}};
    enum { NALL = sizeof all / sizeof all[0] };
    const char *env = getenv("POLLEROS_BACKEND");
    char saved[64] = "";
    bool had_env = env != NULL;
    if (env) {
        CHECK(strlen(env) < sizeof saved);
        strcpy(saved, env);
    }
    CHECK(t_native_count >= 1);
    CHECK(bc_native(PO_BACKEND_POLL));

    /* The default follows the environment (as CTest sets it). */
    po_poller *p = t_poller();
    if (env && *env)
        CHECK(strcmp(po_backend_name(p), env) == 0);
    po_destroy(p);

    /* Explicit choices: this system's backends work, the others are
     * refused. */
    for (int i = 0; i < NALL; i++) {
        if (bc_native(all[i].kind))
            bc_expect(all[i].kind, all[i].name);
        else
            bc_refused(all[i].kind, PO_ENOTSUP);
    }
    bc_refused((po_backend_kind)(PO_BACKEND_URING + 1), PO_EINVAL);

    /* Unknown names in the environment. */
    static const char *const bogus[] = {"bogus", "pol", "epolll", "poll "};
    for (size_t i = 0; i < sizeof bogus / sizeof bogus[0]; i++) {
        t_setenv("POLLEROS_BACKEND", bogus[i]);
        bc_refused(PO_BACKEND_DEFAULT, PO_EINVAL);
        /* An explicit option beats the environment. */
        bc_expect_natives();
    }

    /* Every name in the environment: a backend of this system is used (an
     * explicit option still beats it), another one is refused. */
    for (int i = 0; i < NALL; i++) {
        t_setenv("POLLEROS_BACKEND", all[i].name);
        if (bc_native(all[i].kind))
            bc_expect(PO_BACKEND_DEFAULT, all[i].name);
        else
            bc_refused(PO_BACKEND_DEFAULT, PO_ENOTSUP);
        bc_expect_natives();
    }
    /* No environment: the platform's best (epoll on Linux, whether the
     * kernel allows io_uring or not). */
    t_setenv("POLLEROS_BACKEND", NULL);
    bc_expect(PO_BACKEND_DEFAULT, t_native_backends[0].name);
#ifdef __linux__
    /* io_uring refused (a seccomp profile, the io_uring_disabled sysctl, an
     * old kernel): asked for explicitly, it fails and errno says why. */
    if (!bc_native(PO_BACKEND_URING)) {
        errno = 0;
        bc_refused(PO_BACKEND_URING, PO_ENOTSUP);
        int e = errno;
        if (e != EPERM && e != EACCES && e != ENOSYS && e != EINVAL &&
            e != EOPNOTSUPP)
            po_fail(__FILE__, __LINE__, "io_uring refused, errno %d: %s", e,
                    strerror(e));
    }
#endif

    t_setenv("POLLEROS_BACKEND", had_env ? saved : NULL);
    p = t_poller();
    po_destroy(p);
}

/* ------------------------------------------------------------------------ */
/* Allocation failure at every allocation                                    */

/* An allocator that counts malloc and realloc calls, fails the fail_at-th
 * one, and tracks every live block. */
typedef struct fa_state {
    long calls; /* malloc + realloc calls */
    long mallocs, reallocs;
    long fail_at;  /* 1-based call to fail; 0: none */
    bool injected; /* since the last fa_begin */
    bool ever;     /* in this scenario */
    long live_blocks;
    size_t live_bytes;
    long free_null;
    long bad_ctx;
} fa_state;

static fa_state g_fa;

enum { FA_MAGIC = 0x5eed1e55 };
typedef union fa_hdr {
    max_align_t align;
    struct {
        size_t size;
        unsigned magic;
    } h;
} fa_hdr;

static bool fa_fail_now(void *ctx) {
    if (ctx != &g_fa)
        g_fa.bad_ctx++;
    g_fa.calls++;
    if (g_fa.calls == g_fa.fail_at) {
        g_fa.injected = g_fa.ever = true;
        g_fa.fail_at = 0; /* failures off from here */
        return true;
    }
    return false;
}

static void *fa_new(size_t n) {
    fa_hdr *h = malloc(sizeof *h + n);
    CHECK(h != NULL);
    h->h.size = n;
    h->h.magic = FA_MAGIC;
    g_fa.live_blocks++;
    g_fa.live_bytes += n;
    return h + 1;
}

static void *fa_malloc(size_t n, void *ctx) {
    g_fa.mallocs++;
    return fa_fail_now(ctx) ? NULL : fa_new(n);
}

static void *fa_realloc(void *ptr, size_t n, void *ctx) {
    g_fa.reallocs++;
    if (fa_fail_now(ctx))
        return NULL; /* the old block stays as it was */
    if (ptr == NULL)
        return fa_new(n);
    fa_hdr *h = (fa_hdr *)ptr - 1;
    CHECK_EQ(h->h.magic, FA_MAGIC);
    size_t old = h->h.size;
    fa_hdr *nh = realloc(h, sizeof *nh + n);
    CHECK(nh != NULL);
    nh->h.size = n;
    g_fa.live_bytes = g_fa.live_bytes - old + n;
    return nh + 1;
}

static void fa_free(void *ptr, void *ctx) {
    if (ctx != &g_fa)
        g_fa.bad_ctx++;
    if (ptr == NULL) {
        g_fa.free_null++;
        return;
    }
    fa_hdr *h = (fa_hdr *)ptr - 1;
    CHECK_EQ(h->h.magic, FA_MAGIC);
    h->h.magic = 0;
    g_fa.live_blocks--;
    g_fa.live_bytes -= h->h.size;
    free(h);
}

static const po_allocator fa_alloc = {fa_malloc, fa_realloc, fa_free, &g_fa};

enum { FA_N0 = 100, FA_N1 = 40, FA_N2 = 10, FA_MAX = FA_N0 + FA_N1 + FA_N2 };

typedef struct fa_model {
    po_poller *p;
    l_chan c[FA_MAX];
    int nch; /* c[0..nch) were attached */
    size_t nlive;
    po_seqn next; /* the SeqN the next attach or set_socket must get */
} fa_model;

static po_chn fa_chn(int i) { return (po_chn)i * 7 + 3; }

/* Everything observable is as the model says. */
static void fa_verify(fa_model *m) {
    CHECK_EQ(po_count(m->p), m->nlive);
    for (int i = 0; i < FA_MAX; i++) {
        l_chan *c = &m->c[i];
        if (i >= m->nch) {
            CHECK(po_find(m->p, fa_chn(i)) == NULL);
            continue;
        }
        CHECK_EQ(c->bad, 0);
        if (c->deinits == 0) {
            CHECK(po_find(m->p, c->chn) == c->ch);
            CHECK_EQ(po_channel_seqn(c->ch), c->seqn);
            CHECK(po_channel_socket(c->ch) == c->fd);
            CHECK(po_channel_ctx(c->ch) == c);
            CHECK_EQ(po_channel_chn(c->ch), c->chn);
        } else {
            CHECK_EQ(c->deinits, 1);
            CHECK(po_find(m->p, c->chn) == NULL);
        }
    }
}

/* After a call: it failed with PO_ENOMEM exactly when the failure was
 * injected during it, and then nothing changed.  True: call it again. */
static bool fa_failed(fa_model *m, int rc) {
    if (g_fa.injected) {
        CHECK_EQ(rc, PO_ENOMEM);
        fa_verify(m);
        return true;
    }
    CHECK(rc != PO_ENOMEM);
    return false;
}

#define FA_CALL(m, rc, call)                                                   \
    do {                                                                       \
        g_fa.injected = false;                                                 \
        (rc) = (call);                                                         \
    } while (fa_failed((m), (rc)))

static void fa_attach(fa_model *m, int i, bool sock, po_triggers want) {
    CHECK_EQ(i, m->nch);
    l_chan *c = &m->c[i];
    t_sock sv[2] = {T_NO_SOCK, T_NO_SOCK};
    if (sock)
        l_pair(sv);
    l_init(c, fa_chn(i), sv[0], sv[1], want);
    po_channel *ch = NULL;
    int rc;
    g_fa.injected = false;
    rc = po_attach(m->p, c->chn, c->fd, &l_ops, c, &ch);
    while (fa_failed(m, rc)) {
        CHECK_EQ(c->deinits + c->probes, 0);
        g_fa.injected = false;
        rc = po_attach(m->p, c->chn, c->fd, &l_ops, c, &ch);
    }
    CHECK_EQ(rc, PO_OK);
    c->ch = ch;
    CHECK_EQ(po_channel_seqn(ch), m->next);
    c->seqn = m->next++;
    m->nch++;
    m->nlive++;
}

static void fa_set_socket(fa_model *m, int i, bool sock) {
    l_chan *c = &m->c[i];
    t_sock sv[2] = {T_NO_SOCK, T_NO_SOCK};
    if (sock)
        l_pair(sv);
    int rc;
    FA_CALL(m, rc, po_set_socket(c->ch, sv[0]));
    CHECK_EQ(rc, PO_OK);
    CHECK_EQ(po_channel_seqn(c->ch), m->next);
    c->seqn = m->next++;
    c->fd = sv[0];
    c->peer = sv[1];
    c->ready = false;
    T_WANT(c, sock ? (c->want | PO_RECV) : PO_POOL);
}

/* A round: pokes every `every`-th live socket channel, waits, checks the
 * triggered set exactly; po_wait and the walk never allocate. */
static void fa_round(fa_model *m, int every) {
    l_chan *set[FA_MAX];
    for (int i = 0; i < m->nch; i++) {
        set[i] = &m->c[i];
        if (l_live(&m->c[i]) && m->c[i].fd != T_NO_SOCK && i % every == 0)
            l_poke(&m->c[i]);
    }
    long calls = g_fa.calls;
    l_round(m->p, set, m->nch);
    CHECK_EQ(g_fa.calls, calls);
    for (int i = 0; i < m->nch; i++)
        if (l_live(&m->c[i]) && m->c[i].ready)
            l_drain(&m->c[i]);
}

static void fa_delete(fa_model *m, int i) {
    int rc;
    FA_CALL(m, rc, po_delete(m->p, m->c[i].chn));
    CHECK_EQ(rc, PO_OK);
    CHECK_EQ(m->c[i].deinits, 1);
    m->nlive--;
}

/* The scenario with the k-th allocation failing; true if it was reached. */
static bool fa_run(long k) {
    memset(&g_fa, 0, sizeof g_fa);
    g_fa.fail_at = k;
    fa_model *m = calloc(1, sizeof *m);
    CHECK(m != NULL);
    po_options o;
    memset(&o, 0, sizeof o);
    o.allocator = &fa_alloc;
    for (;;) {
        int err = 12345;
        g_fa.injected = false;
        m->p = po_create(&o, &err);
        if (m->p != NULL)
            break;
        CHECK(g_fa.injected);
        CHECK_EQ(err, PO_ENOMEM);
        CHECK_EQ(g_fa.live_blocks, 0);
        CHECK_EQ(g_fa.live_bytes, 0);
    }
    CHECK(!g_fa.injected);
    if (getenv("POLLEROS_BACKEND") && *getenv("POLLEROS_BACKEND"))
        CHECK(strcmp(po_backend_name(m->p), t_backend()) == 0);
    m->next = 1;

    /* 100 channels, three in four with a socket: every array and map grows
     * past its first size. */
    for (int i = 0; i < FA_N0; i++) {
        if (i % 4 != 3)
            fa_attach(m, i, true, PO_RECV);
        else
            fa_attach(m, i, false, i % 8 == 3 ? PO_POOL : 0);
    }
    fa_verify(m);
    /* Rounds that register every socket. */
    fa_round(m, 5);
    fa_round(m, 1);

    /* Sockets for the socketless, new sockets for some, none for others. */
    for (int i = 3; i < FA_N0; i += 4)
        fa_set_socket(m, i, true);
    for (int i = 0; i < 20; i += 4)
        fa_set_socket(m, i, true);
    for (int i = 1; i < 12; i += 4)
        fa_set_socket(m, i, false);
    fa_verify(m);
    fa_round(m, 1);

    /* More channels, past the next growth of the socket arrays. */
    for (int i = FA_N0; i < FA_N0 + FA_N1; i++)
        fa_attach(m, i, i % 5 != 0, i % 5 == 0 ? PO_POOL : PO_RECV);
    fa_round(m, 2);
    fa_round(m, 1);

    /* Deletes: one by one, by group, by mark. */
    for (int i = 0; i < m->nch; i += 3)
        fa_delete(m, i);
    po_chn grp[40];
    size_t ng = 0;
    int expect = 0;
    for (int i = 1; i < 60; i += 3) {
        grp[ng++] = fa_chn(i);
        expect++;
    }
    grp[ng++] = fa_chn(0);           /* deleted already */
    grp[ng++] = fa_chn(FA_MAX + 50); /* never attached */
    int rc;
    FA_CALL(m, rc, po_delete_group(m->p, grp, ng));
    CHECK_EQ(rc, expect);
    m->nlive -= (size_t)expect;
    int marked = 0;
    for (int i = FA_N0 + 1; i < m->nch; i += 3) { /* i % 3 == 2: live */
        po_mark_delete(m->c[i].ch);
        marked++;
    }
    FA_CALL(m, rc, po_delete_marked(m->p));
    CHECK_EQ(rc, marked);
    m->nlive -= (size_t)marked;
    fa_verify(m);
    fa_round(m, 1);

    /* Attach again after the deletes. */
    for (int i = FA_N0 + FA_N1; i < FA_MAX; i++)
        fa_attach(m, i, i % 2 == 0, i % 2 == 0 ? PO_RECV : PO_POOL);
    fa_verify(m);
    fa_round(m, 1);

    po_destroy(m->p);
    for (int i = 0; i < m->nch; i++) {
        CHECK_EQ(m->c[i].deinits, 1);
        CHECK_EQ(m->c[i].bad, 0);
    }
    CHECK_EQ(g_fa.live_blocks, 0);
    CHECK_EQ(g_fa.live_bytes, 0);
    CHECK_EQ(g_fa.free_null, 0);
    CHECK_EQ(g_fa.bad_ctx, 0);
    l_close_all();
    free(m);
    return g_fa.ever;
}

void case_alloc_failure_every_k(void) {
    enum { KMAX = 100000 };
    /* The smallest life: create and destroy, nothing attached. */
    memset(&g_fa, 0, sizeof g_fa);
    po_options o;
    memset(&o, 0, sizeof o);
    o.allocator = &fa_alloc;
    po_poller *p = t_poller_opts(&o);
    CHECK(g_fa.mallocs > 0);
    CHECK_EQ(po_wait(p, 0, NULL), 0);
    po_destroy(p);
    CHECK_EQ(g_fa.live_blocks, 0);
    CHECK_EQ(g_fa.live_bytes, 0);
    CHECK_EQ(g_fa.free_null, 0);
    CHECK_EQ(g_fa.bad_ctx, 0);

    long k;
    for (k = 1; k < KMAX; k++)
        if (!fa_run(k))
            break;
    CHECK(k < KMAX);
    /* The last run had fewer allocations than k: every one of them was
     * failed once in an earlier run. */
    CHECK_EQ(g_fa.calls, k - 1);
    CHECK(g_fa.mallocs > 0);
}
