/*
 * The echo programs' socket layer on Windows: Winsock and
 * WSAGetLastError().
 */
#include "echo_common.h"

/* winsock2.h first: windows.h alone would bring in the old winsock.h. */
#include <winsock2.h>

#include <windows.h>
#include <ws2tcpip.h>

#include <stdio.h>
#include <string.h>

bool echo_net_start(void) {
    WSADATA wsa;
    int rc = WSAStartup(MAKEWORD(2, 2), &wsa);
    if (rc != 0) {
        fprintf(stderr, "WSAStartup: %s\n", echo_strerror(rc));
        return false;
    }
    return true; /* Winsock raises no signal for a peer that went away */
}

/* Sockets are handles: no per-process descriptor limit to raise. */
uint64_t echo_raise_nofile(void) { return UINT64_MAX; }

int echo_sock_errno(void) { return WSAGetLastError(); }
bool echo_would_block(int err) { return err == WSAEWOULDBLOCK; }
bool echo_interrupted(int err) { return err == WSAEINTR; }
/* A non-blocking connect() in progress says WSAEWOULDBLOCK. */
bool echo_in_progress(int err) { return err == WSAEWOULDBLOCK; }
bool echo_peer_aborted(int err) {
    return err == WSAECONNABORTED || err == WSAECONNRESET;
}
bool echo_out_of_files(int err) {
    return err == WSAEMFILE || err == WSAENOBUFS;
}
bool echo_refused(int err) { return err == WSAECONNREFUSED; }

const char *echo_strerror(int err) {
    static char msg[256];
    DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM |
                                 FORMAT_MESSAGE_IGNORE_INSERTS,
                             NULL, (DWORD)err, 0, msg, sizeof msg, NULL);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    if (n == 0)
        snprintf(msg, sizeof msg, "Winsock error %d", err);
    return msg;
}

echo_sock echo_tcp_socket(void) {
    SOCKET s = socket(AF_INET, SOCK_STREAM, 0);
    if (s == INVALID_SOCKET)
        return ECHO_NO_SOCK;
    if (!echo_set_nonblock(s)) {
        return echo_close_failed(s);
    }
    return s;
}

void echo_close(echo_sock s) { closesocket((SOCKET)s); }

echo_sock echo_close_failed(echo_sock s) {
    int saved = WSAGetLastError();
    closesocket((SOCKET)s);
    WSASetLastError(saved);
    return ECHO_NO_SOCK;
}

static struct sockaddr_in echo_loopback(uint16_t port) {
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sa;
}

echo_sock echo_tcp_listen(uint16_t port, int backlog, uint16_t *bound) {
    SOCKET s = socket(AF_INET, SOCK_STREAM, 0);
    if (s == INVALID_SOCKET)
        return ECHO_NO_SOCK;
    /* No SO_REUSEADDR: on Windows it would let another socket steal the
     * port; a listener there needs nothing to rebind after a restart. */
    struct sockaddr_in sa = echo_loopback(port);
    int len = sizeof sa;
    if (bind(s, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        (backlog >= 0 && listen(s, backlog) != 0) || !echo_set_nonblock(s) ||
        getsockname(s, (struct sockaddr *)&sa, &len) != 0) {
        return echo_close_failed(s);
    }
    *bound = ntohs(sa.sin_port);
    return s;
}

echo_sock echo_tcp_bound(uint16_t *bound) {
    return echo_tcp_listen(0, -1, bound);
}

echo_sock echo_accept(echo_sock l) {
    SOCKET s = accept((SOCKET)l, NULL, NULL);
    if (s == INVALID_SOCKET)
        return ECHO_NO_SOCK;
    if (!echo_set_nonblock(s)) {
        return echo_close_failed(s);
    }
    return s;
}

int echo_connect_loopback(echo_sock s, uint16_t port) {
    struct sockaddr_in sa = echo_loopback(port);
    return connect((SOCKET)s, (struct sockaddr *)&sa, sizeof sa) == 0
               ? 0
               : WSAGetLastError();
}

bool echo_set_nonblock(echo_sock s) {
    /* Handles are not inherited unless asked for: nothing like
     * close-on-exec to set. */
    u_long on = 1;
    return ioctlsocket((SOCKET)s, FIONBIO, &on) == 0;
}

void echo_set_nodelay(echo_sock s) {
    int one = 1;
    /* Only a latency matter: a failure changes no result. */
    (void)setsockopt((SOCKET)s, IPPROTO_TCP, TCP_NODELAY, (const char *)&one,
                     sizeof one);
}

static int echo_len(size_t n) { return n > INT32_MAX ? INT32_MAX : (int)n; }

long echo_send(echo_sock s, const void *buf, size_t n) {
    int r = send((SOCKET)s, buf, echo_len(n), 0);
    return r == SOCKET_ERROR ? -1 : r;
}

long echo_recv(echo_sock s, void *buf, size_t n) {
    int r = recv((SOCKET)s, buf, echo_len(n), 0);
    return r == SOCKET_ERROR ? -1 : r;
}

bool echo_shutdown_send(echo_sock s) {
    return shutdown((SOCKET)s, SD_SEND) == 0;
}

int echo_so_error(echo_sock s) {
    int err = 0, len = sizeof err;
    return getsockopt((SOCKET)s, SOL_SOCKET, SO_ERROR, (char *)&err, &len) == 0
               ? err
               : WSAGetLastError();
}

double echo_now(void) {
    static LARGE_INTEGER freq;
    LARGE_INTEGER now;
    if (freq.QuadPart == 0)
        QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&now);
    return (double)now.QuadPart / (double)freq.QuadPart;
}
