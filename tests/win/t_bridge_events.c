/*
 * The wepoll API's events over real sockets: level-triggered reports, what
 * MOD and EPOLLONESHOT change, sockets closed while registered, a thousand
 * sockets in one port, connects that succeed and fail, FIN and reset,
 * timeouts, and changes made while another thread waits.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"

static struct epoll_event ev_got[B_MAXEV];

/* Reads everything there is now; returns how many bytes. */
static size_t ev_drain(t_sock s) {
    char buf[4096];
    size_t n = 0;
    for (long r; (r = t_read_some(s, buf, sizeof buf)) > 0;)
        n += (size_t)r;
    return n;
}

void case_level_triggered(void) {
    HANDLE port = b_port();
    t_sock a[2], b[2];
    t_socketpair(a);
    t_socketpair(b);
    b_add(port, a[0], EPOLLIN, 1);
    b_add(port, b[0], EPOLLRDNORM, 2);
    b_quiet(port, 50);

    t_write_all(a[1], "hello", 5);
    t_write_all(b[1], "x", 1);
    CHECK_EQ(b_wait_token(port, 1, 20, 100), EPOLLIN);
    /* Unread, it is reported by every wait, and only as asked. */
    for (int i = 0; i < 5; i++) {
        int n = b_wait(port, ev_got, B_MAXEV, 1000);
        CHECK_EQ(n, 2);
        CHECK_EQ(b_events_of(ev_got, n, 1), EPOLLIN);
        CHECK_EQ(b_events_of(ev_got, n, 2), EPOLLRDNORM);
    }
    char buf[8];
    CHECK_EQ(t_read_some(a[0], buf, 2), 2);
    int n = b_wait(port, ev_got, B_MAXEV, 1000);
    CHECK_EQ(b_events_of(ev_got, n, 1), EPOLLIN); /* 3 bytes left */
    CHECK_EQ(ev_drain(a[0]), 3);
    CHECK_EQ(ev_drain(b[0]), 1);
    b_quiet(port, 50);
    b_quiet(port, 0);

    /* Writable is a level too. */
    b_mod(port, a[0], EPOLLOUT, 3);
    for (int i = 0; i < 3; i++) {
        n = b_wait(port, ev_got, B_MAXEV, 1000);
        CHECK_EQ(n, 1);
        CHECK_EQ(b_events_of(ev_got, n, 3), EPOLLOUT);
    }
    b_close(port);
    t_close(a[0]);
    t_close(a[1]);
    t_close(b[0]);
    t_close(b[1]);
}

void case_mod_changes_interest(void) {
    HANDLE port = b_port();
    t_sock s[2];
    t_socketpair(s);
    b_add(port, s[0], EPOLLIN, 1);
    b_quiet(port, 50);
    /* Wider: writable now, under the new data. */
    b_mod(port, s[0], EPOLLOUT, 2);
    CHECK_EQ(b_wait_token(port, 2, 1, 1000), EPOLLOUT);
    t_write_all(s[1], "d", 1);
    b_mod(port, s[0], EPOLLIN | EPOLLOUT, 3);
    int n = b_wait(port, ev_got, B_MAXEV, 1000);
    CHECK_EQ(n, 1);
    CHECK_EQ(b_events_of(ev_got, n, 3), EPOLLIN | EPOLLOUT);
    /* Narrower: nothing asked, nothing reported, however ready. */
    b_mod(port, s[0], 0, 4);
    b_quiet(port, 50);
    b_quiet(port, 0);
    b_mod(port, s[0], EPOLLIN, 5);
    n = b_wait(port, ev_got, B_MAXEV, 1000);
    CHECK_EQ(n, 1);
    CHECK_EQ(b_events_of(ev_got, n, 5), EPOLLIN);
    b_mod(port, s[0], EPOLLOUT | EPOLLWRNORM, 6);
    n = b_wait(port, ev_got, B_MAXEV, 1000);
    CHECK_EQ(n, 1);
    CHECK_EQ(b_events_of(ev_got, n, 6), EPOLLOUT | EPOLLWRNORM);
    b_close(port);
    t_close(s[0]);
    t_close(s[1]);
}

