/*
 * Conformance cases for promises of the header that are easy to break from
 * a caller's side: the poller destroyed from inside a callback, a socket
 * changed while the walk has not reached its channel, descriptors no
 * backend can watch, and a channel pointer used after its deletion.
 */
#include "harness.h"

#include <errno.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* po_destroy from inside a callback                                        */

/* A channel whose probe or deinit tries to destroy its poller, and whose
 * deinit records what it could still find in the poller. */
typedef struct ct_chan {
    po_poller *p;
    po_chn chn;
    bool destroy_in_probe, destroy_in_deinit;
    int probe_rc, deinit_rc; /* what po_destroy() returned there */
    int deinits;
    size_t count_in_deinit; /* po_count() seen by the deinit */
    bool self_found;        /* po_find() of its own number in its deinit */
    po_chn other;           /* a number the deinit looks up */
    bool other_found;
    struct ct_chan *other_chan; /* that channel: must not be deinit'd yet */
    int other_deinits;
} ct_chan;

static po_triggers ct_probe(po_channel *ch, void *ctx) {
    (void)ch;
    ct_chan *c = ctx;
    if (c->destroy_in_probe)
        c->probe_rc = po_destroy(c->p);
    return PO_POOL;
}

static void ct_deinit(po_channel *ch, void *ctx) {
    (void)ch;
    ct_chan *c = ctx;
    c->deinits++;
    if (c->destroy_in_deinit)
        c->deinit_rc = po_destroy(c->p);
    c->count_in_deinit = po_count(c->p);
    c->self_found = po_find(c->p, c->chn) != NULL;
    po_channel *o = po_find(c->p, c->other);
    c->other_found = o != NULL;
    if (o != NULL) {
        ct_chan *oc = po_channel_ctx(o);
        c->other_chan = oc;
        c->other_deinits = oc->deinits; /* its ctx is still usable */
    }
}

static const po_channel_ops ct_ops = {ct_probe, ct_deinit};

static po_channel *ct_attach(po_poller *p, ct_chan *c, po_chn chn) {
    memset(c, 0, sizeof *c);
    c->p = p;
    c->chn = chn;
    c->other = chn; /* by default: itself */
    c->probe_rc = c->deinit_rc = 1;
    po_channel *ch = NULL;
    CHECK_EQ(po_attach(p, chn, T_NO_SOCK, &ct_ops, c, &ch), PO_OK);
    return ch;
}

void case_destroy_from_callback_refused(void) {
    enum { N = 4 };
    po_poller *p = t_poller();
    ct_chan c[N];
    for (int i = 0; i < N; i++)
        ct_attach(p, &c[i], (po_chn)i + 1);
    /* From a probe, inside po_wait: refused, the wait goes on. */
    c[0].destroy_in_probe = true;
    po_triggers total = 0;
    CHECK_EQ(po_wait(p, 0, &total), N);
    CHECK_EQ(total, PO_POOL);
    CHECK_EQ(c[0].probe_rc, PO_EBUSY);
    CHECK_EQ(po_count(p), N);
    c[0].destroy_in_probe = false;
    /* From a deinit, inside po_delete, po_delete_group, po_delete_marked. */
    c[1].destroy_in_deinit = true;
    CHECK_EQ(po_delete(p, 2), PO_OK);
    CHECK_EQ(c[1].deinit_rc, PO_EBUSY);
    CHECK_EQ(c[1].deinits, 1);
    CHECK_EQ(po_count(p), N - 1);
    c[2].destroy_in_deinit = true;
    po_chn three = 3;
    CHECK_EQ(po_delete_group(p, &three, 1), 1);
    CHECK_EQ(c[2].deinit_rc, PO_EBUSY);
    c[3].destroy_in_deinit = true;
    po_mark_delete(po_find(p, 4));
    CHECK_EQ(po_delete_marked(p), 1);
    CHECK_EQ(c[3].deinit_rc, PO_EBUSY);
    /* The poller is intact: it waits, attaches and reports. */
    CHECK_EQ(po_count(p), 1);
    CHECK_EQ(po_wait(p, 0, &total), 1);
    CHECK_EQ(total, PO_POOL);
    ct_chan d;
    ct_attach(p, &d, 9);
    CHECK_EQ(po_wait(p, 0, &total), 2);
    /* From a deinit inside po_destroy itself: refused, the destroy goes on
     * and deinits every channel once. */
    d.destroy_in_deinit = true;
    CHECK_EQ(po_destroy(p), PO_OK);
    CHECK_EQ(d.deinit_rc, PO_EBUSY);
    CHECK_EQ(d.deinits, 1);
    CHECK_EQ(c[0].deinits, 1);
    CHECK_EQ(po_destroy(NULL), PO_OK);
}

