/*
 * The socket helpers on Windows: Winsock SOCKETs, loopback TCP pairs in
 * place of socketpair(), WSAPoll.  Winsock is started by the first helper
 * that needs it and left running until the process exits.
 */
#include "harness.h"

/* winsock2.h first: windows.h alone would bring in the old winsock.h. */
#include <winsock2.h>

#include <windows.h>
#include <ws2tcpip.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const int t_econnrefused = WSAECONNREFUSED;

static void t_net(void) {
    static bool started;
    if (!started) {
        WSADATA wsa;
        CHECK_EQ(WSAStartup(MAKEWORD(2, 2), &wsa), 0);
        started = true;
    }
}

static _Noreturn void t_wsa_fail(const char *file, int line, const char *op) {
    po_fail(file, line, "%s: Winsock error %d", op, WSAGetLastError());
}
#define T_WSA_FAIL(op) t_wsa_fail(__FILE__, __LINE__, op)

int64_t t_now_ms(void) {
    /* The performance counter, not GetTickCount64(): the tick count moves
     * in steps of 10 to 16 ms, too coarse for the cases' timing checks. */
    static LARGE_INTEGER freq;
    LARGE_INTEGER now;
    if (freq.QuadPart == 0)
        QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&now);
    return (int64_t)(now.QuadPart / freq.QuadPart * 1000 +
                     now.QuadPart % freq.QuadPart * 1000 / freq.QuadPart);
}

void t_setenv(const char *name, const char *value) {
    /* The C library keeps its own copy of the environment, which getenv()
     * reads: change that one.  An empty value removes the variable. */
    CHECK_EQ(_putenv_s(name, value ? value : ""), 0);
}

static void t_nonblock(SOCKET s) {
    u_long on = 1;
    if (ioctlsocket(s, FIONBIO, &on) != 0)
        T_WSA_FAIL("ioctlsocket(FIONBIO)");
}

static void t_nodelay(SOCKET s) {
    /* A small write must leave at once, not wait for the peer's ACK of an
     * earlier one, as it would on an AF_UNIX pair. */
    int on = 1;
    if (setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&on, sizeof on) !=
        0)
        T_WSA_FAIL("setsockopt(TCP_NODELAY)");
}

static struct sockaddr_in t_loopback(uint16_t port) {
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sa;
}

static uint16_t t_port_of(SOCKET s, bool peer) {
    struct sockaddr_in sa;
    int len = sizeof sa;
    int rc = peer ? getpeername(s, (struct sockaddr *)&sa, &len)
                  : getsockname(s, (struct sockaddr *)&sa, &len);
    if (rc != 0)
        T_WSA_FAIL(peer ? "getpeername" : "getsockname");
    return ntohs(sa.sin_port);
}

/* ------------------------------------------------------------------------ */
/* Pairs                                                                    */

/* One listener for every pair of the process. */
static SOCKET t_pair_listener(uint16_t *port) {
    static SOCKET l = INVALID_SOCKET;
    static uint16_t lport;
    if (l == INVALID_SOCKET) {
        t_net();
        l = socket(AF_INET, SOCK_STREAM, 0);
        if (l == INVALID_SOCKET)
            T_WSA_FAIL("socket");
        struct sockaddr_in sa = t_loopback(0);
        if (bind(l, (struct sockaddr *)&sa, sizeof sa) != 0 ||
            listen(l, SOMAXCONN) != 0)
            T_WSA_FAIL("bind/listen");
        lport = t_port_of(l, false);
    }
    *port = lport;
    return l;
}

/* Connects c (blocking) to the pair listener and accepts its other end. */
static void t_pair_connect(SOCKET c, t_sock sv[2]) {
    uint16_t port;
    SOCKET l = t_pair_listener(&port);
    struct sockaddr_in sa = t_loopback(port);
    if (connect(c, (struct sockaddr *)&sa, sizeof sa) != 0)
        T_WSA_FAIL("connect");
    SOCKET a = accept(l, NULL, NULL);
    if (a == INVALID_SOCKET)
        T_WSA_FAIL("accept");
    /* The accepted end must be this connection, not a stray one. */
    CHECK_EQ(t_port_of(a, true), t_port_of(c, false));
    t_nonblock(a);
    t_nonblock(c);
    t_nodelay(a);
    t_nodelay(c);
    sv[0] = a;
    sv[1] = c;
}

/* Pairs given back by t_pair_done(), clean and ready for reuse.  Some cases
 * make tens of thousands of pairs (one scenario per injected allocation
 * failure); TCP handshakes at that rate would take minutes. */
enum { T_POOL_MAX = 4096 };
static t_sock t_pool[T_POOL_MAX][2];
static size_t t_npool;

void t_socketpair(t_sock sv[2]) {
    if (t_npool > 0) {
        t_npool--;
        sv[0] = t_pool[t_npool][0];
        sv[1] = t_pool[t_npool][1];
        return;
    }
    t_net();
    SOCKET c = socket(AF_INET, SOCK_STREAM, 0);
    if (c == INVALID_SOCKET)
        T_WSA_FAIL("socket");
    t_pair_connect(c, sv);
}

