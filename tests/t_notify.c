/*
 * Conformance cases for the notifier: payloads arrive as PO_NOTIFY on the
 * notifier channel, in order, each exactly once; a full queue refuses with
 * PO_EAGAIN and loses nothing; a blocked wait is woken from another thread;
 * and several threads sending at once lose and duplicate nothing (the
 * ThreadSanitizer build runs these cases too).
 */
#include "harness.h"

#include <stdio.h>
#include <string.h>

/* Takes every waiting payload into out (at most max); returns how many. */
static size_t nt_take_all(po_notifier *n, uint64_t *out, size_t max) {
    size_t k = 0;
    uint64_t v;
    int rc;
    while ((rc = po_notifier_take(n, &v)) == PO_OK) {
        CHECK(k < max);
        out[k++] = v;
    }
    CHECK_EQ(rc, PO_EAGAIN);
    return k;
}

void case_notify_delivers_in_order(void) {
    po_poller *p = t_poller();
    po_notifier *n = NULL;
    po_channel *ch = NULL;
    CHECK_EQ(po_notifier_attach(p, 5, 0, &n, &ch), PO_OK);
    CHECK(n != NULL && ch != NULL);
    CHECK(po_find(p, 5) == ch);
    CHECK(po_channel_ctx(ch) == n);
    /* Nothing sent: the wait times out. */
    po_triggers total;
    CHECK_EQ(po_wait(p, 30, &total), 0);
    CHECK_EQ(total, PO_TIMEOUT);
    for (uint64_t v = 1; v <= 3; v++)
        CHECK_EQ(po_notify(n, v * 1000), PO_OK);
    CHECK_EQ(po_notify(n, UINT64_MAX), PO_OK); /* any 64-bit value */
    CHECK_EQ(t_wait_for(p, ch, PO_NOTIFY, 20, 1000), PO_NOTIFY);
    uint64_t got[8];
    CHECK_EQ(nt_take_all(n, got, 8), 4);
    CHECK(got[0] == 1000 && got[1] == 2000 && got[2] == 3000);
    CHECK(got[3] == UINT64_MAX);
    /* Taken: no wake-up is left behind. */
    CHECK_EQ(po_wait(p, 30, &total), 0);
    CHECK_EQ(total, PO_TIMEOUT);
    /* Payloads left in the queue trigger the channel again. */
    CHECK_EQ(po_notify(n, 7), PO_OK);
    CHECK_EQ(po_notify(n, 8), PO_OK);
    CHECK_EQ(t_wait_for(p, ch, PO_NOTIFY, 20, 1000), PO_NOTIFY);
    uint64_t v;
    CHECK_EQ(po_notifier_take(n, &v), PO_OK);
    CHECK(v == 7);
    CHECK_EQ(po_wait(p, 1000, &total), 1);
    CHECK_EQ(total, PO_NOTIFY);
    CHECK_EQ(nt_take_all(n, got, 8), 1);
    CHECK(got[0] == 8);
    po_destroy(p); /* closes and frees the notifier */
}

void case_notify_full_eagain(void) {
    po_poller *p = t_poller();
    po_notifier *n;
    po_channel *ch;
    CHECK_EQ(po_notifier_attach(p, 1, 3, &n, &ch), PO_OK); /* room for 4 */
    for (uint64_t v = 0; v < 4; v++)
        CHECK_EQ(po_notify(n, v), PO_OK);
    CHECK_EQ(po_notify(n, 99), PO_EAGAIN); /* full: refused, not dropped */
    CHECK_EQ(t_wait_for(p, ch, PO_NOTIFY, 20, 1000), PO_NOTIFY);
    uint64_t v;
    CHECK_EQ(po_notifier_take(n, &v), PO_OK);
    CHECK(v == 0);
    CHECK_EQ(po_notify(n, 4), PO_OK); /* room again */
    uint64_t got[8];
    CHECK_EQ(nt_take_all(n, got, 8), 4);
    for (int i = 0; i < 4; i++)
        CHECK(got[i] == (uint64_t)i + 1);
    CHECK_EQ(po_notifier_take(n, &v), PO_EAGAIN);
    po_destroy(p);
}

