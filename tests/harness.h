/*
 * The conformance suite's helpers.  Every case runs against the backend named
 * by POLLEROS_BACKEND (CTest sets it), through the public API only, over real
 * sockets.  The checks, po_fail() and po_skip() are the runner's
 * (runner.h).
 *
 * The cases are written once for every system: everything that differs
 * between POSIX descriptors and Winsock SOCKETs lives behind the socket
 * helpers below (harness.c), so a case includes only this header and the
 * standard C library.
 */
#ifndef POLLEROS_TEST_HARNESS_H
#define POLLEROS_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "polleros.h"
#include "runner.h"

#define PO_CASE(name) void case_##name(void);
#include "cases.h"
#undef PO_CASE

/* The backend under test, as po_backend_name() spells it. */
const char *t_backend(void);
/* A poller on the backend under test; checks it was created. */
po_poller *t_poller(void);
po_poller *t_poller_opts(const po_options *opt);

/* The backends this system builds, the default first. */
typedef struct t_backend_info {
    po_backend_kind kind;
    const char *name;
} t_backend_info;
extern const t_backend_info t_native_backends[];
extern const size_t t_native_count;

/* Monotonic milliseconds. */
int64_t t_now_ms(void);

/* Sets (value not NULL) or removes an environment variable, so that
 * getenv() and the library see the change. */
void t_setenv(const char *name, const char *value);

/* ------------------------------------------------------------------------ */
/* Sockets                                                                  */

/* A socket as the poller takes it: a descriptor on POSIX, a SOCKET on
 * Windows.  T_NO_SOCK is "none". */
typedef po_socket t_sock;
#define T_NO_SOCK PO_NO_SOCKET

/*
 * A connected stream pair, both ends non-blocking (and close-on-exec where
 * that exists).  An AF_UNIX socketpair on POSIX; a loopback TCP connection
 * (Nagle off) on Windows, which has no socketpair.  The two differ in one
 * way the cases care about: closing one end of an AF_UNIX pair hangs the
 * other up, closing a TCP end is a FIN (EOF for the reader).  t_hangup()
 * gives the hang-up on both.
 */
void t_socketpair(t_sock sv[2]);
/* Done with a pair whose ends are both still open: closes them.  (On
 * Windows, where making a pair costs a TCP handshake, the pair is drained
 * and kept for the next t_socketpair() of this process.) */
void t_pair_done(t_sock sv[2]);
/* Closes s, checking that it was open. */
void t_close(t_sock s);
/* Closes s so that its peer sees a hang-up (neither side can send or
 * receive any more): a plain close on POSIX's AF_UNIX pairs, an abortive
 * close (a reset) for Windows's TCP ones. */
void t_hangup(t_sock s);
/* Shuts down the sending side of s: its peer reads EOF, s can still
 * receive (a TCP half-close). */
void t_shutdown_send(t_sock s);
/* A second socket for the same connection (dup, WSADuplicateSocket). */
t_sock t_dup(t_sock s);
/* A new pair whose first end is the socket number x, which was just closed
 * (the case wants the number reused).  False where the system will not hand
 * that number out again. */
bool t_socketpair_at(t_sock x, t_sock sv[2]);

/* A new TCP/IPv4 socket. */
t_sock t_tcp_socket(void);
/* Accepts a pending connection (CHECKs there is one). */
t_sock t_accept(t_sock listener);
/* Accepts a pending connection, or returns T_NO_SOCK if none is pending. */
t_sock t_accept_some(t_sock listener);
/* A loopback TCP listener; stores its port. */
t_sock t_listener(uint16_t *port);
t_sock t_listener_backlog(int backlog, uint16_t *port);
/* A non-blocking connect to 127.0.0.1:port, in progress or done. */
t_sock t_connect(uint16_t port);
/* A port on 127.0.0.1 where nothing listens. */
uint16_t t_closed_port(void);
/* The socket's pending error (SO_ERROR): 0, or an errno on POSIX, a WSA
 * error code on Windows. */
int t_so_error(t_sock s);
/* That code for a refused connection. */
extern const int t_econnrefused;

void t_write_all(t_sock s, const void *buf, size_t n);
/* Writes what fits now; returns bytes written, or -1 when the socket's
 * buffers are full. */
