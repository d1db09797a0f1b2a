/*
 * Conformance cases for signal channels: a signal sent to the process is
 * reported as PO_NOTIFY on the channel and taken once; standard signals
 * coalesce; a signal outside the set is not reported; a delete puts the
 * process's mask and actions back as they were; a signal belongs to one
 * channel in the process; bad arguments, failed allocations and calls from
 * a probe change nothing.
 *
 * On POSIX the cases send real signals to their own process with kill().
 * On Windows the signals are console control events, which a program
 * under Wine cannot send itself (GenerateConsoleCtrlEvent() fails there
 * with ERROR_INVALID_ACCESS): the cases call the library's console handler
 * directly, as the system would, so what they check is everything after
 * the system's part.
 */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L
#endif
#include "harness.h"

#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
int po__sig_console_event(unsigned long event);
/* The three numbers Windows can attach, and the events that send them. */
static const int sg_sig[3] = {SIGINT, SIGBREAK, SIGTERM};
static const unsigned long sg_event[3] = {CTRL_C_EVENT, CTRL_BREAK_EVENT,
                                          CTRL_CLOSE_EVENT};
#else
#include <unistd.h>
static const int sg_sig[3] = {SIGUSR1, SIGUSR2, SIGHUP};
#endif

/* Sends the k-th of sg_sig to this process. */
static void sg_send(int k) {
#ifdef _WIN32
    CHECK(po__sig_console_event(sg_event[k]));
#else
    CHECK_EQ(kill(getpid(), sg_sig[k]), 0);
#endif
}

/* Sends it to the calling thread alone: raise() does, where threads are
 * POSIX threads.  A signal for the process could go to another thread,
 * which on epoll does not block it. */
static void sg_send_here(int k) {
#ifdef _WIN32
    sg_send(k);
#else
    CHECK_EQ(raise(sg_sig[k]), 0);
#endif
}

/* Takes every waiting number; returns a bit per sg_sig index and stores
 * how many takes succeeded in *count.  Fails on a number not in sg_sig. */
/* Waits for the channel's PO_NOTIFY and takes every number: exactly the
 * signals of `mask` (bit k: sg_sig[k]), each once. */
static void sg_expect(po_poller *p, po_channel *ch, po_signal *s,
                      unsigned mask) {
    CHECK_EQ(t_wait_for(p, ch, PO_NOTIFY, 20, 1000), PO_NOTIFY);
    unsigned got = 0;
    int signo, rc;
    while ((rc = po_signal_take(s, &signo)) == PO_OK) {
        int k = 0;
        while (k < 3 && sg_sig[k] != signo)
            k++;
        CHECK(k < 3);
        CHECK(!(got & 1u << k));
        got |= 1u << k;
    }
    CHECK_EQ(rc, PO_EAGAIN);
    CHECK_EQ(got, mask);
}

static void sg_no_event(po_poller *p) {
    po_triggers total;
    CHECK_EQ(po_wait(p, 30, &total), 0);
    CHECK_EQ(total, PO_TIMEOUT);
}

void case_signal_take_each_once(void) {
    po_poller *p = t_poller();
    po_signal *s = NULL;
    po_channel *ch = NULL;
    CHECK_EQ(po_signal_attach(p, 7, sg_sig, 3, &s, &ch), PO_OK);
    CHECK(s != NULL && ch != NULL);
    CHECK(po_find(p, 7) == ch);
    CHECK(po_channel_ctx(ch) == s);
    int signo;
    CHECK_EQ(po_signal_take(s, &signo), PO_EAGAIN);
    sg_no_event(p);

    sg_send(0);
    sg_expect(p, ch, s, 1u);
    sg_no_event(p);

    sg_send(2);
    sg_send(1);
    sg_send(0);
    sg_expect(p, ch, s, 7u);
    sg_no_event(p);
    CHECK_EQ(po_delete(p, 7), PO_OK);
    po_destroy(p);
}

