/*
 * Signal channels on POSIX systems (sigchan.h): a signalfd with the signals
 * blocked for epoll, EVFILT_SIGNAL in a kqueue of the channel's own for
 * kqueue, and for poll and uring a handler that raises a flag and writes
 * the wake-up object.  Not a signalfd for uring: a signalfd is readable
 * for the task that polls it, and io_uring may poll the epoll set from a
 * kernel worker, for which no signal is pending (the channel then went
 * unreported after the last kill(), tests/signal_storm.c).
 *
 * kqueue: the filters live in a kqueue apart from the poller's, which the
 * poller watches as the channel's socket (a kqueue is readable while it
 * holds events).  The backend's harvest then needs no case for a filter
 * that is not a socket's.  EVFILT_SIGNAL sees a signal even when it is
 * ignored, and the signal must not take its default action (SIGTERM's
 * would end the process): its disposition is SIG_IGN while attached.
 */
#if defined(__linux__)
#define _GNU_SOURCE /* signalfd's flags on older C libraries */
#elif defined(__APPLE__)
#define _DARWIN_C_SOURCE /* kqueue next to POSIX names */
#else
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#ifdef POLLEROS_HAVE_KQUEUE
#include <sys/types.h> /* before sys/event.h: older BSDs need it first */

#include <fcntl.h>
#include <sys/event.h>
#include <sys/time.h>
#endif
#ifdef __linux__
#include <sys/signalfd.h>
#endif

#include "fault.h"
#include "sigchan.h"

/* One past the highest signal number, where the system says it: macOS's
 * sigaddset() is a macro that checks nothing. */
#ifdef NSIG
#define PO__SIG_END (NSIG < PO__NSIG ? NSIG : PO__NSIG)
#else
#define PO__SIG_END PO__NSIG
#endif

int po__sig_valid(int signo) {
    sigset_t probe;
    sigemptyset(&probe);
    /* sigaddset() refuses the numbers the system does not have, and on
     * Linux those the C library keeps for itself (its threads' 32, 33). */
    return signo > 0 && signo < PO__SIG_END && signo != SIGKILL &&
           signo != SIGSTOP && sigaddset(&probe, signo) == 0;
}

size_t po__sig_size(unsigned nsig) {
    return sizeof(po_signal) + nsig * sizeof(struct sigaction);
}

/* Sets every signal of s to act, keeping the actions replaced in s->old;
 * puts them all back if one fails.  0 or an errno. */
static int po__sig_replace(po_signal *s, const struct sigaction *act) {
    unsigned k = 0;
    for (int i = 1; i < PO__NSIG; i++) {
        if (!(s->set >> (i - 1) & 1))
            continue;
        if (PO__FAULT(PO__FAULT_SIGNAL, -1, sigaction(i, act, &s->old[k])) !=
            0) {
            int e = errno;
            while (i-- > 1)
                if (s->set >> (i - 1) & 1)
                    sigaction(i, &s->old[--k], NULL);
            return e;
        }
        k++;
    }
    return 0;
}

static void po__sig_restore(po_signal *s) {
    unsigned k = 0;
    for (int i = 1; i < PO__NSIG; i++)
        if (s->set >> (i - 1) & 1)
            sigaction(i, &s->old[k++], NULL);
}

/* ------------------------------------------------------------------------ */
/* poll, uring: a handler                                                 */

/* The channel that owns each signal, for the handler.  A delete clears its
 * entries and then waits until no handler is running (`running`), so a
 * handler that read an owner never touches a freed channel. */
static _Atomic(po_signal *) po__sig_owner[PO__NSIG];
static atomic_int po__sig_running;

static void po__sig_handler(int signo) {
    int saved = errno;
    atomic_fetch_add(&po__sig_running, 1);
    po_signal *s = atomic_load(&po__sig_owner[signo]);
    if (s != NULL) {
        atomic_store(&s->hit[signo], 1);
        po__wake_signal(&s->wake); /* write(): async-signal-safe */
    }
    atomic_fetch_sub(&po__sig_running, 1);
    errno = saved;
}

