/*
 * Fault injection (src/fault.h): every kernel call site of the backend named
 * by POLLEROS_BACKEND, made to fail with each errno in turn, and the
 * documented outcome checked.  Built only with -DPOLLEROS_FAULTS=ON
 * (scripts/test-faults.sh); `po_faults SITE` runs one site, as the CTest
 * test faults/<backend>/<site>, and prints one matrix row per errno:
 *
 *   create   po_create() returns NULL with PO_ESYS and errno; nothing leaks;
 *            the next po_create() works.  After fork() (POSIX), each kernel
 *            object po_after_fork() makes fails in turn: PO_ESYS and
 *            po_last_errno(), and the child's next po_after_fork() works,
 *            nothing leaks, and the parent's poller is untouched.
 *   ctl_add  that channel alone is parked: PO_ERR on every wait,
 *   ctl_mod  po_channel_errno() the errno; the other channels (socket pairs
 *            with data) are reported and read; po_set_socket() on the same
 *            socket recovers it.
 *   ctl_del  when the wants drop: the channel is parked with the errno (the
 *            kernel may still hold the socket), and po_set_socket() recovers
 *            it; in po_set_socket() and po_delete(): ignored, the channel is
 *            re-registered or gone (deinit once).
 *   wait     EINTR: po_wait() returns 0 with PO_TIMEOUT (a round that timed
 *            out early, no retry); another errno: PO_ESYS and
 *            po_last_errno(); the next po_wait() reports the pending data.
 *   wait_timed  (epoll_pwait2, a wait with a time) ENOSYS, EPERM: the
 *            kernel has no such call (or a filter refuses it): that wait
 *            and every later one of the poller take epoll_wait, rounded up,
 *            and never end before their deadline; EINTR and another errno:
 *            as for wait.
 *   close    at po_destroy(): ignored; the descriptor is closed anyway, each
 *            deinit runs once, nothing leaks.  At po_after_fork() (the
 *            child's copy of the inherited object): ignored too.
 *            deinit runs once, nothing leaks.
 *   signal   po_signal_attach() returns PO_ESYS with po_last_errno(), at
 *            its first kernel call and at its last (a sigaction per
 *            signal: the ones made are undone); the signals' mask and
 *            actions and the poller are as they were, and the next attach
 *            works.
 *
 * A site the backend does not have (the poll backend's add checks the
 * descriptor it is given, with fstat() on POSIX, and its wait calls poll();
 * it makes no kernel call to mod or del, nor to create or close on POSIX,
 * where Windows starts and stops Winsock) is checked to make no call,
 * reported as such in the matrix and skipped.
 *
 * EEXIST from an add means "the kernel still holds this socket" only where
 * a failed del can leave it there (epoll, wepoll: the core takes the
 * registration over with a mod, which then fails for an injected EEXIST);
 * elsewhere (kqueue's EV_ADD changes a filter that exists, poll keeps no
 * registration) it is an error like any other.  Either way the channel is
 * parked with it.
 * Every case also checks that the poller's allocations all come back and no
 * descriptor (Windows: handle) is left open.
 *
 * The errnos are Linux's epoll errnos, on every system: whatever the errno,
 * the outcome is the one above.  Windows adds those its backends report
 * that Linux does not (the wepoll bridge maps Windows errors to errno,
 * wepoll/src/errors.c; the poll backend's socket check gives ENOTSOCK).
 */
#define _POSIX_C_SOURCE 200809L
#ifdef _WIN32
/* winsock2.h first: windows.h alone would bring in the old winsock.h. */
#include <winsock2.h>

#include <windows.h>
#else
#include <fcntl.h>
#include <unistd.h>
#endif
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "harness.h"

/* ------------------------------------------------------------------------ */
/* Leak checks                                                              */

static long t_live; /* blocks the poller holds */

