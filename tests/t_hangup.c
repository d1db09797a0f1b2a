/*
 * Conformance cases about the end of a connection: a hang-up (nothing can
 * pass either way any more) against a half-close (the peer stopped sending,
 * this side still can), on TCP and on pipes.  Every backend tells them
 * apart the same way: a half-close is plain readability; a hang-up is
 * PO_RECV for a channel that reads (it then reads to EOF) and PO_ERR for
 * one that does not.
 */
#include "harness.h"

#include <string.h>

/* A connected loopback TCP pair: sv[0] accepted, sv[1] connected. */
static void hu_tcp_pair(t_sock sv[2]) {
    uint16_t port;
    t_sock l = t_listener(&port);
    t_sock c = t_connect(port);
    CHECK(t_ready(l, false, 5000));
    sv[0] = t_accept(l);
    CHECK(t_ready(c, true, 5000));
    t_close(l);
    sv[1] = c;
}

static po_channel *hu_attach(po_poller *p, po_chn chn, t_sock s, t_chan *c) {
    c->fd = s;
    c->ch = NULL;
    CHECK_EQ(po_attach(p, chn, s, &t_ops, c, &c->ch), PO_OK);
    CHECK(c->ch != NULL);
    return c->ch;
}

/* One wait (of at most a second) that triggers ch alone, with exactly
 * `act`. */
static void hu_expect(po_poller *p, po_channel *ch, po_triggers act) {
    po_triggers t = 0;
    CHECK_EQ(po_wait(p, 1000, &t), 1);
    CHECK_EQ(po_channel_act(ch), act);
    CHECK_EQ(t, act);
}

static void hu_quiet(po_poller *p) {
    po_triggers t = 0;
    CHECK_EQ(po_wait(p, 50, &t), 0);
    CHECK_EQ(t, PO_TIMEOUT);
}

/* ------------------------------------------------------------------------ */
/* half_close_readable                                                      */

void case_half_close_readable(void) {
    po_poller *p = t_poller();
    t_sock s[2];
    hu_tcp_pair(s);
    t_chan c = {.want = PO_NOTIFY};
    po_channel *ch = hu_attach(p, 1, s[0], &c);
    hu_quiet(p);

    /* The peer stops sending: readable (the EOF), and no hang-up for as
     * long as it lasts. */
    t_shutdown_send(s[1]);
    CHECK_EQ(t_wait_for(p, ch, PO_NOTIFY, 50, 100), PO_NOTIFY);
    for (int i = 0; i < 5; i++)
        hu_expect(p, ch, PO_NOTIFY);

    /* This side can still send, and the peer gets the bytes. */
    T_WANT(&c, PO_SEND);
    hu_expect(p, ch, PO_SEND);
    t_write_all(s[0], "back", 4);
    CHECK(t_ready(s[1], false, 5000));
    char buf[16];
    CHECK_EQ(t_read_some(s[1], buf, sizeof buf), 4);
    CHECK(memcmp(buf, "back", 4) == 0);

    /* A reader is told, and reads the EOF. */
    T_WANT(&c, PO_RECV);
    hu_expect(p, ch, PO_RECV);
    CHECK_EQ(t_read_some(s[0], buf, sizeof buf), 0);
    hu_expect(p, ch, PO_RECV);
    CHECK_EQ(po_channel_errno(ch), 0);

    /* Nothing can pass either way any more, a hang-up, which a channel that
     * does not read gets as PO_ERR...  On POSIX this side's own shutdown
     * ends the connection; Windows reports only a reset as a hang-up. */
#ifdef _WIN32
    t_hangup(s[1]);
    s[1] = T_NO_SOCK;
#else
    t_shutdown_send(s[0]);
#endif
    T_WANT(&c, PO_NOTIFY);
    /* (With PO_NOTIFY too where the kernel also calls it readable, as
     * epoll and kqueue do for the EOF; Windows reports the reset alone.) */
    po_triggers act = t_wait_for(p, ch, PO_ERR, 50, 100);
    CHECK((act & PO_ERR) && !(act & PO_RECV));
    CHECK_EQ(po_wait(p, 1000, NULL), 1); /* a level: reported again */
    CHECK_EQ(po_channel_act(ch), act);
    /* ... and a reader as PO_RECV: it reads to EOF, nothing is lost (a
     * reset may add the socket's own PO_ERR). */
    T_WANT(&c, PO_RECV);
    CHECK_EQ(po_wait(p, 1000, NULL), 1);
    CHECK(po_channel_act(ch) & PO_RECV);
    CHECK_EQ(t_read_some(s[0], buf, sizeof buf), 0);
    CHECK_EQ(po_channel_errno(ch), 0);

    po_destroy(p);
    CHECK_EQ(c.deinits, 1);
    t_close(s[0]);
    if (s[1] != T_NO_SOCK)
        t_close(s[1]);
}

/* ------------------------------------------------------------------------ */
/* pipe_peer_closed                                                         */

void case_pipe_peer_closed(void) {
    t_sock a[2], b[2];
    if (!t_pipe(a))
        po_skip("no pipes the poller can watch on this system");
    CHECK(t_pipe(b));
    po_poller *p = t_poller();
    t_chan r = {.want = PO_NOTIFY}, w = {.want = PO_SEND};
    po_channel *rch = hu_attach(p, 1, a[0], &r);
    po_channel *wch = hu_attach(p, 2, b[1], &w);

    /* The write end has room; the read end has nothing yet, then a byte. */
    hu_expect(p, wch, PO_SEND);
    T_WANT(&w, 0);
    hu_quiet(p);
    t_write_all(a[1], "p", 1);
    hu_expect(p, rch, PO_NOTIFY);
    char buf[8];
    CHECK_EQ(t_read_some(a[0], buf, sizeof buf), 1);
    hu_quiet(p);

    /* No writer left: a hang-up.  PO_ERR for a channel that does not read
     * (whether readability comes with it differs: epoll and poll report only
     * the hang-up on an empty pipe, kqueue an EOF on the read filter)... */
    t_close(a[1]);
    po_triggers act = t_wait_for(p, rch, PO_ERR, 20, 100);
    CHECK(act & PO_ERR);
    CHECK(!(act & PO_RECV));
    CHECK_EQ(po_channel_errno(rch), 0);
    /* ... PO_RECV for one that does, which then reads the EOF. */
    T_WANT(&r, PO_RECV);
    hu_expect(p, rch, PO_RECV);
    CHECK_EQ(t_read_some(a[0], buf, sizeof buf), 0);

    /* No reader left: PO_ERR for the channel that writes (which writes
     * nothing: that would raise SIGPIPE). */
    T_WANT(&r, 0);
    T_WANT(&w, PO_SEND);
    t_close(b[0]);
    act = t_wait_for(p, wch, PO_ERR, 20, 100);
    CHECK(act & PO_ERR);
    CHECK(!(act & PO_RECV));
    CHECK(!t_triggered(p, rch));
    CHECK_EQ(po_channel_errno(wch), 0);

    po_destroy(p);
    t_close(a[0]);
    t_close(b[1]);
}