void case_oneshot_rearm(void) {
    HANDLE port = b_port();
    t_sock s[2];
    t_socketpair(s);
    t_write_all(s[1], "once", 4);
    b_add(port, s[0], EPOLLIN | EPOLLONESHOT, 1);
    CHECK_EQ(b_wait_token(port, 1, 20, 100), EPOLLIN);
    /* Still readable, but disarmed. */
    for (int i = 0; i < 5; i++)
        b_quiet(port, 20);
    /* MOD arms it again, once. */
    b_mod(port, s[0], EPOLLIN | EPOLLONESHOT, 2);
    int n = b_wait(port, ev_got, B_MAXEV, 1000);
    CHECK_EQ(n, 1);
    CHECK_EQ(b_events_of(ev_got, n, 2), EPOLLIN);
    b_quiet(port, 20);
    b_quiet(port, 0);
    /* Disarmed means everything, the always-watched hang-up included. */
    t_hangup(s[1]);
    b_quiet(port, 50);
    b_quiet(port, 50);
    b_mod(port, s[0], EPOLLIN | EPOLLONESHOT, 3);
    uint32_t ev = b_wait_token(port, 3, 20, 100);
    CHECK(ev & (EPOLLIN | EPOLLHUP));
    b_quiet(port, 20);
    /* Without EPOLLONESHOT it is a level again. */
    b_mod(port, s[0], EPOLLIN, 4);
    for (int i = 0; i < 3; i++)
        CHECK(b_wait_token(port, 4, 1, 1000) != 0);
    b_close(port);
    t_close(s[0]);
}

void case_closed_while_registered(void) {
    HANDLE port = b_port();
    t_sock a[2], b[2], c[2];
    t_socketpair(a);
    t_socketpair(b);
    t_socketpair(c);
    b_add(port, a[0], EPOLLIN, 1); /* readable when closed */
    b_add(port, b[0], EPOLLIN, 2); /* idle when closed */
    b_add(port, c[0], EPOLLIN, 3); /* stays */
    t_write_all(a[1], "a", 1);
    t_write_all(c[1], "c", 1);
    int n = 0;
    for (int i = 0; i < 20 && n < 2; i++)
        n = b_wait(port, ev_got, B_MAXEV, 100);
    CHECK_EQ(n, 2);
    CHECK_EQ(b_events_of(ev_got, n, 1), EPOLLIN);
    CHECK_EQ(b_events_of(ev_got, n, 3), EPOLLIN);

    t_sock b0 = b[0];
    t_close(a[0]);
    t_close(b[0]);
    /* They drop out by themselves; the other socket is served as ever. */
    for (int i = 0; i < 5; i++) {
        n = b_wait(port, ev_got, B_MAXEV, 1000);
        CHECK_EQ(n, 1);
        CHECK_EQ(b_events_of(ev_got, n, 3), EPOLLIN);
    }
    /* Linux answers EBADF for a closed descriptor; so does the bridge. */
    struct epoll_event ev = {EPOLLIN, {.u64 = 9}};
    CHECK_FAILED(epoll_ctl(port, EPOLL_CTL_MOD, (SOCKET)a[0], &ev), EBADF,
                 ERROR_INVALID_HANDLE);
    CHECK_FAILED(epoll_ctl(port, EPOLL_CTL_DEL, (SOCKET)a[0], NULL), EBADF,
                 ERROR_INVALID_HANDLE);

    /* A new socket under the closed one's number is a new member: not
     * "already there", and never told the old token. */
    t_sock d[2];
    if (!t_socketpair_at(b0, d))
        po_skip("this system does not reuse a closed socket's number on "
                "demand");
    CHECK_EQ(d[0], b0);
    b_add(port, d[0], EPOLLIN, 4);
    t_write_all(d[1], "d", 1);
    bool seen = false;
    for (int i = 0; i < 20 && !seen; i++) {
        n = b_wait(port, ev_got, B_MAXEV, 100);
        CHECK_EQ(b_events_of(ev_got, n, 1), 0);
        CHECK_EQ(b_events_of(ev_got, n, 2), 0);
        seen = b_events_of(ev_got, n, 4) == EPOLLIN;
    }
    CHECK(seen);
    b_close(port);
    t_close(a[1]);
    t_close(b[1]);
    t_close(c[0]);
    t_close(c[1]);
    t_close(d[0]);
    t_close(d[1]);
}

/* Waits with at most maxev events a time until every token in want[0..n)
 * with want[i] set was reported once; checks no other token was. */
