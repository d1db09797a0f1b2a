/*
 * A port's memory: every block comes from the allocator the port was made
 * with and goes back to it by epoll_close(); a block refused makes the call
 * that needed it fail with ENOMEM and change nothing.  A call that allocated
 * elsewhere would go unseen by the counts, but not by the refusals: each
 * allocation the calls make is refused in turn and must be the one that
 * fails.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"

/* Counts blocks and bytes, checks what comes back, refuses every call from
 * the fail_from-th on (1-based; 0: none). */
typedef struct al_state {
    long mallocs, frees, refused;
    long live;
    size_t live_bytes;
    long fail_from;
    long bad; /* a free of a block not given out, of NULL, or another ctx */
} al_state;

static al_state al;

enum { AL_MAGIC = 0x3e11a10c };
typedef union al_hdr {
    max_align_t align;
    struct {
        size_t size;
        unsigned magic;
    } h;
} al_hdr;

static void *al_malloc(size_t size, void *ctx) {
    al.bad += ctx != &al;
    al.mallocs++;
    if (al.fail_from != 0 && al.mallocs >= al.fail_from) {
        al.refused++;
        return NULL;
    }
    al_hdr *h = malloc(sizeof *h + size);
    CHECK(h != NULL);
    h->h.size = size;
    h->h.magic = AL_MAGIC;
    al.live++;
    al.live_bytes += size;
    return h + 1;
}

static void al_free(void *ptr, void *ctx) {
    al.bad += ctx != &al;
    al.frees++;
    if (ptr == NULL) {
        al.bad++;
        return;
    }
    al_hdr *h = (al_hdr *)ptr - 1;
    if (h->h.magic != AL_MAGIC) {
        al.bad++;
        return;
    }
    h->h.magic = 0;
    al.live--;
    al.live_bytes -= h->h.size;
    free(h);
}

static const wepoll_allocator al_alloc = {al_malloc, NULL, al_free, &al};

static void al_reset(long fail_from) {
    memset(&al, 0, sizeof al);
    al.fail_from = fail_from;
}

/* Everything given out came back, and nothing else did. */
static void al_balanced(void) {
    CHECK_EQ(al.bad, 0);
    CHECK_EQ(al.live, 0);
    CHECK_EQ(al.live_bytes, 0);
    CHECK_EQ(al.frees, al.mallocs - al.refused);
}

/* Registers sv[0]..: true if it worked, false if it failed with ENOMEM. */
static bool al_add(HANDLE port, t_sock s, uint64_t token) {
    struct epoll_event ev;
    ev.events = EPOLLIN;
    ev.data.u64 = token;
    long refused = al.refused;
    int rc = epoll_ctl(port, EPOLL_CTL_ADD, (SOCKET)s, &ev);
    if (al.refused == refused) {
        CHECK_EQ(rc, 0);
        return true;
    }
    CHECK_FAILED(rc, ENOMEM, ERROR_NOT_ENOUGH_MEMORY);
    /* Nothing changed: the socket is not in the set. */
    CHECK_FAILED(epoll_ctl(port, EPOLL_CTL_MOD, (SOCKET)s, &ev), ENOENT,
                 ERROR_NOT_FOUND);
    return false;
}

/* Makes the next wait re-check what its completions say (port.h): requests
 * made by one wait, completed before the next. */
static void al_stale_completions(HANDLE port, t_sock (*s)[2], int n) {
    b_quiet(port, 0);
    for (int i = 0; i < n; i++)
        t_write_all(s[i][1], "a", 1);
    Sleep(50);
}

/* Waits until the sockets of tokens 0..n-1 with want[token] have all been
 * reported, and no other. */
static void al_collect(HANDLE port, const bool *want, int n) {
    static struct epoll_event got[B_MAXEV];
    bool seen[B_MAXEV] = {false};
    int missing = 0;
    for (int i = 0; i < n; i++)
        missing += want[i];
    for (int round = 0; missing > 0; round++) {
        CHECK(round < 50);
        int k = b_wait(port, got, B_MAXEV, 100);
        for (int j = 0; j < k; j++) {
            uint64_t t = got[j].data.u64;
            CHECK(t < (uint64_t)n && want[t]);
            CHECK_EQ(got[j].events, EPOLLIN);
            if (!seen[t]) {
                seen[t] = true;
                missing--;
            }
        }
    }
}

