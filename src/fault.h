/*
 * Fault injection: a build-time seam around every kernel call the backends
 * make.  Built with POLLEROS_FAULTS (CMake -DPOLLEROS_FAULTS=ON), each call
 * first asks po__fault(site) whether to fail; if so it returns the call's
 * failure value with errno set, without calling the system.  Built without
 * it, PO__FAULT(site, fail, call) is just `call`.
 *
 * The sites are the kinds of call the backends make; a backend that makes
 * no such call (the poll backend's mod and del, for one) has no site.  A
 * failure is reported as the call would report it: errno, or on Windows
 * where the call returns a Winsock error (WSAStartup, WSAPoll), that code,
 * with errno's value.
 * The fault test (tests/t_faults.c) arms them with po__fault_arm().
 */
#ifndef POLLEROS_FAULT_H
#define POLLEROS_FAULT_H

enum {
#define PO__FAULT_SITE(name, constant, absent) constant,
#include "fault_sites.h"
#undef PO__FAULT_SITE
    PO__FAULT_NSITES
};

#ifdef POLLEROS_FAULTS
/* Counts a call at `site`; returns nonzero (with errno set) if it must
 * fail. */
int po__fault(int site);
/* Counts a call at `site` that was made (rc its result): returns rc, or
 * -1 with errno set if it must be reported as failed.  For close, whose
 * descriptor must go either way. */
int po__fault_after(int site, int rc);
/* The nth call at `site` from now (1: the next) fails once with err; nth 0
 * disarms the site.  Resets the site's call count. */
void po__fault_arm(int site, unsigned long nth, int err);
/* Calls made at `site` since it was last armed. */
unsigned long po__fault_calls(int site);
#define PO__FAULT(site, fail, call) (po__fault(site) ? (fail) : (call))
#define PO__FAULT_AFTER(site, call) po__fault_after(site, call)
#else
#define PO__FAULT(site, fail, call) ((void)(site), (call))
#define PO__FAULT_AFTER(site, call) ((void)(site), (call))
#endif

#endif
