/*
 * Helpers shared by the echo server and the echo client: argument parsing,
 * and a thin socket layer over what differs between POSIX and Winsock
 * (echo_net_posix.c, echo_net_win.c).  Nothing here touches the poller
 * beyond naming a backend.
 */
#ifndef POLLEROS_ECHO_COMMON_H
#define POLLEROS_ECHO_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "polleros.h"

/* Parses arg as a decimal integer in [min, max] for option opt; prints why
 * not and returns false on error. */
bool echo_parse_u64(const char *opt, const char *arg, uint64_t min,
                    uint64_t max, uint64_t *out);

/* "epoll", "poll", "kqueue", "wepoll" or "default" to a backend kind. */
bool echo_parse_backend(const char *arg, po_backend_kind *out);

/* The exit status of an example whose po_create() failed with err: 77
 * (EX_UNAVAILABLE) when the backend chosen by --backend or POLLEROS_BACKEND
 * is not available here (PO_ENOTSUP: io_uring refused by the kernel, say),
 * the status test drivers such as CTest's SKIP_RETURN_CODE read as
 * "skipped"; 1 for any other failure. */
#define EX_UNAVAILABLE 77
int ex_create_status(int err);

/* Writes port to path, for a script that waits for a server to listen:
 * to a temporary name first, then renamed, so that a script polling for
 * the file never reads half of it.  Prints why not and returns false on
 * failure. */
bool echo_write_port_file(const char *path, uint16_t port);

/* ------------------------------------------------------------------------ */
/* Sockets                                                                  */

/* A socket as the poller takes it: a descriptor, or a Winsock SOCKET. */
typedef po_socket echo_sock;
#define ECHO_NO_SOCK PO_NO_SOCKET

/* Readies the socket layer (Winsock must be started; a write to a peer that
 * went away must come back as an error, not SIGPIPE).  False on failure,
 * with a message printed. */
bool echo_net_start(void);

/* A 32-bit integer hash (lowbias32, Chris Wellons's constants): the
 * examples' test bytes, different for every connection and message. */
uint32_t echo_mix32(uint32_t x);

#if defined(__MINGW32__)
#define EX_PRINTF(f, a) __attribute__((format(gnu_printf, f, a)))
#elif defined(__GNUC__)
#define EX_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define EX_PRINTF(f, a)
#endif
/* Reports a run's first failure on stderr as "<prog>: error: <message>"
 * and sets *failed; later ones, usually its consequences, are not
 * printed. */
void ex_fail(bool *failed, const char *prog, const char *fmt, ...)
    EX_PRINTF(3, 4);

/* Raises the limit on open descriptors to the most allowed (the echo
 * programs hold one per connection) and returns the limit now in force;
 * UINT64_MAX where there is none. */
uint64_t echo_raise_nofile(void);

/* The error of the socket call that just failed: errno, or
 * WSAGetLastError() on Windows.  The predicates below classify it; a
 * refused call's error is printed with echo_strerror(). */
int echo_sock_errno(void);
bool echo_would_block(int err);  /* try again when the poller says so */
bool echo_interrupted(int err);  /* a signal: just retry */
bool echo_in_progress(int err);  /* connect() goes on in the background */
bool echo_peer_aborted(int err); /* accept(): that client gave up */
bool echo_out_of_files(int err); /* accept(): no descriptor or memory */
bool echo_refused(int err);      /* connect(): nothing listens there */
const char *echo_strerror(int err);

/* A non-blocking TCP/IPv4 socket, or ECHO_NO_SOCK. */
echo_sock echo_tcp_socket(void);
/* A non-blocking listener on 127.0.0.1:port (0: any free port) with the
 * given backlog (negative: bound, not listening); stores the port it got.
 * ECHO_NO_SOCK on failure. */
echo_sock echo_tcp_listen(uint16_t port, int backlog, uint16_t *bound);
/* A socket bound to 127.0.0.1 on a free port but not listening, so that
 * connecting to that port is refused; stores the port.  Holding it keeps
 * the port from being taken by anyone else.  ECHO_NO_SOCK on failure. */
echo_sock echo_tcp_bound(uint16_t *bound);
/* A new connection from listener l, made non-blocking; ECHO_NO_SOCK when
 * there is none or accept() failed (echo_sock_errno() says which). */
echo_sock echo_accept(echo_sock l);
/* Starts connecting s to 127.0.0.1:port: 0 once connected (loopback may
 * connect at once), else the error (echo_in_progress(): still going). */
int echo_connect_loopback(echo_sock s, uint16_t port);
void echo_close(echo_sock s);
/* Closes s after a failed call on it, keeping that call's error for the
 * caller; returns ECHO_NO_SOCK. */
echo_sock echo_close_failed(echo_sock s);
/* Makes s non-blocking (and close-on-exec where that exists). */
bool echo_set_nonblock(echo_sock s);
/* Disables Nagle's algorithm: a request/response protocol that writes a
 * message in pieces must not wait for the peer's delayed ACK. */
void echo_set_nodelay(echo_sock s);
/* send()/recv() without signals: bytes moved, or -1 with the error in
 * echo_sock_errno(). */
long echo_send(echo_sock s, const void *buf, size_t n);
long echo_recv(echo_sock s, void *buf, size_t n);
/* Shuts down the sending side. */
bool echo_shutdown_send(echo_sock s);
/* The socket's pending error (SO_ERROR), or the error of asking for it. */
int echo_so_error(echo_sock s);

/* Seconds on a monotonic clock. */
double echo_now(void);

#endif /* POLLEROS_ECHO_COMMON_H */
