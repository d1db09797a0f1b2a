/*
 * A port: the completion port, the set of sockets, and the poll request
 * each socket has outstanding.  Callers hold the port's lock around every
 * function here except wep_port_new/wep_port_free.
 *
 * A socket's request goes through three states:
 *   IDLE       none outstanding; the socket is queued for one
 *   PENDING    a poll is outstanding, watching `polled`
 *   CANCELLED  a cancel was asked for; its completion has not come yet
 * Every completion returns the socket to IDLE and queues it again, so a
 * condition that still holds is reported by the next wait too: that is what
 * makes the port level-triggered.  The next wait may be another thread's,
 * asleep on the port already: it sleeps on the completion port and would
 * never hear of a socket left queued.  So while others sleep, a thread that
 * handled completions (or changed the set) makes the queued requests
 * itself; one whose condition still holds completes at once and wakes a
 * sleeper, which does the same in turn, until every sleeper has seen it.  A
 * disarmed oneshot socket's new request watches nothing it reports: it
 * wakes nobody.  A request is changed only by cancelling it and submitting
 * another, so interest that grows costs a cancel and interest that shrinks
 * costs nothing until the old request completes (its extra events are
 * filtered out).
 *
 * A completion tells the state at the moment it completed.  If the
 * application read or wrote the socket after that, before epoll_wait()
 * dequeued the completion, the report would be stale, where epoll checks
 * the state again as it reports.  So a completion that may predate the
 * application's last actions (one already queued when epoll_wait() began,
 * for a request submitted by an earlier call) is checked again, all such
 * completions of one call in a single zero-timeout poll: level-triggered
 * means "holds now", not "held a while ago".  So is one made for the
 * sleepers by another call, which may then go back to the application: its
 * completion may predate what the application does next (read the datagram
 * it was just told of, say).
 */
#ifndef POLLEROS_WEPOLL_PORT_H
#define POLLEROS_WEPOLL_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include "afd.h"
#include "list.h"
#include "map.h"
#include "wepoll.h"

enum { WEP_IDLE, WEP_PENDING, WEP_CANCELLED };

/* Completions taken from the port at once, at most; each makes one event at
 * most. */
enum { WEP_BATCH = 256 };

/* One \Device\Afd handle serves up to WEP_GROUP_MAX sockets: polls spread
 * over several driver file objects instead of piling up on one. */
enum { WEP_GROUP_MAX = 32 };

typedef struct wep_group {
    HANDLE afd;
    unsigned users;
    po__list link; /* the port's groups */
} wep_group;

typedef struct wep_sock {
    IO_STATUS_BLOCK iosb; /* first: a completion's lpOverlapped points here */
    wep_afd_poll_info info;
    SOCKET sock; /* the key the application knows */
    SOCKET base; /* the socket the driver knows (below any LSP) */
    wep_group *group;
    uint32_t events; /* the application's, with EPOLLERR|EPOLLHUP; 0 while a
                        oneshot socket is disarmed */
    uint32_t polled; /* the events the outstanding request watches */
    epoll_data_t data;
    unsigned gen; /* the epoll_wait() call that submitted the request */
    bool relayed; /* submitted for the sleepers by another call */
    uint8_t state;
    bool deleted;  /* gone from the set; freed when its request completes */
    po__list link; /* in the set: on the update queue or on none; deleted:
                      on the deleted list */
} wep_sock;

typedef struct wep_port {
    HANDLE iocp; /* also the port's HANDLE for the application */
    SRWLOCK lock;
    wepoll_allocator alloc; /* where every byte of the port comes from */
    po__map set;            /* SOCKET -> wep_sock, keyed by wep_sock.sock */
    po__list queue;         /* sockets that need a request */
    po__list deleted;       /* removed, request still out */
    po__list groups;    /* full ones first: the last has room, if any does */
    size_t outstanding; /* requests not yet completed */
    unsigned gen;       /* epoll_wait() calls so far */
    HANDLE check_afd;   /* not on the port: for zero-timeout re-checks */
    HANDLE check_event; /* signals a re-check's completion */
    wep_afd_poll_info *check; /* room for WEP_BATCH handles */
    unsigned sleepers;        /* threads inside the kernel wait */
    po__list reg;             /* the registry's bucket (api.c) */
} wep_port;

/* A port with its completion port, its memory from `a` (NULL: the C
 * library's); NULL with GetLastError() set. */
wep_port *wep_port_new(const wepoll_allocator *a);
/* Cancels every request, waits for their completions, frees everything. */
void wep_port_free(wep_port *p);

/* The three operations; 0, or -1 with the error set (errors.h). */
int wep_port_add(wep_port *p, SOCKET s, const struct epoll_event *ev);
int wep_port_mod(wep_port *p, SOCKET s, const struct epoll_event *ev);
int wep_port_del(wep_port *p, SOCKET s);
/* Forgets a socket found closed, without a word to the application. */
void wep_port_forget(wep_port *p, SOCKET s);

/* Submits or adjusts the request of every queued socket; `relayed`: for the
 * threads asleep on the port, not for the calling thread's own wait (see
 * above). */
void wep_port_flush(wep_port *p, bool relayed);
/* Turns completions (at most WEP_BATCH) into events; returns how many
 * events it stored.  `old`: the completions may have been queued before the
 * current epoll_wait() call began (see above). */
int wep_port_feed(wep_port *p, const OVERLAPPED_ENTRY *done, ULONG n, bool old,
                  struct epoll_event *out);

#endif
