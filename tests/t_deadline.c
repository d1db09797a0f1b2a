/*
 * Conformance cases for channel deadlines: a deadline fires once as
 * PO_TIMEOUT in its channel's act, the wait sleeps no longer than the
 * nearest one, deadlines can be moved and removed, they survive a new
 * socket and leave with their channel, and the order in which many fire
 * is the order of their times.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Attaches a channel wanting `want` on fd (or none). */
static po_channel *dl_attach(po_poller *p, po_chn chn, t_sock fd, t_chan *c,
                             po_triggers want) {
    memset(c, 0, sizeof *c);
    c->want = want;
    c->fd = fd;
    CHECK_EQ(po_attach(p, chn, fd, &t_ops, c, &c->ch), PO_OK);
    return c->ch;
}

/* The act of ch if the last wait triggered it, else 0. */
static po_triggers dl_act(po_poller *p, po_channel *ch) {
    return t_triggered(p, ch) ? po_channel_act(ch) : 0;
}

void case_deadline_fires_once(void) {
    po_poller *p = t_poller();
    t_chan c;
    po_channel *ch = dl_attach(p, 1, T_NO_SOCK, &c, 0);
    CHECK(po_channel_deadline(ch) == PO_NEVER);
    po_wait(p, 0, NULL); /* the attach's own probe */

    po_time at = po_now() + 60 * PO_MSEC;
    CHECK_EQ(po_set_deadline(ch, at), PO_OK);
    CHECK(po_channel_deadline(ch) == at);
    /* A wait far longer than the deadline ends at it, not before. */
    po_triggers total = 0;
    int64_t t0 = t_now_ms();
    CHECK_EQ(po_wait(p, 20000, &total), 1);
    int64_t slept = t_now_ms() - t0;
    CHECK(po_now() >= at);
    CHECK(slept >= 50);
    CHECK(slept < 5000);
    CHECK_EQ(total, PO_TIMEOUT);
    CHECK_EQ(dl_act(p, ch), PO_TIMEOUT);
    /* One-shot: gone, and the next wait times out as a whole. */
    CHECK(po_channel_deadline(ch) == PO_NEVER);
    CHECK_EQ(po_wait(p, 30, &total), 0);
    CHECK_EQ(total, PO_TIMEOUT);
    CHECK_EQ(dl_act(p, ch), 0);
    po_destroy(p);
}

void case_deadline_past_no_block(void) {
    po_poller *p = t_poller();
    t_chan c;
    po_channel *ch = dl_attach(p, 1, T_NO_SOCK, &c, 0);
    CHECK_EQ(po_set_deadline(ch, po_now() - 1), PO_OK);
    int64_t t0 = t_now_ms();
    po_triggers total = 0;
    CHECK_EQ(po_wait(p, -1, &total), 1); /* must not block */
    CHECK(t_now_ms() - t0 < 5000);
    CHECK_EQ(dl_act(p, ch), PO_TIMEOUT);
    /* A deadline of 0 is in the past too. */
    CHECK_EQ(po_set_deadline(ch, 0), PO_OK);
    CHECK_EQ(po_wait(p, -1, &total), 1);
    CHECK_EQ(dl_act(p, ch), PO_TIMEOUT);
    po_destroy(p);
}

void case_deadline_move_and_remove(void) {
    po_poller *p = t_poller();
    t_chan c[3];
    po_channel *ch[3];
    po_time far = po_now() + 3600 * 1000 * PO_MSEC;
    for (int i = 0; i < 3; i++) {
        ch[i] = dl_attach(p, (po_chn)i, T_NO_SOCK, &c[i], 0);
        CHECK_EQ(po_set_deadline(ch[i], far + (po_time)i), PO_OK);
    }
    po_wait(p, 0, NULL);
    /* Removed: never fires.  Moved later and back: fires at its new time. */
    CHECK_EQ(po_set_deadline(ch[0], PO_NEVER), PO_OK);
    CHECK(po_channel_deadline(ch[0]) == PO_NEVER);
    CHECK_EQ(po_set_deadline(ch[0], PO_NEVER), PO_OK); /* twice: fine */
    CHECK_EQ(po_set_deadline(ch[2], po_now() + 40 * PO_MSEC), PO_OK);
    CHECK_EQ(po_set_deadline(ch[1], far + 99), PO_OK);
    CHECK(po_channel_deadline(ch[1]) == far + 99);
    po_triggers total;
    CHECK_EQ(po_wait(p, 20000, &total), 1);
    CHECK_EQ(dl_act(p, ch[2]), PO_TIMEOUT);
    CHECK_EQ(dl_act(p, ch[0]), 0);
    CHECK_EQ(dl_act(p, ch[1]), 0);
    CHECK(po_channel_deadline(ch[1]) == far + 99);
    /* Moved from far to now: the next wait. */
    CHECK_EQ(po_set_deadline(ch[1], po_now()), PO_OK);
    CHECK_EQ(po_wait(p, 20000, &total), 1);
    CHECK_EQ(dl_act(p, ch[1]), PO_TIMEOUT);
    CHECK_EQ(po_wait(p, 20, &total), 0);
    po_destroy(p);
}

