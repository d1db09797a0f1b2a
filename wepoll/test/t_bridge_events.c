/*
 * The wepoll API's events over real sockets: level-triggered reports, what
 * MOD and EPOLLONESHOT change, sockets closed while registered, a thousand
 * sockets in one port, connects that succeed and fail, FIN and reset,
 * timeouts, and several threads asleep on one port: changes made while
 * they wait, conditions that stay true (each thread sees them) and oneshot
 * sockets (one thread does).
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

/* ------------------------------------------------------------------------ */
/* Threads asleep in epoll_wait()                                           */

/* A thread in one epoll_wait() of 10 s on a port.  Its result tells whether
 * something woke it: a wait that sleeps out its timeout reports nothing. */
typedef struct ev_sleeper {
    HANDLE port;
    HANDLE thread;
    int n;
    struct epoll_event got[4];
} ev_sleeper;

static volatile LONG ev_entering;

static DWORD WINAPI ev_sleeper_main(void *arg) {
    ev_sleeper *s = arg;
    InterlockedIncrement(&ev_entering);
    s->n = epoll_wait(s->port, s->got, 4, 10000);
    return 0;
}

/* Starts a sleeper on each s[i].port; returns once all of them are asleep
 * (as far as can be told from outside: inside epoll_wait(), and none back
 * from it). */
static void ev_sleepers_start(ev_sleeper *s, int n) {
    InterlockedExchange(&ev_entering, 0);
    for (int i = 0; i < n; i++) {
        s[i].n = -1;
        s[i].thread = CreateThread(NULL, 0, ev_sleeper_main, &s[i], 0, NULL);
        CHECK(s[i].thread != NULL);
    }
    while (InterlockedCompareExchange(&ev_entering, 0, 0) < n)
        Sleep(1);
    Sleep(300);
    for (int i = 0; i < n; i++)
        CHECK_EQ(WaitForSingleObject(s[i].thread, 0), WAIT_TIMEOUT);
}

/* Waits for every sleeper to return (from an event, or at the end of its
 * timeout) and checks none failed. */
static void ev_sleepers_join(ev_sleeper *s, int n) {
    for (int i = 0; i < n; i++) {
        CHECK_EQ(WaitForSingleObject(s[i].thread, 30000), WAIT_OBJECT_0);
        CHECK(CloseHandle(s[i].thread));
        CHECK(s[i].n >= 0);
    }
}

/* How many sleepers returned token with exactly these events. */
static int ev_sleepers_got(const ev_sleeper *s, int n, uint64_t token,
                           uint32_t events) {
    int k = 0;
    for (int i = 0; i < n; i++)
        k += b_events_of(s[i].got, s[i].n, token) == events;
    return k;
}

/* Every sleeper must have been woken by token, with these events. */
static void ev_sleepers_all_got(const ev_sleeper *s, int n, uint64_t token,
                                uint32_t events) {
    int k = ev_sleepers_got(s, n, token, events);
    if (k != n) {
        int slept = 0;
        for (int i = 0; i < n; i++)
            slept += s[i].n == 0;
        po_fail(__FILE__, __LINE__,
                "%d of %d sleepers got token %llu with 0x%x; %d slept out "
                "their timeout",
                k, n, (unsigned long long)token, events, slept);
    }
}

/* Until one of the sleepers has returned. */
static void ev_sleepers_first(const ev_sleeper *s, int n) {
    for (int round = 0; round < 30000; round++) {
        for (int i = 0; i < n; i++)
            if (WaitForSingleObject(s[i].thread, 0) == WAIT_OBJECT_0)
                return;
        Sleep(1);
    }
    po_fail(__FILE__, __LINE__, "no sleeper returned");
}

enum { EV_SLEEPERS = 4 };

