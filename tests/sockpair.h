/*
 * Connected non-blocking stream pairs for the test programs that run the
 * poller against real sockets (the operation fuzzer and the churn soak),
 * with the few socket calls they make on them.
 *
 * POSIX: an AF_UNIX socketpair, whose readiness changes within the call that
 * changes it.  Windows has no socketpair() (and Wine no AF_UNIX): a pair is
 * a loopback TCP connection to the process's one listener, Nagle off, whose
 * bytes and FIN reach the other end a little after the call that sent them
 * (sp_settle() waits for them), and whose ends, once done with, are closed
 * with a reset (sp_discard()) so that a run's many connections leave no
 * TIME_WAIT behind to run out of ports.
 *
 * Nothing here exits or prints: a call that fails returns -1 (SP_NONE for
 * sp_dup()) and sp_why() then says what failed and why.  sp_read() and
 * sp_write() are the system's calls: on -1, sp_errno() is the error.
 */
#ifndef POLLEROS_TESTS_SOCKPAIR_H
#define POLLEROS_TESTS_SOCKPAIR_H

#ifdef _WIN32
/* winsock2.h first: windows.h alone would bring in the old winsock.h. */
#include <winsock2.h>
#endif
#include <stdbool.h>
#include <stddef.h>

#include "polleros.h"

/* A socket as the poller takes it; SP_NONE is none. */
typedef po_socket sp_sock;
#define SP_NONE PO_NO_SOCKET

#ifdef _WIN32
/* Closing an end sends a FIN, which the other end reads as a half-close:
 * EOF, no hang-up. */
enum { SP_CLOSE_HANGS_UP = 0 };
typedef WSAPOLLFD sp_pollfd;
#else
enum { SP_CLOSE_HANGS_UP = 1 };
typedef int sp_pollfd;
#endif

/* Once per process, first: starts Winsock; on POSIX, makes a write to a
 * peer that is gone fail instead of killing the process (SIGPIPE). */
int sp_start(void);

/* A connected pair, both ends non-blocking and close-on-exec; on Windows
 * sv[0] is the accepted end. */
int sp_pair(sp_sock sv[2]);

/* Closes s (on Windows: with a FIN). */
int sp_close(sp_sock s);
/* Closes an end whose connection is over (on Windows: with a reset). */
int sp_discard(sp_sock s);
/* shutdown() for sending. */
int sp_shutdown_send(sp_sock s);
/* A second socket for the same connection, non-blocking, SP_NONE on
 * failure.  On POSIX its number is above s's, so that s's own number is
 * free for the next pair once s is closed. */
sp_sock sp_dup(sp_sock s);

long sp_read(sp_sock s, void *buf, size_t n);
long sp_write(sp_sock s, const void *buf, size_t n);

/* The error of the last failed socket call (errno, WSAGetLastError()),
 * and what it means. */
int sp_errno(void);
const char *sp_strerror(int e);
/* e is "would block" (EAGAIN, WSAEWOULDBLOCK). */
bool sp_again(int e);
/* e is "connection reset". */
bool sp_reset(int e);

/* Waits until each of the n sockets s is readable (bytes or EOF) by the
 * system's own account, using pfd (room for n); -1 if that has not come
 * after seconds.  At once on POSIX: nothing is ever in flight there. */
int sp_settle(const sp_sock *s, size_t n, sp_pollfd *pfd);

/* What the last call of this module that failed tried, and why. */
const char *sp_why(void);

#endif