void case_signal_coalesce(void) {
    po_poller *p = t_poller();
    po_signal *s;
    po_channel *ch;
    CHECK_EQ(po_signal_attach(p, 1, sg_sig, 2, &s, &ch), PO_OK);
    for (int i = 0; i < 5; i++)
        sg_send(0);
    sg_send(1);
    sg_send(1);
    CHECK_EQ(t_wait_for(p, ch, PO_NOTIFY, 20, 1000), PO_NOTIFY);
    /* One number taken, the other left: the next wait reports it. */
    int first, second;
    CHECK_EQ(po_signal_take(s, &first), PO_OK);
    CHECK(first == sg_sig[0] || first == sg_sig[1]);
    CHECK_EQ(po_wait(p, 1000, NULL), 1);
    CHECK_EQ(po_channel_act(ch), PO_NOTIFY);
    CHECK_EQ(po_signal_take(s, &second), PO_OK);
    CHECK(second != first);
    CHECK(second == sg_sig[0] || second == sg_sig[1]);
    CHECK_EQ(po_signal_take(s, &second), PO_EAGAIN);
    sg_no_event(p);
    /* A number taken is reported again when it comes again. */
    sg_send(1);
    sg_expect(p, ch, s, 2u);
    po_destroy(p);
}

#ifndef _WIN32
static volatile sig_atomic_t sg_caught;
static void sg_catch(int signo) { sg_caught = signo; }

/* The application's own action for signo. */
static void sg_install(int signo, void (*fn)(int), struct sigaction *old) {
    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_handler = fn;
    sigemptyset(&act.sa_mask);
    CHECK_EQ(sigaction(signo, &act, old), 0);
}
#endif

void case_signal_not_in_set(void) {
    po_poller *p = t_poller();
    po_signal *s;
    po_channel *ch;
    CHECK_EQ(po_signal_attach(p, 1, sg_sig, 1, &s, &ch), PO_OK);
#ifdef _WIN32
    /* No channel takes the event: the next handler (the system's) gets
     * it. */
    CHECK(!po__sig_console_event(sg_event[1]));
#else
    struct sigaction old;
    sg_install(sg_sig[1], sg_catch, &old);
    sg_caught = 0;
    sg_send(1);
    CHECK_EQ(sg_caught, sg_sig[1]); /* its own action ran */
    CHECK_EQ(sigaction(sg_sig[1], &old, NULL), 0);
#endif
    sg_no_event(p);
    int signo;
    CHECK_EQ(po_signal_take(s, &signo), PO_EAGAIN);
    sg_send(0);
    CHECK_EQ(t_wait_for(p, ch, PO_NOTIFY, 20, 1000), PO_NOTIFY);
    CHECK_EQ(po_signal_take(s, &signo), PO_OK);
    CHECK_EQ(signo, sg_sig[0]);
    po_destroy(p);
}

#ifndef _WIN32
/* What the process does with signo: blocked in this thread, and its
 * handler. */
typedef struct sg_state {
    int blocked;
    void (*handler)(int);
} sg_state;

static sg_state sg_now(int signo) {
    sigset_t mask;
    struct sigaction act;
    CHECK_EQ(sigprocmask(SIG_BLOCK, NULL, &mask), 0);
    CHECK_EQ(sigaction(signo, NULL, &act), 0);
    sg_state st = {sigismember(&mask, signo), act.sa_handler};
    return st;
}
#endif