void case_destroy_deinit_sees_remaining(void) {
    enum { N = 70 }; /* more than one slab of records */
    po_poller *p = t_poller();
    ct_chan c[N];
    for (int i = 0; i < N; i++)
        ct_attach(p, &c[i], (po_chn)i + 100);
    /* Each deinit looks up the next channel. */
    for (int i = 0; i < N; i++)
        c[i].other = (po_chn)((i + 1) % N) + 100;
    CHECK_EQ(po_wait(p, 0, NULL), N);
    CHECK_EQ(po_destroy(p), PO_OK);
    /* One at a time: the k-th deinit sees N - k channels, not itself; a
     * channel it finds has not been deinit'd, one deinit'd is not found. */
    bool seen[N + 1];
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(c[i].deinits, 1);
        CHECK(!c[i].self_found);
        CHECK(c[i].count_in_deinit < (size_t)N);
        CHECK(!seen[c[i].count_in_deinit]);
        seen[c[i].count_in_deinit] = true;
        if (c[i].other_found)
            CHECK_EQ(c[i].other_deinits, 0);
        else
            CHECK(c[(i + 1) % N].count_in_deinit > c[i].count_in_deinit);
    }
}

/* ------------------------------------------------------------------------ */
/* po_set_socket during a walk                                              */

/* A broken connection: its peer hung up, so a channel that wants PO_SEND
 * on it gets PO_ERR with it. */
static po_channel *ct_broken(po_poller *p, po_chn chn, t_chan *c,
                             po_triggers want) {
    t_sock sv[2];
    t_socketpair(sv);
    t_hangup(sv[1]);
    c->want = want;
    c->fd = sv[0];
    CHECK_EQ(po_attach(p, chn, sv[0], &t_ops, c, &c->ch), PO_OK);
    return c->ch;
}

