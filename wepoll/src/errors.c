#include "errors.h"

#include <errno.h>

int wep_errno_of(DWORD err) {
    switch (err) {
    case ERROR_INVALID_HANDLE:
    case WSAEBADF:
        return EBADF;
    case ERROR_INVALID_PARAMETER:
    case WSAEINVAL:
        return EINVAL;
    case ERROR_ALREADY_EXISTS:
    case ERROR_FILE_EXISTS:
        return EEXIST;
    case ERROR_NOT_FOUND:
    case ERROR_FILE_NOT_FOUND:
        return ENOENT;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_NO_SYSTEM_RESOURCES:
    case WSAENOBUFS:
        return ENOMEM;
    case ERROR_NOACCESS:
    case WSAEFAULT:
        return EFAULT;
    case WSAENOTSOCK:
        return ENOTSOCK;
    case ERROR_ACCESS_DENIED:
    case WSAEACCES:
        return EACCES;
    case ERROR_TOO_MANY_OPEN_FILES:
    case WSAEMFILE:
        return EMFILE;
    case ERROR_OPERATION_ABORTED:
    case WSAEINTR:
        return EINTR;
    case WSANOTINITIALISED:
    case WSAENETDOWN:
        return ENETDOWN;
    case ERROR_PROC_NOT_FOUND:
    case ERROR_NOT_SUPPORTED:
        return ENOSYS;
    default:
        return EIO;
    }
}

int wep_fail(DWORD err) {
    errno = wep_errno_of(err);
    SetLastError(err);
    return -1;
}