void case_signal_delete_restores(void) {
    po_poller *p = t_poller();
#ifdef _WIN32
    CHECK_EQ(po_signal_attach(p, 1, sg_sig, 3, NULL, NULL), PO_OK);
    CHECK_EQ(po_delete(p, 1), PO_OK);
    for (int k = 0; k < 3; k++)
        CHECK(!po__sig_console_event(sg_event[k]));
#else
    /* sg_sig[0] has the application's handler, sg_sig[1] is blocked
     * already, sg_sig[2] is as the process started. */
    struct sigaction old0;
    sg_install(sg_sig[0], sg_catch, &old0);
    sigset_t one, was;
    sigemptyset(&one);
    sigaddset(&one, sg_sig[1]);
    CHECK_EQ(sigprocmask(SIG_BLOCK, &one, &was), 0);
    sg_state before[3];
    for (int k = 0; k < 3; k++)
        before[k] = sg_now(sg_sig[k]);
    po_signal *s;
    CHECK_EQ(po_signal_attach(p, 1, sg_sig, 3, &s, NULL), PO_OK);
    const char *be = po_backend_name(p);
    for (int k = 0; k < 3; k++) {
        sg_state st = sg_now(sg_sig[k]);
        if (strcmp(be, "epoll") == 0) {
            CHECK(st.blocked); /* for the signalfd */
            CHECK(st.handler == before[k].handler);
        } else if (strcmp(be, "kqueue") == 0) {
            CHECK_EQ(st.blocked, before[k].blocked);
            CHECK(st.handler == SIG_IGN);
        } else {
            CHECK_EQ(st.blocked, before[k].blocked);
            CHECK(st.handler != before[k].handler); /* the library's */
        }
    }
    /* Sent and never taken: the delete drops it rather than letting it
     * reach the process's action. */
    sg_caught = 0;
    sg_send(0);
    CHECK_EQ(po_delete(p, 1), PO_OK);
    for (int k = 0; k < 3; k++) {
        sg_state st = sg_now(sg_sig[k]);
        CHECK_EQ(st.blocked, before[k].blocked);
        CHECK(st.handler == before[k].handler);
    }
    CHECK_EQ(sg_caught, 0);
    /* The application's handler is its own again. */
    sg_send(0);
    CHECK_EQ(sg_caught, sg_sig[0]);
    CHECK_EQ(sigprocmask(SIG_SETMASK, &was, NULL), 0);
    CHECK_EQ(sigaction(sg_sig[0], &old0, NULL), 0);
#endif
    /* And it can be attached again. */
    CHECK_EQ(po_signal_attach(p, 2, sg_sig, 3, NULL, NULL), PO_OK);
    po_destroy(p);
}

void case_signal_claimed_once(void) {
    po_poller *p = t_poller();
    po_poller *q = t_poller();
    CHECK_EQ(po_signal_attach(p, 1, sg_sig, 2, NULL, NULL), PO_OK);
    /* sg_sig[1] is taken: by another poller, by the same one. */
    CHECK_EQ(po_signal_attach(q, 1, sg_sig + 1, 2, NULL, NULL), PO_EINUSE);
    CHECK_EQ(po_signal_attach(p, 2, sg_sig + 1, 1, NULL, NULL), PO_EINUSE);
    CHECK_EQ(po_signal_attach(p, 1, sg_sig + 2, 1, NULL, NULL), PO_EEXIST);
    CHECK_EQ(po_count(p), 1);
    CHECK_EQ(po_count(q), 0);
#ifndef _WIN32
    /* The refused attaches left sg_sig[2] as it was. */
    CHECK(sg_now(sg_sig[2]).handler == SIG_DFL);
    CHECK(!sg_now(sg_sig[2]).blocked);
#endif
    /* The refusals released nothing: sg_sig[2] is free, the others not. */
    po_signal *s;
    po_channel *ch;
    CHECK_EQ(po_signal_attach(q, 2, sg_sig + 2, 1, &s, &ch), PO_OK);
    CHECK_EQ(po_signal_attach(q, 3, sg_sig, 1, NULL, NULL), PO_EINUSE);
    /* Each poller hears its own. */
    sg_send(2);
    CHECK_EQ(t_wait_for(q, ch, PO_NOTIFY, 20, 1000), PO_NOTIFY);
    int signo;
    CHECK_EQ(po_signal_take(s, &signo), PO_OK);
    CHECK_EQ(signo, sg_sig[2]);
    sg_no_event(p);
    /* Deleted with its poller: the signals are free again. */
    po_destroy(p);
    CHECK_EQ(po_signal_attach(q, 4, sg_sig, 2, NULL, NULL), PO_OK);
    po_destroy(q);
}

