/*
 * Signal channels: the part every system shares (signal.c) and what each
 * system provides (signal_posix.c, signal_win.c).
 *
 * A po_signal owns one object the poller watches for readability like a
 * socket: a signalfd (epoll), a kqueue holding EVFILT_SIGNAL filters
 * (kqueue), or the notifier's wake-up object (wake.h) written by a handler
 * that raises a per-signal flag first (poll and uring on POSIX; console
 * control events on Windows).  The flags are atomic ints, which a signal
 * handler may store to.
 */
#ifndef POLLEROS_SIGCHAN_H
#define POLLEROS_SIGCHAN_H

#ifndef _WIN32
#include <signal.h>
#endif
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "polleros.h"
#include "wake.h"

/* Signal numbers run from 1 to PO__NSIG - 1 (Linux has 64; others fewer):
 * bit signo - 1 of a 64-bit set. */
enum { PO__NSIG = 65 };

/* How a po_signal hears its signals. */
enum {
    PO__SIG_FD,     /* signalfd: the kernel queues, take reads */
    PO__SIG_KQUEUE, /* EVFILT_SIGNAL in a kqueue of its own */
    PO__SIG_FLAGS   /* a handler raises hit[] and writes wake */
};

struct po_signal {
    uint64_t set;             /* the attached signals */
    int mech;                 /* PO__SIG_... */
    po_socket sock;           /* what the channel watches */
    po__wake wake;            /* PO__SIG_FLAGS */
    unsigned cursor;          /* where the next scan of hit[] starts */
    atomic_int hit[PO__NSIG]; /* PO__SIG_FLAGS: arrived, not yet taken */
#ifndef _WIN32
    sigset_t unblock; /* PO__SIG_FD: the signals attach blocked */
    /* The actions replaced by attach, one per signal of the set in
     * increasing order (PO__SIG_FLAGS, PO__SIG_KQUEUE). */
    struct sigaction old[];
#endif
};

/* Whether signo can be attached on this system. */
int po__sig_valid(int signo);
/* The bytes of a po_signal for nsig signals. */
size_t po__sig_size(unsigned nsig);
/* Starts hearing s->set for a poller of this backend: fills mech and sock.
 * 0, or an errno (a Winsock code on Windows) with nothing changed. */
int po__sig_open(po_signal *s, po_backend_kind kind);
/* Undoes po__sig_open(). */
void po__sig_close(po_signal *s);
#ifndef _WIN32
/* In a child after fork(): a kernel object of the child's own in place of
 * the inherited one (s->sock and, for a handler, s->wake), which stays the
 * parent's; the child's copy of its descriptor is closed where the child
 * has one (a kqueue is not inherited).  The mask and the actions, which
 * the child inherited, stay; flags raised in the parent are the parent's.
 * 0, or an errno with s as it was. */
int po__sig_after_fork(po_signal *s);
#endif
/* PO__SIG_FD, PO__SIG_KQUEUE: the next signal the kernel holds for s, or
 * 0 when it holds none. */
int po__sig_read(po_signal *s);
#ifdef _WIN32
/* The console control handler: nonzero when a channel took the event.
 * The tests call it directly: under Wine a program cannot send itself a
 * console event. */
int po__sig_console_event(unsigned long event);
#endif

#endif
