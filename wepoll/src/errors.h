/*
 * Failing the wepoll way: every error is set both as the Win32 code that
 * GetLastError() returns and as the errno a program ported from Linux
 * checks.
 */
#ifndef POLLEROS_WEPOLL_ERRORS_H
#define POLLEROS_WEPOLL_ERRORS_H

/* winsock2.h first: windows.h alone would bring in the old winsock.h. */
#include <winsock2.h>

#include <windows.h>

/* Sets GetLastError() to err and errno to its nearest POSIX code; returns
 * -1, so that `return wep_fail(...)` ends a failing call. */
int wep_fail(DWORD err);

/* The errno for a Win32 or Winsock error code. */
int wep_errno_of(DWORD err);

#endif