void t_close(t_sock s) {
    if (closesocket((SOCKET)s) != 0)
        T_WSA_FAIL("closesocket");
}

void t_pair_done(t_sock sv[2]) {
    char buf[4096];
    for (int i = 0; i < 2; i++)
        while (t_read_some(sv[i], buf, sizeof buf) > 0)
            continue;
    if (t_npool == T_POOL_MAX) {
        t_close(sv[0]);
        t_close(sv[1]);
        return;
    }
    t_pool[t_npool][0] = sv[0];
    t_pool[t_npool][1] = sv[1];
    t_npool++;
}

void t_hangup(t_sock s) {
    /* A zero linger time makes closesocket() reset the connection instead
     * of sending a FIN: the peer can then neither read nor write. */
    struct linger lg = {1, 0};
    if (setsockopt((SOCKET)s, SOL_SOCKET, SO_LINGER, (const char *)&lg,
                   sizeof lg) != 0)
        T_WSA_FAIL("setsockopt(SO_LINGER)");
    t_close(s);
}

void t_shutdown_send(t_sock s) {
    if (shutdown((SOCKET)s, SD_SEND) != 0)
        T_WSA_FAIL("shutdown(SD_SEND)");
}

t_sock t_dup(t_sock s) {
    WSAPROTOCOL_INFOW info;
    if (WSADuplicateSocketW((SOCKET)s, GetCurrentProcessId(), &info) != 0)
        T_WSA_FAIL("WSADuplicateSocket");
    SOCKET d = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
                          FROM_PROTOCOL_INFO, &info, 0, WSA_FLAG_OVERLAPPED);
    if (d == INVALID_SOCKET)
        T_WSA_FAIL("WSASocket");
    t_nonblock(d);
    return d;
}

bool t_socketpair_at(t_sock x, t_sock sv[2]) {
    /* Windows hands out a freed handle value again soon (Wine: the lowest
     * free one; Windows: the last freed one): make sockets until one has
     * the number, keeping the others aside meanwhile. */
    enum { TRIES = 64 };
    SOCKET other[TRIES];
    int n = 0;
    bool found = false;
    t_net();
    while (n < TRIES) {
        SOCKET s = socket(AF_INET, SOCK_STREAM, 0);
        if (s == INVALID_SOCKET)
            T_WSA_FAIL("socket");
        if ((t_sock)s == x) {
            t_pair_connect(s, sv);
            /* t_pair_connect puts the connecting end second. */
            sv[1] = sv[0];
            sv[0] = x;
            found = true;
            break;
        }
        other[n++] = s;
    }
    for (int i = 0; i < n; i++)
        t_close(other[i]);
    return found;
}

/* ------------------------------------------------------------------------ */
/* TCP                                                                      */

t_sock t_tcp_socket(void) {
    t_net();
    SOCKET s = socket(AF_INET, SOCK_STREAM, 0);
    if (s == INVALID_SOCKET)
        T_WSA_FAIL("socket");
    t_nonblock(s);
    return s;
}

t_sock t_accept(t_sock listener) {
    t_sock s = t_accept_some(listener);
    CHECK(s != T_NO_SOCK);
    return s;
}

t_sock t_accept_some(t_sock listener) {
    SOCKET s = accept((SOCKET)listener, NULL, NULL);
    if (s == INVALID_SOCKET) {
        if (WSAGetLastError() != WSAEWOULDBLOCK)
            T_WSA_FAIL("accept");
        return T_NO_SOCK;
    }
    t_nonblock(s);
    return s;
}

