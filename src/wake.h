/*
 * The kernel object a notifier wakes its poller with: something the poller
 * can watch for readability like a socket, and that any thread can make
 * readable.  An eventfd on Linux, a pipe on other POSIX systems, a loopback
 * TCP pair on Windows (where the poller watches only sockets).  One file per
 * system family: wake_posix.c, wake_win.c.
 */
#ifndef POLLEROS_WAKE_H
#define POLLEROS_WAKE_H

#ifdef _WIN32
#include <stdatomic.h>
#endif

#include "polleros.h"

typedef struct po__wake {
    po_socket rd; /* watched by the poller */
    po_socket wr; /* written by the notifying threads (rd for an eventfd) */
#ifdef _WIN32
    atomic_flag sending; /* one send at a time: see wake_win.c */
#endif
} po__wake;

/* Opens both ends, non-blocking and not inherited by child processes.
 * 0 or an errno (a Winsock code on Windows); nothing is left open on
 * failure. */
int po__wake_open(po__wake *w);
void po__wake_close(po__wake *w);
/* Makes rd readable; thread-safe.  0, or an errno (Winsock code). */
int po__wake_signal(po__wake *w);
/* Reads rd until it is no longer readable.  The poller's thread only. */
void po__wake_drain(po__wake *w);

#endif