static void *t_malloc(size_t n, void *ctx) {
    (void)ctx;
    void *p = malloc(n);
    t_live += p != NULL;
    return p;
}
static void *t_realloc(void *ptr, size_t n, void *ctx) {
    (void)ctx;
    void *p = realloc(ptr, n);
    t_live += p != NULL && ptr == NULL;
    return p;
}
static void t_free(void *ptr, void *ctx) {
    (void)ctx;
    t_live -= ptr != NULL;
    free(ptr);
}
static const po_allocator t_alloc = {t_malloc, t_realloc, t_free, NULL};
static const po_options t_opts = {.allocator = &t_alloc};

#ifdef _WIN32
/* The process's open handles, counted; where the count is not kept (Wine's
 * GetProcessHandleCount() says 0), the lowest free handle value, which Wine
 * hands out first, as POSIX does descriptor numbers.  The same before and
 * after means none leaked. */
static long long t_handles(void) {
    DWORD n = 0;
    if (GetProcessHandleCount(GetCurrentProcess(), &n) && n > 0)
        return (long long)n;
    HANDLE h = CreateEventW(NULL, FALSE, FALSE, NULL);
    CHECK(h != NULL);
    CHECK(CloseHandle(h));
    return -(long long)(uintptr_t)h; /* negative: not a count */
}
#else
/* The lowest free descriptor: the same before and after means none
 * leaked. */
static long long t_handles(void) {
    int fd = open("/dev/null", O_RDONLY);
    CHECK(fd >= 0);
    CHECK_EQ(close(fd), 0);
    return fd;
}
#endif

/* ------------------------------------------------------------------------ */
/* A poller with three socket-pair channels                                 */

enum { T_N = 3 };

typedef struct t_fx {
    po_poller *p;
    t_chan c[T_N];
    t_sock peer[T_N];
    long long h0; /* t_handles() before */
} t_fx;

static void fx_open(t_fx *f, po_triggers want) {
    memset(f, 0, sizeof *f);
    f->h0 = t_handles();
    CHECK_EQ(t_live, 0);
    int err = 0;
    f->p = po_create(&t_opts, &err);
    CHECK_EQ(err, PO_OK);
    for (int i = 0; i < T_N; i++) {
        t_sock sv[2];
        t_socketpair(sv);
        f->c[i].want = want;
        f->c[i].fd = sv[0];
        f->peer[i] = sv[1];
        CHECK_EQ(po_attach(f->p, (po_chn)i + 1, sv[0], &t_ops, &f->c[i],
                           &f->c[i].ch),
                 PO_OK);
    }
}

/* Destroys the poller: every deinit ran exactly once, nothing leaked. */
static void fx_close(t_fx *f) {
    po_destroy(f->p);
    for (int i = 0; i < T_N; i++) {
        CHECK_EQ(f->c[i].deinits, 1);
        t_close(f->c[i].fd);
        t_close(f->peer[i]);
    }
    CHECK_EQ(t_live, 0);
    CHECK_EQ(t_handles(), f->h0);
}

static void fx_send(t_fx *f, int i) { t_write_all(f->peer[i], "x", 1); }

/* The channel got PO_RECV (or more): reads its byte. */
static void fx_served(t_fx *f, int i, po_triggers act) {
    char b[8];
    CHECK(t_triggered(f->p, f->c[i].ch));
    CHECK_EQ(po_channel_act(f->c[i].ch), act);
    CHECK_EQ(po_channel_errno(f->c[i].ch), 0);
    CHECK_EQ(t_read_some(f->c[i].fd, b, sizeof b), 1);
}

/* The one channel the last wait parked, which must be with err. */
static int fx_parked(t_fx *f, int err) {
    int bad = -1;
    for (int i = 0; i < T_N; i++)
        if (po_channel_errno(f->c[i].ch) != 0) {
            CHECK_EQ(bad, -1);
            bad = i;
        }
    CHECK(bad >= 0);
    CHECK_EQ(po_channel_errno(f->c[bad].ch), err);
    CHECK(t_triggered(f->p, f->c[bad].ch));
    CHECK_EQ(po_channel_act(f->c[bad].ch), PO_ERR);
    return bad;
}

