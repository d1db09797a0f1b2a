/*
 * Conformance cases about events: what the kernel reports, how it is
 * translated for a channel's wants, when kernel calls are made, and that a
 * stale token or a reused descriptor never reaches the wrong channel.
 * Everything goes through the public API, over real sockets.
 */
#include "harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */

/* The backends whose kernel object is an epoll set (uring drives one). */
static bool ev_is_epoll(const po_poller *p) {
    return strcmp(po_backend_name(p), "epoll") == 0 ||
           strcmp(po_backend_name(p), "uring") == 0;
}

static po_stats ev_stats(const po_poller *p) {
    po_stats s;
    memset(&s, 0, sizeof s);
    po_get_stats(p, &s);
    return s;
}

/* Attaches c (its want already set) under chn on fd; returns the channel. */
static po_channel *ev_attach(po_poller *p, po_chn chn, t_sock fd, t_chan *c) {
    c->fd = fd;
    c->ch = NULL;
    CHECK_EQ(po_attach(p, chn, fd, &t_ops, c, &c->ch), PO_OK);
    CHECK(c->ch != NULL);
    return c->ch;
}

static void ev_close(t_sock fd) { t_close(fd); }

/* The byte at position i of a test stream. */
static unsigned char ev_pat(size_t i) {
    return (unsigned char)(i * 131u + (i >> 9) + 7u);
}

static void ev_fill(unsigned char *buf, size_t from, size_t n) {
    for (size_t i = 0; i < n; i++)
        buf[i] = ev_pat(from + i);
}

/* Checks buf holds the stream bytes [from, from + n). */
static void ev_check_pat(const unsigned char *buf, size_t from, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (buf[i] != ev_pat(from + i))
            po_fail(__FILE__, __LINE__, "byte %zu of the stream is %u, not %u",
                    from + i, buf[i], ev_pat(from + i));
}

/* Reads everything available now; checks it is exactly `want`. */
static void ev_read_exact(t_sock fd, const char *want) {
    char buf[256];
    size_t n = strlen(want);
    CHECK(n < sizeof buf);
    long r = t_read_some(fd, buf, sizeof buf);
    CHECK_EQ(r, (long)n);
    CHECK(memcmp(buf, want, n) == 0);
    CHECK_EQ(t_read_some(fd, buf, sizeof buf), -1);
}

/* Reads and drops everything available now; returns how many bytes. */
static size_t ev_drain(t_sock fd) {
    char buf[4096];
    size_t total = 0;
    for (long r; (r = t_read_some(fd, buf, sizeof buf)) > 0;)
        total += (size_t)r;
    return total;
}

/* Reads and drops exactly n bytes, waiting for those still on their way (a
 * TCP pair moves a full window in several steps). */
static void ev_drain_n(t_sock fd, size_t n) {
    char buf[4096];
    size_t got = 0;
    while (got < n) {
        long r = t_read_some(fd, buf, sizeof buf);
        CHECK(r != 0);
        if (r > 0)
            got += (size_t)r;
        else
            CHECK(t_ready(fd, false, 5000));
    }
    CHECK_EQ(got, n);
}

/* `rounds` waits of timeout_ms each: ch is never triggered. */
static void ev_never(po_poller *p, po_channel *ch, int rounds, int timeout_ms) {
    for (int i = 0; i < rounds; i++) {
        CHECK(po_wait(p, timeout_ms, NULL) >= 0);
        if (t_triggered(p, ch))
            po_fail(__FILE__, __LINE__,
                    "wait %d triggered the channel with act 0x%02x", i,
                    po_channel_act(ch));
    }
}

/* One wait that triggers nothing: returns 0 with PO_TIMEOUT, no walk. */
static void ev_quiet_wait(po_poller *p, int timeout_ms) {
    po_triggers t = 0;
    CHECK_EQ(po_wait(p, timeout_ms, &t), 0);
    CHECK_EQ(t, PO_TIMEOUT);
    po_iter it = PO_ITER_INIT;
    CHECK(po_next_triggered(p, &it) == NULL);
}

/* A socket pair whose first end is socket number x, just closed; skips the
 * case where the system does not hand the number out again. */
static void ev_socketpair_at(t_sock x, t_sock sv[2]) {
    if (!t_socketpair_at(x, sv))
        po_skip("this system does not reuse a closed socket's number on "
                "demand, which the case needs");
    CHECK_EQ(sv[0], x);
}

/* A connected loopback TCP pair, both ends non-blocking. */
static void ev_tcp_pair(t_sock sv[2]) {
    uint16_t port;
    t_sock l = t_listener(&port);
    t_sock c = t_connect(port);
    CHECK(t_ready(l, false, 5000));
    t_sock s = t_accept(l);
    CHECK(t_ready(c, true, 5000));
    ev_close(l);
    sv[0] = s;
    sv[1] = c;
}

/* ------------------------------------------------------------------------ */
/* fd_reuse_aba                                                             */

/* Delete between rounds, then reuse the number and the descriptor. */
static void ev_reuse_between_rounds(void) {
    po_poller *p = t_poller();
    t_sock s[2];
    t_socketpair(s);
    t_sock x = s[0];
    t_chan old = {.want = PO_RECV};
    po_channel *och = ev_attach(p, 7, x, &old);
    po_seqn oseq = po_channel_seqn(och);
    t_write_all(s[1], "old data", 8);
    CHECK_EQ(t_wait_for(p, och, PO_RECV, 20, 100), PO_RECV);
    CHECK_EQ(t_wait_for(p, och, PO_RECV, 1, 100), PO_RECV);

    /* Unread data stays in the old socket when it goes away. */
    po_stats before = ev_stats(p);
    CHECK_EQ(po_delete(p, 7), PO_OK);
    CHECK_EQ(old.deinits, 1);
    CHECK_EQ(ev_stats(p).dels, before.dels + 1);
    ev_close(x);
    ev_close(s[1]);

    t_sock n[2];
    ev_socketpair_at(x, n);
    t_chan fresh = {.want = PO_RECV};
    po_channel *nch = ev_attach(p, 7, x, &fresh);
    CHECK(po_find(p, 7) == nch);
    CHECK(po_channel_seqn(nch) > oseq);
    CHECK_EQ(po_channel_socket(nch), x);

    ev_never(p, nch, 100, 2);
    /* Probed on every wait, or (changed reconciliation) once after attach:
     * nothing it wants can change while it is never triggered. */
    CHECK(fresh.probes >= (t_full_reconcile() ? 100 : 1));

    t_write_all(n[1], "new", 3);
    CHECK_EQ(t_wait_for(p, nch, PO_RECV, 20, 100), PO_RECV);
    ev_read_exact(x, "new");
    ev_never(p, nch, 5, 10);
    /* The delete unregistered the old socket: nothing stale ever came. */
    CHECK_EQ(ev_stats(p).stale, 0);

    po_destroy(p);
    CHECK_EQ(fresh.deinits, 1);
    ev_close(n[0]);
    ev_close(n[1]);
}