void case_signal_errors(void) {
    po_options o;
    memset(&o, 0, sizeof o);
    o.allocator = &t_failing_alloc;
    po_poller *p = t_poller_opts(&o);
    po_signal *s = NULL;
    po_channel *ch = NULL;
    CHECK_EQ(po_signal_attach(NULL, 1, sg_sig, 1, &s, &ch), PO_EINVAL);
    CHECK_EQ(po_signal_attach(p, 1, NULL, 1, &s, &ch), PO_EINVAL);
    CHECK_EQ(po_signal_attach(p, 1, sg_sig, 0, &s, &ch), PO_EINVAL);
    int bad[] = {
        0,       -1,      65, 1000, -2147483647 - 1,
#ifdef _WIN32
        SIGSEGV, SIGABRT, 1,
#else
        SIGKILL, SIGSTOP,
#endif
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int set[2] = {sg_sig[0], bad[i]};
        CHECK_EQ(po_signal_attach(p, 1, set, 2, &s, &ch), PO_EINVAL);
    }
    CHECK(s == NULL && ch == NULL);
    int signo = 12345;
    CHECK_EQ(po_signal_take(NULL, &signo), PO_EINVAL);
    /* Each allocation of an attach fails in turn (the po_signal, then the
     * poller's room for a channel): nothing attached, nothing claimed, the
     * process as it was. */
    int k = 1;
    for (;; k++) {
        t_alloc_fail_at(k);
        if (t_alloc_done(po_signal_attach(p, 1, sg_sig, 3, &s, &ch)))
            break;
        CHECK_EQ(po_count(p), 0);
#ifndef _WIN32
        for (int i = 0; i < 3; i++) {
            CHECK(sg_now(sg_sig[i]).handler == SIG_DFL);
            CHECK(!sg_now(sg_sig[i]).blocked);
        }
#endif
    }
    CHECK(k > 1);
    CHECK_EQ(po_delete(p, 1), PO_OK);
    /* Repeats count once. */
    int twice[4] = {sg_sig[0], sg_sig[0], sg_sig[1], sg_sig[0]};
    CHECK_EQ(po_signal_attach(p, 1, twice, 4, &s, &ch), PO_OK);
    CHECK_EQ(po_signal_take(s, NULL), PO_EINVAL);
    CHECK_EQ(po_signal_take(s, &signo), PO_EAGAIN);
    CHECK_EQ(signo, 12345);
    sg_send(0);
    sg_send(1);
    sg_expect(p, ch, s, 3u);
    po_destroy(p);
}

/* A channel whose probe tries to attach a signal channel and takes from
 * another. */
typedef struct sg_prober {
    po_poller *p;
    po_signal *s;
    int attach_rc, take_rc, probes;
} sg_prober;

static po_triggers sg_probe(po_channel *ch, void *ctx) {
    (void)ch;
    sg_prober *r = ctx;
    int signo;
    r->attach_rc = po_signal_attach(r->p, 99, sg_sig + 2, 1, NULL, NULL);
    r->take_rc = po_signal_take(r->s, &signo);
    r->probes++;
    return PO_POOL;
}
static const po_channel_ops sg_prober_ops = {sg_probe, NULL};

void case_signal_busy_in_probe(void) {
    po_poller *p = t_poller();
    sg_prober r = {p, NULL, 0, 0, 0};
    CHECK_EQ(po_signal_attach(p, 1, sg_sig, 1, &r.s, NULL), PO_OK);
    CHECK_EQ(po_attach(p, 2, PO_NO_SOCKET, &sg_prober_ops, &r, NULL), PO_OK);
    CHECK_EQ(po_wait(p, 0, NULL), 1);
    CHECK_EQ(r.probes, 1);
    CHECK_EQ(r.attach_rc, PO_EBUSY);
    CHECK_EQ(r.take_rc, PO_EAGAIN); /* allowed */
    CHECK(po_find(p, 99) == NULL);
    /* Nothing claimed: the signal attaches outside the probe. */
    CHECK_EQ(po_signal_attach(p, 3, sg_sig + 2, 1, NULL, NULL), PO_OK);
    po_destroy(p);
}

