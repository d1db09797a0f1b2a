/*
 * The wepoll API's argument checks: every failure returns -1 (NULL for the
 * create calls) with both errno and GetLastError() set, in the order Linux
 * checks (a bad handle is EBADF before anything else), and changes nothing.
 */
#include <errno.h>
#include <string.h>

#include "bridge.h"

/* Handles that are not ports: none at all, an invalid value, a value no
 * handle has, and an open handle of another kind. */
static HANDLE api_bogus(void) { return (HANDLE)(uintptr_t)0xbadbad0; }

void case_create_close_errors(void) {
    static const int bad_sizes[] = {0, -1, -1000};
    for (size_t i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++) {
        SetLastError(0);
        errno = 0;
        HANDLE h = epoll_create(bad_sizes[i]);
        CHECK(h == NULL);
        CHECK_FAILED(-1, EINVAL, ERROR_INVALID_PARAMETER);
    }
    static const int bad_flags[] = {1, -1, 0x80000, 19};
    for (size_t i = 0; i < sizeof bad_flags / sizeof bad_flags[0]; i++) {
        HANDLE h = epoll_create1(bad_flags[i]);
        CHECK(h == NULL);
        CHECK_FAILED(-1, EINVAL, ERROR_INVALID_PARAMETER);
    }

    /* Ports are distinct and each closes once. */
    enum { NPORTS = 100 };
    HANDLE ports[NPORTS];
    for (int i = 0; i < NPORTS; i++) {
        ports[i] = i % 2 ? epoll_create(1 + i) : epoll_create1(0);
        CHECK(ports[i] != NULL && ports[i] != INVALID_HANDLE_VALUE);
        for (int j = 0; j < i; j++)
            CHECK(ports[j] != ports[i]);
    }
    for (int i = 0; i < NPORTS; i += 2)
        b_close(ports[i]);
    /* The others still work. */
    for (int i = 1; i < NPORTS; i += 2)
        b_quiet(ports[i], 0);
    for (int i = 1; i < NPORTS; i += 2)
        b_close(ports[i]);

    CHECK_FAILED(epoll_close(NULL), EBADF, ERROR_INVALID_HANDLE);
    CHECK_FAILED(epoll_close(INVALID_HANDLE_VALUE), EBADF,
                 ERROR_INVALID_HANDLE);
    CHECK_FAILED(epoll_close(api_bogus()), EBADF, ERROR_INVALID_HANDLE);
    HANDLE event = CreateEventW(NULL, FALSE, FALSE, NULL);
    CHECK(event != NULL);
    CHECK_FAILED(epoll_close(event), EINVAL, ERROR_INVALID_PARAMETER);
    CHECK(CloseHandle(event)); /* left alone by the refusal */

    /* A closed port is no port. */
    HANDLE port = b_port();
    b_close(port);
    CHECK_FAILED(epoll_close(port), EBADF, ERROR_INVALID_HANDLE);
}