/* Delete inside the walk of a round in which the channel is triggered. */
static void ev_reuse_inside_walk(void) {
    po_poller *p = t_poller();
    t_sock a[2], m[2];
    t_socketpair(a);
    t_socketpair(m);
    t_sock x = a[0];
    t_chan cn = {.want = PO_RECV}, cm = {.want = PO_RECV};
    po_channel *och = ev_attach(p, 1, x, &cn);
    po_channel *mch = ev_attach(p, 2, m[0], &cm);
    ev_quiet_wait(p, 0); /* both registered, nothing ready */
    t_write_all(a[1], "old", 3);
    t_write_all(m[1], "m", 1);
    po_triggers t = 0;
    CHECK_EQ(po_wait(p, 1000, &t), 2);
    CHECK_EQ(t, PO_RECV);
    CHECK_EQ(po_channel_act(och), PO_RECV);
    CHECK_EQ(po_channel_act(mch), PO_RECV);

    t_sock n[2] = {T_NO_SOCK, T_NO_SOCK};
    t_chan fresh = {.want = PO_RECV};
    po_channel *nch = NULL;
    bool deleted = false, pending_when_deleted = false;
    int visits = 0;
    po_iter it = PO_ITER_INIT;
    for (po_channel *c; (c = po_next_triggered(p, &it)) != NULL;) {
        visits++;
        if (deleted) {
            CHECK(c != och); /* deleted: not visited afterwards */
            CHECK(c != nch); /* attached during the walk: not visited */
            continue;
        }
        pending_when_deleted = c != och;
        po_stats before = ev_stats(p);
        CHECK_EQ(po_delete(p, 1), PO_OK);
        CHECK_EQ(cn.deinits, 1);
        CHECK_EQ(ev_stats(p).dels, before.dels + 1);
        ev_close(a[0]);
        ev_close(a[1]);
        ev_socketpair_at(x, n);
        nch = ev_attach(p, 1, x, &fresh);
        CHECK(po_find(p, 1) == nch);
        CHECK_EQ(po_channel_act(nch), 0);
        deleted = true;
    }
    CHECK(deleted);
    CHECK(visits >= 1 && visits <= 2);
    if (pending_when_deleted)
        CHECK_EQ(visits, 1);
    ev_read_exact(m[0], "m");

    ev_never(p, nch, 100, 2);
    t_write_all(n[1], "new", 3);
    CHECK_EQ(t_wait_for(p, nch, PO_RECV, 20, 100), PO_RECV);
    CHECK(!t_triggered(p, mch));
    ev_read_exact(x, "new");
    CHECK_EQ(ev_stats(p).stale, 0);

    po_destroy(p);
    CHECK_EQ(fresh.deinits, 1);
    CHECK_EQ(cm.deinits, 1);
    ev_close(n[0]);
    ev_close(n[1]);
    ev_close(m[0]);
    ev_close(m[1]);
}

/* A deleted channel's socket, still open and readable, is heard no more:
 * the delete unregistered it at once. */
static void ev_deleted_still_open(void) {
    po_poller *p = t_poller();
    t_sock s[2];
    t_socketpair(s);
    t_chan c = {.want = PO_RECV};
    po_channel *ch = ev_attach(p, 3, s[0], &c);
    t_write_all(s[1], "unread", 6);
    CHECK_EQ(t_wait_for(p, ch, PO_RECV, 20, 100), PO_RECV);
    CHECK_EQ(po_delete(p, 3), PO_OK);
    for (int i = 0; i < 5; i++)
        ev_quiet_wait(p, 10);
    t_write_all(s[1], "more", 4);
    ev_quiet_wait(p, 10);
    po_stats st = ev_stats(p);
    CHECK_EQ(st.stale, 0);
    CHECK_EQ(st.dels, 1);
    ev_read_exact(s[0], "unreadmore");
    po_destroy(p);
    ev_close(s[0]);
    ev_close(s[1]);
}

void case_fd_reuse_aba(void) {
    ev_deleted_still_open();
    ev_reuse_between_rounds();
    ev_reuse_inside_walk();
}

/* ------------------------------------------------------------------------ */
/* stale_seqn_dropped                                                       */

void case_stale_seqn_dropped(void) {
    po_poller *p = t_poller();
    bool epoll = ev_is_epoll(p);
    t_sock s[2];
    t_socketpair(s);
    t_sock x = s[0];
    t_chan old = {.want = PO_RECV};
    po_channel *och = ev_attach(p, 5, x, &old);
    po_seqn oseq = po_channel_seqn(och);
    t_write_all(s[1], "stale", 5);
    CHECK_EQ(t_wait_for(p, och, PO_RECV, 20, 100), PO_RECV);

    /* The open file lives on through y; x is closed behind the poller's
     * back, so the delete cannot unregister it from epoll. */
    t_sock y = t_dup(x);
    ev_close(x);
    po_stats before = ev_stats(p);
    CHECK_EQ(po_delete(p, 5), PO_OK);
    CHECK_EQ(old.deinits, 1);
    po_stats st = ev_stats(p);
    CHECK_EQ(st.dels, before.dels + 1);

    for (int i = 0; i < 20; i++)
        ev_quiet_wait(p, 20);
    po_stats after_del = ev_stats(p);
    CHECK_EQ(after_del.events, st.events);
    if (epoll)
        CHECK(after_del.stale > st.stale);
    else
        CHECK_EQ(after_del.stale, 0);

    /* A new socket on the same descriptor number, under the same channel
     * number, and another channel beside it. */
    t_sock n[2], o[2];
    ev_socketpair_at(x, n);
    t_socketpair(o);
    t_chan fresh = {.want = PO_RECV}, other = {.want = PO_RECV};
    po_channel *nch = ev_attach(p, 5, x, &fresh);
    po_channel *ach = ev_attach(p, 6, o[0], &other);
    CHECK(po_channel_seqn(nch) > oseq);
    CHECK(po_channel_seqn(ach) > oseq);
    for (int i = 0; i < 50; i++) {
        ev_quiet_wait(p, 5);
        CHECK(!t_triggered(p, nch));
        CHECK(!t_triggered(p, ach));
    }
    po_stats quiet = ev_stats(p);
    CHECK_EQ(quiet.events, after_del.events);
    if (epoll)
        CHECK(quiet.stale >= after_del.stale + 50);
    else
        CHECK_EQ(quiet.stale, 0);

    t_write_all(n[1], "fresh", 5);
    CHECK_EQ(t_wait_for(p, nch, PO_RECV, 20, 100), PO_RECV);
    CHECK(!t_triggered(p, ach));
    ev_read_exact(x, "fresh");
    if (!epoll)
        CHECK_EQ(ev_stats(p).stale, 0);
    /* The old socket's bytes were never taken by anyone. */
    ev_read_exact(y, "stale");

    po_destroy(p);
    ev_close(y);
    ev_close(s[1]);
    ev_close(n[0]);
    ev_close(n[1]);
    ev_close(o[0]);
    ev_close(o[1]);
}