/* Two threads, each with its own poller and signal, attach, receive, take
 * and delete at once, and both keep trying to attach a third signal: at
 * most one of them holds it at any moment (the ThreadSanitizer build runs
 * this case). */
enum { SG_ROUNDS = 200 };

typedef struct sg_worker {
    int k; /* its own signal: sg_sig[k] */
    atomic_int *holders;
    int held, refused;
} sg_worker;

static void sg_work(void *arg) {
    sg_worker *w = arg;
    po_poller *p = t_poller();
    for (int i = 0; i < SG_ROUNDS; i++) {
        po_signal *s;
        po_channel *ch;
        CHECK_EQ(po_signal_attach(p, 1, &sg_sig[w->k], 1, &s, &ch), PO_OK);
        sg_send_here(w->k);
        CHECK_EQ(t_wait_for(p, ch, PO_NOTIFY, 20, 1000), PO_NOTIFY);
        int signo;
        CHECK_EQ(po_signal_take(s, &signo), PO_OK);
        CHECK_EQ(signo, sg_sig[w->k]);
        CHECK_EQ(po_signal_take(s, &signo), PO_EAGAIN);
        CHECK_EQ(po_delete(p, 1), PO_OK);
        int rc = po_signal_attach(p, 2, &sg_sig[2], 1, NULL, NULL);
        if (rc == PO_OK) {
            CHECK_EQ(atomic_fetch_add(w->holders, 1), 0);
            w->held++;
            t_yield();
            atomic_fetch_sub(w->holders, 1);
            CHECK_EQ(po_delete(p, 2), PO_OK);
        } else {
            CHECK_EQ(rc, PO_EINUSE);
            w->refused++;
        }
    }
    po_destroy(p);
}

void case_signal_other_threads(void) {
    atomic_int holders;
    atomic_init(&holders, 0);
    sg_worker w[2] = {{0, &holders, 0, 0}, {1, &holders, 0, 0}};
    t_thread *t = t_thread_start(sg_work, &w[1]);
    sg_work(&w[0]);
    t_thread_join(t);
    CHECK_EQ(w[0].held + w[0].refused, SG_ROUNDS);
    CHECK_EQ(w[1].held + w[1].refused, SG_ROUNDS);
    CHECK(w[0].held + w[1].held > 0);
    /* Every signal is free again. */
    po_poller *p = t_poller();
    CHECK_EQ(po_signal_attach(p, 1, sg_sig, 3, NULL, NULL), PO_OK);
    po_destroy(p);
}

/* fork: the child's po_after_fork() gives its signal channel an object of
 * its own.  The child hears the signal it sends itself, and leaves it there
 * (one take: a handler's wake-up is not drained), and the parent's channel
 * hears nothing of it, then its own signals as before. */
void case_signal_after_fork(void) {
    if (!t_has_fork)
        po_skip("no fork on this system");
    po_poller *p = t_poller();
    po_signal *s = NULL;
    po_channel *ch = NULL;
    CHECK_EQ(po_signal_attach(p, 7, sg_sig, 3, &s, &ch), PO_OK);
    CHECK_EQ(po_wait(p, 0, NULL), 0); /* registered */
    long pid = t_fork();
    if (pid == 0) {
        CHECK_EQ(po_after_fork(p), PO_OK);
        sg_send(0);
        CHECK_EQ(t_wait_for(p, ch, PO_NOTIFY, 20, 1000), PO_NOTIFY);
        int signo = 0;
        CHECK_EQ(po_signal_take(s, &signo), PO_OK);
        CHECK_EQ(signo, sg_sig[0]);
        po_destroy(p); /* closes the child's objects only */
        t_child_exit();
    }
    t_child_passed(pid);
    sg_no_event(p);
    sg_send(1);
    sg_expect(p, ch, s, 2u);
    CHECK_EQ(po_delete(p, 7), PO_OK);
    po_destroy(p);
}
