#!/usr/bin/env python3
"""Writes the fuzzer's seed corpus (tests/fuzz/corpus/): one small input per
scenario that the operation fuzzer should start from, each in both
reconciliation modes (byte 0).  The opcodes and their arguments are those of
fz_op() in fuzz_ops.c; keep the two in step.

    python3 tests/fuzz/gen_seeds.py [OUTDIR]
"""
import os
import sys

OPS = ("attach delete group mark delete_marked set_socket wants touch "
       "peer_write peer_read peer_close peer_shut read write wait "
       "alloc_fail bulk_attach bulk_delete refusals attach2 peer_write2 "
       "wait2 close_free ghost").split()
OP = {name: i for i, name in enumerate(OPS)}

NOTIFY, ACCEPT, CONNECT, SEND, RECV, POOL, ERR, TIMEOUT = (1 << i for i in range(8))
# Socket choice of attach (b % 4) and set_socket (b % 5).
NONE, NEW, FREE, TAKEN, SAME = range(5)
# Channel flags, attach's socket byte >> 2.
FL_CLOSE, FL_TOUCH, FL_MARK, FL_REENTER, FL_DEINIT_RD = 1, 2, 4, 8, 16
# Walk actions.
A_NOTHING, A_READ_ALL, A_READ_SOME, A_WRITE, A_WANTS, A_DELETE, A_MARK, \
    A_STOP, A_OP = range(9)
MORE = 0x80


class Seed:
    def __init__(self):
        self.b = []

    def op(self, name, *args):
        self.b.append(OP[name])
        self.b.extend(args)
        return self

    def attach(self, num, sock=NEW, flags=FL_CLOSE, wants=RECV, pick=0):
        return self.op("attach", num, sock | (flags << 2), pick, wants)

    def wait(self, *acts, timeout=0):
        """A wait, then one action (with its argument bytes) per walked
        channel; a nested operation is A_OP followed by the operation."""
        self.b.extend([OP["wait"], 255 if timeout else 0])
        for a in acts:
            self.b.extend(a if isinstance(a, (list, tuple)) else [a])
        return self

    def raw(self, *bs):
        self.b.extend(bs)
        return self


def nested(seed):
    """The bytes of operations to run inside a walk."""
    return [A_OP] + seed.b