/* The parked channel stays PO_ERR (a level; after a failed del the kernel
 * may still report its socket besides); po_set_socket() on its socket
 * clears the failure and the next wait reports its byte. */
static void fx_recover(t_fx *f, int bad, po_triggers act) {
    CHECK(po_wait(f->p, 0, NULL) >= 1);
    CHECK(po_channel_act(f->c[bad].ch) & PO_ERR);
    CHECK_EQ(po_set_socket(f->c[bad].ch, f->c[bad].fd), PO_OK);
    CHECK_EQ(po_channel_errno(f->c[bad].ch), 0);
    CHECK(po_wait(f->p, 1000, NULL) >= 1);
    fx_served(f, bad, act);
}

/* ------------------------------------------------------------------------ */
/* The sites.  Each returns the matrix's outcome, or NULL when the backend
 * has no such site (after checking that no call was made there).          */

/* The nth kernel object a po_create() makes fails with err. */
static const char *create_fails(unsigned long nth, int err) {
    long long h0 = t_handles();
    int rc = PO_OK;
    po__fault_arm(PO__FAULT_CREATE, nth, err);
    errno = 0;
    po_poller *p = po_create(&t_opts, &rc);
    if (po__fault_calls(PO__FAULT_CREATE) == 0) {
        CHECK(p != NULL);
        po_destroy(p);
        CHECK_EQ(t_live, 0);
        return NULL;
    }
    CHECK(p == NULL);
    /* io_uring refused (seccomp, the sysctl, an old kernel: the ring is
     * uring's first object) is a backend this system does not have; any
     * other failure is a failed call. */
    bool refused = strcmp(t_backend(), "uring") == 0 && nth == 1 &&
                   (err == EPERM || err == EINVAL || err == EACCES ||
                    err == ENOSYS || err == EOPNOTSUPP);
    CHECK_EQ(rc, refused ? PO_ENOTSUP : PO_ESYS);
    CHECK_EQ(errno, err);
    CHECK_EQ(t_live, 0);
    CHECK_EQ(t_handles(), h0);
    p = po_create(&t_opts, &rc); /* the fault was once */
    CHECK(p != NULL);
    po_destroy(p);
    CHECK_EQ(t_live, 0);
    return refused ? "po_create NULL, PO_ENOTSUP, errno set; no leak"
                   : "po_create NULL, PO_ESYS, errno set; no leak";
}

/* Every channel gets a message and is served by one wait; then the
 * fixture is closed. */
static void fx_serve_all(t_fx *f) {
    for (int i = 0; i < T_N; i++)
        fx_send(f, i);
    CHECK_EQ(po_wait(f->p, 1000, NULL), T_N);
    for (int i = 0; i < T_N; i++)
        fx_served(f, i, PO_RECV);
    fx_close(f);
}

/* A forked child whose po_after_fork() meets an armed fault at `site`
 * (the nth call there) runs `child`, then serves its channels and destroys
 * the poller; the parent then serves its own, untouched.  Returns how many
 * calls the child made at the site, which its exit status carries above
 * that of a failed check. */
static int after_fork_fails(int site, unsigned long nth, int err,
                            void (*child)(t_fx *f, unsigned long nth,
                                          int err)) {
    t_fx f;
    fx_open(&f, PO_RECV);
    CHECK_EQ(po_wait(f.p, 0, NULL), 0); /* registered in the parent's */
    long pid = t_fork();
    if (pid == 0) {
        po__fault_arm(site, nth, err);
        child(&f, nth, err);
        unsigned long calls = po__fault_calls(site);
        po__fault_arm(site, 0, 0);
        fx_serve_all(&f);
        _Exit(2 + (calls < 100 ? (int)calls : 100));
    }
    int status = t_child_status(pid);
    CHECK(status >= 2);
    fx_serve_all(&f);
    return status - 2;
}

/* The nth object fails, when the backend makes that many; the next try
 * works. */