void case_ctl_errors(void) {
    HANDLE port = b_port();
    HANDLE event = CreateEventW(NULL, FALSE, FALSE, NULL);
    CHECK(event != NULL);
    t_sock sv[2], other[2];
    t_socketpair(sv);
    t_socketpair(other);
    t_sock file = t_regular_file("x", 1);
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.u64 = 7;
    SOCKET s = (SOCKET)sv[0];

    /* Not a port. */
    CHECK_FAILED(epoll_ctl(NULL, EPOLL_CTL_ADD, s, &ev), EBADF,
                 ERROR_INVALID_HANDLE);
    CHECK_FAILED(epoll_ctl(INVALID_HANDLE_VALUE, EPOLL_CTL_ADD, s, &ev), EBADF,
                 ERROR_INVALID_HANDLE);
    CHECK_FAILED(epoll_ctl(api_bogus(), EPOLL_CTL_ADD, s, &ev), EBADF,
                 ERROR_INVALID_HANDLE);
    CHECK_FAILED(epoll_ctl(event, EPOLL_CTL_ADD, s, &ev), EINVAL,
                 ERROR_INVALID_PARAMETER);

    /* Not a socket. */
    CHECK_FAILED(epoll_ctl(port, EPOLL_CTL_ADD, 0, &ev), EBADF,
                 ERROR_INVALID_HANDLE);
    CHECK_FAILED(epoll_ctl(port, EPOLL_CTL_ADD, INVALID_SOCKET, &ev), EBADF,
                 ERROR_INVALID_HANDLE);
    CHECK_FAILED(epoll_ctl(port, EPOLL_CTL_ADD, (SOCKET)api_bogus(), &ev),
                 EBADF, ERROR_INVALID_HANDLE);
    CHECK_FAILED(epoll_ctl(port, EPOLL_CTL_ADD, (SOCKET)event, &ev), ENOTSOCK,
                 WSAENOTSOCK);
    CHECK_FAILED(epoll_ctl(port, EPOLL_CTL_ADD, (SOCKET)file, &ev), ENOTSOCK,
                 WSAENOTSOCK);

    /* Not an operation; no event where one is needed. */
    static const int bad_ops[] = {0, 4, -1, 0x7fffffff};
    for (size_t i = 0; i < sizeof bad_ops / sizeof bad_ops[0]; i++)
        CHECK_FAILED(epoll_ctl(port, bad_ops[i], s, &ev), EINVAL,
                     ERROR_INVALID_PARAMETER);
    CHECK_FAILED(epoll_ctl(port, EPOLL_CTL_ADD, s, NULL), EFAULT,
                 ERROR_NOACCESS);

    /* EBADF comes first, for the port and the socket alike. */
    CHECK_FAILED(epoll_ctl(INVALID_HANDLE_VALUE, -1, s, &ev), EBADF,
                 ERROR_INVALID_HANDLE);
    CHECK_FAILED(epoll_ctl(port, -1, INVALID_SOCKET, &ev), EBADF,
                 ERROR_INVALID_HANDLE);
    CHECK_FAILED(epoll_ctl(event, -1, INVALID_SOCKET, NULL), EBADF,
                 ERROR_INVALID_HANDLE);

    /* None of that registered anything. */
    CHECK_FAILED(epoll_ctl(port, EPOLL_CTL_MOD, s, &ev), ENOENT,
                 ERROR_NOT_FOUND);
    CHECK_FAILED(epoll_ctl(port, EPOLL_CTL_DEL, s, NULL), ENOENT,
                 ERROR_NOT_FOUND);

    /* ADD twice, MOD and DEL of what is not there. */
    b_add(port, sv[0], EPOLLIN, 7);
    CHECK_FAILED(epoll_ctl(port, EPOLL_CTL_ADD, s, &ev), EEXIST,
                 ERROR_ALREADY_EXISTS);
    CHECK_FAILED(epoll_ctl(port, EPOLL_CTL_MOD, s, NULL), EFAULT,
                 ERROR_NOACCESS);
    CHECK_FAILED(epoll_ctl(port, EPOLL_CTL_MOD, (SOCKET)other[0], &ev), ENOENT,
                 ERROR_NOT_FOUND);
    CHECK_FAILED(epoll_ctl(port, EPOLL_CTL_DEL, (SOCKET)other[0], NULL), ENOENT,
                 ERROR_NOT_FOUND);

    /* The registration survived the refusals with its own events and data:
     * the refused ADD's and MOD's did not reach it. */
    t_write_all(sv[1], "a", 1);
    CHECK_EQ(b_wait_token(port, 7, 20, 100), EPOLLIN);
    char buf[8];
    CHECK_EQ(t_read_some(sv[0], buf, sizeof buf), 1);
    b_quiet(port, 50);

    /* DEL, then DEL and MOD fail, then ADD works again. */
    b_del(port, sv[0]);
    CHECK_FAILED(epoll_ctl(port, EPOLL_CTL_DEL, s, NULL), ENOENT,
                 ERROR_NOT_FOUND);
    CHECK_FAILED(epoll_ctl(port, EPOLL_CTL_MOD, s, &ev), ENOENT,
                 ERROR_NOT_FOUND);
    t_write_all(sv[1], "b", 1);
    b_quiet(port, 50); /* deleted: not heard */
    b_add(port, sv[0], EPOLLIN, 8);
    CHECK_EQ(b_wait_token(port, 8, 20, 100), EPOLLIN);

    /* The port, closed, is no port. */
    b_close(port);
    CHECK_FAILED(epoll_ctl(port, EPOLL_CTL_ADD, s, &ev), EBADF,
                 ERROR_INVALID_HANDLE);
    CHECK(CloseHandle(event));
    t_close_file(file);
    t_close(sv[0]);
    t_close(sv[1]);
    t_close(other[0]);
    t_close(other[1]);
}

void case_wait_errors(void) {
    HANDLE port = b_port();
    HANDLE event = CreateEventW(NULL, FALSE, FALSE, NULL);
    CHECK(event != NULL);
    struct epoll_event got[4];

    /* A bad count comes first, whatever the handle. */
    HANDLE handles[] = {port, NULL, INVALID_HANDLE_VALUE, api_bogus(), event};
    for (size_t i = 0; i < sizeof handles / sizeof handles[0]; i++) {
        CHECK_FAILED(epoll_wait(handles[i], got, 0, 0), EINVAL,
                     ERROR_INVALID_PARAMETER);
        CHECK_FAILED(epoll_wait(handles[i], got, -1, 0), EINVAL,
                     ERROR_INVALID_PARAMETER);
    }
    CHECK_FAILED(epoll_wait(port, NULL, 4, 0), EFAULT, ERROR_NOACCESS);
    CHECK_FAILED(epoll_wait(NULL, got, 4, 0), EBADF, ERROR_INVALID_HANDLE);
    CHECK_FAILED(epoll_wait(INVALID_HANDLE_VALUE, got, 4, 0), EBADF,
                 ERROR_INVALID_HANDLE);
    CHECK_FAILED(epoll_wait(api_bogus(), got, 4, 0), EBADF,
                 ERROR_INVALID_HANDLE);
    CHECK_FAILED(epoll_wait(event, got, 4, 0), EINVAL, ERROR_INVALID_PARAMETER);
    /* The port still works. */
    CHECK_EQ(epoll_wait(port, got, 4, 0), 0);
    b_close(port);
    CHECK_FAILED(epoll_wait(port, got, 4, 0), EBADF, ERROR_INVALID_HANDLE);
    CHECK(CloseHandle(event));
}