static void po__sig_sigset(const po_signal *s, sigset_t *set) {
    sigemptyset(set);
    for (int i = 1; i < PO__NSIG; i++)
        if (s->set >> (i - 1) & 1)
            sigaddset(set, i);
}

static int po__sig_open_flags(po_signal *s) {
    int e = po__wake_open(&s->wake);
    if (e != 0)
        return e;
    for (int i = 1; i < PO__NSIG; i++)
        if (s->set >> (i - 1) & 1)
            atomic_store(&po__sig_owner[i], s);
    struct sigaction act;
    act.sa_handler = po__sig_handler;
    act.sa_flags = SA_RESTART; /* the application's calls go on */
    sigemptyset(&act.sa_mask);
    e = po__sig_replace(s, &act);
    if (e != 0) {
        for (int i = 1; i < PO__NSIG; i++)
            if (s->set >> (i - 1) & 1)
                atomic_store(&po__sig_owner[i], NULL);
        po__wake_close(&s->wake);
        return e;
    }
    s->mech = PO__SIG_FLAGS;
    s->sock = s->wake.rd;
    return 0;
}

static void po__sig_close_flags(po_signal *s) {
    po__sig_restore(s);
    for (int i = 1; i < PO__NSIG; i++)
        if (s->set >> (i - 1) & 1)
            atomic_store(&po__sig_owner[i], NULL);
    /* A handler on another thread, a few instructions from its end (or
     * preempted there: hence the yield). */
    while (atomic_load(&po__sig_running) != 0)
        sched_yield();
    po__wake_close(&s->wake);
}

/* ------------------------------------------------------------------------ */
/* epoll: a signalfd                                                       */

#ifdef __linux__