void case_ctl_while_waiting(void) {
    HANDLE port = b_port();
    t_sock a[2], b[2];
    t_socketpair(a);
    t_socketpair(b);
    b_add(port, a[0], EPOLLIN, 1); /* idle */
    ev_sleeper s[EV_SLEEPERS];
    for (int i = 0; i < EV_SLEEPERS; i++)
        s[i].port = port;

    /* ADD of a ready socket wakes the threads already asleep, every one of
     * them: it is a level, and each of them sees it. */
    t_write_all(b[1], "w", 1);
    ev_sleepers_start(s, EV_SLEEPERS);
    b_add(port, b[0], EPOLLIN, 2);
    ev_sleepers_join(s, EV_SLEEPERS);
    ev_sleepers_all_got(s, EV_SLEEPERS, 2, EPOLLIN);
    for (int i = 0; i < EV_SLEEPERS; i++)
        CHECK_EQ(s[i].n, 1);
    CHECK_EQ(ev_drain(b[0]), 1);

    /* So does a MOD that asks for what holds already. */
    ev_sleepers_start(s, EV_SLEEPERS);
    b_mod(port, a[0], EPOLLOUT, 3);
    ev_sleepers_join(s, EV_SLEEPERS);
    ev_sleepers_all_got(s, EV_SLEEPERS, 3, EPOLLOUT);
    for (int i = 0; i < EV_SLEEPERS; i++)
        CHECK_EQ(s[i].n, 1);
    b_close(port);
    t_close(a[0]);
    t_close(a[1]);
    t_close(b[0]);
    t_close(b[1]);
}

/* A UDP socket on loopback, u[0], and one connected to it, u[1]: what
 * u[1] sends, u[0] receives as datagrams.  Both non-blocking. */
static void ev_udp_pair(t_sock u[2]) {
    SOCKET r = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    SOCKET w = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    CHECK(r != INVALID_SOCKET && w != INVALID_SOCKET);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int len = sizeof sa;
    CHECK_EQ(bind(r, (struct sockaddr *)&sa, sizeof sa), 0);
    CHECK_EQ(getsockname(r, (struct sockaddr *)&sa, &len), 0);
    CHECK_EQ(connect(w, (struct sockaddr *)&sa, sizeof sa), 0);
    u_long on = 1;
    CHECK_EQ(ioctlsocket(r, FIONBIO, &on), 0);
    CHECK_EQ(ioctlsocket(w, FIONBIO, &on), 0);
    u[0] = (t_sock)r;
    u[1] = (t_sock)w;
}

/* The conditions that stay true once they hold, each made true on u[0] by
 * acting on its peer u[1]. */
typedef enum ev_level {
    EV_UNREAD_BYTES,    /* a TCP pair: bytes nobody reads */
    EV_UNREAD_DATAGRAM, /* a UDP pair: a datagram nobody receives */
    EV_EOF,             /* a TCP pair: the peer's FIN */
    EV_RESET,           /* a TCP pair: the peer's reset */
    EV_LEVELS
} ev_level;

/* What u[0] is registered for, and what it reports once the level holds. */
static const uint32_t ev_level_asks[EV_LEVELS] = {EPOLLIN, EPOLLIN,
                                                  EPOLLIN | EPOLLRDHUP, 0};
static const uint32_t ev_level_reports[EV_LEVELS] = {
    EPOLLIN, EPOLLIN, EPOLLIN | EPOLLRDHUP, EPOLLHUP};

static void ev_level_pair(ev_level l, t_sock u[2]) {
    if (l == EV_UNREAD_DATAGRAM)
        ev_udp_pair(u);
    else
        t_socketpair(u);
}

/* Makes the level hold on u[0]; u[1] is closed by it for EOF and reset. */
static void ev_level_raise(ev_level l, t_sock u[2]) {
    switch (l) {
    case EV_EOF:
        t_close(u[1]);
        break;
    case EV_RESET:
        t_hangup(u[1]);
        break;
    default:
        t_write_all(u[1], "L", 1);
        break;
    }
}

static void ev_level_close(ev_level l, t_sock u[2]) {
    t_close(u[0]);
    if (l != EV_EOF && l != EV_RESET)
        t_close(u[1]);
}

void case_sleepers_share_level(void) {
    /* Several threads asleep on one port, and a condition that holds and
     * stays true: every one of them returns with it, as on Linux, none
     * sleeps out its timeout. */
    for (int l = 0; l < EV_LEVELS; l++) {
        HANDLE port = b_port();
        t_sock u[2];
        ev_level_pair((ev_level)l, u);
        b_add(port, u[0], ev_level_asks[l], 1);
        ev_sleeper s[EV_SLEEPERS];
        for (int i = 0; i < EV_SLEEPERS; i++)
            s[i].port = port;
        ev_sleepers_start(s, EV_SLEEPERS);
        ev_level_raise((ev_level)l, u);
        ev_sleepers_join(s, EV_SLEEPERS);
        ev_sleepers_all_got(s, EV_SLEEPERS, 1, ev_level_reports[l]);
        for (int i = 0; i < EV_SLEEPERS; i++)
            CHECK_EQ(s[i].n, 1);
        /* And it still holds for the next wait. */
        CHECK_EQ(b_wait_token(port, 1, 1, 10000), ev_level_reports[l]);
        b_close(port);
        ev_level_close((ev_level)l, u);
    }
}

