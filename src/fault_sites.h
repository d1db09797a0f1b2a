/*
 * Every kernel call site of the fault seam (fault.h), once, as
 * PO__FAULT_SITE(name, constant, absent): fault.h makes the constants its
 * enum, tests/t_faults.c one case per name (printing `absent` for a backend
 * that makes no such call), tests/CMakeLists.txt one CTest test
 * faults/<backend>/<name> per backend, whose names the fault scripts take
 * for their matrix rows.  CMake reads it line by line: one entry a line,
 * at the line's start.
 */
/* The kernel object: epoll_create1, kqueue; WSAStartup for poll on Windows. */
PO__FAULT_SITE(create, PO__FAULT_CREATE, "no kernel object to create")
/* Register a socket: epoll_ctl, kevent; poll on Windows: the check that it
 * is an open socket. */
PO__FAULT_SITE(ctl_add, PO__FAULT_CTL_ADD, "add makes no kernel call")
/* Change its interest. */
PO__FAULT_SITE(ctl_mod, PO__FAULT_CTL_MOD, "mod makes no kernel call")
/* Unregister it. */
PO__FAULT_SITE(ctl_del, PO__FAULT_CTL_DEL, "del makes no kernel call")
/* uring: an io_uring_enter that hands a full submission queue over before
 * the wait. */
PO__FAULT_SITE(submit, PO__FAULT_SUBMIT, "no queue to hand over early")
/* epoll_wait, poll, WSAPoll, kevent; uring's io_uring_enter. */
PO__FAULT_SITE(wait, PO__FAULT_WAIT, "no wait call")
/* epoll_pwait2, the epoll backend's wait with a timeout finer than a
 * millisecond (Linux 5.11); its ENOSYS turns the poller to epoll_wait. */
PO__FAULT_SITE(wait_timed, PO__FAULT_WAIT_TIMED, "no finer timed wait")
/* Close the kernel object (epoll_close on Windows); WSACleanup for poll on
 * Windows. */
PO__FAULT_SITE(close, PO__FAULT_CLOSE, "no kernel object to close")
/* A signal channel's attach: signalfd (epoll), sigaction (poll, uring,
 * kqueue), kqueue (kqueue), SetConsoleCtrlHandler (Windows). */
PO__FAULT_SITE(signal, PO__FAULT_SIGNAL, "no signal channel call")