t_sock t_listener_backlog(int backlog, uint16_t *port) {
    t_sock s = t_tcp_socket();
    struct sockaddr_in sa = t_loopback(0);
    if (bind((SOCKET)s, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen((SOCKET)s, backlog) != 0)
        T_WSA_FAIL("bind/listen");
    *port = t_port_of((SOCKET)s, false);
    return s;
}

t_sock t_listener(uint16_t *port) { return t_listener_backlog(128, port); }

t_sock t_connect(uint16_t port) {
    t_sock s = t_tcp_socket();
    struct sockaddr_in sa = t_loopback(port);
    if (connect((SOCKET)s, (struct sockaddr *)&sa, sizeof sa) != 0 &&
        WSAGetLastError() != WSAEWOULDBLOCK)
        T_WSA_FAIL("connect");
    return s;
}

uint16_t t_closed_port(void) {
    uint16_t port;
    t_sock s = t_listener(&port);
    t_close(s);
    return port;
}

int t_so_error(t_sock s) {
    int e = -1, len = sizeof e;
    if (getsockopt((SOCKET)s, SOL_SOCKET, SO_ERROR, (char *)&e, &len) != 0)
        T_WSA_FAIL("getsockopt(SO_ERROR)");
    return e;
}

/* ------------------------------------------------------------------------ */
/* Bytes                                                                    */

long t_write_some(t_sock s, const void *buf, size_t n) {
    int len = n > INT32_MAX ? INT32_MAX : (int)n;
    int w = send((SOCKET)s, buf, len, 0);
    if (w >= 0)
        return w;
    if (WSAGetLastError() == WSAEWOULDBLOCK)
        return -1;
    T_WSA_FAIL("send");
}

void t_write_all(t_sock s, const void *buf, size_t n) {
    const char *b = buf;
    while (n > 0) {
        long w = t_write_some(s, b, n);
        if (w < 0)
            po_fail(__FILE__, __LINE__, "send: the socket's buffer is full");
        b += w;
        n -= (size_t)w;
    }
}

long t_read_some(t_sock s, void *buf, size_t n) {
    int len = n > INT32_MAX ? INT32_MAX : (int)n;
    int r = recv((SOCKET)s, buf, len, 0);
    if (r >= 0)
        return r;
    switch (WSAGetLastError()) {
    case WSAEWOULDBLOCK:
        return -1;
    case WSAECONNRESET:
    case WSAECONNABORTED:
        /* The peer hung up (t_hangup): the end of the stream, as a closed
         * AF_UNIX peer reads on POSIX. */
        return 0;
    default:
        T_WSA_FAIL("recv");
    }
}

bool t_ready(t_sock s, bool writable, int timeout_ms) {
    short events = writable ? POLLWRNORM : POLLRDNORM;
    WSAPOLLFD pfd = {(SOCKET)s, events, 0};
    int rc = WSAPoll(&pfd, 1, timeout_ms);
    if (rc < 0)
        T_WSA_FAIL("WSAPoll");
    /* A peer's FIN or reset is readable: the read says EOF. */
    short seen = writable ? POLLWRNORM : (POLLRDNORM | POLLHUP);
    return rc == 1 && (pfd.revents & seen);
}

/* ------------------------------------------------------------------------ */
/* Other                                                                    */

bool t_pipe(t_sock p[2]) {
    (void)p;
    return false; /* an anonymous pipe is no SOCKET: no backend takes it */
}

t_sock t_regular_file(const void *data, size_t n) {
    char dir[MAX_PATH], path[MAX_PATH];
    CHECK(GetTempPathA(sizeof dir, dir) > 0);
    CHECK(GetTempFileNameA(dir, "pol", 0, path) != 0);
    HANDLE h =
        CreateFileA(path, GENERIC_READ | GENERIC_WRITE,
                    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                    NULL, CREATE_ALWAYS,
                    FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE, NULL);
    CHECK(h != INVALID_HANDLE_VALUE);
    DWORD done = 0;
    CHECK(WriteFile(h, data, (DWORD)n, &done, NULL) && done == n);
    CHECK(SetFilePointer(h, 0, NULL, FILE_BEGIN) == 0);
    return (t_sock)(uintptr_t)h;
}

void t_close_file(t_sock f) { CHECK(CloseHandle((HANDLE)(uintptr_t)f)); }

t_sock t_open_special(const char *what) {
    (void)what; /* a directory or NUL is not a handle a poller is given */
    return T_NO_SOCK;
}

int t_file_errno(const char *backend) {
    /* Both Windows backends take sockets only. */
    (void)backend;
    return ENOTSOCK;
}

void t_fd_limit(size_t n) {
    (void)n; /* no per-process socket limit to raise */
}

/* Windows has no fork: the fork cases skip before calling these. */
const bool t_has_fork = false;
long t_fork(void) { po_fail(__FILE__, __LINE__, "no fork on Windows"); }
void t_child_exit(void) { _Exit(1); }
int t_child_status(long pid) {
    (void)pid;
    po_fail(__FILE__, __LINE__, "no fork on Windows");
}
void t_child_passed(long pid) { t_child_status(pid); }
void t_fd_cap(int extra) { (void)extra; }

struct t_thread {
    HANDLE h;
    void (*fn)(void *);
    void *arg;
};

static DWORD WINAPI t_thread_main(LPVOID arg) {
    t_thread *t = arg;
    t->fn(t->arg);
    return 0;
}

t_thread *t_thread_start(void (*fn)(void *), void *arg) {
    t_thread *t = malloc(sizeof *t);
    CHECK(t != NULL);
    t->fn = fn;
    t->arg = arg;
    t->h = CreateThread(NULL, 0, t_thread_main, t, 0, NULL);
    CHECK(t->h != NULL);
    return t;
}

void t_thread_join(t_thread *t) {
    CHECK_EQ(WaitForSingleObject(t->h, INFINITE), WAIT_OBJECT_0);
    CloseHandle(t->h);
    free(t);
}

void t_yield(void) { SwitchToThread(); }

void t_sleep_ms(int ms) { Sleep((DWORD)ms); }
