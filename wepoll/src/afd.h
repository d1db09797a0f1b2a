/*
 * The Ancillary Function Driver (AFD), the kernel side of Winsock, as the
 * bridge talks to it: a handle on \Device\Afd that is not a socket itself,
 * and IOCTL_AFD_POLL requests on it that complete, through the I/O
 * completion port the handle is tied to, when one of the polled socket's
 * conditions holds.  These are native NT calls, found in ntdll.dll at run
 * time: no import library or driver kit is needed.
 */
#ifndef POLLEROS_WEPOLL_AFD_H
#define POLLEROS_WEPOLL_AFD_H

/* winsock2.h first: windows.h alone would bring in the old winsock.h. */
#include <winsock2.h>

#include <mswsock.h>
#include <windows.h>
#include <winternl.h>

/* The conditions of IOCTL_AFD_POLL, as the driver defines them. */
#define WEP_AFD_RECEIVE 0x0001u           /* data to read */
#define WEP_AFD_RECEIVE_EXPEDITED 0x0002u /* out-of-band data */
#define WEP_AFD_SEND 0x0004u              /* room to write; connected */
#define WEP_AFD_DISCONNECT 0x0008u        /* the peer shut down (FIN) */
#define WEP_AFD_ABORT 0x0010u             /* the connection was reset */
#define WEP_AFD_LOCAL_CLOSE 0x0020u       /* closesocket() on this socket */
#define WEP_AFD_ACCEPT 0x0080u            /* a connection to accept */
#define WEP_AFD_CONNECT_FAIL 0x0100u      /* connect() failed */

/* The request and the reply share one layout: the driver rewrites it with
 * the handles that have events (NumberOfHandles = 0 when none had). */
typedef struct wep_afd_poll_handle {
    HANDLE Handle;
    ULONG Events;
    NTSTATUS Status;
} wep_afd_poll_handle;

typedef struct wep_afd_poll_info {
    LARGE_INTEGER Timeout;
    ULONG NumberOfHandles;
    ULONG Exclusive;
    wep_afd_poll_handle Handles[1];
} wep_afd_poll_info;

/* NTSTATUS values the bridge looks at. */
#define WEP_STATUS_SUCCESS ((NTSTATUS)0x00000000L)
#define WEP_STATUS_PENDING ((NTSTATUS)0x00000103L)
#define WEP_STATUS_CANCELLED ((NTSTATUS)0xC0000120L)
#define WEP_STATUS_NOT_FOUND ((NTSTATUS)0xC0000225L)
#define WEP_STATUS_INVALID_HANDLE ((NTSTATUS)0xC0000008L)
#define WEP_NT_SUCCESS(s) ((NTSTATUS)(s) >= 0)

/* Finds the ntdll entry points once; false (with GetLastError() set) if
 * this Windows lacks one of them. */
BOOL wep_afd_init(void);

/* Opens a new \Device\Afd handle and, if iocp is not NULL, ties it to iocp
 * with completion key 0.  Returns 0, or a Win32 error code. */
DWORD wep_afd_open(HANDLE iocp, HANDLE *out);

/* Starts an IOCTL_AFD_POLL that reads and rewrites *info.  Its completion
 * arrives on the port with lpOverlapped == (OVERLAPPED *)iosb, and iosb
 * holds its status then.  Returns STATUS_PENDING (or a success status: the
 * completion is queued all the same), or the failure. */
NTSTATUS wep_afd_poll(HANDLE afd, wep_afd_poll_info *info,
                      IO_STATUS_BLOCK *iosb);

/* Polls now, without waiting: *info (of `size` bytes, for
 * info->NumberOfHandles handles) is rewritten with the handles that have
 * events.  afd must not be tied to a completion port; event is an
 * auto-reset event used to wait for the (immediate) completion.  Returns
 * the request's final status. */
NTSTATUS wep_afd_poll_now(HANDLE afd, HANDLE event, wep_afd_poll_info *info,
                          ULONG size);

/* Asks for the request of iosb to complete now, with STATUS_CANCELLED.
 * Returns STATUS_SUCCESS, STATUS_NOT_FOUND (it completed already) or the
 * failure. */
NTSTATUS wep_afd_cancel(HANDLE afd, IO_STATUS_BLOCK *iosb);

/* An NTSTATUS as a Win32 error code. */
DWORD wep_nt_to_win32(NTSTATUS status);

#endif
