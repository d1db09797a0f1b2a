/*
 * A conformance case only the kqueue backend can meet: it needs a
 * descriptor that kqueue watches for reading but not for writing, a kqueue
 * itself.  Other backends, and systems without kqueue, skip it.  (The one
 * case file that calls the system directly: no other backend has anything
 * like it.)
 */
#include "harness.h"

#include <string.h>

#if defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) ||      \
    defined(__NetBSD__) || defined(__DragonFly__)
#define T_KQUEUE 1
#include <sys/types.h> /* before sys/event.h: older BSDs need it first */

#include <sys/event.h>
#include <sys/time.h>
#include <unistd.h>
#else
#define T_KQUEUE 0
#endif

#if T_KQUEUE
/* A kqueue with one event pending, hence readable for a kqueue watching
 * it: it watches sv[0], to which sv[1] has written a byte. */
static int kq_readable(t_sock sv[2]) {
    int inner = kqueue();
    CHECK(inner >= 0);
    t_socketpair(sv);
    struct kevent kev;
    EV_SET(&kev, (uintptr_t)sv[0], EVFILT_READ, EV_ADD, 0, 0, NULL);
    CHECK_EQ(kevent(inner, &kev, 1, NULL, 0, NULL), 0);
    t_write_all(sv[1], "k", 1);
    return inner;
}
#endif

void case_kqueue_partial_add(void) {
#if T_KQUEUE
    po_poller *p = t_poller();
    if (strcmp(po_backend_name(p), "kqueue") != 0) {
        po_destroy(p);
        po_skip("kqueue only");
    }
    t_sock sv[2], o[2];
    int inner = kq_readable(sv);
    t_socketpair(o);
    t_chan c = {.want = PO_RECV | PO_SEND}, other = {.want = PO_RECV};
    CHECK_EQ(po_attach(p, 1, inner, &t_ops, &c, &c.ch), PO_OK);
    CHECK_EQ(po_attach(p, 2, o[0], &t_ops, &other, &other.ch), PO_OK);

    /* One kevent() call adds both filters: the read filter is accepted, the
     * write filter refused (a kqueue has none).  Each change has its own
     * receipt, and the add fails as a whole. */
    po_triggers t = 0;
    CHECK_EQ(po_wait(p, 1000, &t), 1);
    CHECK_EQ(t, PO_ERR);
    CHECK_EQ(po_channel_act(c.ch), PO_ERR);
    CHECK(po_channel_errno(c.ch) != 0); /* EINVAL on current kernels */

    /* Nothing is left behind: the inner kqueue stays readable, yet no event
     * reaches the parked channel, stale or not; the other one is served. */
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(po_wait(p, 20, &t), 1);
        CHECK_EQ(t, PO_ERR);
        CHECK_EQ(po_channel_act(c.ch), PO_ERR);
    }
    t_write_all(o[1], "o", 1);
    CHECK_EQ(po_wait(p, 1000, &t), 2);
    CHECK_EQ(po_channel_act(c.ch), PO_ERR);
    CHECK_EQ(po_channel_act(other.ch), PO_RECV);
    po_stats st;
    po_get_stats(p, &st);
    CHECK_EQ(st.stale, 0);
    CHECK_EQ(st.events, 1);

    /* Reading alone needs no write filter: the same descriptor, set again
     * (which clears the failure), is watched. */
    T_WANT(&c, PO_RECV);
    CHECK_EQ(po_set_socket(c.ch, inner), PO_OK);
    CHECK_EQ(po_channel_errno(c.ch), 0);
    CHECK_EQ(po_wait(p, 1000, &t), 2);
    CHECK_EQ(po_channel_act(c.ch), PO_RECV);
    CHECK_EQ(po_channel_act(other.ch), PO_RECV);

    po_destroy(p);
    CHECK_EQ(c.deinits, 1);
    CHECK_EQ(close(inner), 0);
    t_pair_done(sv);
    t_pair_done(o);
#else
    po_skip("no kqueue on this system");
#endif
}