static int po__sig_open_fd(po_signal *s) {
    sigset_t set, was;
    po__sig_sigset(s, &set);
    /* Blocked first: a signal that comes in between then waits in the
     * kernel for the signalfd instead of taking its default action. */
    int e = pthread_sigmask(SIG_BLOCK, &set, &was);
    if (e != 0)
        return e;
    sigemptyset(&s->unblock);
    for (int i = 1; i < PO__NSIG; i++)
        if ((s->set >> (i - 1) & 1) && !sigismember(&was, i))
            sigaddset(&s->unblock, i);
    int fd = PO__FAULT(PO__FAULT_SIGNAL, -1,
                       signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
    if (fd < 0) {
        e = errno;
        pthread_sigmask(SIG_UNBLOCK, &s->unblock, NULL);
        return e;
    }
    s->mech = PO__SIG_FD;
    s->sock = fd;
    return 0;
}

static int po__sig_read_fd(po_signal *s) {
    struct signalfd_siginfo si;
    for (;;) {
        ssize_t n = read(s->sock, &si, sizeof si);
        if (n == (ssize_t)sizeof si)
            return (int)si.ssi_signo;
        if (!(n < 0 && errno == EINTR))
            return 0;
    }
}

static void po__sig_close_fd(po_signal *s) {
    /* What arrived and was not taken belongs to the channel: taken here,
     * it is not delivered once unblocked, where it could end the
     * process. */
    while (po__sig_read_fd(s) != 0)
        ;
    close(s->sock);
    pthread_sigmask(SIG_UNBLOCK, &s->unblock, NULL);
}
#endif

/* ------------------------------------------------------------------------ */
/* kqueue: EVFILT_SIGNAL                                                    */

#ifdef POLLEROS_HAVE_KQUEUE
/* A kqueue holding a filter for each of s's signals, in *out: 0 or an
 * errno. */
static int po__sig_kqueue_new(const po_signal *s, int *out) {
    int kq = PO__FAULT(PO__FAULT_SIGNAL, -1, kqueue());
    if (kq < 0)
        return errno;
    int e = 0;
    if (fcntl(kq, F_SETFD, FD_CLOEXEC) != 0)
        e = errno;
    for (int i = 1; i < PO__NSIG && e == 0; i++) {
        if (!(s->set >> (i - 1) & 1))
            continue;
        struct kevent kev;
        EV_SET(&kev, (uintptr_t)i, EVFILT_SIGNAL, EV_ADD, 0, 0, NULL);
        if (kevent(kq, &kev, 1, NULL, 0, NULL) != 0)
            e = errno;
    }
    if (e != 0)
        close(kq);
    else
        *out = kq;
    return e;
}

static int po__sig_open_kqueue(po_signal *s) {
    int kq;
    int e = po__sig_kqueue_new(s, &kq);
    if (e != 0)
        return e;
    struct sigaction ign;
    ign.sa_handler = SIG_IGN;
    ign.sa_flags = 0;
    sigemptyset(&ign.sa_mask);
    e = po__sig_replace(s, &ign);
    if (e != 0) {
        close(kq);
        return e;
    }
    s->mech = PO__SIG_KQUEUE;
    s->sock = kq;
    return 0;
}

static int po__sig_read_kqueue(po_signal *s) {
    struct kevent kev;
    struct timespec zero = {0, 0};
    int n = kevent(s->sock, NULL, 0, &kev, 1, &zero);
    return n == 1 ? (int)kev.ident : 0;
}
#endif

/* ------------------------------------------------------------------------ */

int po__sig_open(po_signal *s, po_backend_kind kind) {
#ifdef __linux__
    if (kind == PO_BACKEND_EPOLL)
        return po__sig_open_fd(s);
#endif
#ifdef POLLEROS_HAVE_KQUEUE
    if (kind == PO_BACKEND_KQUEUE)
        return po__sig_open_kqueue(s);
#endif
    (void)kind;
    return po__sig_open_flags(s);
}

void po__sig_close(po_signal *s) {
    switch (s->mech) {
#ifdef __linux__
    case PO__SIG_FD:
        po__sig_close_fd(s);
        break;
#endif
#ifdef POLLEROS_HAVE_KQUEUE
    case PO__SIG_KQUEUE:
        po__sig_restore(s);
        close(s->sock);
        break;
#endif
    default:
        po__sig_close_flags(s);
    }
}

int po__sig_after_fork(po_signal *s) {
    switch (s->mech) {
#ifdef __linux__
    case PO__SIG_FD: {
        sigset_t set;
        po__sig_sigset(s, &set);
        int fd = PO__FAULT(PO__FAULT_SIGNAL, -1,
                           signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
        if (fd < 0)
            return errno;
        close(s->sock);
        s->sock = fd;
        return 0;
    }
#endif
#ifdef POLLEROS_HAVE_KQUEUE
    case PO__SIG_KQUEUE:
        return po__sig_kqueue_new(s, &s->sock);
#endif
    default: {
        po__wake fresh;
        int e = po__wake_open(&fresh);
        if (e != 0)
            return e;
        /* The handler reads s->wake: not while it changes. */
        sigset_t set, was;
        po__sig_sigset(s, &set);
        pthread_sigmask(SIG_BLOCK, &set, &was);
        po__wake old = s->wake;
        s->wake = fresh;
        for (int i = 0; i < PO__NSIG; i++)
            atomic_store(&s->hit[i], 0);
        pthread_sigmask(SIG_SETMASK, &was, NULL);
        po__wake_close(&old);
        s->sock = s->wake.rd;
        return 0;
    }
    }
}

int po__sig_read(po_signal *s) {
#ifdef __linux__
    if (s->mech == PO__SIG_FD)
        return po__sig_read_fd(s);
#endif
#ifdef POLLEROS_HAVE_KQUEUE
    if (s->mech == PO__SIG_KQUEUE)
        return po__sig_read_kqueue(s);
#endif
    (void)s;
    return 0;
}