static void after_fork_create(t_fx *f, unsigned long nth, int err) {
    int rc = po_after_fork(f->p);
    if (po__fault_calls(PO__FAULT_CREATE) < nth) {
        CHECK_EQ(rc, PO_OK);
        return;
    }
    CHECK_EQ(rc, PO_ESYS);
    CHECK_EQ(po_last_errno(f->p), err);
    CHECK_EQ(po_after_fork(f->p), PO_OK);
}

static const char *site_create(int err) {
    const char *outcome = create_fails(1, err);
    /* uring's second object, the epoll set: a failed call. */
    if (outcome != NULL && strcmp(t_backend(), "uring") == 0)
        CHECK(create_fails(2, err) != NULL);
    if (outcome == NULL || !t_has_fork)
        return outcome;
    unsigned long nth = 1;
    while (after_fork_fails(PO__FAULT_CREATE, nth, err, after_fork_create) >=
           (int)nth)
        nth++;
    CHECK(nth > 1); /* the first object at least */
    static char both[160];
    snprintf(both, sizeof both,
             "%s; after fork: po_after_fork PO_ESYS + errno, again works",
             outcome);
    return both;
}

static const char *site_ctl_add(int err) {
    t_fx f;
    fx_open(&f, PO_RECV);
    for (int i = 0; i < T_N; i++)
        fx_send(&f, i);
    po__fault_arm(PO__FAULT_CTL_ADD, 2, err);
    int rc = po_wait(f.p, 1000, NULL);
    if (po__fault_calls(PO__FAULT_CTL_ADD) == 0) {
        CHECK_EQ(rc, T_N);
        for (int i = 0; i < T_N; i++)
            fx_served(&f, i, PO_RECV);
        fx_close(&f);
        return NULL;
    }
    CHECK_EQ(rc, T_N);
    int bad = fx_parked(&f, err);
    for (int i = 0; i < T_N; i++)
        if (i != bad)
            fx_served(&f, i, PO_RECV);
    fx_recover(&f, bad, PO_RECV);
    fx_close(&f);
    return "channel PO_ERR + errno, others served; set_socket recovers";
}

static const char *site_ctl_mod(int err) {
    t_fx f;
    fx_open(&f, PO_RECV);
    CHECK_EQ(po_wait(f.p, 0, NULL), 0); /* registered, for reading */
    for (int i = 0; i < T_N; i++) {
        T_WANT(&f.c[i], PO_RECV | PO_SEND);
        fx_send(&f, i);
    }
    po__fault_arm(PO__FAULT_CTL_MOD, 2, err);
    int rc = po_wait(f.p, 1000, NULL);
    if (po__fault_calls(PO__FAULT_CTL_MOD) == 0) {
        CHECK_EQ(rc, T_N);
        for (int i = 0; i < T_N; i++)
            fx_served(&f, i, PO_RECV | PO_SEND);
        fx_close(&f);
        return NULL;
    }
    CHECK_EQ(rc, T_N);
    int bad = fx_parked(&f, err);
    for (int i = 0; i < T_N; i++)
        if (i != bad)
            fx_served(&f, i, PO_RECV | PO_SEND);
    fx_recover(&f, bad, PO_RECV | PO_SEND);
    fx_close(&f);
    return "channel PO_ERR + errno, others served; set_socket recovers";
}

