/*
 * os.h on Windows.  The poller owns a Winsock reference for its life, so
 * that an application need not know Winsock must be started for polling.
 * Handles are not inherited by child processes unless asked for: no
 * close-on-exec flag is needed.
 *
 * WSAPoll is poll(2) over SOCKETs, with differences smoothed over here: it
 * refuses an empty vector (an empty round sleeps instead); it fails as a
 * whole for a handle that is not a socket (the poll backend's add refuses
 * such a handle, for that channel alone, with ENOTSOCK); a socket closed
 * behind the poller's back may get POLLNVAL without being counted, or fail
 * the whole call (Wine), so the ready entries are counted here and a
 * failure is turned into POLLNVAL for the closed ones; and a peer's FIN is
 * POLLHUP without POLLERR, which polleros reports as readable (EOF to
 * read), as poll(2) does on POSIX, keeping PO__EV_HUP for a reset.
 */
#include <errno.h>

#include "fault.h"
#include "harvest.h"
#include "os.h"
#include "poller.h"

unsigned long po__process(void) { return GetCurrentProcessId(); }

po__epfd po__epoll_open(void) {
    WSADATA wsa;
    int rc = WSAStartup(MAKEWORD(2, 2), &wsa);
    if (rc != 0) {
        errno = rc;
        return NULL;
    }
    po__epfd port = PO__FAULT(PO__FAULT_CREATE, NULL, epoll_create1(0));
    if (port == NULL) {
        int saved = errno;
        WSACleanup();
        errno = saved;
    }
    return port;
}

void po__epoll_close(po__epfd port) {
    (void)PO__FAULT_AFTER(PO__FAULT_CLOSE, epoll_close(port));
    WSACleanup();
}

int po__epoll_timed(po__epfd ep, po__event *events, int cap,
                    po__timeout timeout, bool *coarse) {
    (void)coarse;
    return po__epoll_ready(ep, events, cap, po__timeout_ms(timeout));
}

int po__poll_start(void) {
    WSADATA wsa;
    /* A fault is reported as WSAStartup reports its errors: returned. */
    return PO__FAULT(PO__FAULT_CREATE, errno, WSAStartup(MAKEWORD(2, 2), &wsa));
}

void po__poll_stop(void) {
    (void)PO__FAULT_AFTER(PO__FAULT_CLOSE, WSACleanup());
}

static int po__socket_check(po_socket s) {
    DWORD flags;
    int type = 0, len = sizeof type;
    if (!GetHandleInformation((HANDLE)s, &flags))
        return EBADF; /* not an open handle at all */
    return getsockopt((SOCKET)s, SOL_SOCKET, SO_TYPE, (char *)&type, &len) == 0
               ? 0
               : ENOTSOCK;
}

/* Two kernel calls, the poll backend's add site. */
int po__poll_check(po_socket s) {
    return PO__FAULT(PO__FAULT_CTL_ADD, errno, po__socket_check(s));
}

int po__poll(po__pollfd *fds, size_t n, po__timeout timeout) {
    int timeout_ms = po__timeout_ms(timeout);
    if (n == 0) {
        Sleep(timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms);
        return 0;
    }
    /* A fault is reported as Winsock reports its errors. */
    int rc = PO__FAULT(PO__FAULT_WAIT, (WSASetLastError(errno), SOCKET_ERROR),
                       WSAPoll(fds, (ULONG)n, timeout_ms));
    if (rc < 0 && WSAGetLastError() != WSAENOTSOCK)
        return -WSAGetLastError();
    int ready = 0;
    for (size_t i = 0; i < n; i++) {
        if (rc < 0)
            fds[i].revents = po__socket_check(fds[i].fd) ? POLLNVAL : 0;
        ready += fds[i].revents != 0;
    }
    return ready;
}

unsigned po__poll_hup(short revents) {
    return (revents & POLLERR) ? PO__EV_HUP : PO__EV_IN;
}
