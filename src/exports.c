/*
 * The header's inline walk and accessors, compiled once more as functions
 * the library exports under the same names, for bindings that cannot inline
 * C (see the header above po_next_triggered()): PO__EXPORT_INLINE makes the
 * header declare them PO_API and define them from its own bodies here.
 * And po_version(), the version of the library as built.
 */
#define PO__EXPORT_INLINE
#include "polleros.h"

long po_version(void) { return POLLEROS_VERSION; }