long t_write_some(t_sock s, const void *buf, size_t n);
/* Reads what is available now (non-blocking); returns bytes read, 0 at EOF
 * (also after a t_hangup() of the peer, which a TCP pair reads as a reset),
 * -1 when nothing is there (EAGAIN). */
long t_read_some(t_sock s, void *buf, size_t n);
/* Waits up to timeout_ms for s to be readable (or writable), asking the
 * system directly (poll, WSAPoll), not a poller. */
bool t_ready(t_sock s, bool writable, int timeout_ms);

/* A pipe, both ends non-blocking (and close-on-exec): p[0] reads, p[1]
 * writes.  False where the poller cannot watch pipes (Windows). */
bool t_pipe(t_sock p[2]);

/* A regular file holding data, at offset 0, as the poller would be given
 * it (a descriptor; a file HANDLE on Windows). */
t_sock t_regular_file(const void *data, size_t n);
void t_close_file(t_sock f);
/* The errno every backend of this system records for a channel given a
 * regular file (or another descriptor it cannot watch). */
int t_file_errno(const char *backend);
/* A descriptor no backend can watch, opened read-only: "dir" (a directory)
 * or "null" (/dev/null); T_NO_SOCK where the system has no such thing to
 * hand a poller (Windows). */
t_sock t_open_special(const char *what);

/* Makes room for n open sockets in this process, where there is a limit. */
void t_fd_limit(size_t n);

/* Processes, for the fork cases.  Whether this system forks (not
 * Windows). */
extern const bool t_has_fork;
/* fork(), with the output flushed first: the child's process id in the
 * parent, 0 in the child, where a failed check then ends the child with
 * exit status 1 (t_in_child()). */
long t_fork(void);
/* Ends a forked child whose checks held: status 0, and nothing of the
 * parent's (exit handlers, buffered output) run again. */
_Noreturn void t_child_exit(void);
/* Waits for a forked child and checks that it exited with status 0. */
void t_child_passed(long pid);
/* Waits for a forked child that exited normally and returns its status. */
int t_child_status(long pid);
/* An allocator for the cases' allocation failures: after
 * t_alloc_fail_at(k), the k-th of its calls from then on fails, once (0: none
 * does).  t_alloc_done(rc), given what the call under test returned, checks
 * that it was PO_ENOMEM exactly when an allocation failed in the call,
 * disarms, and tells whether the call succeeded. */
extern const po_allocator t_failing_alloc;
void t_alloc_fail_at(long k);
bool t_alloc_done(int rc);
/* Lowers the process's limit of open descriptors so that `extra` more can
 * be opened above the lowest one free (then EMFILE); -1 puts the limit
 * back. */
void t_fd_cap(int extra);

/* Threads (pthreads; Windows threads), for the notifier's cases. */
typedef struct t_thread t_thread;
t_thread *t_thread_start(void (*fn)(void *), void *arg);
void t_thread_join(t_thread *t);
/* Gives the processor to another thread. */
void t_yield(void);
void t_sleep_ms(int ms);

/*
 * A channel whose probe answers `want` and counts its deinits.  Tests attach
 * a t_chan as ctx with t_ops.
 */
typedef struct t_chan {
    po_triggers want;
    int deinits;
    int probes;
    t_sock fd;
    po_channel *ch;
} t_chan;
extern const po_channel_ops t_ops;

/* Whether pollers made with a default reconcile option probe every channel
 * on every wait (POLLEROS_RECONCILE=full), rather than only the channels
 * that can have changed: the count of probes a case expects depends on it. */
bool t_full_reconcile(void);

/* Changes what a test channel (any struct with `want` and `ch`) wants and
 * tells the poller, as an application must in PO_RECONCILE_CHANGED mode
 * when it changes a channel's wants outside that channel's turn. */
#define T_WANT(c, w) ((c)->want = (po_triggers)(w), po_touch((c)->ch))

/* Waits (rounds of po_wait with timeout_ms each, at most `rounds`) until the
 * channel's act contains all of `trig`; returns its act then, or 0. */
po_triggers t_wait_for(po_poller *p, po_channel *ch, po_triggers trig,
                       int rounds, int timeout_ms);
/* Whether the channel is among those the last wait triggered. */
bool t_triggered(po_poller *p, const po_channel *ch);

#endif