/* ------------------------------------------------------------------------ */
/* mod_only_on_change                                                       */

/* One wait; then checks the kernel call counters moved by exactly this. */
static void ev_wait_ctl(po_poller *p, po_stats *base, int dadds, int dmods,
                        int ddels, uint64_t *nwaits) {
    CHECK(po_wait(p, 0, NULL) >= 0);
    (*nwaits)++;
    po_stats s = ev_stats(p);
    CHECK_EQ(s.adds, base->adds + (uint64_t)dadds);
    CHECK_EQ(s.mods, base->mods + (uint64_t)dmods);
    CHECK_EQ(s.dels, base->dels + (uint64_t)ddels);
    CHECK_EQ(s.waits, *nwaits);
    *base = s;
}

void case_mod_only_on_change(void) {
    po_poller *p = t_poller();
    t_sock s[2];
    t_socketpair(s);
    t_chan c = {.want = PO_RECV};
    po_channel *ch = ev_attach(p, 1, s[0], &c);
    po_stats base = ev_stats(p);
    uint64_t nwaits = 0;
    CHECK_EQ(base.adds + base.mods + base.dels + base.waits, 0);

    ev_wait_ctl(p, &base, 1, 0, 0, &nwaits);
    CHECK_EQ(base.adds, 1);
    for (int i = 0; i < 1000; i++)
        ev_wait_ctl(p, &base, 0, 0, 0, &nwaits);
    CHECK_EQ(c.probes, t_full_reconcile() ? 1001 : 1);

    T_WANT(&c, PO_RECV | PO_SEND); /* readable -> readable|writable */
    ev_wait_ctl(p, &base, 0, 1, 0, &nwaits);
    CHECK_EQ(po_channel_act(ch), PO_SEND); /* the new interest is live */
    ev_wait_ctl(p, &base, 0, 0, 0, &nwaits);
    T_WANT(&c, PO_SEND); /* -> writable */
    ev_wait_ctl(p, &base, 0, 1, 0, &nwaits);
    CHECK_EQ(po_channel_act(ch), PO_SEND);
    T_WANT(&c, PO_RECV); /* -> readable */
    ev_wait_ctl(p, &base, 0, 1, 0, &nwaits);
    CHECK(!t_triggered(p, ch));
    T_WANT(&c, PO_NOTIFY); /* still readable: no call */
    ev_wait_ctl(p, &base, 0, 0, 0, &nwaits);
    T_WANT(&c, PO_RECV | PO_NOTIFY | PO_ACCEPT);
    ev_wait_ctl(p, &base, 0, 0, 0, &nwaits);
    T_WANT(&c, PO_NOTIFY);
    ev_wait_ctl(p, &base, 0, 0, 0, &nwaits);
    /* The unchanged registration still reports readability as NOTIFY. */
    t_write_all(s[1], "n", 1);
    ev_wait_ctl(p, &base, 0, 0, 0, &nwaits);
    CHECK_EQ(po_channel_act(ch), PO_NOTIFY);
    ev_read_exact(s[0], "n");

    T_WANT(&c, PO_POOL); /* no kernel interest: one del */
    ev_wait_ctl(p, &base, 0, 0, 1, &nwaits);
    CHECK_EQ(po_channel_act(ch), PO_POOL);
    T_WANT(&c, 0);
    for (int i = 0; i < 10; i++)
        ev_wait_ctl(p, &base, 0, 0, 0, &nwaits);
    T_WANT(&c, PO_RECV); /* back: one add */
    ev_wait_ctl(p, &base, 1, 0, 0, &nwaits);
    for (int i = 0; i < 10; i++)
        ev_wait_ctl(p, &base, 0, 0, 0, &nwaits);
    t_write_all(s[1], "r", 1);
    ev_wait_ctl(p, &base, 0, 0, 0, &nwaits);
    CHECK_EQ(po_channel_act(ch), PO_RECV);
    ev_read_exact(s[0], "r");

    base = ev_stats(p);
    CHECK_EQ(base.adds, 2);
    CHECK_EQ(base.mods, 3);
    CHECK_EQ(base.dels, 1);
    CHECK_EQ(base.waits, nwaits);

    po_destroy(p);
    ev_close(s[0]);
    ev_close(s[1]);
}

/* ------------------------------------------------------------------------ */
/* internal_trigger_no_block                                                */

/* po_wait(p, 10000) must come back at once; returns its result. */
static int ev_fast_wait(po_poller *p, po_triggers *total) {
    int64_t t0 = t_now_ms();
    int rc = po_wait(p, 10000, total);
    int64_t el = t_now_ms() - t0;
    if (el >= 1000)
        po_fail(__FILE__, __LINE__, "the wait blocked for %lld ms",
                (long long)el);
    return rc;
}

static void ev_internal_one(po_triggers trig) {
    po_poller *p = t_poller();
    t_sock s[2];
    t_socketpair(s);
    t_chan sock = {.want = PO_RECV}, dumb = {.want = trig};
    po_channel *sch = ev_attach(p, 1, s[0], &sock);
    po_channel *dch = ev_attach(p, 2, PO_NO_SOCKET, &dumb);
    po_triggers t = 0;

    /* A socketless channel with the internal trigger. */
    CHECK_EQ(ev_fast_wait(p, &t), 1);
    CHECK_EQ(t, trig);
    CHECK_EQ(po_channel_act(dch), trig);
    CHECK(t_triggered(p, dch));
    CHECK(!t_triggered(p, sch));

    /* A socket channel with the internal trigger and nothing readable. */
    T_WANT(&dumb, 0);
    T_WANT(&sock, PO_RECV | trig);
    CHECK_EQ(ev_fast_wait(p, &t), 1);
    CHECK_EQ(t, trig);
    CHECK_EQ(po_channel_act(sch), trig);
    CHECK(!t_triggered(p, dch));

    /* Readable too: the OS event is OR-ed onto the internal trigger. */
    t_write_all(s[1], "x", 1);
    CHECK_EQ(ev_fast_wait(p, &t), 1);
    CHECK_EQ(t, PO_RECV | trig);
    CHECK_EQ(po_channel_act(sch), PO_RECV | trig);

    /* Both channels at once. */
    T_WANT(&dumb, trig);
    CHECK_EQ(ev_fast_wait(p, &t), 2);
    CHECK_EQ(t, PO_RECV | trig);
    CHECK_EQ(po_channel_act(sch), PO_RECV | trig);
    CHECK_EQ(po_channel_act(dch), trig);
    ev_read_exact(s[0], "x");

    /* Without the internal triggers the wait blocks again. */
    T_WANT(&dumb, 0);
    T_WANT(&sock, PO_RECV);
    int64_t t0 = t_now_ms();
    ev_quiet_wait(p, 100);
    CHECK(t_now_ms() - t0 >= 90);

    po_destroy(p);
    ev_close(s[0]);
    ev_close(s[1]);
}