/* A port made, two sockets added and reported, one deleted with its
 * request out, the port closed; the allocator refuses every call from the
 * k-th on.  True if it refused any. */
static bool al_run(long k) {
    al_reset(k);
    t_sock s[2][2];
    t_socketpair(s[0]);
    t_socketpair(s[1]);
    HANDLE port = epoll_create_with(&al_alloc);
    if (port == NULL) {
        CHECK_FAILED(-1, ENOMEM, ERROR_NOT_ENOUGH_MEMORY);
        CHECK(al.refused > 0);
    } else {
        bool in[2];
        for (int i = 0; i < 2; i++)
            in[i] = al_add(port, s[i][0], (uint64_t)i);
        al_stale_completions(port, s, 2);
        /* A refused re-check buffer costs the re-check only. */
        al_collect(port, in, 2);
        if (in[0])
            b_del(port, s[0][0]);
        b_close(port);
    }
    for (int i = 0; i < 2; i++) {
        t_close(s[i][0]);
        t_close(s[i][1]);
    }
    al_balanced();
    return al.refused > 0;
}

void case_allocator(void) {
    /* A missing hook is refused; NULL is the C library's. */
    wepoll_allocator partial = al_alloc;
    partial.free = NULL;
    SetLastError(0);
    CHECK(epoll_create_with(&partial) == NULL);
    CHECK_FAILED(-1, EINVAL, ERROR_INVALID_PARAMETER);
    partial = al_alloc;
    partial.malloc = NULL;
    CHECK(epoll_create_with(&partial) == NULL);
    CHECK_FAILED(-1, EINVAL, ERROR_INVALID_PARAMETER);
    HANDLE port = epoll_create_with(NULL);
    CHECK(port != NULL);
    b_close(port);

    /* A life with many sockets: two driver handles, a table grown three
     * times, re-checks, deletes with requests out, sockets closed while
     * registered. */
    enum { N = 70 };
    al_reset(0);
    t_sock(*s)[2] = malloc(N * sizeof *s);
    CHECK(s != NULL);
    port = epoll_create_with(&al_alloc);
    CHECK(port != NULL);
    CHECK(al.mallocs > 0);
    for (int i = 0; i < N; i++) {
        t_socketpair(s[i]);
        b_add(port, s[i][0], EPOLLIN, (uint64_t)i);
    }
    long after_adds = al.mallocs;
    CHECK(after_adds >= 1 + N + 2);
    bool want[N];
    for (int i = 0; i < N; i++)
        want[i] = true;
    /* Until a re-check has needed its buffer (the completions must have
     * come before the wait). */
    for (int tries = 0; al.mallocs == after_adds; tries++) {
        CHECK(tries < 10);
        al_stale_completions(port, s, N);
        al_collect(port, want, N);
        char buf[16];
        for (int i = 0; i < N; i++)
            CHECK(t_read_some(s[i][0], buf, sizeof buf) >= 1);
    }
    for (int i = 0; i < N; i += 2)
        b_del(port, s[i][0]);
    for (int i = 1; i < N; i += 4)
        t_close(s[i][0]);
    b_quiet(port, 50);
    CHECK(al.frees > 0);
    /* Out of memory: the next socket is refused and nothing changes. */
    t_sock extra[2];
    t_socketpair(extra);
    al.fail_from = al.mallocs + 1;
    CHECK(!al_add(port, extra[0], 1000));
    al.fail_from = 0;
    CHECK(al_add(port, extra[0], 1000));
    t_write_all(extra[1], "b", 1);
    CHECK_EQ(b_wait_token(port, 1000, 20, 100), EPOLLIN);
    CHECK(al.live > 0);
    b_close(port);
    al_balanced();
    for (int i = 0; i < N; i++) {
        if (i % 4 != 1)
            t_close(s[i][0]);
        t_close(s[i][1]);
    }
    t_close(extra[0]);
    t_close(extra[1]);
    free(s);

    /* Every allocation of a short life refused in turn. */
    long k;
    for (k = 1; k < 100; k++)
        if (!al_run(k))
            break;
    CHECK(k > 3 && k < 100); /* the port, the table, a socket, a handle */
}
