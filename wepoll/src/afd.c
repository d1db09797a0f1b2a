/*
 * The native calls behind the bridge.  ntdll.dll exports them on every
 * Windows since Vista, but not every SDK declares them (NtCancelIoFileEx is
 * in none) or ships ntdll's import library, so they are looked up once at
 * run time under their own pointer types.
 */
#include "afd.h"

#define WEP_IOCTL_AFD_POLL 0x00012024u

typedef NTSTATUS(NTAPI *wep_create_file_fn)(HANDLE *, ACCESS_MASK,
                                            OBJECT_ATTRIBUTES *,
                                            IO_STATUS_BLOCK *, LARGE_INTEGER *,
                                            ULONG, ULONG, ULONG, ULONG, void *,
                                            ULONG);
typedef NTSTATUS(NTAPI *wep_ioctl_fn)(HANDLE, HANDLE, void *, void *,
                                      IO_STATUS_BLOCK *, ULONG, void *, ULONG,
                                      void *, ULONG);
typedef NTSTATUS(NTAPI *wep_cancel_fn)(HANDLE, IO_STATUS_BLOCK *,
                                       IO_STATUS_BLOCK *);
typedef ULONG(NTAPI *wep_status_fn)(NTSTATUS);

static wep_create_file_fn wep_nt_create_file;
static wep_ioctl_fn wep_nt_ioctl;
static wep_cancel_fn wep_nt_cancel;
static wep_status_fn wep_nt_status;

/* FARPROC is a generic function pointer: going through void (*)(void), the
 * type GCC treats as compatible with any, states the cast is meant. */
typedef void (*wep_any_fn)(void);

static BOOL CALLBACK wep_afd_load(INIT_ONCE *once, void *param, void **ctx) {
    (void)once;
    (void)param;
    (void)ctx;
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    if (ntdll == NULL)
        return FALSE;
    wep_any_fn f[4] = {
        (wep_any_fn)GetProcAddress(ntdll, "NtCreateFile"),
        (wep_any_fn)GetProcAddress(ntdll, "NtDeviceIoControlFile"),
        (wep_any_fn)GetProcAddress(ntdll, "NtCancelIoFileEx"),
        (wep_any_fn)GetProcAddress(ntdll, "RtlNtStatusToDosError"),
    };
    for (int i = 0; i < 4; i++)
        if (f[i] == NULL) {
            SetLastError(ERROR_PROC_NOT_FOUND);
            return FALSE;
        }
    wep_nt_create_file = (wep_create_file_fn)f[0];
    wep_nt_ioctl = (wep_ioctl_fn)f[1];
    wep_nt_cancel = (wep_cancel_fn)f[2];
    wep_nt_status = (wep_status_fn)f[3];
    return TRUE;
}

BOOL wep_afd_init(void) {
    static INIT_ONCE once = INIT_ONCE_STATIC_INIT;
    return InitOnceExecuteOnce(&once, wep_afd_load, NULL, NULL);
}

DWORD wep_nt_to_win32(NTSTATUS status) { return wep_nt_status(status); }

DWORD wep_afd_open(HANDLE iocp, HANDLE *out) {
    /* Opening the device with no extended attributes gives a handle that
     * talks to the driver without being a socket (an endpoint) itself.  The
     * name after \Device\Afd is free; it only labels the handle in tools
     * that list handles. */
    static WCHAR name[] = L"\\Device\\Afd\\PollerOs";
    UNICODE_STRING uname;
    uname.Length = (USHORT)(sizeof name - sizeof name[0]);
    uname.MaximumLength = (USHORT)sizeof name;
    uname.Buffer = name;
    OBJECT_ATTRIBUTES attr;
    InitializeObjectAttributes(&attr, &uname, 0, NULL, NULL);
    IO_STATUS_BLOCK iosb;
    HANDLE h = NULL;
    NTSTATUS st = wep_nt_create_file(&h, SYNCHRONIZE, &attr, &iosb, NULL, 0,
                                     FILE_SHARE_READ | FILE_SHARE_WRITE,
                                     1 /* FILE_OPEN */, 0, NULL, 0);
    if (!WEP_NT_SUCCESS(st))
        return wep_nt_to_win32(st);
    if (iocp != NULL) {
        if (CreateIoCompletionPort(h, iocp, 0, 0) == NULL) {
            DWORD e = GetLastError();
            CloseHandle(h);
            return e;
        }
        /* Completions are taken from the port only, never by waiting on
         * the handle: spare the kernel signalling it.  Only an
         * optimisation, so a system that refuses it is not an error. */
        (void)SetFileCompletionNotificationModes(h,
                                                 FILE_SKIP_SET_EVENT_ON_HANDLE);
    }
    *out = h;
    return 0;
}

NTSTATUS wep_afd_poll(HANDLE afd, wep_afd_poll_info *info,
                      IO_STATUS_BLOCK *iosb) {
    /* The request's ApcContext becomes the completion's lpOverlapped: it is
     * the IO_STATUS_BLOCK itself, so the completion leads back to it. */
    iosb->Status = WEP_STATUS_PENDING;
    return wep_nt_ioctl(afd, NULL, NULL, iosb, iosb, WEP_IOCTL_AFD_POLL, info,
                        sizeof *info, info, sizeof *info);
}

NTSTATUS wep_afd_poll_now(HANDLE afd, HANDLE event, wep_afd_poll_info *info,
                          ULONG size) {
    IO_STATUS_BLOCK iosb;
    iosb.Status = WEP_STATUS_PENDING;
    info->Timeout.QuadPart = 0; /* report the state now, do not wait */
    info->Exclusive = FALSE;
    NTSTATUS st = wep_nt_ioctl(afd, event, NULL, NULL, &iosb,
                               WEP_IOCTL_AFD_POLL, info, size, info, size);
    if (st == WEP_STATUS_PENDING) {
        /* A zero timeout completes at once, but the handle is asynchronous:
         * the result is only certain once the event is set. */
        WaitForSingleObject(event, INFINITE);
        st = iosb.Status;
    }
    return st;
}

NTSTATUS wep_afd_cancel(HANDLE afd, IO_STATUS_BLOCK *iosb) {
    IO_STATUS_BLOCK cancel;
    return wep_nt_cancel(afd, iosb, &cancel);
}