void case_internal_trigger_no_block(void) {
    ev_internal_one(PO_POOL);
    ev_internal_one(PO_ERR);
    ev_internal_one(PO_TIMEOUT);
}

/* ------------------------------------------------------------------------ */
/* timeout_reported / empty_poller_sleeps                                   */

void case_timeout_reported(void) {
    po_poller *p = t_poller();
    t_sock s[2];
    t_socketpair(s);
    t_chan c = {.want = PO_RECV}, d = {.want = 0};
    ev_attach(p, 1, s[0], &c);
    ev_attach(p, 2, PO_NO_SOCKET, &d);
    for (int i = 0; i < 2; i++) {
        po_triggers t = 0;
        int64_t t0 = t_now_ms();
        CHECK_EQ(po_wait(p, 200, &t), 0);
        int64_t el = t_now_ms() - t0;
        CHECK_EQ(t, PO_TIMEOUT);
        CHECK(el >= 190);
        CHECK(el < 3000);
        po_iter it = PO_ITER_INIT;
        CHECK(po_next_triggered(p, &it) == NULL);
        CHECK_EQ(po_channel_act(c.ch), 0);
        CHECK_EQ(po_channel_act(d.ch), 0);
    }
    CHECK_EQ(c.probes, t_full_reconcile() ? 2 : 1);
    CHECK_EQ(d.probes, t_full_reconcile() ? 2 : 1);
    CHECK_EQ(ev_stats(p).events, 0);
    po_destroy(p);
    ev_close(s[0]);
    ev_close(s[1]);
}

void case_empty_poller_sleeps(void) {
    po_poller *p = t_poller();
    CHECK_EQ(po_count(p), 0);
    for (int i = 0; i < 2; i++) {
        po_triggers t = 0;
        int64_t t0 = t_now_ms();
        CHECK_EQ(po_wait(p, 200, &t), 0);
        int64_t el = t_now_ms() - t0;
        CHECK_EQ(t, PO_TIMEOUT);
        CHECK(el >= 190);
        CHECK(el < 3000);
    }
    CHECK_EQ(ev_stats(p).waits, 2);
    po_destroy(p);
}

/* ------------------------------------------------------------------------ */
/* backpressure_pool                                                        */

void case_backpressure_pool(void) {
    enum { FIRST = 100, CHUNK = 4096, NCHUNKS = 16 };
    po_poller *p = t_poller();
    t_sock s[2];
    t_socketpair(s);
    t_chan c = {.want = PO_RECV};
    po_channel *ch = ev_attach(p, 1, s[0], &c);
    unsigned char buf[CHUNK];
    size_t written = 0;

    ev_fill(buf, written, FIRST);
    t_write_all(s[1], buf, FIRST);
    written += FIRST;
    CHECK_EQ(t_wait_for(p, ch, PO_RECV, 20, 100), PO_RECV);
    po_stats base = ev_stats(p);

    /* Backpressure: POOL instead of RECV while more bytes arrive. */
    T_WANT(&c, PO_POOL);
    po_triggers t = 0;
    for (int i = 0; i < NCHUNKS; i++) {
        ev_fill(buf, written, CHUNK);
        t_write_all(s[1], buf, CHUNK);
        written += CHUNK;
        CHECK_EQ(po_wait(p, 100, &t), 1);
        CHECK_EQ(t, PO_POOL);
        CHECK_EQ(po_channel_act(ch), PO_POOL);
    }
    for (int i = 0; i < 100; i++) {
        CHECK_EQ(po_wait(p, 100, &t), 1);
        CHECK_EQ(t, PO_POOL);
        CHECK_EQ(po_channel_act(ch), PO_POOL);
    }
    /* The kernel was not asked for readability meanwhile. */
    po_stats st = ev_stats(p);
    CHECK_EQ(st.dels, base.dels + 1);
    CHECK_EQ(st.adds, base.adds);
    CHECK_EQ(st.mods, base.mods);

    /* Capacity is back: the pending bytes are reported, all of them. */
    T_WANT(&c, PO_RECV);
    CHECK_EQ(po_wait(p, 1000, &t), 1);
    CHECK_EQ(t, PO_RECV);
    CHECK_EQ(po_channel_act(ch), PO_RECV);
    CHECK_EQ(ev_stats(p).adds, base.adds + 1);
    size_t got = 0;
    for (long r; (r = t_read_some(s[0], buf, sizeof buf)) > 0;) {
        ev_check_pat(buf, got, (size_t)r);
        got += (size_t)r;
    }
    CHECK_EQ(got, written);
    CHECK_EQ(written, FIRST + CHUNK * NCHUNKS);
    ev_never(p, ch, 3, 20);

    po_destroy(p);
    ev_close(s[0]);
    ev_close(s[1]);
}

/* ------------------------------------------------------------------------ */
/* translate_*                                                              */

/* Sets the channel's wants and checks one wait gives exactly `act`. */
static void ev_expect(po_poller *p, t_chan *c, po_triggers want,
                      po_triggers act) {
    T_WANT(c, want);
    po_triggers t = 0;
    CHECK_EQ(po_wait(p, 1000, &t), 1);
    CHECK_EQ(t, act);
    CHECK(t_triggered(p, c->ch));
    CHECK_EQ(po_channel_act(c->ch), act);
}

void case_translate_recv(void) {
    po_poller *p = t_poller();
    t_sock s[2];
    t_socketpair(s);
    t_chan c = {.want = PO_RECV};
    po_channel *ch = ev_attach(p, 1, s[0], &c);
    ev_quiet_wait(p, 50);
    ev_quiet_wait(p, 50);
    t_write_all(s[1], "hello", 5);
    CHECK_EQ(t_wait_for(p, ch, PO_RECV, 20, 100), PO_RECV);
    ev_expect(p, &c, PO_RECV, PO_RECV);
    ev_expect(p, &c, PO_RECV | PO_NOTIFY, PO_RECV);
    ev_expect(p, &c, PO_RECV | PO_ACCEPT, PO_RECV);
    ev_expect(p, &c, PO_RECV | PO_NOTIFY | PO_ACCEPT, PO_RECV);
    ev_expect(p, &c, PO_RECV | PO_CONNECT | PO_NOTIFY, PO_RECV | PO_CONNECT);
    T_WANT(&c, PO_RECV);
    ev_read_exact(s[0], "hello");
    ev_quiet_wait(p, 50);
    po_destroy(p);
    ev_close(s[0]);
    ev_close(s[1]);
}

