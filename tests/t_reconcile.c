/*
 * The two reconciliation modes agree: the same scripted scenario, run once
 * with PO_RECONCILE_FULL and once with PO_RECONCILE_CHANGED, reports the same
 * triggers on the same channels, wait by wait, and makes the same kernel
 * calls.  The script changes wants between waits (with po_touch, as the
 * header asks), from inside the walk for the walked channel (no touch needed)
 * and for another channel (touched), attaches, deletes, re-sockets, writes,
 * and hangs up peers.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

enum {
    RC_SOCKS = 24, /* channels 0..RC_SOCKS-1 have a socket */
    RC_CHANS = 32, /* the rest are socketless */
    RC_WAITS = 400,
    RC_MAXEV = 1024
};

typedef struct rc_chan {
    po_triggers want;
    t_sock fd, peer; /* T_NO_SOCK for socketless channels */
    po_channel *ch;
} rc_chan;

typedef struct rc_run {
    po_poller *p;
    rc_chan c[RC_CHANS];
    uint64_t rng;
    /* The trace: per wait, the return value, the total and each triggered
     * channel's act (0 for channels not triggered). */
    int rc[RC_WAITS];
    po_triggers total[RC_WAITS];
    po_triggers act[RC_WAITS][RC_CHANS];
    po_stats stats;
} rc_run;

static unsigned rc_rand(rc_run *r, unsigned n) {
    r->rng = r->rng * UINT64_C(6364136223846793005) + 1442695040888963407u;
    return (unsigned)((r->rng >> 33) % n);
}

static po_triggers rc_probe(po_channel *ch, void *ctx) {
    (void)ch;
    return ((rc_chan *)ctx)->want;
}

static void rc_deinit(po_channel *ch, void *ctx) {
    (void)ch;
    rc_chan *c = ctx;
    c->ch = NULL;
}

static const po_channel_ops rc_ops = {rc_probe, rc_deinit};

static void rc_new_pair(rc_chan *c) {
    t_sock sv[2];
    t_socketpair(sv);
    c->fd = sv[0];
    c->peer = sv[1];
}

static void rc_close_pair(rc_chan *c) {
    if (c->fd != T_NO_SOCK)
        t_close(c->fd);
    if (c->peer != T_NO_SOCK)
        t_close(c->peer);
    c->fd = c->peer = T_NO_SOCK;
}

static void rc_attach(rc_run *r, int i) {
    rc_chan *c = &r->c[i];
    CHECK_EQ(po_attach(r->p, (po_chn)i, i < RC_SOCKS ? c->fd : PO_NO_SOCKET,
                       &rc_ops, c, &c->ch),
             PO_OK);
}

static po_triggers rc_random_wants(rc_run *r) {
    static const po_triggers menu[] = {
        PO_RECV,           PO_RECV,    PO_RECV | PO_SEND,  PO_SEND,
        PO_NOTIFY,         PO_POOL,    PO_RECV | PO_POOL,  0,
        PO_SEND | PO_POOL, PO_CONNECT, PO_ACCEPT | PO_RECV};
    return menu[rc_rand(r, sizeof menu / sizeof menu[0])];
}

/* One scripted change between waits. */
static void rc_step(rc_run *r) {
    int i = (int)rc_rand(r, RC_CHANS);
    rc_chan *c = &r->c[i];
    switch (rc_rand(r, 6)) {
    case 0: /* the peer writes */
        if (c->peer != T_NO_SOCK) {
            char buf[64];
            memset(buf, 'x', sizeof buf);
            t_write_all(c->peer, buf, 1 + rc_rand(r, sizeof buf));
        }
        break;
    case 1: /* the application changes its mind outside the walk */
        c->want = rc_random_wants(r);
        po_touch(c->ch);
        break;
    case 2: /* delete and attach again under the same number */
        CHECK_EQ(po_delete(r->p, (po_chn)i), PO_OK);
        if (i < RC_SOCKS) {
            rc_close_pair(c);
            rc_new_pair(c);
        }
        rc_attach(r, i);
        break;
    case 3: /* a new socket for the same channel */
        if (i < RC_SOCKS) {
            rc_chan old = *c;
            rc_new_pair(c);
            CHECK_EQ(po_set_socket(c->ch, c->fd), PO_OK);
            rc_close_pair(&old);
        }
        break;
    case 4: /* the peer hangs up */
        if (c->peer != T_NO_SOCK) {
            t_hangup(c->peer);
            c->peer = T_NO_SOCK;
        }
        break;
    default: /* nothing this time */
        break;
    }
}

