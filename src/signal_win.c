/*
 * Signal channels on Windows (sigchan.h): console control events.  Windows
 * has no signals to send to a process; what a console sends it (Ctrl-C,
 * Ctrl-Break, closing the window) arrives through a handler that the
 * system runs on a thread of its own.  The handler raises the event's flag
 * and writes the channel's wake-up object, as po_notify() does; the lock
 * keeps a delete from freeing a channel the handler is using.
 *
 * Events map to signal numbers: CTRL_C_EVENT to SIGINT, CTRL_BREAK_EVENT to
 * SIGBREAK, CTRL_CLOSE_EVENT to SIGTERM.
 */
#include <winsock2.h>

#include <signal.h>
#include <stdatomic.h>
#include <windows.h>

#include "fault.h"
#include "sigchan.h"

static SRWLOCK po__sig_lock = SRWLOCK_INIT;
static po_signal *po__sig_owner[PO__NSIG]; /* under po__sig_lock */

static int po__sig_of_event(DWORD event) {
    switch (event) {
    case CTRL_C_EVENT:
        return SIGINT;
    case CTRL_BREAK_EVENT:
        return SIGBREAK;
    case CTRL_CLOSE_EVENT:
        return SIGTERM;
    default:
        return 0;
    }
}

/* The handler, and the tests' way in (sigchan.h). */
int po__sig_console_event(unsigned long event) {
    int signo = po__sig_of_event(event);
    int handled = FALSE;
    AcquireSRWLockShared(&po__sig_lock);
    po_signal *s = signo ? po__sig_owner[signo] : NULL;
    if (s != NULL) {
        atomic_store(&s->hit[signo], 1);
        po__wake_signal(&s->wake);
        handled = TRUE;
    }
    ReleaseSRWLockShared(&po__sig_lock);
    return handled;
}

static BOOL WINAPI po__sig_handler(DWORD event) {
    return po__sig_console_event(event);
}

int po__sig_valid(int signo) {
    return signo == SIGINT || signo == SIGBREAK || signo == SIGTERM;
}

size_t po__sig_size(unsigned nsig) {
    (void)nsig;
    return sizeof(po_signal);
}

int po__sig_open(po_signal *s, po_backend_kind kind) {
    (void)kind;
    int e = po__wake_open(&s->wake);
    if (e != 0)
        return e;
    /* Added once per channel and removed at its delete: the system keeps a
     * list, and each channel holds one entry of it. */
    /* A fault is reported as the call reports its errors: GetLastError(). */
    if (!PO__FAULT(PO__FAULT_SIGNAL, (SetLastError((DWORD)errno), FALSE),
                   SetConsoleCtrlHandler(po__sig_handler, TRUE))) {
        e = (int)GetLastError();
        po__wake_close(&s->wake);
        return e;
    }
    AcquireSRWLockExclusive(&po__sig_lock);
    for (int i = 1; i < PO__NSIG; i++)
        if (s->set >> (i - 1) & 1)
            po__sig_owner[i] = s;
    ReleaseSRWLockExclusive(&po__sig_lock);
    s->mech = PO__SIG_FLAGS;
    s->sock = s->wake.rd;
    return 0;
}

void po__sig_close(po_signal *s) {
    AcquireSRWLockExclusive(&po__sig_lock);
    for (int i = 1; i < PO__NSIG; i++)
        if (s->set >> (i - 1) & 1)
            po__sig_owner[i] = NULL;
    ReleaseSRWLockExclusive(&po__sig_lock);
    SetConsoleCtrlHandler(po__sig_handler, FALSE);
    po__wake_close(&s->wake);
}

int po__sig_read(po_signal *s) {
    (void)s;
    return 0;
}