void case_translate_notify(void) {
    po_poller *p = t_poller();
    t_sock s[2];
    t_socketpair(s);
    t_chan c = {.want = PO_NOTIFY};
    po_channel *ch = ev_attach(p, 1, s[0], &c);
    ev_quiet_wait(p, 50);
    ev_quiet_wait(p, 50);
    t_write_all(s[1], "!", 1);
    CHECK_EQ(t_wait_for(p, ch, PO_NOTIFY, 20, 100), PO_NOTIFY);
    ev_expect(p, &c, PO_NOTIFY, PO_NOTIFY);
    ev_expect(p, &c, PO_NOTIFY | PO_ACCEPT, PO_NOTIFY);
    T_WANT(&c, PO_NOTIFY);
    ev_read_exact(s[0], "!");
    ev_quiet_wait(p, 50);
    po_destroy(p);
    ev_close(s[0]);
    ev_close(s[1]);
}

void case_translate_accept(void) {
    po_poller *p = t_poller();
    uint16_t port;
    t_sock l = t_listener(&port);
    t_chan c = {.want = PO_ACCEPT};
    po_channel *ch = ev_attach(p, 1, l, &c);
    ev_quiet_wait(p, 50);
    ev_quiet_wait(p, 50);
    t_sock cl = t_connect(port);
    CHECK_EQ(t_wait_for(p, ch, PO_ACCEPT, 50, 100), PO_ACCEPT);
    ev_expect(p, &c, PO_ACCEPT, PO_ACCEPT);
    /* A listener is never writable. */
    ev_expect(p, &c, PO_ACCEPT | PO_CONNECT, PO_ACCEPT);
    ev_expect(p, &c, PO_ACCEPT | PO_SEND, PO_ACCEPT);
    T_WANT(&c, PO_ACCEPT);
    t_sock a = t_accept(l);
    ev_quiet_wait(p, 50);
    po_destroy(p);
    ev_close(a);
    ev_close(cl);
    ev_close(l);
}

void case_translate_send(void) {
    po_poller *p = t_poller();
    t_sock s[2];
    t_socketpair(s);
    /* Fill the send buffer: not writable. */
    char buf[4096];
    memset(buf, 'w', sizeof buf);
    size_t queued = 0;
    for (;;) {
        long w = t_write_some(s[0], buf, sizeof buf);
        if (w < 0)
            break;
        queued += (size_t)w;
    }
    CHECK(queued > 0);
    t_chan c = {.want = PO_SEND};
    po_channel *ch = ev_attach(p, 1, s[0], &c);
    ev_quiet_wait(p, 50);
    ev_quiet_wait(p, 50);
    ev_drain_n(s[1], queued);
    CHECK_EQ(ev_drain(s[1]), 0);
    CHECK_EQ(t_wait_for(p, ch, PO_SEND, 20, 100), PO_SEND);
    ev_expect(p, &c, PO_SEND, PO_SEND);
    ev_expect(p, &c, PO_SEND | PO_CONNECT, PO_SEND);
    ev_expect(p, &c, PO_SEND | PO_RECV, PO_SEND);
    ev_expect(p, &c, PO_CONNECT, PO_CONNECT);
    po_destroy(p);
    ev_close(s[0]);
    ev_close(s[1]);
}

void case_translate_connect(void) {
    enum { MAXQ = 8 };
    po_poller *p = t_poller();
    /* A connect that stays in progress: the listener's accept queue is
     * full, so its SYN is dropped until the queue is emptied. */
    uint16_t port;
    t_sock l = t_listener_backlog(0, &port);
    t_sock done[MAXQ], pending = T_NO_SOCK;
    int ndone = 0;
    while (pending == T_NO_SOCK) {
        /* Some systems (Windows) refuse a connection when the queue is
         * full instead of leaving it pending: nothing to test there. */
        if (ndone == MAXQ && t_so_error(done[MAXQ - 1]) == t_econnrefused)
            po_skip("a full accept queue refuses connections here instead "
                    "of leaving them in progress");
        CHECK(ndone < MAXQ);
        t_sock fd = t_connect(port);
        if (t_ready(fd, true, 200))
            done[ndone++] = fd;
        else
            pending = fd;
    }
    CHECK(ndone >= 1);
    t_chan c = {.want = PO_CONNECT};
    po_channel *ch = ev_attach(p, 1, pending, &c);
    ev_quiet_wait(p, 100);
    ev_quiet_wait(p, 100);

    /* Room in the queue: the retransmitted SYN gets through. */
    t_sock acc[MAXQ + 1];
    int nacc = 0;
    for (t_sock fd; (fd = t_accept_some(l)) != T_NO_SOCK;) {
        CHECK(nacc <= MAXQ);
        acc[nacc++] = fd;
    }
    CHECK(nacc >= 1);
    CHECK_EQ(t_wait_for(p, ch, PO_CONNECT, 60, 100), PO_CONNECT);
    CHECK_EQ(t_so_error(pending), 0);
    ev_expect(p, &c, PO_CONNECT, PO_CONNECT);
    ev_expect(p, &c, PO_SEND | PO_CONNECT, PO_SEND);
    ev_expect(p, &c, PO_CONNECT | PO_RECV, PO_CONNECT);

    po_destroy(p);
    for (int i = 0; i < nacc; i++)
        ev_close(acc[i]);
    for (int i = 0; i < ndone; i++)
        ev_close(done[i]);
    ev_close(pending);
    ev_close(l);
}

/* ------------------------------------------------------------------------ */
/* connect_refused_err                                                      */

void case_connect_refused_err(void) {
    po_poller *p = t_poller();
    t_sock fd = t_connect(t_closed_port());
    t_chan c = {.want = PO_CONNECT};
    po_channel *ch = ev_attach(p, 1, fd, &c);
    po_triggers act = t_wait_for(p, ch, PO_ERR, 20, 100);
    CHECK(act & PO_ERR);
    CHECK_EQ(po_channel_errno(ch), 0);
    CHECK_EQ(t_so_error(fd), t_econnrefused);
    po_destroy(p);
    ev_close(fd);
}

/* ------------------------------------------------------------------------ */
/* peer_close_recv_all_bytes                                                */

/* The writer sends k bytes in chunks of varied sizes, then closes; the
 * channel on rfd reads on every RECV until EOF. */