/* A probe that tries to attach a notifier. */
typedef struct nt_busy {
    po_poller *p;
    int rc;
} nt_busy;
static po_triggers nt_busy_probe(po_channel *ch, void *ctx) {
    (void)ch;
    nt_busy *b = ctx;
    po_notifier *n;
    b->rc = po_notifier_attach(b->p, 9, 0, &n, NULL);
    return 0;
}
static const po_channel_ops nt_busy_ops = {nt_busy_probe, NULL};

void case_notify_errors(void) {
    po_poller *p = t_poller();
    po_notifier *n;
    uint64_t v;
    CHECK_EQ(po_notifier_attach(NULL, 1, 0, &n, NULL), PO_EINVAL);
    CHECK_EQ(po_notifier_attach(p, 1, ((size_t)1 << 24) + 1, &n, NULL),
             PO_EINVAL);
    CHECK_EQ(po_notify(NULL, 1), PO_EINVAL);
    CHECK_EQ(po_notifier_take(NULL, &v), PO_EINVAL);
    CHECK_EQ(po_count(p), 0);
    /* Neither out parameter is needed: the channel's ctx is the notifier. */
    CHECK_EQ(po_notifier_attach(p, 50, 0, NULL, NULL), PO_OK);
    CHECK_EQ(po_notify(po_channel_ctx(po_find(p, 50)), 5), PO_OK);
    CHECK_EQ(po_delete(p, 50), PO_OK);
    CHECK_EQ(po_count(p), 0);
    CHECK_EQ(po_notifier_attach(p, 1, 1, &n, NULL), PO_OK);
    CHECK_EQ(po_notifier_take(n, NULL), PO_EINVAL);
    po_notifier *n2;
    CHECK_EQ(po_notifier_attach(p, 1, 1, &n2, NULL), PO_EEXIST);
    CHECK_EQ(po_count(p), 1);
    nt_busy b = {p, 1};
    CHECK_EQ(po_attach(p, 2, T_NO_SOCK, &nt_busy_ops, &b, NULL), PO_OK);
    po_wait(p, 0, NULL);
    CHECK_EQ(b.rc, PO_EBUSY);
    CHECK(po_find(p, 9) == NULL);
    /* Deleted like any channel; a second notifier then takes its number. */
    CHECK_EQ(po_notify(n, 1), PO_OK);
    CHECK_EQ(po_delete(p, 1), PO_OK);
    po_channel *ch;
    CHECK_EQ(po_notifier_attach(p, 1, 1, &n, &ch), PO_OK);
    po_triggers total;
    CHECK_EQ(po_wait(p, 30, &total), 0); /* nothing from the old one */
    CHECK_EQ(po_notify(n, 2), PO_OK);
    CHECK_EQ(t_wait_for(p, ch, PO_NOTIFY, 20, 1000), PO_NOTIFY);
    CHECK_EQ(po_notifier_take(n, &v), PO_OK);
    CHECK(v == 2);
    po_destroy(p);
}

void case_notify_alloc_failure(void) {
    po_options o;
    memset(&o, 0, sizeof o);
    o.allocator = &t_failing_alloc;
    po_poller *p = t_poller_opts(&o);
    /* Each allocation of an attach fails in turn (the notifier, its queue,
     * the poller's room for a channel), with the default capacity and a
     * larger one: PO_ENOMEM exactly then, and nothing changes. */
    const size_t capacities[] = {0, 5000};
    for (size_t i = 0; i < 2; i++) {
        po_notifier *n = NULL;
        po_channel *ch = NULL;
        long k = 1;
        for (;; k++) {
            CHECK(k < 64);
            t_alloc_fail_at(k);
            if (t_alloc_done(po_notifier_attach(p, 7, capacities[i], &n, &ch)))
                break;
            CHECK(n == NULL && ch == NULL);
            CHECK_EQ(po_count(p), 0);
            CHECK(po_find(p, 7) == NULL);
        }
        CHECK(k > 1);
        CHECK_EQ(po_notify(n, 42), PO_OK);
        CHECK_EQ(t_wait_for(p, ch, PO_NOTIFY, 20, 1000), PO_NOTIFY);
        uint64_t got[2];
        CHECK_EQ(nt_take_all(n, got, 2), 1);
        CHECK(got[0] == 42);
        CHECK_EQ(po_delete(p, 7), PO_OK);
    }
    po_destroy(p);
}