static void ev_collect(HANDLE port, const bool *want, int n, int maxev) {
    int expect = 0, seen_count = 0;
    for (int i = 0; i < n; i++)
        expect += want[i];
    bool *seen = calloc((size_t)n, sizeof *seen);
    CHECK(seen != NULL);
    for (int round = 0; seen_count < expect; round++) {
        CHECK(round < 4 * (expect / maxev + 1) + 20);
        int got = b_wait(port, ev_got, maxev, 1000);
        for (int k = 0; k < got; k++) {
            uint64_t t = ev_got[k].data.u64;
            CHECK(t < (uint64_t)n);
            CHECK(want[t]);
            CHECK_EQ(ev_got[k].events, EPOLLIN);
            if (!seen[t]) {
                seen[t] = true;
                seen_count++;
            }
        }
    }
    free(seen);
}

void case_many_sockets(void) {
    enum { N = 1200, MAXEV = 100 };
    HANDLE port = b_port();
    t_sock(*s)[2] = malloc(N * sizeof *s);
    bool *want = calloc(N, sizeof *want);
    CHECK(s != NULL && want != NULL);
    for (int i = 0; i < N; i++) {
        t_socketpair(s[i]);
        b_add(port, s[i][0], EPOLLIN, (uint64_t)i);
    }
    b_quiet(port, 0);
    b_quiet(port, 50);
    for (int i = 0; i < N; i += 3) {
        t_write_all(s[i][1], "m", 1);
        want[i] = true;
    }
    /* Every readable socket is reported, more than one wait's worth; and
     * again, since nobody read. */
    ev_collect(port, want, N, MAXEV);
    ev_collect(port, want, N, MAXEV);
    for (int i = 0; i < N; i += 3)
        CHECK_EQ(ev_drain(s[i][0]), 1);
    b_quiet(port, 0);
    b_quiet(port, 50);

    /* Half leave; everyone gets a byte; only the rest are heard. */
    for (int i = 0; i < N; i += 2)
        b_del(port, s[i][0]);
    for (int i = 0; i < N; i++) {
        t_write_all(s[i][1], "n", 1);
        want[i] = i % 2 == 1;
    }
    ev_collect(port, want, N, MAXEV);
    for (int i = 0; i < N; i++)
        CHECK_EQ(ev_drain(s[i][0]), 1);
    b_quiet(port, 50);
    b_close(port);
    for (int i = 0; i < N; i++) {
        t_close(s[i][0]);
        t_close(s[i][1]);
    }
    free(s);
    free(want);
}

void case_no_stale_events(void) {
    enum { N = 300, MAXEV = 16 };
    HANDLE port = b_port();
    t_sock(*s)[2] = malloc(N * sizeof *s);
    CHECK(s != NULL);
    for (int i = 0; i < N; i++) {
        t_socketpair(s[i]);
        b_add(port, s[i][0], EPOLLIN, (uint64_t)i);
    }
    b_quiet(port, 0);
    /* Data arrives and is read between two waits: the completions it made
     * meanwhile must not be reported, as epoll would not. */
    t_write_all(s[0][1], "z", 1);
    CHECK(t_ready(s[0][0], false, 1000));
    Sleep(20);
    CHECK_EQ(ev_drain(s[0][0]), 1);
    b_quiet(port, 0);
    b_quiet(port, 20);

    /* Many ready, few taken per wait, then everything read. */
    for (int i = 0; i < N; i++)
        t_write_all(s[i][1], "y", 1);
    int n = 0;
    for (int i = 0; i < 20 && n == 0; i++)
        n = b_wait(port, ev_got, MAXEV, 100);
    CHECK_EQ(n, MAXEV);
    n = b_wait(port, ev_got, MAXEV, 100);
    CHECK_EQ(n, MAXEV);
    for (int i = 0; i < N; i++)
        CHECK_EQ(ev_drain(s[i][0]), 1);
    b_quiet(port, 0);
    b_quiet(port, 20);

    /* Writable, then filled up meanwhile: no stale EPOLLOUT. */
    b_mod(port, s[1][0], EPOLLOUT, 1000);
    CHECK_EQ(b_wait_token(port, 1000, 1, 1000), EPOLLOUT);
    b_mod(port, s[1][0], EPOLLIN, 1001); /* no longer asks OUT... */
    b_quiet(port, 20);
    char big[4096];
    memset(big, 'f', sizeof big);
    while (t_write_some(s[1][0], big, sizeof big) > 0)
        continue;
    b_mod(port, s[1][0], EPOLLOUT, 1002); /* ...asks again: full now */
    b_quiet(port, 0);
    b_quiet(port, 50);
    b_close(port);
    for (int i = 0; i < N; i++) {
        t_close(s[i][0]);
        t_close(s[i][1]);
    }
    free(s);
}