void case_deadline_with_events(void) {
    po_poller *p = t_poller();
    t_sock sv[2];
    t_socketpair(sv);
    t_chan c;
    po_channel *ch = dl_attach(p, 7, sv[0], &c, PO_RECV);
    po_wait(p, 0, NULL);
    CHECK_EQ(po_set_deadline(ch, po_now() + 3600 * 1000 * PO_MSEC), PO_OK);
    /* Data before the deadline: PO_RECV alone, the deadline stays. */
    t_write_all(sv[1], "x", 1);
    CHECK_EQ(t_wait_for(p, ch, PO_RECV, 50, 100), PO_RECV);
    CHECK(po_channel_deadline(ch) != PO_NEVER);
    char b;
    CHECK_EQ(t_read_some(sv[0], &b, 1), 1);
    /* Both in one round: ORed. */
    t_write_all(sv[1], "y", 1);
    CHECK(t_ready(sv[0], false, 5000));
    CHECK_EQ(po_set_deadline(ch, po_now()), PO_OK);
    po_triggers total;
    CHECK_EQ(po_wait(p, 1000, &total), 1);
    CHECK_EQ(dl_act(p, ch), PO_RECV | PO_TIMEOUT);
    CHECK_EQ(total, PO_RECV | PO_TIMEOUT);
    CHECK_EQ(t_read_some(sv[0], &b, 1), 1);
    /* A deadline survives a new socket. */
    po_time at = po_now() + 3600 * 1000 * PO_MSEC;
    CHECK_EQ(po_set_deadline(ch, at), PO_OK);
    CHECK_EQ(po_set_socket(ch, PO_NO_SOCKET), PO_OK);
    CHECK(po_channel_deadline(ch) == at);
    CHECK_EQ(po_set_deadline(ch, po_now() + 30 * PO_MSEC), PO_OK);
    CHECK_EQ(t_wait_for(p, ch, PO_TIMEOUT, 20, 1000), PO_TIMEOUT);
    t_pair_done(sv);
    po_destroy(p);
}

/* A probe that tries to set a deadline. */
static po_triggers dl_busy_probe(po_channel *ch, void *ctx) {
    *(int *)ctx = po_set_deadline(ch, po_now());
    return 0;
}
static const po_channel_ops dl_busy_ops = {dl_busy_probe, NULL};

void case_deadline_errors(void) {
    po_poller *p = t_poller();
    CHECK_EQ(po_set_deadline(NULL, 0), PO_EINVAL);
    CHECK(po_channel_deadline(NULL) == PO_NEVER);
    int rc = 1;
    po_channel *ch;
    CHECK_EQ(po_attach(p, 1, T_NO_SOCK, &dl_busy_ops, &rc, &ch), PO_OK);
    po_wait(p, 0, NULL);
    CHECK_EQ(rc, PO_EBUSY);
    CHECK(po_channel_deadline(ch) == PO_NEVER);
    /* A deleted channel's deadline leaves with it: nothing fires. */
    t_chan c;
    po_channel *gone = dl_attach(p, 2, T_NO_SOCK, &c, 0);
    CHECK_EQ(po_set_deadline(gone, po_now() + 20 * PO_MSEC), PO_OK);
    CHECK_EQ(po_delete(p, 2), PO_OK);
    CHECK_EQ(c.deinits, 1);
    po_triggers total;
    CHECK_EQ(po_wait(p, 60, &total), 0);
    CHECK_EQ(total, PO_TIMEOUT);
    /* Destroyed with deadlines set: freed (the sanitizers check). */
    t_chan d;
    CHECK_EQ(po_set_deadline(dl_attach(p, 3, T_NO_SOCK, &d, 0), po_now()),
             PO_OK);
    po_destroy(p);
}

