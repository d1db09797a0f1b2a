/*
 * Windows: a loopback TCP connection.  The wepoll API and WSAPoll watch only
 * sockets, and Windows has no socketpair(); the pair is made by listening on
 * 127.0.0.1 with an ephemeral port, connecting, and accepting.  Another
 * process could connect to that port in between, so the accepted peer is
 * checked to be our own connecting socket.  Winsock is started by the poller
 * the notifier belongs to.
 */
#include <winsock2.h>

#include <ws2tcpip.h>

#include "wake.h"

static int po__wake_fail(SOCKET a, SOCKET b, SOCKET c) {
    int e = WSAGetLastError();
    SOCKET all[3] = {a, b, c};
    for (int i = 0; i < 3; i++)
        if (all[i] != INVALID_SOCKET)
            closesocket(all[i]);
    return e ? e : WSAEINVAL;
}

static int po__same_addr(const struct sockaddr_in *x,
                         const struct sockaddr_in *y) {
    return x->sin_port == y->sin_port &&
           x->sin_addr.s_addr == y->sin_addr.s_addr;
}

int po__wake_open(po__wake *w) {
    SOCKET lst = INVALID_SOCKET, wr = INVALID_SOCKET, rd = INVALID_SOCKET;
    struct sockaddr_in addr = {0}, mine = {0}, peer = {0};
    int len = sizeof addr;
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    lst = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
                     WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (lst == INVALID_SOCKET ||
        bind(lst, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(lst, 1) != 0 ||
        getsockname(lst, (struct sockaddr *)&addr, &len) != 0)
        return po__wake_fail(lst, wr, rd);
    wr = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
                    WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (wr == INVALID_SOCKET ||
        connect(wr, (struct sockaddr *)&addr, sizeof addr) != 0)
        return po__wake_fail(lst, wr, rd);
    len = sizeof mine;
    if (getsockname(wr, (struct sockaddr *)&mine, &len) != 0)
        return po__wake_fail(lst, wr, rd);
    for (;;) {
        len = sizeof peer;
        rd = accept(lst, (struct sockaddr *)&peer, &len);
        if (rd == INVALID_SOCKET)
            return po__wake_fail(lst, wr, rd);
        if (po__same_addr(&peer, &mine))
            break;
        closesocket(rd); /* a stranger: not ours */
    }
    closesocket(lst);
    u_long on = 1;
    BOOL nodelay = TRUE;
    if (ioctlsocket(rd, FIONBIO, &on) != 0 ||
        ioctlsocket(wr, FIONBIO, &on) != 0 ||
        setsockopt(wr, IPPROTO_TCP, TCP_NODELAY, (const char *)&nodelay,
                   sizeof nodelay) != 0)
        return po__wake_fail(INVALID_SOCKET, wr, rd);
    w->rd = (po_socket)rd;
    w->wr = (po_socket)wr;
    atomic_flag_clear(&w->sending);
    return 0;
}

void po__wake_close(po__wake *w) {
    closesocket((SOCKET)w->rd);
    closesocket((SOCKET)w->wr);
}

/* Two threads sending on one socket at once can both be refused with
 * WSAEWOULDBLOCK while the buffers are empty (Wine does it), and then no
 * wake-up would be written at all.  So the senders take turns: a wake-up is
 * written only when the poller was not already woken, so the turns are
 * rare and short.  WSAEWOULDBLOCK then counts as done only when the reading
 * end does hold bytes; otherwise the send is tried again. */
int po__wake_signal(po__wake *w) {
    char b = 1;
    int e = 0;
    while (atomic_flag_test_and_set_explicit(&w->sending, memory_order_acquire))
        SwitchToThread();
    while (send((SOCKET)w->wr, &b, 1, 0) != 1) {
        e = WSAGetLastError();
        u_long queued = 0;
        if (e != WSAEWOULDBLOCK ||
            (ioctlsocket((SOCKET)w->rd, FIONREAD, &queued) == 0 && queued > 0))
            break;
        e = 0;
        SwitchToThread();
    }
    atomic_flag_clear_explicit(&w->sending, memory_order_release);
    return e == WSAEWOULDBLOCK ? 0 : e;
}

void po__wake_drain(po__wake *w) {
    char buf[64];
    while (recv((SOCKET)w->rd, buf, sizeof buf, 0) > 0)
        ;
}