static void rc_drain(t_sock fd) {
    char buf[256];
    while (t_read_some(fd, buf, sizeof buf) > 0)
        continue;
}

/* The walk: each triggered channel acts on its own socket, and a receive
 * makes the next channel want to send (touched: it is another channel).
 * Every change only sets or clears its own bits, so the order of the walk,
 * which differs between the modes, cannot change the outcome. */
static void rc_walk(rc_run *r, int w) {
    po_iter it = PO_ITER_INIT;
    for (po_channel *ch; (ch = po_next_triggered(r->p, &it)) != NULL;) {
        rc_chan *c = po_channel_ctx(ch);
        int i = (int)(c - r->c);
        po_triggers act = po_channel_act(ch);
        r->act[w][i] = act;
        if ((act & PO_RECV) && c->fd != T_NO_SOCK)
            rc_drain(c->fd);
        if (act & PO_ERR) {
            c->want |= PO_RECV; /* its own turn: no touch needed */
            if (i < RC_SOCKS && c->peer == T_NO_SOCK) {
                rc_chan old = *c;
                rc_new_pair(c);
                CHECK_EQ(po_set_socket(ch, c->fd), PO_OK);
                rc_close_pair(&old);
            }
        }
        if (act & PO_RECV) {
            rc_chan *next = &r->c[(i + 1) % RC_CHANS];
            if (!(next->want & PO_SEND)) {
                next->want |= PO_SEND;
                po_touch(next->ch);
            }
        }
        if (act & PO_POOL)
            c->want &= (po_triggers)~PO_POOL;
    }
}

static void rc_play(rc_run *r, po_reconcile mode, uint64_t seed) {
    memset(r, 0, sizeof *r);
    r->rng = seed;
    po_options opt;
    memset(&opt, 0, sizeof opt);
    opt.reconcile = mode;
    opt.max_events = RC_MAXEV;
    r->p = t_poller_opts(&opt);
    for (int i = 0; i < RC_CHANS; i++) {
        r->c[i].fd = r->c[i].peer = T_NO_SOCK;
        if (i < RC_SOCKS)
            rc_new_pair(&r->c[i]);
        r->c[i].want = rc_random_wants(r);
        rc_attach(r, i);
    }
    for (int w = 0; w < RC_WAITS; w++) {
        for (unsigned n = rc_rand(r, 4); n > 0; n--)
            rc_step(r);
        r->rc[w] = po_wait(r->p, 0, &r->total[w]);
        CHECK(r->rc[w] >= 0);
        rc_walk(r, w);
    }
    po_get_stats(r->p, &r->stats);
    po_destroy(r->p);
    for (int i = 0; i < RC_CHANS; i++)
        rc_close_pair(&r->c[i]);
}

void case_reconcile_modes_agree(void) {
    rc_run *full = malloc(sizeof *full), *changed = malloc(sizeof *changed);
    CHECK(full != NULL && changed != NULL);
    for (uint64_t seed = 1; seed <= 8; seed++) {
        rc_play(full, PO_RECONCILE_FULL, seed);
        rc_play(changed, PO_RECONCILE_CHANGED, seed);
        int triggered = 0;
        for (int w = 0; w < RC_WAITS; w++) {
            for (int i = 0; i < RC_CHANS; i++) {
                if (changed->act[w][i] != full->act[w][i])
                    po_fail(__FILE__, __LINE__,
                            "seed %d wait %d channel %d: act %#x changed, "
                            "%#x full",
                            (int)seed, w, i, changed->act[w][i],
                            full->act[w][i]);
                triggered += full->act[w][i] != 0;
            }
            CHECK_EQ(changed->rc[w], full->rc[w]);
            CHECK_EQ(changed->total[w], full->total[w]);
        }
        /* The scenario is not idle: most waits trigger something. */
        CHECK(triggered > RC_WAITS);
        CHECK_EQ(changed->stats.adds, full->stats.adds);
        CHECK_EQ(changed->stats.mods, full->stats.mods);
        CHECK_EQ(changed->stats.dels, full->stats.dels);
        CHECK_EQ(changed->stats.events, full->stats.events);
    }
    free(full);
    free(changed);
}