static const char *site_ctl_del(int err) {
    t_fx f;
    fx_open(&f, PO_RECV);
    CHECK_EQ(po_wait(f.p, 0, NULL), 0); /* registered, for reading */
    /* 1. Channel 0 stops wanting anything: the del fails. */
    T_WANT(&f.c[0], 0);
    for (int i = 0; i < T_N; i++)
        fx_send(&f, i);
    po__fault_arm(PO__FAULT_CTL_DEL, 1, err);
    int rc = po_wait(f.p, 1000, NULL);
    if (po__fault_calls(PO__FAULT_CTL_DEL) == 0) {
        CHECK_EQ(rc, T_N - 1);
        for (int i = 1; i < T_N; i++)
            fx_served(&f, i, PO_RECV);
        fx_close(&f);
        return NULL;
    }
    CHECK_EQ(rc, T_N);
    CHECK_EQ(fx_parked(&f, err), 0);
    for (int i = 1; i < T_N; i++)
        fx_served(&f, i, PO_RECV);
    T_WANT(&f.c[0], PO_RECV);
    fx_recover(&f, 0, PO_RECV);
    /* 2. po_set_socket() with the same socket: the del fails, ignored. */
    po__fault_arm(PO__FAULT_CTL_DEL, 1, err);
    CHECK_EQ(po_set_socket(f.c[1].ch, f.c[1].fd), PO_OK);
    CHECK_EQ(po__fault_calls(PO__FAULT_CTL_DEL), 1);
    fx_send(&f, 1);
    CHECK_EQ(po_wait(f.p, 1000, NULL), 1);
    fx_served(&f, 1, PO_RECV);
    /* 3. po_delete(): the del fails, ignored; the channel is gone. */
    po__fault_arm(PO__FAULT_CTL_DEL, 1, err);
    fx_send(&f, 2);
    CHECK_EQ(po_delete(f.p, 3), PO_OK);
    CHECK_EQ(po__fault_calls(PO__FAULT_CTL_DEL), 1);
    CHECK_EQ(f.c[2].deinits, 1);
    CHECK(po_find(f.p, 3) == NULL);
    CHECK_EQ(po_count(f.p), T_N - 1);
    po_triggers total = 0;
    CHECK_EQ(po_wait(f.p, 0, &total), 0); /* its event, if any, is stale */
    CHECK_EQ(total, PO_TIMEOUT);
    fx_send(&f, 0);
    CHECK_EQ(po_wait(f.p, 1000, NULL), 1);
    fx_served(&f, 0, PO_RECV);
    fx_close(&f);
    return "wants drop: parked + errno, set_socket recovers; "
           "set_socket/delete: ignored";
}

/* More changes in one round than the kernel's queue was made for: the
 * backends that queue their changes (uring) hand a full queue over before
 * the wait.  The queue grows with the sockets, so the test stops it
 * growing (a refused io_uring_setup at each attach) to fill it. */
enum { T_MANY = 80 };

static const char *site_submit(int err) {
    long long h0 = t_handles();
    int err0 = 0;
    po_poller *p = po_create(&t_opts, &err0);
    CHECK(p != NULL);
    static t_chan c[T_MANY];
    static t_sock peer[T_MANY];
    for (int i = 0; i < T_MANY; i++) {
        t_sock sv[2];
        t_socketpair(sv);
        memset(&c[i], 0, sizeof c[i]);
        c[i].want = PO_RECV;
        c[i].fd = sv[0];
        peer[i] = sv[1];
        po__fault_arm(PO__FAULT_CREATE, 1, EMFILE);
        CHECK_EQ(po_attach(p, (po_chn)i + 1, sv[0], &t_ops, &c[i], &c[i].ch),
                 PO_OK);
        t_write_all(peer[i], "x", 1);
    }
    po__fault_arm(PO__FAULT_CREATE, 0, 0);
    po__fault_arm(PO__FAULT_SUBMIT, 1, err);
    int rc = po_wait(p, 1000, NULL);
    const char *outcome = NULL;
    CHECK_EQ(rc, T_MANY);
    int parked = 0;
    for (int i = 0; i < T_MANY; i++) {
        CHECK(t_triggered(p, c[i].ch));
        if (po_channel_errno(c[i].ch) != 0) {
            CHECK_EQ(po_channel_errno(c[i].ch), err);
            CHECK_EQ(po_channel_act(c[i].ch), PO_ERR);
            CHECK_EQ(po_set_socket(c[i].ch, c[i].fd), PO_OK);
            parked++;
        } else {
            CHECK_EQ(po_channel_act(c[i].ch), PO_RECV);
        }
    }
    if (po__fault_calls(PO__FAULT_SUBMIT) != 0 && err == EEXIST) {
        /* The ring belongs to another thread (or a parent process): one
         * for this thread takes the changes over. */
        CHECK_EQ(parked, 0);
        outcome = "a new ring for this thread takes the changes; none lost";
    } else if (po__fault_calls(PO__FAULT_SUBMIT) != 0) {
        CHECK_EQ(parked, 1);
        /* The parked channel, set again, reports its byte. */
        CHECK(po_wait(p, 1000, NULL) == T_MANY);
        outcome = "the change that found the queue full: PO_ERR + errno; "
                  "others served; set_socket recovers";
    } else {
        CHECK_EQ(parked, 0);
    }
    for (int i = 0; i < T_MANY; i++) {
        char b[8];
        CHECK_EQ(t_read_some(c[i].fd, b, sizeof b), 1);
    }
    po_destroy(p);
    for (int i = 0; i < T_MANY; i++) {
        CHECK_EQ(c[i].deinits, 1);
        t_close(c[i].fd);
        t_close(peer[i]);
    }
    CHECK_EQ(t_live, 0);
    CHECK_EQ(t_handles(), h0);
    return outcome;
}

