/*
 * A unit compiled as a binding sees the header: POLLEROS_NO_INLINE gives it
 * prototypes only, so every call below goes to the functions the library
 * exports, never to the header's inline bodies.  t_api.c compares what they
 * return with the inline ones.
 */
#define POLLEROS_NO_INLINE
#include "polleros.h"

/* One step of a walk through the exported po_next_triggered(); for the
 * channel it returns (not NULL), what each exported accessor says of it. */
po_channel *t_api_exported_step(po_poller *p, po_iter *it, po_chn *chn,
                                po_seqn *seqn, po_socket *sock, void **ctx,
                                po_triggers *act, po_triggers *wants,
                                int *err) {
    po_channel *ch = po_next_triggered(p, it);
    if (ch != NULL) {
        *chn = po_channel_chn(ch);
        *seqn = po_channel_seqn(ch);
        *sock = po_channel_socket(ch);
        *ctx = po_channel_ctx(ch);
        *act = po_channel_act(ch);
        *wants = po_channel_wants(ch);
        *err = po_channel_errno(ch);
    }
    return ch;
}