void case_connect_success(void) {
    HANDLE port = b_port();
    uint16_t lport;
    t_sock l = t_listener(&lport);
    b_add(port, l, EPOLLIN, 1);
    b_quiet(port, 20);
    t_sock c = t_connect(lport);
    b_add(port, c, EPOLLOUT, 2);
    bool connected = false, acceptable = false;
    for (int i = 0; i < 50 && !(connected && acceptable); i++) {
        int n = b_wait(port, ev_got, B_MAXEV, 100);
        uint32_t cev = b_events_of(ev_got, n, 2);
        uint32_t lev = b_events_of(ev_got, n, 1);
        CHECK(!(cev & (EPOLLERR | EPOLLHUP)));
        CHECK(lev == 0 || lev == EPOLLIN);
        connected |= cev == EPOLLOUT;
        acceptable |= lev == EPOLLIN;
    }
    CHECK(connected && acceptable);
    CHECK_EQ(t_so_error(c), 0);
    t_sock a = t_accept(l);
    b_del(port, c);
    b_quiet(port, 50); /* nothing more to accept */
    b_close(port);
    t_close(a);
    t_close(c);
    t_close(l);
}

void case_connect_refused(void) {
    static const uint32_t asks[] = {EPOLLOUT, EPOLLIN | EPOLLOUT | EPOLLRDHUP,
                                    0};
    /* A failed connect: always EPOLLERR (watched even when not asked),
     * with what Linux adds to it, as far as asked. */
    static const uint32_t expect[] = {
        EPOLLOUT | EPOLLERR, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLERR,
        EPOLLERR};
    HANDLE port = b_port();
    for (int i = 0; i < 3; i++) {
        t_sock c = t_connect(t_closed_port());
        b_add(port, c, asks[i], (uint64_t)i);
        uint32_t ev = b_wait_token(port, (uint64_t)i, 50, 100);
        CHECK_EQ(ev, expect[i]);
        CHECK_EQ(t_so_error(c), t_econnrefused);
        b_del(port, c);
        t_close(c);
    }
    b_quiet(port, 20);
    b_close(port);
}

void case_hangup_and_fin(void) {
    HANDLE port = b_port();
    t_sock a[2], b[2], c[2], d[2];
    t_socketpair(a);
    t_socketpair(b);
    t_socketpair(c);
    t_socketpair(d);
    b_add(port, a[0], EPOLLIN | EPOLLRDHUP, 1);
    b_add(port, b[0], EPOLLOUT, 2);
    b_add(port, c[0], EPOLLRDHUP, 3);
    b_add(port, d[0], 0, 4);
    b_wait(port, ev_got, B_MAXEV, 50); /* b is writable: ignore */

    /* A FIN after data: the data is read first, then EOF is readable and
     * the peer's hang-up of its side is EPOLLRDHUP. */
    t_write_all(a[1], "bye", 3);
    t_close(a[1]);
    t_close(b[1]);
    t_close(c[1]);
    size_t got = 0;
    bool eof = false;
    for (int i = 0; i < 50 && !eof; i++) {
        uint32_t ev = b_wait_token(port, 1, 1, 100);
        if (!ev)
            continue;
        CHECK(ev & EPOLLIN);
        CHECK(!(ev & (EPOLLERR | EPOLLHUP)));
        char buf[16];
        long r = t_read_some(a[0], buf, sizeof buf);
        if (r == 0)
            eof = (ev & EPOLLRDHUP) != 0;
        else if (r > 0)
            got += (size_t)r;
    }
    CHECK(eof);
    CHECK_EQ(got, 3);
    /* Level: EOF stays readable. */
    CHECK_EQ(b_wait_token(port, 1, 1, 1000), EPOLLIN | EPOLLRDHUP);
    /* Asked for EPOLLOUT only, a FIN changes nothing; asked for
     * EPOLLRDHUP only, it is that. */
    int n = b_wait(port, ev_got, B_MAXEV, 1000);
    CHECK_EQ(b_events_of(ev_got, n, 2), EPOLLOUT);
    CHECK_EQ(b_events_of(ev_got, n, 3), EPOLLRDHUP);
    CHECK_EQ(b_events_of(ev_got, n, 4), 0);

    /* A reset: EPOLLHUP, watched though nothing was asked, and a level. */
    t_hangup(d[1]);
    CHECK_EQ(b_wait_token(port, 4, 50, 100), EPOLLHUP);
    CHECK_EQ(b_wait_token(port, 4, 1, 1000), EPOLLHUP);
    b_close(port);
    t_close(a[0]);
    t_close(b[0]);
    t_close(c[0]);
    t_close(d[0]);
}

