/*
 * Conformance cases for fork(): a child's po_after_fork() gives it a
 * poller of its own, whatever the child then does to it (delete a channel,
 * attach its own, notify, destroy) the parent's poller hears every socket
 * as before, a child that only destroys the poller leaves the parent's
 * alone too, and a po_after_fork() that fails (no descriptor left, or an
 * allocation) leaves the poller for another try.  The child runs its checks and
 * reports them through its exit status (t_fork()).  Windows does not fork:
 * po_after_fork() is PO_ENOTSUP there, and the cases that fork skip.
 */
#include "harness.h"

#include <errno.h>
#include <string.h>

/* A probe or a deinit that calls po_after_fork(). */
typedef struct fk_busy {
    po_poller *p;
    int probe_rc, deinit_rc;
} fk_busy;
static po_triggers fk_busy_probe(po_channel *ch, void *ctx) {
    (void)ch;
    fk_busy *b = ctx;
    b->probe_rc = po_after_fork(b->p);
    return 0;
}
static void fk_busy_deinit(po_channel *ch, void *ctx) {
    (void)ch;
    fk_busy *b = ctx;
    b->deinit_rc = po_after_fork(b->p);
}
static const po_channel_ops fk_busy_ops = {fk_busy_probe, fk_busy_deinit};

void case_fork_after_fork_errors(void) {
    CHECK_EQ(po_after_fork(NULL), PO_EINVAL);
    po_poller *p = t_poller();
    if (!t_has_fork) {
        CHECK_EQ(po_after_fork(p), PO_ENOTSUP);
        po_destroy(p);
        return;
    }
    /* In the process that created the poller: nothing to do, and nothing
     * done (the socket is not registered again). */
    t_sock sv[2];
    t_socketpair(sv);
    t_chan c = {.want = PO_RECV};
    CHECK_EQ(po_attach(p, 1, sv[0], &t_ops, &c, &c.ch), PO_OK);
    CHECK_EQ(po_wait(p, 0, NULL), 0);
    po_stats s0, s1;
    po_get_stats(p, &s0);
    CHECK_EQ(po_after_fork(p), PO_OK);
    t_write_all(sv[1], "x", 1);
    CHECK_EQ(po_wait(p, 1000, NULL), 1);
    CHECK_EQ(po_channel_act(c.ch), PO_RECV);
    po_get_stats(p, &s1);
    CHECK(s1.adds == s0.adds && s1.dels == s0.dels && s1.mods == s0.mods);
    /* Refused in a probe and in a deinit. */
    fk_busy b = {p, 1, 1};
    CHECK_EQ(po_attach(p, 2, T_NO_SOCK, &fk_busy_ops, &b, NULL), PO_OK);
    CHECK(po_wait(p, 0, NULL) >= 0);
    CHECK_EQ(b.probe_rc, PO_EBUSY);
    CHECK_EQ(po_delete(p, 2), PO_OK);
    CHECK_EQ(b.deinit_rc, PO_EBUSY);
    po_destroy(p);
    t_pair_done(sv);
}

/* Reads one byte, which must be there. */
static char fk_byte(t_sock s) {
    char b = 0;
    CHECK_EQ(t_read_some(s, &b, 1), 1);
    return b;
}

/* The payloads waiting in a notifier, in order, into out (at most max). */
static size_t fk_take(po_notifier *n, uint64_t *out, size_t max) {
    size_t k = 0;
    uint64_t v;
    while (po_notifier_take(n, &v) == PO_OK) {
        CHECK(k < max);
        out[k++] = v;
    }
    return k;
}

enum { FK_A = 1, FK_B = 2, FK_C = 3, FK_D = 4, FK_N = 10 };

/* The parent's poller (options o, NULL for the defaults): two socket pairs
 * (A, B), a channel with no socket and a deadline (C), and a notifier with a
 * payload queued. */
typedef struct fk_fx {
    po_poller *p;
    t_sock a[2], b[2];
    t_chan ca, cb, cc;
    po_notifier *n;
    po_channel *nch;
} fk_fx;