void case_deadline_alloc_failure(void) {
    po_options o;
    memset(&o, 0, sizeof o);
    o.allocator = &t_failing_alloc;
    po_poller *p = t_poller_opts(&o);
    t_chan c;
    po_channel *ch = dl_attach(p, 1, T_NO_SOCK, &c, 0);
    /* The first deadline needs the heap, the map and a record: fail each
     * in turn; nothing may change until one succeeds. */
    int failures = 0;
    for (long k = 1;; k++) {
        t_alloc_fail_at(k);
        if (t_alloc_done(po_set_deadline(ch, po_now())))
            break;
        CHECK(po_channel_deadline(ch) == PO_NEVER);
        failures++;
    }
    CHECK(failures >= 1);
    po_triggers total;
    CHECK_EQ(po_wait(p, 1000, &total), 1);
    CHECK_EQ(dl_act(p, ch), PO_TIMEOUT);
    /* Records are reused: setting again needs no memory. */
    t_alloc_fail_at(1);
    CHECK(t_alloc_done(po_set_deadline(ch, po_now())));
    po_destroy(p);
}

/*
 * Many deadlines against a model: random sets, moves, removals and deletes
 * over N channels; deadlines are either in the past (they must all fire at
 * the next wait, whatever their order) or an hour away (none may).  Every
 * round checks that exactly the expected channels fired.
 */
enum { DL_N = 20000, DL_ROUNDS = 8, DL_OPS = 30000 };

typedef struct dl_slot {
    t_chan c;
    bool live;
    bool due; /* the model: fires at the next wait */
    po_time at;
} dl_slot;

static uint64_t dl_rand(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

void case_deadline_many_model(void) {
    po_poller *p = t_poller();
    dl_slot *s = calloc(DL_N, sizeof *s);
    CHECK(s != NULL);
    uint64_t seed = 0x9e3779b97f4a7c15u;
    po_time base = po_now();
    po_time far = base + 3600 * 1000 * PO_MSEC;
    for (int i = 0; i < DL_N; i++) {
        dl_attach(p, (po_chn)i, T_NO_SOCK, &s[i].c, 0);
        s[i].live = true;
        s[i].at = PO_NEVER;
    }
    po_wait(p, 0, NULL);
    size_t fired = 0, pending = 0;
    for (int round = 0; round < DL_ROUNDS; round++) {
        size_t due = 0;
        for (int k = 0; k < DL_OPS; k++) {
            int i = (int)(dl_rand(&seed) % DL_N);
            dl_slot *x = &s[i];
            unsigned op = (unsigned)(dl_rand(&seed) % 16);
            if (!x->live) {
                dl_attach(p, (po_chn)i, T_NO_SOCK, &x->c, 0);
                x->live = true;
                x->at = PO_NEVER;
            } else if (op == 0) {
                CHECK_EQ(po_delete(p, (po_chn)i), PO_OK);
                x->live = false;
            } else {
                po_time at = op < 4    ? PO_NEVER
                             : op < 10 ? base - dl_rand(&seed) % 1000000
                                       : far + dl_rand(&seed) % 1000000;
                CHECK_EQ(po_set_deadline(x->c.ch, at), PO_OK);
                x->at = at;
            }
        }
        for (int i = 0; i < DL_N; i++) {
            s[i].due = s[i].live && s[i].at <= base;
            due += s[i].due;
            if (s[i].live)
                CHECK(po_channel_deadline(s[i].c.ch) == s[i].at);
        }
        CHECK_EQ(po_wait(p, 0, NULL), (long long)due);
        po_iter it = PO_ITER_INIT;
        size_t seen = 0;
        for (po_channel *ch; (ch = po_next_triggered(p, &it)) != NULL;) {
            dl_slot *x = &s[po_channel_chn(ch)];
            CHECK(x->due);
            CHECK_EQ(po_channel_act(ch), PO_TIMEOUT);
            CHECK(po_channel_deadline(ch) == PO_NEVER);
            x->due = false;
            x->at = PO_NEVER;
            seen++;
        }
        CHECK_EQ(seen, due);
        fired += seen;
    }
    for (int i = 0; i < DL_N; i++)
        pending += s[i].live && s[i].at != PO_NEVER;
    /* Both kinds must have been exercised for the case to mean anything. */
    CHECK(fired > 0 && pending > 0);
    printf("deadlines: %zu fired in %d rounds, %zu still set\n", fired,
           DL_ROUNDS, pending);
    po_destroy(p);
    free(s);
}