void case_timeouts(void) {
    HANDLE port = b_port();
    /* An empty port sleeps the whole timeout. */
    int64_t t0 = t_now_ms();
    b_quiet(port, 200);
    int64_t el = t_now_ms() - t0;
    CHECK(el >= 190 && el < 3000);
    t_sock s[2];
    t_socketpair(s);
    b_add(port, s[0], EPOLLIN, 1);
    t0 = t_now_ms();
    b_quiet(port, 200);
    el = t_now_ms() - t0;
    CHECK(el >= 190 && el < 3000);
    /* A zero timeout does not wait. */
    t0 = t_now_ms();
    for (int i = 0; i < 10; i++)
        b_quiet(port, 0);
    CHECK(t_now_ms() - t0 < 1000);
    /* A ready socket ends any wait at once. */
    t_write_all(s[1], "r", 1);
    CHECK_EQ(b_wait_token(port, 1, 20, 100), EPOLLIN);
    t0 = t_now_ms();
    CHECK_EQ(b_wait_token(port, 1, 1, -1), EPOLLIN);
    CHECK_EQ(b_wait_token(port, 1, 1, 10000), EPOLLIN);
    CHECK(t_now_ms() - t0 < 1000);
    b_close(port);
    t_close(s[0]);
    t_close(s[1]);
}

typedef struct ev_waiter {
    HANDLE port;
    int n;
    struct epoll_event got[4];
    int64_t took;
} ev_waiter;

static DWORD WINAPI ev_wait_thread(void *arg) {
    ev_waiter *w = arg;
    int64_t t0 = t_now_ms();
    w->n = epoll_wait(w->port, w->got, 4, 10000);
    w->took = t_now_ms() - t0;
    return 0;
}

/* Starts a thread waiting on the port; gives it time to fall asleep. */
static HANDLE ev_start_waiter(ev_waiter *w) {
    HANDLE th = CreateThread(NULL, 0, ev_wait_thread, w, 0, NULL);
    CHECK(th != NULL);
    Sleep(200);
    CHECK_EQ(WaitForSingleObject(th, 0), WAIT_TIMEOUT); /* still asleep */
    return th;
}

static void ev_join(HANDLE th, ev_waiter *w) {
    CHECK_EQ(WaitForSingleObject(th, 5000), WAIT_OBJECT_0);
    CHECK(CloseHandle(th));
    CHECK(w->took < 5000); /* woken by the change, not the timeout */
}

void case_ctl_while_waiting(void) {
    HANDLE port = b_port();
    t_sock a[2], b[2];
    t_socketpair(a);
    t_socketpair(b);
    b_add(port, a[0], EPOLLIN, 1); /* idle */

    /* ADD of a ready socket wakes a thread already asleep. */
    t_write_all(b[1], "w", 1);
    ev_waiter w;
    memset(&w, 0, sizeof w);
    w.port = port;
    HANDLE th = ev_start_waiter(&w);
    b_add(port, b[0], EPOLLIN, 2);
    ev_join(th, &w);
    CHECK_EQ(w.n, 1);
    CHECK_EQ(w.got[0].data.u64, 2);
    CHECK_EQ(w.got[0].events, EPOLLIN);
    CHECK_EQ(ev_drain(b[0]), 1);

    /* So does a MOD that asks for what holds already. */
    memset(&w, 0, sizeof w);
    w.port = port;
    th = ev_start_waiter(&w);
    b_mod(port, a[0], EPOLLOUT, 3);
    ev_join(th, &w);
    CHECK_EQ(w.n, 1);
    CHECK_EQ(w.got[0].data.u64, 3);
    CHECK_EQ(w.got[0].events, EPOLLOUT);
    b_close(port);
    t_close(a[0]);
    t_close(a[1]);
    t_close(b[0]);
    t_close(b[1]);
}