typedef struct nt_late {
    po_notifier *n;
    int rc;
} nt_late;

static void nt_late_sender(void *arg) {
    nt_late *l = arg;
    t_sleep_ms(100);
    l->rc = po_notify(l->n, 42);
}

void case_notify_wakes_blocked_wait(void) {
    po_poller *p = t_poller();
    po_notifier *n;
    po_channel *ch;
    CHECK_EQ(po_notifier_attach(p, 1, 0, &n, &ch), PO_OK);
    nt_late l = {n, 1};
    t_thread *t = t_thread_start(nt_late_sender, &l);
    po_triggers total;
    /* No timeout: only the other thread can end this wait. */
    CHECK_EQ(po_wait(p, -1, &total), 1);
    CHECK_EQ(total, PO_NOTIFY);
    t_thread_join(t);
    CHECK_EQ(l.rc, PO_OK);
    uint64_t v;
    CHECK_EQ(po_notifier_take(n, &v), PO_OK);
    CHECK(v == 42);
    po_destroy(p);
}

/* Several producers, each sending its own numbered payloads as fast as it
 * can into a small queue, retrying while it is full. */
enum { NT_THREADS = 4 };

typedef struct nt_producer {
    po_notifier *n;
    unsigned id;
    uint64_t each;         /* payloads to send */
    unsigned long refused; /* PO_EAGAIN answers */
    int bad;               /* any other answer */
} nt_producer;

static void nt_produce(void *arg) {
    nt_producer *pr = arg;
    for (uint64_t i = 0; i < pr->each; i++) {
        int rc;
        while ((rc = po_notify(pr->n, (uint64_t)pr->id << 32 | i)) ==
               PO_EAGAIN) {
            pr->refused++;
            t_yield();
        }
        if (rc != PO_OK)
            pr->bad++;
    }
}

/* `threads` producers send `each` payloads into a queue of `capacity`;
 * each must come once, in its sender's order. */
static void nt_threads(size_t capacity, unsigned threads, uint64_t each) {
    po_poller *p = t_poller();
    po_notifier *n;
    po_channel *ch;
    CHECK_EQ(po_notifier_attach(p, 1, capacity, &n, &ch), PO_OK);
    nt_producer pr[NT_THREADS];
    t_thread *th[NT_THREADS];
    CHECK(threads <= NT_THREADS);
    for (unsigned i = 0; i < threads; i++) {
        pr[i] = (nt_producer){n, i, each, 0, 0};
        th[i] = t_thread_start(nt_produce, &pr[i]);
    }
    uint64_t next[NT_THREADS] = {0};
    uint64_t received = 0, wakes = 0;
    int64_t deadline = t_now_ms() + 60000;
    while (received < threads * each) {
        CHECK(t_now_ms() < deadline);
        CHECK(po_wait(p, 1000, NULL) >= 0);
        if (!t_triggered(p, ch))
            continue;
        CHECK_EQ(po_channel_act(ch), PO_NOTIFY);
        wakes++;
        uint64_t v;
        while (po_notifier_take(n, &v) == PO_OK) {
            unsigned id = (unsigned)(v >> 32);
            CHECK(id < threads);
            CHECK_EQ(v & 0xffffffffu, next[id]);
            next[id]++;
            received++;
        }
    }
    unsigned long refused = 0;
    for (unsigned i = 0; i < threads; i++) {
        t_thread_join(th[i]);
        CHECK_EQ(pr[i].bad, 0);
        CHECK_EQ(next[i], each);
        refused += pr[i].refused;
    }
    /* Nothing more arrives. */
    uint64_t v;
    CHECK_EQ(po_notifier_take(n, &v), PO_EAGAIN);
    printf("notify: capacity %zu, %llu payloads from %u threads in %llu "
           "wake-ups, %lu refused while full\n",
           capacity, (unsigned long long)received, threads,
           (unsigned long long)wakes, refused);
    po_destroy(p);
}

