/* The socket pairs of sockpair.h on Windows: loopback TCP connections. */
#include "sockpair.h"

#include <windows.h>

#include <stdio.h>
#include <string.h>

static char sp_why_buf[128];

static int sp_failed(const char *what) {
    snprintf(sp_why_buf, sizeof sp_why_buf, "%s: Winsock error %d", what,
             WSAGetLastError());
    return -1;
}

const char *sp_why(void) { return sp_why_buf; }

int sp_start(void) {
    WSADATA wsa;
    int rc = WSAStartup(MAKEWORD(2, 2), &wsa);
    if (rc != 0) {
        snprintf(sp_why_buf, sizeof sp_why_buf, "WSAStartup: error %d", rc);
        return -1;
    }
    return 0;
}

static int sp_nonblock(SOCKET s) {
    u_long on = 1;
    int nodelay = 1; /* a small write leaves at once, as on AF_UNIX */
    if (ioctlsocket(s, FIONBIO, &on) != 0 ||
        setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&nodelay,
                   sizeof nodelay) != 0)
        return sp_failed("ioctlsocket/setsockopt");
    return 0;
}

static struct sockaddr_in sp_loopback(u_short port) {
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sa;
}

/* s's own port (or its peer's); 0 on failure. */
static u_short sp_port(SOCKET s, bool peer) {
    struct sockaddr_in sa;
    int len = sizeof sa;
    if ((peer ? getpeername(s, (struct sockaddr *)&sa, &len)
              : getsockname(s, (struct sockaddr *)&sa, &len)) != 0) {
        sp_failed(peer ? "getpeername" : "getsockname");
        return 0;
    }
    return ntohs(sa.sin_port);
}

/* A connection to the process's one listener; sv[0] is the accepted end. */
int sp_pair(sp_sock sv[2]) {
    static SOCKET listener = INVALID_SOCKET;
    static u_short port;
    if (listener == INVALID_SOCKET) {
        struct sockaddr_in sa = sp_loopback(0);
        SOCKET l = socket(AF_INET, SOCK_STREAM, 0);
        if (l == INVALID_SOCKET)
            return sp_failed("listener");
        if (bind(l, (struct sockaddr *)&sa, sizeof sa) != 0 ||
            listen(l, SOMAXCONN) != 0 || (port = sp_port(l, false)) == 0) {
            sp_failed("listener");
            closesocket(l);
            return -1;
        }
        listener = l;
    }
    struct sockaddr_in sa = sp_loopback(port);
    SOCKET c = socket(AF_INET, SOCK_STREAM, 0);
    if (c == INVALID_SOCKET)
        return sp_failed("socket");
    if (connect(c, (struct sockaddr *)&sa, sizeof sa) != 0) {
        sp_failed("connect");
        closesocket(c);
        return -1;
    }
    SOCKET a = accept(listener, NULL, NULL);
    if (a == INVALID_SOCKET) {
        sp_failed("accept");
        closesocket(c);
        return -1;
    }
    u_short ours = sp_port(c, false), theirs = sp_port(a, true);
    int rc = ours != 0 && theirs != 0 ? 0 : -1;
    if (rc == 0 && ours != theirs) {
        snprintf(sp_why_buf, sizeof sp_why_buf,
                 "accepted another connection than ours (port %u, not %u)",
                 (unsigned)theirs, (unsigned)ours);
        rc = -1;
    }
    if (rc == 0)
        rc = sp_nonblock(a) == 0 && sp_nonblock(c) == 0 ? 0 : -1;
    if (rc != 0) {
        closesocket(a);
        closesocket(c);
        return -1;
    }
    sv[0] = a;
    sv[1] = c;
    return 0;
}

int sp_close(sp_sock s) { return closesocket((SOCKET)s); }

int sp_discard(sp_sock s) {
    struct linger lg = {1, 0};
    (void)setsockopt((SOCKET)s, SOL_SOCKET, SO_LINGER, (const char *)&lg,
                     sizeof lg);
    return closesocket((SOCKET)s);
}

int sp_shutdown_send(sp_sock s) { return shutdown((SOCKET)s, SD_SEND); }

sp_sock sp_dup(sp_sock s) {
    WSAPROTOCOL_INFOW info;
    if (WSADuplicateSocketW((SOCKET)s, GetCurrentProcessId(), &info) != 0) {
        sp_failed("WSADuplicateSocket");
        return SP_NONE;
    }
    SOCKET d = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
                          FROM_PROTOCOL_INFO, &info, 0, WSA_FLAG_OVERLAPPED);
    if (d == INVALID_SOCKET) {
        sp_failed("WSASocket");
        return SP_NONE;
    }
    if (sp_nonblock(d) != 0) {
        closesocket(d);
        return SP_NONE;
    }
    return d;
}

long sp_read(sp_sock s, void *buf, size_t n) {
    return recv((SOCKET)s, buf, (int)n, 0);
}
long sp_write(sp_sock s, const void *buf, size_t n) {
    return send((SOCKET)s, buf, (int)n, 0);
}

int sp_errno(void) { return WSAGetLastError(); }
const char *sp_strerror(int e) {
    static char buf[32];
    snprintf(buf, sizeof buf, "Winsock error %d", e);
    return buf;
}
bool sp_again(int e) { return e == WSAEWOULDBLOCK; }
bool sp_reset(int e) { return e == WSAECONNRESET; }

int sp_settle(const sp_sock *s, size_t n, sp_pollfd *pfd) {
    size_t left = n;
    for (size_t i = 0; i < n; i++) {
        pfd[i].fd = (SOCKET)s[i];
        pfd[i].events = POLLRDNORM;
        pfd[i].revents = 0;
    }
    for (int tries = 0; left > 0; tries++) {
        if (tries == 5000) {
            snprintf(sp_why_buf, sizeof sp_why_buf,
                     "%lu socket(s) never became readable",
                     (unsigned long)left);
            return -1;
        }
        if (WSAPoll(pfd, (ULONG)left, tries == 0 ? 0 : 1) < 0)
            return sp_failed("WSAPoll");
        for (size_t i = 0; i < left;) {
            if (pfd[i].revents & (POLLRDNORM | POLLHUP | POLLERR))
                pfd[i] = pfd[--left];
            else
                pfd[i++].revents = 0;
        }
    }
    return 0;
}