static void fk_open(fk_fx *f, const po_options *o) {
    memset(f, 0, sizeof *f);
    f->p = t_poller_opts(o);
    t_socketpair(f->a);
    t_socketpair(f->b);
    f->ca.want = f->cb.want = PO_RECV;
    CHECK_EQ(po_attach(f->p, FK_A, f->a[0], &t_ops, &f->ca, &f->ca.ch), PO_OK);
    CHECK_EQ(po_attach(f->p, FK_B, f->b[0], &t_ops, &f->cb, &f->cb.ch), PO_OK);
    CHECK_EQ(po_attach(f->p, FK_C, T_NO_SOCK, &t_ops, &f->cc, &f->cc.ch),
             PO_OK);
    CHECK_EQ(po_notifier_attach(f->p, FK_N, 0, &f->n, &f->nch), PO_OK);
    /* Registered and heard before the fork. */
    t_write_all(f->a[1], "a", 1);
    t_write_all(f->b[1], "b", 1);
    CHECK_EQ(t_wait_for(f->p, f->ca.ch, PO_RECV, 20, 1000), PO_RECV);
    if (!t_triggered(f->p, f->cb.ch))
        CHECK_EQ(t_wait_for(f->p, f->cb.ch, PO_RECV, 20, 1000), PO_RECV);
    CHECK_EQ(fk_byte(f->a[0]), 'a');
    CHECK_EQ(fk_byte(f->b[0]), 'b');
    CHECK_EQ(po_notify(f->n, 1), PO_OK);
    CHECK_EQ(po_set_deadline(f->cc.ch, po_now() + 30 * PO_MSEC), PO_OK);
}

/* The cases' start: the fixture, then fork(); the child's pid, or 0 in the
 * child.  Skips where there is no fork. */
static long fk_fork(fk_fx *f, const po_options *o) {
    if (!t_has_fork)
        po_skip("no fork on this system");
    fk_open(f, o);
    return t_fork();
}

/* The parent's poller after the child: every socket heard, the notifier
 * with its own payloads, the deadline fired; then destroyed. */
static void fk_parent_serves(fk_fx *f) {
    CHECK_EQ(po_count(f->p), 4);
    CHECK(po_find(f->p, FK_D) == NULL);
    t_write_all(f->a[1], "A", 1);
    CHECK(t_wait_for(f->p, f->ca.ch, PO_RECV, 20, 1000) & PO_RECV);
    CHECK_EQ(fk_byte(f->a[0]), 'A');
    t_write_all(f->b[1], "B", 1);
    CHECK(t_wait_for(f->p, f->cb.ch, PO_RECV, 20, 1000) & PO_RECV);
    CHECK_EQ(fk_byte(f->b[0]), 'B');
    /* The payload queued before the fork, once; never the child's. */
    CHECK(t_wait_for(f->p, f->nch, PO_NOTIFY, 20, 1000) & PO_NOTIFY);
    uint64_t got[4];
    CHECK_EQ(fk_take(f->n, got, 4), 1);
    CHECK(got[0] == 1);
    CHECK_EQ(po_notify(f->n, 2), PO_OK);
    CHECK(t_wait_for(f->p, f->nch, PO_NOTIFY, 20, 1000) & PO_NOTIFY);
    CHECK_EQ(fk_take(f->n, got, 4), 1);
    CHECK(got[0] == 2);
    if (po_channel_deadline(f->cc.ch) != PO_NEVER)
        CHECK(t_wait_for(f->p, f->cc.ch, PO_TIMEOUT, 20, 1000) & PO_TIMEOUT);
    po_destroy(f->p);
    CHECK(f->ca.deinits == 1 && f->cb.deinits == 1 && f->cc.deinits == 1);
    t_pair_done(f->a);
    t_pair_done(f->b);
}

/* The child: its own poller, which fires C's deadline, loses B, gains D,
 * hears A and notifies itself; B's peer gets a byte the parent must hear.
 * Then it destroys the poller and exits. */
static void fk_child(fk_fx *f) {
    po_socket inherited = po_channel_socket(f->nch);
    po_seqn seqn = po_channel_seqn(f->nch);
    CHECK_EQ(po_after_fork(f->p), PO_OK);
    CHECK(po_channel_socket(f->nch) != inherited);
    CHECK(po_channel_seqn(f->nch) > seqn);
    CHECK(po_find(f->p, FK_N) == f->nch && po_channel_ctx(f->nch) == f->n);
    /* Twice: the second does nothing. */
    po_socket own = po_channel_socket(f->nch);
    CHECK_EQ(po_after_fork(f->p), PO_OK);
    CHECK(po_channel_socket(f->nch) == own);
    CHECK_EQ(po_delete(f->p, FK_B), PO_OK);
    CHECK_EQ(f->cb.deinits, 1);
    /* The deadline set before the fork fires here, at the first waits,
     * while no socket of the child's has anything to report (B, which the
     * parent writes to, is gone). */
    CHECK(po_channel_deadline(f->cc.ch) != PO_NEVER);
    CHECK_EQ(t_wait_for(f->p, f->cc.ch, PO_TIMEOUT, 20, 1000), PO_TIMEOUT);
    t_sock d[2];
    t_socketpair(d);
    t_chan cd = {.want = PO_RECV};
    CHECK_EQ(po_attach(f->p, FK_D, d[0], &t_ops, &cd, &cd.ch), PO_OK);
    t_write_all(f->b[1], "c", 1); /* for the parent, which still hears B */
    t_write_all(f->a[1], "x", 1);
    t_write_all(d[1], "d", 1);
    CHECK(t_wait_for(f->p, f->ca.ch, PO_RECV, 20, 1000) & PO_RECV);
    CHECK_EQ(fk_byte(f->a[0]), 'x');
    CHECK(t_wait_for(f->p, cd.ch, PO_RECV, 20, 1000) & PO_RECV);
    CHECK_EQ(fk_byte(d[0]), 'd');
    /* An empty queue: the parent's payload stays the parent's. */
    uint64_t got[4];
    CHECK_EQ(fk_take(f->n, got, 4), 0);
    CHECK_EQ(po_notify(f->n, 7), PO_OK);
    CHECK(t_wait_for(f->p, f->nch, PO_NOTIFY, 20, 1000) & PO_NOTIFY);
    CHECK_EQ(fk_take(f->n, got, 4), 1);
    CHECK(got[0] == 7);
    po_stats st;
    po_get_stats(f->p, &st);
    CHECK(st.stale == 0);
    po_destroy(f->p);
    CHECK(f->ca.deinits == 1 && cd.deinits == 1 && f->cc.deinits == 1);
    t_pair_done(d);
    t_child_exit();
}

