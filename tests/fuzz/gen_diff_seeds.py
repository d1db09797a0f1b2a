#!/usr/bin/env python3
"""Writes the differential fuzzer's seeds (tests/fuzz/corpus-diff/): one
small input per scenario, each in both reconciliation modes.  The encoding is
fuzz_diff.c's (dz_op(), dz_act()); rerun this after changing it.

    python3 tests/fuzz/gen_diff_seeds.py
"""
import os

(ATTACH, DELETE, GROUP, MARK, DELETE_MARKED, SET_SOCKET, WANTS, TOUCH,
 PEER_WRITE, PEER_READ, PEER_CLOSE, PEER_SHUT, READ, WRITE, WAIT, NOTIFIER,
 NOTIFY, TAKE, DEADLINE, BEHIND, GHOST, CLOSE_FREE, GONE, ATTACH2, WAIT2,
 PEER_WRITE2, WAIT_UNTIL) = range(27)

NOTIFY_T, ACCEPT, CONNECT, SEND, RECV, POOL, ERR, TIMEOUT = (1 << i for i in range(8))
# The socket byte of attach and set_sock: kind | flags << 3.
NONE, PAIR, FREE_PAIR, TAKEN, FILE, DIR, DEVNULL, NEGATIVE, SAME = range(9)
FL_CLOSE, FL_TOUCH, FL_MARK, FL_REENTER, FL_DEINIT_RD = (1 << i for i in range(5))
# Walk actions (one byte per walked channel; 0x80: another follows).
A_NOTHING, A_DRAIN, A_READ, A_WRITE, A_WANTS, A_DELETE, A_MARK, A_STOP, \
    A_SET_SOCKET, A_OP = range(10)
# po_wait_until() deadlines (fq_until_at(), until.h): 0, long past, now,
# ahead by us microseconds, or by 1 ms.
U_ZERO, U_PAST, U_NOW = 0, 1, 2


def ahead(us):
    return 3 | us << 2


U_1MS = ahead(63)
# max_events choices (dz_max_events[]): index for 1, 2, 4 and the default.
MAX1, MAX2, MAX4, MAX_DEFAULT = 1, 2, 4, 0


def attach(num, kind, wants, flags=0, pick=0):
    return [ATTACH, num, kind | flags << 3, pick, wants]


def wait(*walk, until=None):
    """A wait (po_wait_until(), with until), then the walk's action bytes,
    one list per walked channel."""
    out = [WAIT, 0] if until is None else [WAIT_UNTIL, until]
    for acts in walk:
        for i, a in enumerate(acts):
            out += a if isinstance(a, list) else [a]
            if i + 1 < len(acts):
                out[-len(a) if isinstance(a, list) else -1] |= 0x80
    return out


