/* The fault injection seam (fault.h), built only with POLLEROS_FAULTS. */
#include "fault.h"

#include <errno.h>

static struct {
    unsigned long calls, nth;
    int err;
} po_faults[PO__FAULT_NSITES];

int po__fault(int site) {
    if (++po_faults[site].calls != po_faults[site].nth)
        return 0;
    po_faults[site].nth = 0; /* once */
    errno = po_faults[site].err;
    return 1;
}

int po__fault_after(int site, int rc) { return po__fault(site) ? -1 : rc; }

void po__fault_arm(int site, unsigned long nth, int err) {
    po_faults[site].calls = 0;
    po_faults[site].nth = nth;
    po_faults[site].err = err;
}

unsigned long po__fault_calls(int site) { return po_faults[site].calls; }