void case_fork_child_own_poller(void) {
    fk_fx f;
    long pid = fk_fork(&f, NULL);
    if (pid == 0)
        fk_child(&f);
    /* While the child runs: the parent serves B, which the child deletes,
     * one byte at a time (the child writes one too). */
    t_write_all(f.b[1], "p", 1);
    CHECK(t_wait_for(f.p, f.cb.ch, PO_RECV, 20, 1000) & PO_RECV);
    char first = fk_byte(f.b[0]);
    t_child_passed(pid);
    CHECK(t_wait_for(f.p, f.cb.ch, PO_RECV, 20, 1000) & PO_RECV);
    char second = fk_byte(f.b[0]);
    CHECK((first == 'p' && second == 'c') || (first == 'c' && second == 'p'));
    fk_parent_serves(&f);
}

void case_fork_child_destroys(void) {
    fk_fx f;
    long pid = fk_fork(&f, NULL);
    if (pid == 0) {
        /* Without po_after_fork(): deinits once each, and nothing of the
         * parent's poller is touched. */
        po_destroy(f.p);
        CHECK(f.ca.deinits == 1 && f.cb.deinits == 1 && f.cc.deinits == 1);
        t_child_exit();
    }
    t_child_passed(pid);
    fk_parent_serves(&f);
}

/* A child after a po_after_fork() that took several tries: it hears A and
 * its own notifier, then destroys the poller and exits. */
_Noreturn static void fk_child_serves(fk_fx *f) {
    t_write_all(f->a[1], "x", 1);
    CHECK(t_wait_for(f->p, f->ca.ch, PO_RECV, 20, 1000) & PO_RECV);
    CHECK_EQ(fk_byte(f->a[0]), 'x');
    CHECK_EQ(po_notify(f->n, 7), PO_OK);
    CHECK(t_wait_for(f->p, f->nch, PO_NOTIFY, 20, 1000) & PO_NOTIFY);
    uint64_t got[4];
    CHECK_EQ(fk_take(f->n, got, 4), 1);
    CHECK(got[0] == 7);
    po_destroy(f->p);
    t_child_exit();
}

void case_fork_after_fork_fails(void) {
    fk_fx f;
    long pid = fk_fork(&f, NULL);
    if (pid == 0) {
        /* Room for no new descriptor, then one more at each try: every
         * kernel object po_after_fork() makes fails in turn, each failure
         * leaves the poller fit for the next try, and one succeeds. */
        int fails = 0, rc;
        for (int extra = 0;; extra++) {
            CHECK(extra < 64);
            t_fd_cap(extra);
            rc = po_after_fork(f.p);
            int e = po_last_errno(f.p);
            t_fd_cap(-1);
            if (rc == PO_OK)
                break;
            CHECK_EQ(rc, PO_ESYS);
            CHECK_EQ(e, EMFILE);
            fails++;
        }
        CHECK(fails >= 1); /* the notifier's object, at least */
        fk_child_serves(&f);
    }
    t_child_passed(pid);
    fk_parent_serves(&f);
}

void case_fork_after_fork_nomem(void) {
    po_options o;
    memset(&o, 0, sizeof o);
    o.allocator = &t_failing_alloc;
    fk_fx f;
    long pid = fk_fork(&f, &o);
    if (pid == 0) {
        /* Each allocation po_after_fork() makes fails in turn (the uring
         * backend's new ring makes one): PO_ENOMEM exactly when one failed,
         * the poller fit for the next try, and one succeeds. */
        for (int k = 1;; k++) {
            CHECK(k < 64);
            t_alloc_fail_at(k);
            if (t_alloc_done(po_after_fork(f.p)))
                break;
        }
        fk_child_serves(&f);
    }
    t_child_passed(pid);
    fk_parent_serves(&f);
}