def scenarios():
    s = {}
    s["recv_read"] = (Seed().attach(0).op("peer_write", 0, 40)
                      .wait(A_READ_ALL).wait())
    s["recv_partial"] = (Seed().attach(1).op("peer_write", 0, 150)
                         .wait([A_READ_SOME, 10]).wait([A_READ_SOME, 200])
                         .wait(A_READ_ALL).wait())
    s["peer_close_pending"] = (Seed().attach(2).op("peer_write", 0, 99)
                               .op("peer_close", 0).wait(A_READ_ALL)
                               .wait([A_DELETE]).wait())
    s["peer_close_err_send"] = (Seed().attach(3, wants=SEND)
                                .op("peer_close", 0).wait().wait())
    s["peer_close_reset"] = (Seed().attach(4, wants=RECV | SEND)
                             .wait([A_WRITE, 30]).op("peer_close", 0)
                             .wait(A_READ_ALL).wait(A_READ_ALL).wait())
    s["half_close_notify"] = (Seed().attach(5, wants=NOTIFY)
                              .op("peer_shut", 0).wait().op("wants", 5, RECV)
                              .wait(A_READ_ALL).wait())
    s["backpressure"] = (Seed().attach(6, wants=POOL).op("peer_write", 0, 64)
                         .wait([A_WANTS, RECV]).wait(A_READ_ALL).wait())
    s["internal_echo"] = (Seed().attach(7, sock=NONE,
                                        wants=POOL | ERR | TIMEOUT)
                          .attach(8, sock=NONE, wants=POOL).wait()
                          .op("wants", 7, 0).wait().wait())
    s["kernel_translate"] = (Seed().attach(9, wants=ACCEPT)
                             .attach(10, wants=CONNECT)
                             .attach(11, wants=NOTIFY | SEND)
                             .op("peer_write", 0, 1).op("peer_write", 2, 1)
                             .wait().wait())
    s["delete_self_in_walk"] = (Seed().attach(12).attach(13)
                                .op("peer_write", 0, 5).op("peer_write", 1, 5)
                                .wait(A_DELETE, A_READ_ALL).wait())
    s["delete_other_in_walk"] = (Seed().attach(14).attach(15)
                                 .op("peer_write", 0, 5).op("peer_write", 1, 5)
                                 .wait(nested(Seed().op("delete", 14))
                                       + nested(Seed().op("delete", 15)))
                                 .wait())
    s["attach_in_walk"] = (Seed().attach(16, sock=NONE, wants=POOL)
                           .wait(nested(Seed().attach(17, wants=RECV)
                                        .op("peer_write", 1, 3)))
                           .wait(A_READ_ALL, A_READ_ALL).wait())
    s["mark_and_delete_marked"] = (Seed().attach(18).attach(19, sock=NONE)
                                   .op("mark", 18).op("mark", 18)
                                   .op("delete_marked").op("delete_marked")
                                   .wait())
    s["mark_in_probe"] = (Seed().attach(20, flags=FL_CLOSE | FL_MARK)
                          .wait().op("delete_marked").wait())
    s["delete_group_dups"] = (Seed().attach(21).attach(22, sock=NONE)
                              .op("group", 4, 21, 21, 22, 100).wait())
    s["set_socket_new"] = (Seed().attach(23).op("peer_write", 0, 8)
                           .op("set_socket", 23, NEW | 0x80, 0)
                           .op("peer_write", 0, 8).wait(A_READ_ALL).wait())
    s["set_socket_same"] = (Seed().attach(24).op("peer_write", 0, 8)
                            .op("set_socket", 24, SAME, 0)
                            .wait(A_READ_ALL).wait())
    s["set_socket_none_then_free"] = (Seed().attach(25, flags=0)
                                      .op("set_socket", 25, NONE, 0)
                                      .op("peer_write", 0, 8).wait()
                                      .op("set_socket", 25, FREE, 0)
                                      .wait(A_READ_ALL).wait())
    s["set_socket_taken"] = (Seed().attach(26).attach(27)
                             .op("set_socket", 26, TAKEN, 1).wait())
    s["set_socket_in_walk"] = (Seed().attach(28).op("peer_write", 0, 9)
                               .wait(nested(Seed().op("set_socket", 28,
                                                      NEW | 0x80, 0)))
                               .op("peer_write", 0, 4).wait(A_READ_ALL)
                               .wait())
    s["fd_reuse"] = (Seed().attach(29).op("delete", 29)
                     .attach(30).op("peer_write", 0, 17).wait(A_READ_ALL)
                     .op("delete", 30).attach(29).wait())
    s["free_pair_reattach"] = (Seed().attach(31, flags=0)
                               .op("peer_write", 0, 30).op("delete", 31)
                               .attach(32, sock=FREE).wait(A_READ_ALL)
                               .wait())
    s["duplicate_and_taken"] = (Seed().attach(33).attach(33)
                                .attach(34, sock=TAKEN).attach(33, sock=TAKEN)
                                .wait())
    s["alloc_fail_attach"] = (Seed().op("alloc_fail", 0).attach(35)
                              .op("alloc_fail", 1).attach(36)
                              .op("alloc_fail", 2).attach(37).attach(38)
                              .wait())
    s["alloc_fail_set_socket"] = (Seed().attach(39, sock=NONE)
                                  .op("alloc_fail", 0)
                                  .op("set_socket", 39, NEW, 0)
                                  .op("set_socket", 39, NEW, 0).wait())
    s["bulk_slabs"] = (Seed().op("bulk_attach", 16, 71, POOL).wait()
                       .op("bulk_delete", 16, 40).wait()
                       .op("bulk_attach", 100, 71, 0)
                       .op("bulk_delete", 0, 71).wait()
                       .op("bulk_delete", 71, 71).wait())
    s["bulk_alloc_fail"] = (Seed().op("alloc_fail", 0)
                            .op("bulk_attach", 0, 70, 0)
                            .op("alloc_fail", 1).op("bulk_attach", 64, 10, 0)
                            .wait())
    s["reenter"] = (Seed().attach(40, flags=FL_CLOSE | FL_REENTER)
                    .attach(41, sock=NONE, flags=FL_REENTER, wants=POOL)
                    .wait().op("delete", 40).wait())
    s["touch_in_probe"] = (Seed().attach(42, flags=FL_CLOSE | FL_TOUCH)
                           .wait().op("peer_write", 0, 3).wait(A_READ_ALL)
                           .wait())
    s["deinit_reads"] = (Seed().attach(43, flags=FL_CLOSE | FL_DEINIT_RD)
                         .op("peer_write", 0, 50).op("delete", 43).wait())
    s["walk_stop_then_wait"] = (Seed().attach(44, sock=NONE, wants=POOL)
                                .attach(45, sock=NONE, wants=POOL)
                                .wait(A_STOP).wait(A_NOTHING, A_NOTHING))
    s["wait_in_walk"] = (Seed().attach(46, sock=NONE, wants=POOL)
                         .attach(47, sock=NONE, wants=POOL)
                         .wait(nested(Seed().raw(OP["wait"], 0)))
                         .wait())
    s["wants_outside_walk"] = (Seed().attach(48, wants=0)
                               .op("peer_write", 0, 20).wait()
                               .op("wants", 48, RECV).wait(A_READ_ALL)
                               .op("touch", 48).wait())
    s["wants_other_in_walk"] = (Seed().attach(49, sock=NONE, wants=POOL)
                                .attach(50, wants=0).op("peer_write", 1, 5)
                                .wait(nested(Seed().op("wants", 50, RECV)))
                                .wait(A_READ_ALL, A_READ_ALL).wait())
    s["channel_writes_peer_reads"] = (Seed().attach(51, wants=SEND)
                                      .wait([A_WRITE | MORE, 100],
                                            [A_WRITE, 100])
                                      .op("peer_read", 0).op("write", 0, 50)
                                      .op("peer_read", 0).wait())
    s["refusals"] = Seed().op("refusals", 3).attach(52).op("refusals", 9)
    s["timeouts"] = (Seed().wait(timeout=1).attach(53, wants=RECV)
                     .wait(timeout=1).op("peer_write", 0, 1)
                     .wait(A_READ_ALL, timeout=1))
    s["edge_numbers"] = (Seed().attach(13, sock=NONE, wants=POOL)
                         .attach(15, sock=NONE, wants=POOL)
                         .attach(0, sock=NONE, wants=POOL)
                         .attach(12, sock=NONE).wait().op("delete", 15)
                         .op("delete", 13).wait())
    s["close_free_reuse"] = (Seed().attach(54, flags=0).op("delete", 54)
                             .op("close_free", 0).attach(55)
                             .op("peer_write", 0, 7).wait(A_READ_ALL))
    s["ghost_fd_reuse"] = (Seed().attach(56, wants=RECV | SEND)
                           .wait(A_NOTHING).op("ghost", 56).attach(57)
                           .op("peer_write", 0, 9).op("peer_write", 1, 9)
                           .wait(A_READ_ALL).wait().op("peer_close", 0)
                           .wait().op("close_free", 0).wait())
    s["ghost_in_walk"] = (Seed().attach(58).attach(59)
                          .op("peer_write", 0, 3).op("peer_write", 1, 3)
                          .wait(nested(Seed().op("ghost", 58).attach(60)),
                                nested(Seed().op("ghost", 59).attach(61)))
                          .op("peer_write", 0, 5).op("peer_write", 2, 5)
                          .wait(A_READ_ALL, A_READ_ALL).wait())
    # A wait that widens one channel's interest while another has events:
    # epoll reports the widened one at once; the wepoll bridge may report
    # it one wait late (fuzz_ops.c, fz_late()), never two.  Each walk stops
    # at its first channel, so the input reads the same either way.
    s["widen_with_others"] = (Seed().attach(62).attach(63).wait()
                              .op("peer_write", 1, 4)
                              .op("wants", 62, RECV | SEND)
                              .wait(A_STOP).wait(A_STOP)
                              .op("read", 1, 255).wait(A_STOP).wait(A_STOP))
    s["many_sockets"] = Seed()
    for i in range(48):
        s["many_sockets"].attach(64 + i, wants=RECV | SEND)
    for i in range(0, 48, 3):
        s["many_sockets"].op("peer_write", i, 20 + i)
    s["many_sockets"].wait(*([A_READ_ALL] * 48)).wait()
    s["churn"] = Seed()
    for i in range(12):
        (s["churn"].attach(120 + i % 4).op("peer_write", i % 4, 10)
         .op("delete", 120 + (i + 2) % 4).wait(A_READ_ALL, A_READ_ALL))
    return s


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus")
    os.makedirs(out, exist_ok=True)
    n = 0
    for name, seed in sorted(scenarios().items()):
        for mode, tag in ((0, "changed"), (1, "full")):
            with open(os.path.join(out, "seed_%s_%s" % (name, tag)), "wb") as f:
                f.write(bytes([mode] + [b & 0xff for b in seed.b]))
            n += 1
    print("%d seeds in %s" % (n, out))


if __name__ == "__main__":
    main()
