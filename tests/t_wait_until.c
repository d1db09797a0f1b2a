/*
 * Conformance cases for po_wait_until() and the precision of waits: a wait
 * that ends untriggered has reached its time (po_now() after it is at or
 * past the deadline), whether the time is the caller's or a channel's,
 * for deadlines a fraction of a millisecond apart, which a kernel that
 * takes whole milliseconds could only honour by rounding up.  No upper
 * bound on the time a wait took is asserted: the machine may be loaded.
 */
#include "harness.h"

#include <string.h>

/* A small generator of offsets, the same in every run. */
static uint64_t wu_rnd(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A poller with one idle socket pair registered for reading, so that the
 * kernel wait is a real one on every backend (an empty poll vector
 * sleeps instead). */
typedef struct wu_fx {
    po_poller *p;
    t_chan c;
    t_sock peer;
} wu_fx;

static void wu_open_opts(wu_fx *f, const po_options *opt) {
    memset(f, 0, sizeof *f);
    f->p = t_poller_opts(opt);
    t_sock sv[2];
    t_socketpair(sv);
    f->c.want = PO_RECV;
    f->c.fd = sv[0];
    f->peer = sv[1];
    CHECK_EQ(po_attach(f->p, 1, sv[0], &t_ops, &f->c, &f->c.ch), PO_OK);
    CHECK_EQ(po_wait(f->p, 0, NULL), 0); /* registered */
}

static void wu_open(wu_fx *f) { wu_open_opts(f, NULL); }

static void wu_close(wu_fx *f) {
    po_destroy(f->p);
    t_close(f->c.fd);
    t_close(f->peer);
}

void case_wait_until_never_early(void) {
    wu_fx f;
    wu_open(&f);
    uint64_t seed = 0x9e3779b97f4a7c15u;
    /* Deadlines 0 to 2 ms away, at any nanosecond. */
    for (int i = 0; i < 300; i++) {
        po_time at = po_now() + wu_rnd(&seed) % (2 * PO_MSEC);
        po_triggers total = 0;
        CHECK_EQ(po_wait_until(f.p, at, &total), 0);
        CHECK_EQ(total, PO_TIMEOUT);
        CHECK(po_now() >= at);
    }
    /* A socket that becomes readable ends the wait: the deadline is no
     * minimum. */
    t_write_all(f.peer, "x", 1);
    po_triggers total = 0;
    CHECK_EQ(po_wait_until(f.p, po_now() + 3600 * 1000 * PO_MSEC, &total), 1);
    CHECK_EQ(total, PO_RECV);
    wu_close(&f);
}

void case_wait_until_channel_deadlines(void) {
    enum { N = 64 };
    wu_fx f;
    wu_open(&f);
    t_chan c[N];
    po_time at[N];
    uint64_t seed = 0x2545f4914f6cdd1du;
    po_time base = po_now();
    for (int i = 0; i < N; i++) {
        memset(&c[i], 0, sizeof c[i]);
        CHECK_EQ(
            po_attach(f.p, (po_chn)i + 10, T_NO_SOCK, &t_ops, &c[i], &c[i].ch),
            PO_OK);
        /* 0 to 3 ms away, at sub-millisecond offsets from each other. */
        at[i] = base + wu_rnd(&seed) % (3 * PO_MSEC);
        CHECK_EQ(po_set_deadline(c[i].ch, at[i]), PO_OK);
    }
    int fired = 0;
    while (fired < N) {
        /* No limit of its own: only the deadlines end the wait. */
        po_triggers total = 0;
        int n = po_wait_until(f.p, PO_NEVER, &total);
        CHECK(n >= 1);
        CHECK_EQ(total, PO_TIMEOUT);
        po_time now = po_now();
        for (int i = 0; i < N; i++)
            if (t_triggered(f.p, c[i].ch)) {
                CHECK_EQ(po_channel_act(c[i].ch), PO_TIMEOUT);
                CHECK(now >= at[i]);
                fired++;
            } else if (po_channel_deadline(c[i].ch) != PO_NEVER) {
                /* Pending: its time had not come when the wait ended. */
                CHECK(po_channel_deadline(c[i].ch) == at[i]);
            }
    }
    CHECK_EQ(fired, N);
    /* A caller's deadline nearer than a channel's ends the wait first,
     * untriggered and not early. */
    po_time far = po_now() + 3600 * 1000 * PO_MSEC;
    CHECK_EQ(po_set_deadline(c[0].ch, far), PO_OK);
    po_time soon = po_now() + PO_MSEC / 3;
    po_triggers total = 0;
    CHECK_EQ(po_wait_until(f.p, soon, &total), 0);
    CHECK_EQ(total, PO_TIMEOUT);
    CHECK(po_now() >= soon);
    CHECK(po_channel_deadline(c[0].ch) == far);
    wu_close(&f);
}

void case_wait_until_never_and_past(void) {
    wu_fx f;
    wu_open(&f);
    po_triggers total = 0;
    /* PO_NEVER with data pending: reported at once. */
    t_write_all(f.peer, "x", 1);
    CHECK_EQ(po_wait_until(f.p, PO_NEVER, &total), 1);
    CHECK_EQ(total, PO_RECV);
    char b[4];
    CHECK_EQ(t_read_some(f.c.fd, b, sizeof b), 1);
    /* A past deadline, and 0, do not block; data is still reported. */
    int64_t t0 = t_now_ms();
    CHECK_EQ(po_wait_until(f.p, po_now() - 1, &total), 0);
    CHECK_EQ(total, PO_TIMEOUT);
    CHECK_EQ(po_wait_until(f.p, 0, &total), 0);
    CHECK_EQ(total, PO_TIMEOUT);
    CHECK(t_now_ms() - t0 < 5000);
    t_write_all(f.peer, "y", 1);
    CHECK_EQ(po_wait_until(f.p, 0, &total), 1);
    CHECK_EQ(total, PO_RECV);
    CHECK_EQ(t_read_some(f.c.fd, b, sizeof b), 1);
    /* PO_NEVER with a channel deadline set: blocks until it, no longer
     * (a hang here would time the test out). */
    t_chan d;
    memset(&d, 0, sizeof d);
    CHECK_EQ(po_attach(f.p, 2, T_NO_SOCK, &t_ops, &d, &d.ch), PO_OK);
    po_time at = po_now() + PO_MSEC / 2;
    CHECK_EQ(po_set_deadline(d.ch, at), PO_OK);
    CHECK_EQ(po_wait_until(f.p, PO_NEVER, &total), 1);
    CHECK_EQ(total, PO_TIMEOUT);
    CHECK(po_now() >= at);
    CHECK(t_triggered(f.p, d.ch));
    wu_close(&f);
}

static uint64_t wu_waits(const po_poller *p) {
    po_stats s;
    po_get_stats(p, &s);
    return s.waits;
}

/* po_options.spin_ns: the kernel sleep ends that much before the time and
 * the rest is spent in waits that do not block.  A spin longer than the
 * wait makes all of it such waits, which po_stats.waits shows; the time
 * itself never moves: nothing early, a po_wait() timeout never cut short,
 * and what is ready is still reported. */
void case_wait_until_spin(void) {
    po_options o = {.spin_ns = 3600 * 1000 * PO_MSEC};
    wu_fx f;
    wu_open_opts(&f, &o);
    po_triggers total = 0;
    uint64_t w0 = wu_waits(f.p);
    po_time at = po_now() + 2 * PO_MSEC;
    CHECK_EQ(po_wait_until(f.p, at, &total), 0);
    CHECK_EQ(total, PO_TIMEOUT);
    CHECK(po_now() >= at);
    CHECK(wu_waits(f.p) - w0 > 1);
    /* po_wait()'s timeout, which a spin would otherwise cut short. */
    po_time t0 = po_now();
    CHECK_EQ(po_wait(f.p, 2, &total), 0);
    CHECK(po_now() - t0 >= 2 * PO_MSEC);
    /* A channel's deadline, nearer than the caller's. */
    t_chan d;
    memset(&d, 0, sizeof d);
    CHECK_EQ(po_attach(f.p, 2, T_NO_SOCK, &t_ops, &d, &d.ch), PO_OK);
    at = po_now() + PO_MSEC / 2;
    CHECK_EQ(po_set_deadline(d.ch, at), PO_OK);
    CHECK_EQ(po_wait_until(f.p, PO_NEVER, &total), 1);
    CHECK_EQ(total, PO_TIMEOUT);
    CHECK(po_now() >= at);
    CHECK(t_triggered(f.p, d.ch));
    /* Data ends a spinning wait like any other. */
    t_write_all(f.peer, "x", 1);
    CHECK_EQ(po_wait_until(f.p, po_now() + 3600 * 1000 * PO_MSEC, &total), 1);
    CHECK_EQ(total, PO_RECV);
    wu_close(&f);

    /* A spin shorter than the wait: deadlines at any nanosecond, none
     * early. */
    o.spin_ns = 100 * 1000;
    wu_open_opts(&f, &o);
    uint64_t seed = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < 200; i++) {
        at = po_now() + wu_rnd(&seed) % (2 * PO_MSEC);
        CHECK_EQ(po_wait_until(f.p, at, &total), 0);
        CHECK_EQ(total, PO_TIMEOUT);
        CHECK(po_now() >= at);
    }
    wu_close(&f);
}

/* A probe that calls po_wait_until() on its own poller. */
typedef struct wu_busy {
    po_poller *p;
    int rc;
} wu_busy;

static po_triggers wu_busy_probe(po_channel *ch, void *ctx) {
    (void)ch;
    wu_busy *b = ctx;
    b->rc = po_wait_until(b->p, 0, NULL);
    return 0;
}
static const po_channel_ops wu_busy_ops = {wu_busy_probe, NULL};

void case_wait_until_errors(void) {
    po_triggers total = 0;
    CHECK_EQ(po_wait_until(NULL, PO_NEVER, &total), PO_EINVAL);
    CHECK_EQ(po_wait_until(NULL, 0, NULL), PO_EINVAL);
    po_poller *p = t_poller();
    /* From a probe: refused; the outer wait goes on. */
    wu_busy b = {p, 1};
    CHECK_EQ(po_attach(p, 1, T_NO_SOCK, &wu_busy_ops, &b, NULL), PO_OK);
    CHECK_EQ(po_wait_until(p, po_now() + PO_MSEC / 10, &total), 0);
    CHECK_EQ(b.rc, PO_EBUSY);
    CHECK_EQ(total, PO_TIMEOUT);
    po_destroy(p);
}
