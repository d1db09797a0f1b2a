/* Uses the installed library for real: its version must be the installed
 * header's, and a socketpair made readable must come back as PO_RECV on the
 * channel that watches it. */
#define _POSIX_C_SOURCE 200809L
#include <polleros.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

static po_triggers want_recv(po_channel *ch, void *ctx) {
    (void)ch;
    (void)ctx;
    return PO_RECV;
}

int main(void) {
    static const po_channel_ops ops = {want_recv, NULL};
    int sv[2], err;
    po_channel *ch;
    po_triggers total = 0;
    if (po_version() != POLLEROS_VERSION)
        return 1;
    po_poller *p = po_create(NULL, &err);
    if (p == NULL || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return 1;
    if (po_attach(p, 7, sv[0], &ops, NULL, &ch) != PO_OK ||
        write(sv[1], "x", 1) != 1 || po_wait(p, 1000, &total) != 1 ||
        total != PO_RECV || po_channel_act(ch) != PO_RECV)
        return 1;
    printf("installed polleros %d.%d.%d works (%s backend)\n",
           POLLEROS_VERSION_MAJOR, POLLEROS_VERSION_MINOR,
           POLLEROS_VERSION_PATCH, po_backend_name(p));
    po_destroy(p);
    close(sv[0]);
    close(sv[1]);
    return 0;
}