SEEDS = {
    # Data both ways, read in the walk, then EOF.
    "stream": (MAX_DEFAULT, attach(1, PAIR, RECV | SEND) + [PEER_WRITE, 0, 99]
               + wait([[A_DRAIN]]) + [WRITE, 0, 50, PEER_READ, 0, PEER_SHUT, 0]
               + wait([[A_DRAIN]]) + wait([[A_NOTHING]])),
    # Descriptors no backend can watch: PO_ERR and EPERM alike; a negative
    # one refused at attach and at set_sock.
    "unpollable": (MAX_DEFAULT, attach(1, FILE, RECV) + attach(2, DIR, RECV | SEND)
                   + attach(3, DEVNULL, SEND) + attach(4, NEGATIVE, RECV)
                   + attach(5, PAIR, RECV) + [SET_SOCKET, 5, NEGATIVE, 1]
                   + wait([[A_NOTHING]], [[A_NOTHING]], [[A_NOTHING]])
                   + [SET_SOCKET, 1, PAIR, 0] + wait([[A_NOTHING]], [[A_NOTHING]])),
    # A registered socket closed behind the poller's back (masked), then
    # given a socket again; and one closed before it was ever registered.
    "behind": (MAX_DEFAULT, attach(1, PAIR, RECV | SEND) + wait([[A_NOTHING]])
               + [BEHIND, 1] + attach(2, PAIR, RECV) + [BEHIND, 2]
               + wait([[A_NOTHING]], [[A_NOTHING]]) + wait([[A_NOTHING]], [[A_NOTHING]])
               + [SET_SOCKET, 1, PAIR, 0, PEER_WRITE, 2, 10] + wait([[A_DRAIN]], [[A_NOTHING]])),
    # A socket closed behind the back while a duplicate keeps it open: epoll's
    # events for it are stale.
    "ghost": (MAX_DEFAULT, attach(1, PAIR, RECV | SEND) + wait([[A_NOTHING]])
              + [GHOST, 1, PEER_WRITE, 0, 10] + attach(2, PAIR, RECV)
              + [PEER_WRITE, 1, 5] + wait([[A_DRAIN]]) + wait()),
    # More ready sockets than max_events: harvests split over waits.
    "split": (MAX1, attach(1, PAIR, SEND) + attach(2, PAIR, SEND) + attach(3, PAIR, RECV)
              + [PEER_WRITE, 2, 5] + attach(4, NONE, POOL)
              + wait([[A_NOTHING]], [[A_NOTHING]]) + wait([[A_NOTHING]], [[A_NOTHING]])
              + wait([[A_DRAIN]], [[A_NOTHING]]) + wait([[A_NOTHING]], [[A_NOTHING]])),
    "split2": (MAX2, attach(1, PAIR, SEND) + attach(2, PAIR, SEND) + attach(3, PAIR, SEND)
               + wait([[A_DELETE]], [[A_NOTHING]]) + wait([[A_NOTHING]], [[A_NOTHING]])
               + wait([[A_NOTHING]], [[A_NOTHING]])),
    # Notifiers of small capacities: payloads up to the rounded capacity.
    "notifier": (MAX_DEFAULT, [NOTIFIER, 1, 1, NOTIFY, 1, 4, NOTIFIER, 2, 3, NOTIFY, 2, 7]
                 + wait([[A_OP, TAKE, 1, 7]], [[A_NOTHING]]) + [TAKE, 2, 2]
                 + wait([[A_NOTHING]]) + [TAKE, 2, 7, NOTIFY, 1, 0] + wait([[A_NOTHING]])),
    # Probes and deinits that call back into the poller, po_destroy among
    # the calls: refused alike.
    "reenter": (MAX_DEFAULT, attach(1, PAIR, RECV, FL_REENTER | FL_DEINIT_RD)
                + attach(2, NONE, POOL, FL_REENTER | FL_TOUCH)
                + attach(3, PAIR, SEND, FL_REENTER | FL_CLOSE | FL_MARK)
                + [PEER_WRITE, 0, 30] + wait([[A_NOTHING]], [[A_NOTHING]], [[A_NOTHING]])
                + [DELETE_MARKED, DELETE, 1, GONE] + wait([[A_NOTHING]])),
    # Deadlines long past fire at the next wait; PO_NEVER removes one.
    "deadline": (MAX_DEFAULT, attach(1, NONE, 0) + attach(2, PAIR, 0) + [DEADLINE, 1, 5,
                 DEADLINE, 2, 6, NOTIFIER, 3, 0, DEADLINE, 3, 7, DEADLINE, 2, 0]
                 + wait([[A_NOTHING]], [[A_NOTHING]]) + wait()),
    # po_set_socket() on a channel of the walk: its act keeps only its own
    # triggers; a peer's hang-up seen as PO_ERR (PO_RECV not wanted).
    "set_socket_walk": (MAX_DEFAULT, attach(1, PAIR, SEND) + attach(2, PAIR, SEND | POOL)
                        + [PEER_CLOSE, 0, PEER_CLOSE, 1]
                        + wait([[A_SET_SOCKET, PAIR, 0]], [[A_SET_SOCKET, SAME, 0]])
                        + wait([[A_NOTHING]], [[A_NOTHING]])),
    # Sockets taken out of the kernel and put back in one round while others
    # are ready (on wepoll their events may come one wait late).
    "put_back": (MAX2, attach(1, PAIR, SEND) + attach(2, PAIR, SEND)
                 + attach(14, PAIR, 0x3f)
                 + wait([[A_SET_SOCKET, SAME, 0]], [[A_SET_SOCKET, FILE, 0]],
                        [[A_SET_SOCKET, SAME, 0]])
                 + wait([[A_NOTHING]], [[A_NOTHING]], [[A_NOTHING]])
                 + wait([[A_NOTHING]], [[A_NOTHING]], [[A_NOTHING]])),
    # A socket leaves the kernel while others are ready and max_events is
    # small (on wepoll the cancelled request's completion takes a place).
    "cancelled_cut": (MAX2, attach(1, PAIR, RECV | SEND) + attach(2, PAIR, RECV)
                      + attach(14, PAIR, RECV) + [PEER_WRITE, 2, 5]
                      + wait([[A_NOTHING]], [[A_NOTHING]]) + [DELETE, 2]
                      + wait([[A_NOTHING]], [[A_NOTHING]])
                      + wait([[A_NOTHING]], [[A_NOTHING]])),
    # A notifier deleted, and a socket passed from a deleted channel to a
    # new one, while others are ready and max_events is small.
    "notifier_gone_cut": (MAX2, attach(18, PAIR, RECV) + attach(35, PAIR, CONNECT)
                          + [NOTIFIER, 7, 2] + wait([[A_NOTHING]])
                          + [GROUP, 1, 18, 7] + attach(0, PAIR, CONNECT, pick=0)
                          + wait([[A_NOTHING]], [[A_NOTHING]])
                          + wait([[A_NOTHING]], [[A_NOTHING]])),
    # A reset: the peer closes with bytes of ours unread.
    "reset": (MAX_DEFAULT, attach(1, PAIR, RECV) + [WRITE, 0, 20, PEER_WRITE, 0, 9,
              PEER_CLOSE, 0] + wait([[A_READ, 3, A_DRAIN]]) + wait([[A_DELETE]])),
    # Marks, groups, deletion inside the walk, a deleted channel's pointer.
    "delete": (MAX_DEFAULT, attach(1, NONE, POOL) + attach(2, NONE, POOL) + attach(3, NONE, POOL)
               + attach(4, PAIR, SEND, FL_CLOSE) + [MARK, 2]
               + wait([[A_OP, DELETE, 2]], [[A_OP, GONE]], [[A_MARK, A_OP, DELETE_MARKED]], [[A_NOTHING]])
               + [GROUP, 2, 1, 4, 9, GONE] + wait()),
    # Wants changed outside the walk (touched) and inside it (its own turn).
    "wants": (MAX_DEFAULT, attach(1, PAIR, RECV) + attach(2, PAIR, 0) + [PEER_WRITE, 0, 3,
              PEER_WRITE, 1, 3, WANTS, 2, RECV] + wait([[A_WANTS, SEND]], [[A_WANTS, 0]])
              + wait([[A_WANTS, RECV | SEND]]) + wait([[A_NOTHING]])),
    # po_wait_until() with every kind of deadline: with something ready,
    # with nothing (a round that sleeps to its deadline), with a channel's
    # deadline due, a ghost's stale events, and refused in the callbacks.
    "wait_until": (MAX_DEFAULT, attach(1, NONE, POOL) + attach(2, PAIR, RECV, FL_REENTER)
                   + wait([[A_WANTS, 0]], until=U_ZERO) + wait(until=U_PAST)
                   + wait(until=U_NOW) + wait(until=ahead(20)) + wait(until=U_1MS)
                   + [PEER_WRITE, 0, 7] + wait([[A_DRAIN]], until=ahead(40))
                   + [DEADLINE, 1, 5] + wait([[A_NOTHING]], until=ahead(40))
                   + wait(until=ahead(40))),
    "wait_until_ghost": (MAX1, attach(1, PAIR, RECV | SEND) + attach(2, PAIR, SEND)
                         + wait([[A_NOTHING]]) + [GHOST, 1]
                         + wait([[A_NOTHING]], until=ahead(40)) + [DELETE, 2]
                         + wait(until=ahead(40)) + wait(until=ahead(10))),
}


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus-diff")
    os.makedirs(out, exist_ok=True)
    for name, (max_events, ops) in sorted(SEEDS.items()):
        for mode, tag in ((0, "changed"), (1, "full")):
            data = bytes([mode | max_events << 1] + [b & 0xff for b in ops])
            with open(os.path.join(out, "seed_%s_%s" % (name, tag)), "wb") as f:
                f.write(data)
    print("%d seeds in %s" % (2 * len(SEEDS), out))


if __name__ == "__main__":
    main()