static const char *site_wait(int err) {
    t_fx f;
    fx_open(&f, PO_RECV);
    for (int i = 0; i < T_N; i++)
        fx_send(&f, i);
    po__fault_arm(PO__FAULT_WAIT, 1, err);
    po_triggers total = 0;
    int rc = po_wait(f.p, 1000, &total);
    CHECK_EQ(po__fault_calls(PO__FAULT_WAIT), 1);
    const char *outcome;
    if (err == EINTR) {
        CHECK_EQ(rc, 0);
        CHECK_EQ(total, PO_TIMEOUT);
        outcome = "po_wait 0 + PO_TIMEOUT (not retried); next wait reports";
    } else if (err == EEXIST && strcmp(t_backend(), "uring") == 0) {
        /* The ring belongs to another thread (or a parent process): the
         * wait makes one for this thread and goes on. */
        CHECK_EQ(rc, T_N);
        for (int i = 0; i < T_N; i++)
            fx_served(&f, i, PO_RECV);
        fx_close(&f);
        return "a new ring for this thread; the wait reports";
    } else {
        CHECK_EQ(rc, PO_ESYS);
        CHECK_EQ(po_last_errno(f.p), err);
        outcome = "po_wait PO_ESYS, po_last_errno set; next wait reports";
    }
    po_iter it = PO_ITER_INIT;
    CHECK(po_next_triggered(f.p, &it) == NULL);
    CHECK_EQ(po_wait(f.p, 1000, &total), T_N);
    CHECK_EQ(total, PO_RECV);
    for (int i = 0; i < T_N; i++)
        fx_served(&f, i, PO_RECV);
    fx_close(&f);
    return outcome;
}

/* The close of an inherited object fails: ignored. */
static void after_fork_close(t_fx *f, unsigned long nth, int err) {
    (void)nth;
    (void)err;
    CHECK_EQ(po_after_fork(f->p), PO_OK);
}

