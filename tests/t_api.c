/*
 * What a program that does not inline C relies on (a binding: Python's
 * ctypes, Zig, Rust): po_version() is the header's version, and the
 * functions the library exports under the names of the header's inline walk
 * and accessors return exactly what the inline ones return, step by step,
 * over a round with every kind of triggered channel.
 */
#include <string.h>

#include "harness.h"

/* t_api_exported.c, compiled with POLLEROS_NO_INLINE. */
po_channel *t_api_exported_step(po_poller *p, po_iter *it, po_chn *chn,
                                po_seqn *seqn, po_socket *sock, void **ctx,
                                po_triggers *act, po_triggers *wants, int *err);

/* A step of each walk: the same channel, the same iterator state after it,
 * and for a channel, the same answer from every accessor.  Returns it. */
static po_channel *api_step(po_poller *p, po_iter *in, po_iter *ex) {
    po_chn chn = 0;
    po_seqn seqn = 0;
    po_socket sock = PO_NO_SOCKET;
    void *ctx = NULL;
    po_triggers act = 0, wants = 0;
    int err = -1;
    po_channel *ch = po_next_triggered(p, in);
    CHECK(t_api_exported_step(p, ex, &chn, &seqn, &sock, &ctx, &act, &wants,
                              &err) == ch);
    CHECK(in->next == ex->next);
    CHECK_EQ(in->round, ex->round);
    if (ch != NULL) {
        CHECK_EQ(chn, po_channel_chn(ch));
        CHECK_EQ(seqn, po_channel_seqn(ch));
        CHECK(sock == po_channel_socket(ch));
        CHECK(ctx == po_channel_ctx(ch));
        CHECK_EQ(act, po_channel_act(ch));
        CHECK_EQ(wants, po_channel_wants(ch));
        CHECK_EQ(err, po_channel_errno(ch));
    }
    return ch;
}

void case_api_version_and_exports(void) {
    long v = po_version();
    CHECK_EQ(v, POLLEROS_VERSION);
    CHECK_EQ(v / 1000000, POLLEROS_VERSION_MAJOR);
    CHECK_EQ(v / 1000 % 1000, POLLEROS_VERSION_MINOR);
    CHECK_EQ(v % 1000, POLLEROS_VERSION_PATCH);

    po_poller *p = t_poller();
    t_sock a[2], idle[2];
    t_socketpair(a);
    t_socketpair(idle);
    t_sock f = t_regular_file("file", 4);
    /* Channel i (from 1) is c[i]: readable, writable, an internal trigger
     * without a socket, a descriptor the poller refuses (PO_ERR and its
     * errno), one that nothing triggers, and one deleted between the wait
     * and the walk. */
    enum { N = 7 };
    t_chan c[N] = {{0}};
    const struct {
        t_sock s;
        po_triggers want, act;
    } plan[N] = {
        {T_NO_SOCK, 0, 0},        {a[0], PO_RECV, PO_RECV},
        {a[1], PO_SEND, PO_SEND}, {T_NO_SOCK, PO_POOL, PO_POOL},
        {f, PO_RECV, PO_ERR},     {idle[0], PO_RECV, 0},
        {T_NO_SOCK, PO_POOL, 0},
    };
    for (po_chn i = 1; i < N; i++) {
        c[i].want = plan[i].want;
        c[i].fd = plan[i].s;
        CHECK_EQ(po_attach(p, i, plan[i].s, &t_ops, &c[i], &c[i].ch), PO_OK);
    }
    t_write_all(a[1], "x", 1);
    CHECK_EQ(po_wait(p, 1000, NULL), 5);
    CHECK_EQ(po_delete(p, 6), PO_OK);

    po_iter in = PO_ITER_INIT, ex = PO_ITER_INIT;
    int seen[N] = {0};
    for (po_channel *ch; (ch = api_step(p, &in, &ex)) != NULL;) {
        po_chn i = po_channel_chn(ch);
        CHECK(i >= 1 && i < N);
        CHECK(ch == c[i].ch && po_channel_ctx(ch) == &c[i]);
        CHECK(po_channel_socket(ch) == plan[i].s);
        CHECK_EQ(po_channel_act(ch), plan[i].act);
        CHECK_EQ(po_channel_wants(ch), plan[i].want);
        CHECK_EQ(po_channel_errno(ch), i == 4 ? t_file_errno(t_backend()) : 0);
        CHECK_EQ(po_channel_seqn(ch), i); /* one attach each, in order */
        seen[i]++;
    }
    const int expect[N] = {0, 1, 1, 1, 1, 0, 0};
    CHECK(memcmp(seen, expect, sizeof seen) == 0);
    /* Both walks stay at their end; a walk left halfway ends in both once
     * the next wait has run; neither walks a NULL poller. */
    CHECK(api_step(p, &in, &ex) == NULL);
    CHECK_EQ(po_wait(p, 1000, NULL), 4);
    in = ex = (po_iter)PO_ITER_INIT;
    CHECK(api_step(p, &in, &ex) != NULL);
    CHECK_EQ(po_wait(p, 1000, NULL), 4);
    CHECK(api_step(p, &in, &ex) == NULL);
    CHECK(api_step(NULL, &in, &ex) == NULL);

    CHECK_EQ(po_destroy(p), PO_OK);
    t_close_file(f);
    t_pair_done(idle);
    t_pair_done(a);
}
