/*
 * The helpers that need no operating system: pollers and test channels.
 * The socket helpers are in harness_posix.c and harness_win.c, one of which
 * is built; running cases is runner.c's.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

po_poller *t_poller_opts(const po_options *opt) {
    int err = 0;
    po_poller *p = po_create(opt, &err);
    /* A backend the kernel refuses here (io_uring under a seccomp profile
     * or the io_uring_disabled sysctl) has nothing to test. */
    if (p == NULL && err == PO_ENOTSUP && getenv("POLLEROS_BACKEND") &&
        *getenv("POLLEROS_BACKEND"))
        po_skip("the backend is not available on this system");
    if (p == NULL)
        po_fail(__FILE__, __LINE__, "po_create: %s", po_strerror(err));
    if (getenv("POLLEROS_BACKEND") && *getenv("POLLEROS_BACKEND"))
        CHECK(strcmp(po_backend_name(p), t_backend()) == 0);
    return p;
}

po_poller *t_poller(void) { return t_poller_opts(NULL); }

static long t_fail_in, t_failed;
void t_alloc_fail_at(long k) {
    t_fail_in = k;
    t_failed = 0;
}
bool t_alloc_done(int rc) {
    long failed = t_failed;
    t_alloc_fail_at(0);
    if (rc == PO_OK) {
        CHECK_EQ(failed, 0);
        return true;
    }
    CHECK_EQ(rc, PO_ENOMEM);
    CHECK_EQ(failed, 1);
    return false;
}
static bool t_alloc_fails(void) {
    if (t_fail_in > 0 && --t_fail_in == 0) {
        t_failed++;
        return true;
    }
    return false;
}
static void *t_fa_malloc(size_t n, void *ctx) {
    (void)ctx;
    return t_alloc_fails() ? NULL : malloc(n);
}
static void *t_fa_realloc(void *ptr, size_t n, void *ctx) {
    (void)ctx;
    return t_alloc_fails() ? NULL : realloc(ptr, n);
}
static void t_fa_free(void *ptr, void *ctx) {
    (void)ctx;
    free(ptr);
}
const po_allocator t_failing_alloc = {t_fa_malloc, t_fa_realloc, t_fa_free,
                                      NULL};

const t_backend_info t_native_backends[] = {
#if defined(_WIN32)
    {PO_BACKEND_WEPOLL, "wepoll"},
#elif defined(__linux__)
    {PO_BACKEND_EPOLL, "epoll"},
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) ||    \
    defined(__NetBSD__) || defined(__DragonFly__)
    {PO_BACKEND_KQUEUE, "kqueue"},
#endif
    {PO_BACKEND_POLL, "poll"},
};
const size_t t_native_count =
    sizeof t_native_backends / sizeof t_native_backends[0];

static po_triggers t_probe(po_channel *ch, void *ctx) {
    (void)ch;
    t_chan *c = ctx;
    c->probes++;
    return c->want;
}

static void t_deinit(po_channel *ch, void *ctx) {
    (void)ch;
    t_chan *c = ctx;
    c->deinits++;
}

const po_channel_ops t_ops = {t_probe, t_deinit};

bool t_triggered(po_poller *p, const po_channel *ch) {
    po_iter it = PO_ITER_INIT;
    for (po_channel *c; (c = po_next_triggered(p, &it)) != NULL;)
        if (c == ch)
            return true;
    return false;
}

po_triggers t_wait_for(po_poller *p, po_channel *ch, po_triggers trig,
                       int rounds, int timeout_ms) {
    for (int i = 0; i < rounds; i++) {
        CHECK(po_wait(p, timeout_ms, NULL) >= 0);
        if (t_triggered(p, ch) && (po_channel_act(ch) & trig) == trig)
            return po_channel_act(ch);
    }
    return 0;
}

bool t_full_reconcile(void) {
    const char *mode = getenv("POLLEROS_RECONCILE");
    return mode != NULL && strcmp(mode, "full") == 0;
}

const char *t_backend(void) {
    const char *b = getenv("POLLEROS_BACKEND");
    return b && *b ? b : "default";
}