void case_notify_threads_exactly_once(void) {
    nt_threads(64, NT_THREADS, 20000);
    /* The smallest queues too: capacity 1 has two cells. */
    nt_threads(1, 2, 1000);
    nt_threads(2, NT_THREADS, 2000);
}

/* Every capacity holds exactly the cells it is documented to: 0 means
 * 1024, others round up to a power of two and to at least 2. */
void case_notify_small_capacities(void) {
    po_poller *p = t_poller();
    for (size_t cap = 0; cap <= 17; cap++) {
        po_notifier *n;
        po_channel *ch;
        CHECK_EQ(po_notifier_attach(p, 1, cap, &n, &ch), PO_OK);
        size_t cells = 2;
        while (cells < (cap ? cap : 1024))
            cells *= 2;
        for (int round = 0; round < 2; round++) {
            for (size_t i = 0; i < cells; i++)
                CHECK_EQ(po_notify(n, i * 7 + (size_t)round), PO_OK);
            CHECK_EQ(po_notify(n, 999), PO_EAGAIN);
            CHECK_EQ(t_wait_for(p, ch, PO_NOTIFY, 20, 1000), PO_NOTIFY);
            uint64_t v;
            for (size_t i = 0; i < cells; i++) {
                CHECK_EQ(po_notifier_take(n, &v), PO_OK);
                CHECK_EQ(v, i * 7 + (size_t)round);
            }
            CHECK_EQ(po_notifier_take(n, &v), PO_EAGAIN);
        }
        CHECK_EQ(po_delete(p, 1), PO_OK);
    }
    po_destroy(p);
}

/* A poller is used by one thread at a time, not always the same one: made
 * and filled on one thread, waited on by another, then by the first again,
 * then by a third that also changes its channels.  (The uring backend's
 * ring belongs to one thread; another's wait makes it a new one.) */
typedef struct nt_hop {
    po_poller *p;
    t_chan *c;
    t_sock peer;
    int rc;
    po_triggers act;
    int bytes;
} nt_hop;

static void nt_hop_serve(void *arg) {
    nt_hop *h = arg;
    char b[8];
    t_write_all(h->peer, "x", 1);
    h->rc = po_wait(h->p, 5000, NULL);
    h->act = po_channel_act(h->c->ch);
    h->bytes = (int)t_read_some(h->c->fd, b, sizeof b);
}

static void nt_hop_change(void *arg) {
    nt_hop *h = arg;
    /* A change queued on this thread, before its first wait. */
    h->rc = po_set_socket(h->c->ch, h->c->fd);
    if (h->rc == PO_OK)
        nt_hop_serve(arg);
}

void case_wait_from_other_threads(void) {
    po_poller *p = t_poller();
    t_sock s[2];
    t_socketpair(s);
    t_chan c = {.want = PO_RECV, .fd = s[0]};
    CHECK_EQ(po_attach(p, 1, s[0], &t_ops, &c, &c.ch), PO_OK);
    nt_hop h = {p, &c, s[1], 0, 0, 0};
    void (*const steps[])(void *) = {nt_hop_serve, NULL, nt_hop_change};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        h.rc = -100;
        if (steps[i] != NULL)
            t_thread_join(t_thread_start(steps[i], &h));
        else
            nt_hop_serve(&h);
        CHECK_EQ(h.rc, 1);
        CHECK_EQ(h.act, PO_RECV);
        CHECK_EQ(h.bytes, 1);
    }
    po_destroy(p);
    CHECK_EQ(c.deinits, 1);
    t_close(s[0]);
    t_close(s[1]);
}
