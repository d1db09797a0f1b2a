/*
 * Whether a POSIX descriptor can be watched for readiness at all, for the
 * backends whose kernel call would accept it anyway: poll(2) reports a
 * regular file, a directory or /dev/null ready on every call, kqueue
 * watches a regular file's read offset, while epoll refuses each of them
 * with EPERM.  Those backends ask this first, so that every backend parks
 * such a channel with the same PO_ERR and EPERM.
 */
#ifndef POLLEROS_POLLABLE_H
#define POLLEROS_POLLABLE_H

/* 0 when fd can be watched; EPERM when it cannot (a regular file, a
 * directory, a block device, and on Linux any other file epoll refuses,
 * such as /dev/null); the errno of fstat() (EBADF) when fd is not open. */
int po_pollable(int fd);

#endif