static const char *site_wait_timed(int err) {
    t_fx f;
    fx_open(&f, PO_RECV);
    CHECK_EQ(po_wait(f.p, 0, NULL), 0); /* registered */
    po__fault_arm(PO__FAULT_WAIT_TIMED, 1, err);
    po_triggers total = 0;
    po_time at = po_now() + PO_MSEC * 3 / 2;
    int rc = po_wait_until(f.p, at, &total);
    const char *outcome = NULL;
    if (po__fault_calls(PO__FAULT_WAIT_TIMED) == 0) {
        CHECK_EQ(rc, 0);
        CHECK(po_now() >= at);
    } else if (err == ENOSYS || err == EPERM) {
        CHECK_EQ(rc, 0);
        CHECK_EQ(total, PO_TIMEOUT);
        CHECK(po_now() >= at);
        /* Remembered: no other epoll_pwait2, and no wait ends early. */
        po__fault_arm(PO__FAULT_WAIT_TIMED, 0, 0);
        for (int i = 0; i < 20; i++) {
            at = po_now() + (po_time)i * PO_MSEC / 10;
            CHECK_EQ(po_wait_until(f.p, at, &total), 0);
            CHECK(po_now() >= at);
        }
        CHECK_EQ(po__fault_calls(PO__FAULT_WAIT_TIMED), 0);
        outcome = "epoll_wait from then on, ms rounded up; never early";
    } else if (err == EINTR) {
        CHECK_EQ(rc, 0);
        CHECK_EQ(total, PO_TIMEOUT);
        outcome = "po_wait_until 0 + PO_TIMEOUT (not retried)";
    } else {
        CHECK_EQ(rc, PO_ESYS);
        CHECK_EQ(po_last_errno(f.p), err);
        outcome = "po_wait_until PO_ESYS, po_last_errno set";
    }
    /* Data is reported by a timed wait as before. */
    fx_send(&f, 1);
    CHECK_EQ(po_wait_until(f.p, po_now() + 1000 * PO_MSEC, &total), 1);
    CHECK_EQ(total, PO_RECV);
    fx_served(&f, 1, PO_RECV);
    fx_close(&f);
    return outcome;
}

static const char *site_close(int err) {
    t_fx f;
    fx_open(&f, PO_RECV);
    fx_send(&f, 0);
    CHECK_EQ(po_wait(f.p, 1000, NULL), 1);
    po__fault_arm(PO__FAULT_CLOSE, 1, err);
    fx_close(&f); /* deinits once, no leak: checked there */
    if (po__fault_calls(PO__FAULT_CLOSE) == 0)
        return NULL;
    if (!t_has_fork)
        return "ignored at po_destroy: closed anyway, deinits once, no leak";
    after_fork_fails(PO__FAULT_CLOSE, 1, err, after_fork_close);
    return "ignored at po_destroy and po_after_fork: closed anyway, deinits "
           "once, no leak";
}

#ifdef _WIN32
static const int t_sigs[2] = {SIGINT, SIGBREAK};
#else
static const int t_sigs[2] = {SIGUSR1, SIGUSR2};

/* The signal is neither blocked nor handled: as the process started. */
static void t_sig_untouched(int signo) {
    sigset_t mask;
    struct sigaction act;
    CHECK_EQ(sigprocmask(SIG_BLOCK, NULL, &mask), 0);
    CHECK_EQ(sigaction(signo, NULL, &act), 0);
    CHECK(!sigismember(&mask, signo));
    CHECK(act.sa_handler == SIG_DFL);
}
#endif

static const char *site_signal(int err) {
    t_fx f;
    fx_open(&f, PO_RECV);
    po__fault_arm(PO__FAULT_SIGNAL, 0, 0); /* counts from 0 */
    CHECK_EQ(po_signal_attach(f.p, 9, t_sigs, 2, NULL, NULL), PO_OK);
    unsigned long calls = po__fault_calls(PO__FAULT_SIGNAL);
    CHECK(calls > 0);
    CHECK_EQ(po_delete(f.p, 9), PO_OK);
    unsigned long nth[2] = {1, calls};
    for (int k = 0; k < 2; k++) {
        po__fault_arm(PO__FAULT_SIGNAL, nth[k], err);
        CHECK_EQ(po_signal_attach(f.p, 9, t_sigs, 2, NULL, NULL), PO_ESYS);
        CHECK_EQ(po_last_errno(f.p), err);
        CHECK_EQ(po_count(f.p), T_N);
        CHECK(po_find(f.p, 9) == NULL);
#ifndef _WIN32
        t_sig_untouched(t_sigs[0]);
        t_sig_untouched(t_sigs[1]);
#endif
    }
    po__fault_arm(PO__FAULT_SIGNAL, 0, 0);
    CHECK_EQ(po_signal_attach(f.p, 9, t_sigs, 2, NULL, NULL), PO_OK);
    fx_send(&f, 1);
    CHECK_EQ(po_wait(f.p, 1000, NULL), 1);
    fx_served(&f, 1, PO_RECV);
    fx_close(&f); /* deletes the signal channel too: no leak */
    return "po_signal_attach PO_ESYS, po_last_errno; mask, actions, poller "
           "as before";
}