void case_sleepers_many_ports(void) {
    /* PORTS ports, THREADS threads asleep on each, one level per port (a
     * datagram on even ports, bytes on odd ones): every thread wakes. */
    enum { PORTS = 10, THREADS = 10 };
    HANDLE port[PORTS];
    t_sock u[PORTS][2];
    static ev_sleeper s[PORTS * THREADS];
    for (int p = 0; p < PORTS; p++) {
        port[p] = b_port();
        ev_level_pair(p % 2 ? EV_UNREAD_BYTES : EV_UNREAD_DATAGRAM, u[p]);
        b_add(port[p], u[p][0], EPOLLIN, (uint64_t)p);
        for (int t = 0; t < THREADS; t++)
            s[p * THREADS + t].port = port[p];
    }
    ev_sleepers_start(s, PORTS * THREADS);
    for (int p = 0; p < PORTS; p++)
        t_write_all(u[p][1], "M", 1);
    ev_sleepers_join(s, PORTS * THREADS);
    int woken = 0;
    for (int p = 0; p < PORTS; p++)
        woken +=
            ev_sleepers_got(&s[p * THREADS], THREADS, (uint64_t)p, EPOLLIN);
    if (woken != PORTS * THREADS)
        po_fail(__FILE__, __LINE__, "%d of %d threads woken with EPOLLIN",
                woken, PORTS * THREADS);
    for (int p = 0; p < PORTS; p++) {
        b_close(port[p]);
        t_close(u[p][0]);
        t_close(u[p][1]);
    }
}

/* Sleepers on a port where a oneshot socket o[0] becomes readable (or, with
 * by_mod, readable already, is armed again under token): exactly one of
 * them gets it; then stop[0], level-triggered, made readable wakes the
 * others, and they do not get it. */
static void ev_oneshot_round(HANDLE port, t_sock o[2], t_sock stop[2],
                             uint64_t token, bool by_mod) {
    ev_sleeper s[EV_SLEEPERS];
    for (int i = 0; i < EV_SLEEPERS; i++)
        s[i].port = port;
    ev_sleepers_start(s, EV_SLEEPERS);
    if (by_mod)
        b_mod(port, o[0], EPOLLIN | EPOLLONESHOT, token);
    else
        t_write_all(o[1], "o", 1);
    ev_sleepers_first(s, EV_SLEEPERS);
    /* Time for a second report, were one made. */
    Sleep(300);
    t_write_all(stop[1], "s", 1);
    ev_sleepers_join(s, EV_SLEEPERS);
    CHECK_EQ(ev_sleepers_got(s, EV_SLEEPERS, token, EPOLLIN), 1);
    CHECK_EQ(ev_sleepers_got(s, EV_SLEEPERS, 99, EPOLLIN), EV_SLEEPERS - 1);
    for (int i = 0; i < EV_SLEEPERS; i++)
        CHECK_EQ(s[i].n, 1);
    CHECK_EQ(ev_drain(stop[0]), 1);
    /* Disarmed, and nothing else holds. */
    b_quiet(port, 0);
    b_quiet(port, 50);
}

void case_sleepers_oneshot(void) {
    HANDLE port = b_port();
    t_sock o[2], stop[2];
    t_socketpair(o);
    t_socketpair(stop);
    b_add(port, o[0], EPOLLIN | EPOLLONESHOT, 1);
    b_add(port, stop[0], EPOLLIN, 99);
    ev_oneshot_round(port, o, stop, 1, false);
    /* Re-armed while they sleep, still unread: once more, to one. */
    ev_oneshot_round(port, o, stop, 2, true);
    b_close(port);
    t_close(o[0]);
    t_close(o[1]);
    t_close(stop[0]);
    t_close(stop[1]);
}