void case_set_socket_during_walk(void) {
    po_poller *p = t_poller();
    t_chan c[3];
    memset(c, 0, sizeof c);
    ct_broken(p, 1, &c[0], PO_SEND);
    ct_broken(p, 2, &c[1], PO_SEND);
    /* The third also has what belongs to the channel, not the socket: an
     * internal trigger and a deadline that has passed. */
    ct_broken(p, 3, &c[2], PO_SEND | PO_POOL);
    /* Until every hang-up has arrived (a TCP reset travels). */
    po_triggers total = 0;
    for (int tries = 0; total != (PO_SEND | PO_ERR | PO_POOL); tries++) {
        CHECK(tries < 50);
        CHECK(po_wait(p, 100, &total) >= 0);
        for (int i = 0; i < 3; i++)
            if (!(po_channel_act(c[i].ch) & PO_ERR))
                total = 0;
    }
    CHECK_EQ(po_set_deadline(c[2].ch, po_now()), PO_OK);
    CHECK_EQ(po_wait(p, 1000, &total), 3);
    for (int i = 0; i < 3; i++)
        CHECK(po_channel_act(c[i].ch) & PO_ERR);
    CHECK(po_channel_act(c[2].ch) & PO_TIMEOUT);

    /* At the first visit, the two others get fresh, healthy sockets. */
    t_sock fresh[3][2];
    int visited = 0, first = -1;
    po_iter it = PO_ITER_INIT;
    for (po_channel *ch; (ch = po_next_triggered(p, &it)) != NULL;) {
        int i = (int)((t_chan *)po_channel_ctx(ch) - c);
        CHECK(i >= 0 && i < 3);
        visited++;
        if (first < 0) {
            first = i;
            CHECK(po_channel_act(ch) & PO_ERR); /* its own, reported */
            for (int j = 0; j < 3; j++) {
                if (j == i)
                    continue;
                t_socketpair(fresh[j]);
                po_seqn old = po_channel_seqn(c[j].ch);
                CHECK_EQ(po_set_socket(c[j].ch, fresh[j][0]), PO_OK);
                CHECK(po_channel_seqn(c[j].ch) > old);
                /* The old socket's PO_SEND and PO_ERR are gone; the
                 * channel's own PO_POOL and PO_TIMEOUT stay. */
                CHECK_EQ(po_channel_act(c[j].ch),
                         j == 2 ? PO_POOL | PO_TIMEOUT : 0);
            }
            /* And its own socket too, after its visit. */
            t_socketpair(fresh[i]);
            CHECK_EQ(po_set_socket(ch, fresh[i][0]), PO_OK);
            CHECK_EQ(po_channel_act(ch), i == 2 ? PO_POOL | PO_TIMEOUT : 0);
        } else {
            /* Only the third can still be visited, for its own triggers. */
            CHECK_EQ(i, 2);
            CHECK_EQ(po_channel_act(ch), PO_POOL | PO_TIMEOUT);
        }
    }
    CHECK_EQ(visited, first == 2 ? 1 : 2);
    for (int i = 0; i < 3; i++)
        t_close(c[i].fd);

    /* The next wait: each new socket is writable, and nothing of the old
     * connections is left. */
    CHECK_EQ(po_wait(p, 1000, &total), 3);
    CHECK_EQ(total, PO_SEND | PO_POOL);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(po_channel_act(c[i].ch), i == 2 ? PO_SEND | PO_POOL : PO_SEND);
        CHECK_EQ(po_channel_errno(c[i].ch), 0);
    }
    po_destroy(p);
    for (int i = 0; i < 3; i++)
        t_pair_done(fresh[i]);
}

/* ------------------------------------------------------------------------ */
/* Descriptors no backend can watch                                         */

void case_negative_socket_refused(void) {
#ifdef _WIN32
    po_skip("every SOCKET value can be a socket");
#else
    po_poller *p = t_poller();
    t_chan c = {.want = PO_RECV};
    CHECK_EQ(po_attach(p, 1, -5, &t_ops, &c, &c.ch), PO_EINVAL);
    CHECK_EQ(po_attach(p, 1, -2, &t_ops, &c, &c.ch), PO_EINVAL);
    CHECK_EQ(po_count(p), 0);
    /* Refused before any SeqN was used. */
    CHECK_EQ(po_attach(p, 1, T_NO_SOCK, &t_ops, &c, &c.ch), PO_OK);
    CHECK_EQ(po_channel_seqn(c.ch), 1);
    CHECK_EQ(po_set_socket(c.ch, -7), PO_EINVAL);
    CHECK_EQ(po_channel_seqn(c.ch), 1);
    CHECK_EQ(po_channel_socket(c.ch), T_NO_SOCK);
    t_sock sv[2];
    t_socketpair(sv);
    CHECK_EQ(po_set_socket(c.ch, sv[0]), PO_OK);
    CHECK_EQ(po_set_socket(c.ch, -3), PO_EINVAL);
    CHECK_EQ(po_channel_socket(c.ch), sv[0]);
    t_write_all(sv[1], "x", 1);
    po_triggers total = 0;
    CHECK_EQ(po_wait(p, 1000, &total), 1);
    CHECK_EQ(total, PO_RECV);
    po_destroy(p);
    t_pair_done(sv);
#endif
}