/* ------------------------------------------------------------------------ */

static const struct {
    int err;
    const char *name;
} t_errs[] = {
    {EINTR, "EINTR"},
    {ENOMEM, "ENOMEM"},
    {EBADF, "EBADF"},
    {ENOENT, "ENOENT"},
    {EEXIST, "EEXIST"},
    {EPERM, "EPERM"},
    {EINVAL, "EINVAL"},
    {ENOSPC, "ENOSPC"},
#ifndef _WIN32
    /* Refusals of io_uring besides EPERM and EINVAL: a kernel without it,
     * a security module, a kernel without an operation. */
    {ENOSYS, "ENOSYS"},
    {EACCES, "EACCES"},
    {EOPNOTSUPP, "EOPNOTSUPP"},
    /* io_uring_enter's own: a completion queue in overflow, no memory for
     * the requests. */
    {EBUSY, "EBUSY"},
    {EAGAIN, "EAGAIN"},
#else
    /* Reported on Windows only: a handle that is not a socket, access
     * refused, too many handles, Winsock down, an error errors.c does not
     * know. */
    {ENOTSOCK, "ENOTSOCK"},
    {EACCES, "EACCES"},
    {EMFILE, "EMFILE"},
    {ENETDOWN, "ENETDOWN"},
    {EIO, "EIO"},
#endif
};

/* Sets up what lives as long as the process and is made the first time it
 * is needed (Winsock, the harness's listener for socket pairs, whatever the
 * system keeps after a first poller), so that the leak checks count only
 * what a case leaves. */
static void t_warm_up(void) {
    int err = 0;
    po_poller *p = po_create(&t_opts, &err);
    CHECK(p != NULL);
    t_chan c;
    memset(&c, 0, sizeof c);
    t_sock sv[2];
    t_socketpair(sv);
    c.want = PO_RECV;
    c.fd = sv[0];
    CHECK_EQ(po_attach(p, 1, sv[0], &t_ops, &c, &c.ch), PO_OK);
    t_write_all(sv[1], "x", 1);
    CHECK_EQ(po_wait(p, 1000, NULL), 1);
    po_destroy(p);
    t_close(sv[0]);
    t_close(sv[1]);
    CHECK_EQ(t_live, 0);
}

/* Runs a site with every errno in turn, printing a matrix row for each. */
static void t_site(int site, const char *name, const char *(*run)(int err),
                   const char *absent) {
    t_warm_up();
    for (size_t e = 0; e < sizeof t_errs / sizeof t_errs[0]; e++) {
        const char *outcome = run(t_errs[e].err);
        po__fault_arm(site, 0, 0);
        if (outcome == NULL) {
            printf("faults/%s/%-7s %-8s n/a: %s's %s\n", t_backend(), name, "-",
                   t_backend(), absent);
            po_skip("no such kernel call site");
        }
        printf("faults/%s/%-7s %-8s %s\n", t_backend(), name, t_errs[e].name,
               outcome);
        fflush(stdout);
    }
}

#define PO__FAULT_SITE(name, constant, absent)                                 \
    static void fault_##name(void) {                                           \
        t_site(constant, #name, site_##name, absent);                          \
    }
#include "fault_sites.h"
#undef PO__FAULT_SITE

static const t_case t_cases[] = {
#define PO__FAULT_SITE(name, constant, absent) {#name, fault_##name},
#include "fault_sites.h"
#undef PO__FAULT_SITE
};

int main(int argc, char **argv) {
    return t_main(argc, argv, t_backend(), t_cases,
                  sizeof t_cases / sizeof t_cases[0]);
}