static void ev_recv_to_eof(t_sock rfd, t_sock wfd, size_t k) {
    po_poller *p = t_poller();
    t_chan c = {.want = PO_RECV};
    po_channel *ch = ev_attach(p, 1, rfd, &c);
    enum { BUF = 65536 };
    unsigned char *out = malloc(BUF), *in = malloc(BUF);
    CHECK(out != NULL && in != NULL);
    size_t written = 0, got = 0, chunk = 0;
    bool closed = false, eof = false;
    int64_t deadline = t_now_ms() + 8000;
    while (!eof) {
        CHECK(t_now_ms() < deadline);
        while (!closed && written < k) {
            size_t n = 1000 + (chunk++ * 7919u) % 15000u;
            if (n > k - written)
                n = k - written;
            ev_fill(out, written, n);
            long w = t_write_some(wfd, out, n);
            if (w < 0)
                break;
            written += (size_t)w;
        }
        if (!closed && written == k) {
            ev_close(wfd);
            closed = true;
        }
        CHECK(po_wait(p, 100, NULL) >= 0);
        if (!t_triggered(p, ch))
            continue;
        /* Data or hang-up: always RECV, never ERR. */
        CHECK_EQ(po_channel_act(ch), PO_RECV);
        for (;;) {
            long r = t_read_some(rfd, in, BUF);
            if (r < 0)
                break;
            if (r == 0) {
                eof = true;
                break;
            }
            CHECK(got + (size_t)r <= k);
            ev_check_pat(in, got, (size_t)r);
            got += (size_t)r;
        }
    }
    CHECK(closed);
    CHECK_EQ(got, k);
    /* After EOF the hang-up stays reported, as RECV. */
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(t_wait_for(p, ch, PO_RECV, 1, 1000), PO_RECV);
        CHECK_EQ(t_read_some(rfd, in, BUF), 0);
    }
    po_destroy(p);
    ev_close(rfd);
    free(out);
    free(in);
}

/* Data and hang-up both pending before the first wait. */
static void ev_recv_data_then_hup(t_sock rfd, t_sock wfd) {
    enum { K = 1000 };
    po_poller *p = t_poller();
    t_chan c = {.want = PO_RECV};
    po_channel *ch = ev_attach(p, 1, rfd, &c);
    unsigned char buf[K];
    ev_fill(buf, 0, K);
    t_write_all(wfd, buf, K);
    ev_close(wfd);
    size_t got = 0;
    for (int i = 0; i < 20; i++) {
        CHECK_EQ(t_wait_for(p, ch, PO_RECV, 20, 100), PO_RECV);
        long r = t_read_some(rfd, buf, sizeof buf);
        if (r == 0)
            break;
        if (r < 0)
            continue;
        ev_check_pat(buf, got, (size_t)r);
        got += (size_t)r;
    }
    CHECK_EQ(got, K);
    CHECK_EQ(t_read_some(rfd, buf, sizeof buf), 0);
    CHECK_EQ(t_wait_for(p, ch, PO_RECV, 1, 1000), PO_RECV);
    po_destroy(p);
    ev_close(rfd);
}

void case_peer_close_recv_all_bytes(void) {
    t_sock s[2];
    ev_tcp_pair(s);
    ev_recv_to_eof(s[0], s[1], 200000);
    t_socketpair(s);
    ev_recv_to_eof(s[0], s[1], 200000);
    ev_tcp_pair(s);
    ev_recv_data_then_hup(s[0], s[1]);
    t_socketpair(s);
    ev_recv_data_then_hup(s[0], s[1]);
}

/* ------------------------------------------------------------------------ */
/* peer_close_err_without_recv                                              */

void case_peer_close_err_without_recv(void) {
    po_poller *p = t_poller();
    t_sock a[2], b[2];
    t_socketpair(a);
    t_socketpair(b);
    t_chan snd = {.want = PO_SEND}, ntf = {.want = PO_NOTIFY};
    po_channel *sch = ev_attach(p, 1, a[0], &snd);
    po_channel *nch = ev_attach(p, 2, b[0], &ntf);

    CHECK_EQ(po_wait(p, 100, NULL), 1);
    CHECK_EQ(po_channel_act(sch), PO_SEND);
    CHECK(!t_triggered(p, nch));

    t_hangup(a[1]);
    po_triggers act = t_wait_for(p, sch, PO_ERR, 20, 100);
    CHECK(act & PO_ERR);
    CHECK(!(act & PO_RECV));
    CHECK(!t_triggered(p, nch));
    CHECK_EQ(po_channel_errno(sch), 0);

    t_hangup(b[1]);
    act = t_wait_for(p, nch, PO_ERR, 20, 100);
    CHECK(act & PO_ERR);
    CHECK(!(act & PO_RECV));
    CHECK_EQ(po_channel_errno(nch), 0);
    /* Level-triggered: the hang-up keeps being reported as ERR. */
    act = t_wait_for(p, sch, PO_ERR, 1, 100);
    CHECK(act & PO_ERR);
    CHECK(po_channel_act(nch) & PO_ERR);

    po_destroy(p);
    ev_close(a[0]);
    ev_close(b[0]);
}

/* ------------------------------------------------------------------------ */
/* closed_fd_behind_back                                                    */