/* A regular file, a directory and /dev/null (where the system has them):
 * PO_ERR with the same errno on every backend of the system, whatever the
 * channel wants, and no kernel call for them after the first. */
void case_unpollable_descriptors(void) {
    po_poller *p = t_poller();
    int refused = t_file_errno(po_backend_name(p));
    t_sock fds[3];
    size_t n = 0;
    fds[n++] = t_regular_file("data", 4);
    t_sock s;
    if ((s = t_open_special("dir")) != T_NO_SOCK)
        fds[n++] = s;
    if ((s = t_open_special("null")) != T_NO_SOCK)
        fds[n++] = s;
    static const po_triggers wants[] = {PO_RECV, PO_SEND, PO_RECV | PO_SEND,
                                        PO_ACCEPT};
    t_chan c[3];
    memset(c, 0, sizeof c);
    for (size_t i = 0; i < n; i++) {
        c[i].want = wants[i % 4];
        CHECK_EQ(po_attach(p, i + 1, fds[i], &t_ops, &c[i], &c[i].ch), PO_OK);
    }
    po_stats first = {0, 0, 0, 0, 0, 0};
    for (int round = 0; round < 3; round++) {
        po_triggers total = 0;
        CHECK_EQ(po_wait(p, 1000, &total), (int)n);
        CHECK_EQ(total, PO_ERR);
        for (size_t i = 0; i < n; i++) {
            CHECK_EQ(po_channel_act(c[i].ch), PO_ERR);
            CHECK_EQ(po_channel_errno(c[i].ch), refused);
        }
        /* One attempt to register each, then no kernel call while parked,
         * whatever the channel wants. */
        po_stats st;
        po_get_stats(p, &st);
        if (round == 0)
            first = st;
        CHECK_EQ(st.adds, n);
        CHECK_EQ(st.mods, first.mods);
        CHECK_EQ(st.dels, first.dels);
        for (size_t i = 0; i < n; i++)
            T_WANT(&c[i], wants[(i + (size_t)round + 1) % 4]);
    }
    po_destroy(p);
    t_close_file(fds[0]);
    for (size_t i = 1; i < n; i++)
        t_close(fds[i]);
}

/* ------------------------------------------------------------------------ */
/* A channel pointer after its deletion                                     */

void case_deleted_channel_pointer(void) {
    po_poller *p = t_poller();
    t_chan a = {.want = PO_POOL}, b = {.want = PO_POOL};
    CHECK_EQ(po_attach(p, 1, T_NO_SOCK, &t_ops, &a, &a.ch), PO_OK);
    CHECK_EQ(po_set_deadline(a.ch, po_now() + 3600 * 1000 * PO_MSEC), PO_OK);
    CHECK_EQ(po_delete(p, 1), PO_OK);
    CHECK_EQ(a.deinits, 1);
    /* Until the next wait the pointer is refused or ignored, and its
     * record is not handed to a new channel. */
    CHECK_EQ(po_set_deadline(a.ch, po_now()), PO_EINVAL);
    CHECK_EQ(po_channel_deadline(a.ch), PO_NEVER);
    t_sock sv[2];
    t_socketpair(sv);
    CHECK_EQ(po_set_socket(a.ch, sv[0]), PO_EINVAL);
    po_touch(a.ch);
    po_mark_delete(a.ch);
    CHECK_EQ(po_channel_act(a.ch), 0);
    CHECK_EQ(po_attach(p, 1, sv[0], &t_ops, &b, &b.ch), PO_OK);
    CHECK(b.ch != a.ch);
    CHECK_EQ(po_delete_marked(p), 0);
    CHECK_EQ(po_count(p), 1);
    po_triggers total = 0;
    CHECK_EQ(po_wait(p, 0, &total), 1);
    CHECK_EQ(total, PO_POOL);
    CHECK_EQ(a.deinits, 1);
    CHECK_EQ(b.deinits, 0);
    po_destroy(p);
    CHECK_EQ(b.deinits, 1);
    t_pair_done(sv);
}
