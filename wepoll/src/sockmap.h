/*
 * SOCKET -> per-socket state, the set of a port: an open-addressing hash
 * table with linear probing.  Removal shifts the following entries back
 * instead of leaving tombstones, so lookups stay short however many sockets
 * come and go.
 */
#ifndef POLLEROS_WIN_SOCKMAP_H
#define POLLEROS_WIN_SOCKMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wep_sockmap_slot {
    uintptr_t key; /* a SOCKET; 0 marks a free slot (0 is never a socket) */
    void *val;
} wep_sockmap_slot;

typedef struct wep_sockmap {
    wep_sockmap_slot *slots;
    size_t cap; /* a power of two, or 0 */
    size_t n;
} wep_sockmap;

/* The value stored for key, or NULL. */
void *wep_sockmap_get(const wep_sockmap *m, uintptr_t key);
/* Makes room for one more key, so that the next put cannot fail.  False
 * when memory ran out (the map is unchanged). */
bool wep_sockmap_reserve(wep_sockmap *m);
/* Stores key -> val; key must be absent and room reserved. */
void wep_sockmap_put(wep_sockmap *m, uintptr_t key, void *val);
/* Removes key if present. */
void wep_sockmap_del(wep_sockmap *m, uintptr_t key);
void wep_sockmap_free(wep_sockmap *m);

#endif