void case_closed_fd_behind_back(void) {
    po_poller *p = t_poller();
    t_sock a[2], b[2];
    t_socketpair(a);
    t_socketpair(b);
    t_chan ca = {.want = PO_RECV}, cb = {.want = PO_RECV};
    po_channel *ach = ev_attach(p, 1, a[0], &ca);
    po_channel *bch = ev_attach(p, 2, b[0], &cb);
    ev_quiet_wait(p, 0);
    CHECK_EQ(ev_stats(p).adds, 2);

    /* A's descriptor goes away behind the poller's back; its new wants need
     * a kernel call. */
    ev_close(a[0]);
    ev_close(a[1]);
    T_WANT(&ca, PO_RECV | PO_SEND);
    po_triggers t = 0;
    CHECK_EQ(po_wait(p, 1000, &t), 1);
    CHECK_EQ(t, PO_ERR);
    CHECK_EQ(po_channel_act(ach), PO_ERR);
    CHECK_EQ(po_channel_errno(ach), EBADF);
    CHECK(!t_triggered(p, bch));

    CHECK_EQ(po_wait(p, 1000, &t), 1);
    CHECK_EQ(po_channel_act(ach), PO_ERR);
    po_stats parked = ev_stats(p);
    for (int i = 0; i < 10; i++) {
        /* B is still served. */
        if (i == 3 || i == 7)
            t_write_all(b[1], "b", 1);
        int rc = po_wait(p, 1000, &t);
        CHECK(t_triggered(p, ach));
        CHECK_EQ(po_channel_act(ach), PO_ERR);
        CHECK_EQ(po_channel_errno(ach), EBADF);
        if (i == 3 || i == 7) {
            CHECK_EQ(rc, 2);
            CHECK_EQ(t, PO_ERR | PO_RECV);
            CHECK_EQ(po_channel_act(bch), PO_RECV);
            ev_read_exact(b[0], "b");
        } else {
            CHECK_EQ(rc, 1);
            CHECK_EQ(t, PO_ERR);
            CHECK(!t_triggered(p, bch));
        }
    }
    /* No kernel call for the parked channel. */
    po_stats st = ev_stats(p);
    CHECK_EQ(st.adds, parked.adds);
    CHECK_EQ(st.mods, parked.mods);
    CHECK_EQ(st.dels, parked.dels);

    /* A new socket clears the failure. */
    t_sock n[2];
    t_socketpair(n);
    po_seqn oseq = po_channel_seqn(ach);
    CHECK_EQ(po_set_socket(ach, n[0]), PO_OK);
    CHECK_EQ(po_channel_errno(ach), 0);
    CHECK(po_channel_seqn(ach) > oseq);
    T_WANT(&ca, PO_RECV);
    ev_quiet_wait(p, 50);
    CHECK_EQ(ev_stats(p).adds, st.adds + 1);
    t_write_all(n[1], "a", 1);
    CHECK_EQ(po_wait(p, 1000, &t), 1);
    CHECK_EQ(t, PO_RECV);
    CHECK_EQ(po_channel_act(ach), PO_RECV);
    CHECK_EQ(po_channel_errno(ach), 0);
    ev_read_exact(n[0], "a");
    t_write_all(b[1], "b", 1);
    CHECK_EQ(po_wait(p, 1000, &t), 1);
    CHECK_EQ(po_channel_act(bch), PO_RECV);
    ev_read_exact(b[0], "b");
    ev_quiet_wait(p, 20);

    po_destroy(p);
    ev_close(n[0]);
    ev_close(n[1]);
    ev_close(b[0]);
    ev_close(b[1]);
}

/* ------------------------------------------------------------------------ */
/* regular_file                                                             */

void case_regular_file(void) {
    po_poller *p = t_poller();
    /* Refused (epoll: EPERM; Windows: not a socket), or always readable. */
    int refused = t_file_errno(po_backend_name(p));
    t_sock f = t_regular_file("file", 4);
    t_sock b[2];
    t_socketpair(b);
    t_chan cf = {.want = PO_RECV}, cb = {.want = PO_RECV};
    po_channel *fch = ev_attach(p, 1, f, &cf);
    po_channel *bch = ev_attach(p, 2, b[0], &cb);
    t_write_all(b[1], "b", 1);

    po_triggers t = 0;
    CHECK_EQ(po_wait(p, 1000, &t), 2);
    CHECK_EQ(po_channel_act(bch), PO_RECV);
    if (refused) {
        CHECK_EQ(t, PO_ERR | PO_RECV);
        CHECK_EQ(po_channel_act(fch), PO_ERR);
        CHECK_EQ(po_channel_errno(fch), refused);
    } else {
        CHECK_EQ(t, PO_RECV);
        CHECK_EQ(po_channel_act(fch), PO_RECV);
        CHECK_EQ(po_channel_errno(fch), 0);
    }
    CHECK_EQ(ev_stats(p).adds, 2);
    ev_read_exact(b[0], "b");

    po_stats base = ev_stats(p);
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(po_wait(p, 1000, &t), 1);
        CHECK(!t_triggered(p, bch));
        CHECK_EQ(po_channel_act(fch), refused ? PO_ERR : PO_RECV);
        CHECK_EQ(po_channel_errno(fch), refused);
    }
    po_stats st = ev_stats(p);
    CHECK_EQ(st.adds, base.adds);
    CHECK_EQ(st.mods, base.mods);
    CHECK_EQ(st.dels, base.dels);
    /* The other channel is served as usual. */
    t_write_all(b[1], "c", 1);
    CHECK_EQ(po_wait(p, 1000, &t), 2);
    CHECK_EQ(po_channel_act(bch), PO_RECV);
    ev_read_exact(b[0], "c");

    po_destroy(p);
    t_close_file(f);
    ev_close(b[0]);
    ev_close(b[1]);
}

/* ------------------------------------------------------------------------ */
/* dumb_channel_internal_only                                               */

void case_dumb_channel_internal_only(void) {
    po_poller *p = t_poller();
    t_chan d = {.want = PO_RECV | PO_SEND};
    po_channel *ch = ev_attach(p, 1, PO_NO_SOCKET, &d);
    CHECK_EQ(po_channel_socket(ch), PO_NO_SOCKET);
    int64_t t0 = t_now_ms();
    ev_quiet_wait(p, 100);
    CHECK(t_now_ms() - t0 >= 90);
    T_WANT(&d, PO_RECV | PO_SEND | PO_NOTIFY | PO_ACCEPT | PO_CONNECT);
    ev_quiet_wait(p, 20);

    T_WANT(&d, PO_RECV | PO_SEND | PO_POOL);
    po_triggers t = 0;
    CHECK_EQ(ev_fast_wait(p, &t), 1);
    CHECK_EQ(t, PO_POOL);
    CHECK_EQ(po_channel_act(ch), PO_POOL);
    CHECK_EQ(po_channel_wants(ch), PO_RECV | PO_SEND | PO_POOL);
    T_WANT(&d, PO_KERNEL_TRIGGERS | PO_INTERNAL_TRIGGERS);
    CHECK_EQ(ev_fast_wait(p, &t), 1);
    CHECK_EQ(po_channel_act(ch), PO_INTERNAL_TRIGGERS);

    po_stats st = ev_stats(p);
    CHECK_EQ(st.adds, 0);
    CHECK_EQ(st.mods, 0);
    CHECK_EQ(st.dels, 0);
    CHECK_EQ(st.events, 0);
    CHECK_EQ(st.waits, 4);
    po_destroy(p);
    CHECK_EQ(d.deinits, 1);
}

/* ------------------------------------------------------------------------ */
/* socket_set_later                                                         */

void case_socket_set_later(void) {
    po_poller *p = t_poller();
    t_sock s[2];
    t_socketpair(s);
    t_chan c = {.want = PO_RECV};
    po_channel *ch = ev_attach(p, 1, PO_NO_SOCKET, &c);
    t_write_all(s[1], "early", 5);
    ev_quiet_wait(p, 50);
    CHECK_EQ(ev_stats(p).adds, 0);

    po_seqn oseq = po_channel_seqn(ch);
    CHECK_EQ(po_set_socket(ch, s[0]), PO_OK);
    CHECK_EQ(po_channel_socket(ch), s[0]);
    CHECK(po_channel_seqn(ch) > oseq);
    CHECK_EQ(ev_stats(p).adds, 0); /* registered by the next wait */
    po_triggers t = 0;
    CHECK_EQ(po_wait(p, 1000, &t), 1);
    CHECK_EQ(t, PO_RECV);
    CHECK_EQ(po_channel_act(ch), PO_RECV);
    CHECK_EQ(ev_stats(p).adds, 1);
    ev_read_exact(s[0], "early");
    ev_quiet_wait(p, 20);
    CHECK_EQ(ev_stats(p).adds, 1);

    po_destroy(p);
    ev_close(s[0]);
    ev_close(s[1]);
}

/* ------------------------------------------------------------------------ */
/* socket_changed                                                           */

void case_socket_changed(void) {
    po_poller *p = t_poller();
    t_sock a[2], b[2];
    t_socketpair(a);
    t_socketpair(b);
    t_chan c = {.want = PO_RECV};
    po_channel *ch = ev_attach(p, 1, a[0], &c);
    ev_quiet_wait(p, 0);
    po_stats st = ev_stats(p);
    CHECK_EQ(st.adds, 1);
    CHECK_EQ(st.dels, 0);
    po_seqn s1 = po_channel_seqn(ch);

    CHECK_EQ(po_set_socket(ch, b[0]), PO_OK);
    po_seqn s2 = po_channel_seqn(ch);
    CHECK(s2 > s1);
    CHECK_EQ(po_channel_socket(ch), b[0]);
    CHECK(po_find(p, 1) == ch);
    CHECK_EQ(ev_stats(p).dels, 1); /* at once, not at the next wait */
    CHECK_EQ(ev_stats(p).adds, 1);

    /* The old socket is no longer watched. */
    t_write_all(a[1], "old", 3);
    ev_never(p, ch, 20, 5);
    CHECK_EQ(ev_stats(p).adds, 2);
    CHECK_EQ(ev_stats(p).stale, 0);
    ev_close(a[0]); /* safe right after po_set_socket */
    ev_close(a[1]);
    ev_never(p, ch, 5, 5);

    t_write_all(b[1], "new", 3);
    CHECK_EQ(t_wait_for(p, ch, PO_RECV, 20, 100), PO_RECV);
    ev_read_exact(b[0], "new");

    /* No socket at all: no kernel events, no registration. */
    t_write_all(b[1], "more", 4);
    CHECK_EQ(t_wait_for(p, ch, PO_RECV, 20, 100), PO_RECV);
    st = ev_stats(p);
    CHECK_EQ(po_set_socket(ch, PO_NO_SOCKET), PO_OK);
    CHECK(po_channel_seqn(ch) > s2);
    CHECK_EQ(po_channel_socket(ch), PO_NO_SOCKET);
    CHECK_EQ(ev_stats(p).dels, st.dels + 1);
    for (int i = 0; i < 10; i++)
        ev_quiet_wait(p, 10);
    po_stats st2 = ev_stats(p);
    CHECK_EQ(st2.adds, st.adds);
    CHECK_EQ(st2.mods, st.mods);
    CHECK_EQ(st2.events, st.events);
    ev_read_exact(b[0], "more");

    po_destroy(p);
    ev_close(b[0]);
    ev_close(b[1]);
}

/* ------------------------------------------------------------------------ */
/* many_ready_sockets                                                       */

void case_many_ready_sockets(void) {
    enum { NPAIRS = 2000, MAXEV = 64 };
    t_fd_limit(2 * NPAIRS + 64);
    po_options opt;
    memset(&opt, 0, sizeof opt);
    opt.max_events = MAXEV;
    po_poller *p = t_poller_opts(&opt);
    t_sock(*fds)[2] = malloc(NPAIRS * sizeof *fds);
    t_chan *cs = calloc(NPAIRS, sizeof *cs);
    int *seen = calloc(NPAIRS, sizeof *seen);
    CHECK(fds != NULL && cs != NULL && seen != NULL);
    for (int i = 0; i < NPAIRS; i++) {
        t_socketpair(fds[i]);
        T_WANT(&cs[i], PO_RECV);
        ev_attach(p, (po_chn)i + 1000, fds[i][0], &cs[i]);
    }
    ev_quiet_wait(p, 0);
    for (int i = 0; i < NPAIRS; i++) {
        unsigned char byte = (unsigned char)i;
        t_write_all(fds[i][1], &byte, 1);
    }

    /* Level-triggered: nobody reads, and still every channel gets its turn
     * within the waits needed to harvest MAXEV at a time (plus slack), and
     * then its turn again: an unread socket stays ready. */
    int nseen = 0, nagain = 0, waits = 0, max_rc = 0;
    const int pass = (NPAIRS + MAXEV - 1) / MAXEV;
    const int bound = 3 * pass + 8;
    while (nagain < NPAIRS) {
        if (waits >= bound)
            po_fail(__FILE__, __LINE__,
                    "%d waits reported %d of %d ready channels, %d twice",
                    waits, nseen, NPAIRS, nagain);
        if (nseen < NPAIRS && waits >= 2 * pass + 4)
            po_fail(__FILE__, __LINE__,
                    "%d waits reported only %d of %d ready channels", waits,
                    nseen, NPAIRS);
        po_triggers t = 0;
        int rc = po_wait(p, 1000, &t);
        waits++;
        CHECK(rc > 0);
        if (rc > max_rc)
            max_rc = rc;
        CHECK_EQ(t, PO_RECV);
        int walked = 0;
        po_iter it = PO_ITER_INIT;
        for (po_channel *c; (c = po_next_triggered(p, &it)) != NULL;) {
            walked++;
            CHECK_EQ(po_channel_act(c), PO_RECV);
            t_chan *tc = po_channel_ctx(c);
            CHECK(tc >= cs && tc < cs + NPAIRS);
            CHECK(tc->ch == c);
            int k = ++seen[tc - cs];
            if (k == 1)
                nseen++;
            else if (k == 2)
                nagain++;
        }
        CHECK_EQ(walked, rc);
    }

    for (int i = 0; i < NPAIRS; i++) {
        unsigned char buf[4];
        CHECK_EQ(t_read_some(fds[i][0], buf, sizeof buf), 1);
        CHECK_EQ(buf[0], (unsigned char)i);
    }
    ev_quiet_wait(p, 0);
    ev_quiet_wait(p, 20);

    po_destroy(p);
    for (int i = 0; i < NPAIRS; i++) {
        CHECK_EQ(cs[i].deinits, 1);
        ev_close(fds[i][0]);
        ev_close(fds[i][1]);
    }
    free(fds);
    free(cs);
    free(seen);
    /* One wait harvests at most max_events ("more ready channels than this
     * are harvested by the following waits").  Checked last, so that all of
     * the above is proven even where this fails. */
    if (max_rc > MAXEV)
        po_fail(__FILE__, __LINE__,
                "one wait triggered %d channels with max_events = %d", max_rc,
                MAXEV);
}
