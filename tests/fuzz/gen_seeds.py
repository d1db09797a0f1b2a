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
       "wait2 close_free ghost destroy notifier notify take deadline dead "
       "bad_socket wait_until signal raise sig_take fork").split()
OP = {name: i for i, name in enumerate(OPS)}

NOTIFY, ACCEPT, CONNECT, SEND, RECV, POOL, ERR, TIMEOUT = (1 << i for i in range(8))
# Socket choice of attach (b % 4) and set_socket (b % 5).
NONE, NEW, FREE, TAKEN, SAME = range(5)
# Channel flags, attach's socket byte >> 2.
FL_CLOSE, FL_TOUCH, FL_MARK, FL_REENTER, FL_DEINIT_RD, FL_CALLS = \
    1, 2, 4, 8, 16, 32
# FL_CALLS: the attach's pick byte says what the probe and deinit do with a
# notifier (bits 0-3 pick it; CALL_NOTIFY, CALL_TAKE; bits 6-7: one more
# payload each).
CALL_NOTIFY, CALL_TAKE = 16, 32
# Walk actions.
A_NOTHING, A_READ_ALL, A_READ_SOME, A_WRITE, A_WANTS, A_DELETE, A_MARK, \
    A_STOP, A_SET_SOCKET, A_DEADLINE, A_DELETE_USE, A_OP = range(12)
MORE = 0x80
# Deadlines (fz_deadline_at()): none, past (0, now), far (an hour, almost
# never).
DL_NEVER, DL_ZERO, DL_NOW, DL_HOUR, DL_FAR = range(5)
# Notifier capacities (fz_capacity()): b % 40, or these.
CAP_1000, CAP_1025, CAP_TOO_BIG, CAP_SIZE_MAX = 255, 254, 253, 252
UNTIL = 0x40  # notify, take: until the queue is full, or empty
# po_wait_until() deadlines (fq_until_at(), until.h): 0, long past, now, ahead by
# AHEAD(us) microseconds, or by 1 ms.
U_ZERO, U_PAST, U_NOW = 0, 1, 2
def AHEAD(us):
    return 3 | us << 2
U_1MS = AHEAD(63)
# Signals (fz_sig[] on Linux; index 6 is a number no system accepts, which
# bad() picks from fz_bad_sig[]).
S_WINCH, S_URG, S_CONT, S_HUP, S_VTALRM, S_RT = range(6)
def bad(k):
    """A pick of fz_bad_sig[k]: 0, -1, SIGKILL, SIGSTOP, 65, 1000, INT_MIN,
    32, 33."""
    return next(b for b in range(256) if b % 7 == 6 and b >> 4 == k)


class Seed:
    def __init__(self):
        self.b = []
        self.ops = []  # each operation's bytes, for nested()

    def op(self, name, *args):
        self.ops.append([OP[name]] + list(args))
        self.b.extend(self.ops[-1])
        return self

    def attach(self, num, sock=NEW, flags=FL_CLOSE, wants=RECV, pick=0):
        return self.op("attach", num, sock | (flags << 2), pick, wants)

    def notifier(self, num, cap, mode=3):
        return self.op("notifier", num, cap, mode)

    def wait(self, *acts, timeout=0):
        """A wait, then one action (with its argument bytes) per walked
        channel; a nested operation is A_OP followed by the operation."""
        self.b.extend([OP["wait"], 255 if timeout else 0])
        for a in acts:
            self.b.extend(a if isinstance(a, (list, tuple)) else [a])
        return self

    def wait_until(self, deadline, *acts):
        self.b.extend([OP["wait_until"], deadline])
        for a in acts:
            self.b.extend(a if isinstance(a, (list, tuple)) else [a])
        return self

    def signal(self, num, *sigs, mode=3):
        return self.op("signal", num, len(sigs), *sigs, mode)

    def raw(self, *bs):
        self.ops.append(list(bs))
        self.b.extend(bs)
        return self


def nested(seed):
    """The bytes of operations to run inside a walk, all on the walked
    channel's turn (MORE asks for the next)."""
    out = []
    for i, o in enumerate(seed.ops):
        out += [A_OP | (MORE if i + 1 < len(seed.ops) else 0)] + o
    return out


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
    s["notifier_capacity_1"] = (Seed().notifier(130, 1)
                                .op("notify", 0, UNTIL).op("take", 0, UNTIL)
                                .op("notify", 0, 3).wait(A_READ_ALL)
                                .op("notify", 0, 1).wait(A_NOTHING)
                                .wait([A_READ_SOME, 0]).wait())
    s["notifier_capacities"] = Seed()
    for i, cap in enumerate((0, 2, 3, 5, 17, CAP_1025, CAP_TOO_BIG,
                             CAP_SIZE_MAX)):
        s["notifier_capacities"].notifier(131 + i, cap, mode=i % 4)
    for i in range(6):
        (s["notifier_capacities"].op("notify", i, UNTIL)
         .op("take", i, 2).op("notify", i, UNTIL))
    s["notifier_capacities"].wait(*([A_READ_ALL] * 6)).wait()
    s["notifier_walk"] = (Seed().notifier(140, 4).attach(141, sock=NONE,
                                                         wants=POOL)
                          .op("notify", 0, 3)
                          .wait([A_READ_SOME, 0], [A_WRITE, 2])
                          .wait(A_READ_ALL, A_NOTHING)
                          .wait(nested(Seed().op("notify", 0, 1)),
                                A_NOTHING)
                          .wait(A_READ_ALL, A_NOTHING).wait())
    s["notifier_in_probe"] = (Seed().notifier(142, 2)
                              .attach(143, sock=NONE, flags=FL_CALLS,
                                      pick=CALL_NOTIFY, wants=POOL)
                              .wait(A_NOTHING, A_NOTHING)
                              .op("wants", 143, POOL)
                              .attach(144, sock=NONE, flags=FL_CALLS,
                                      pick=CALL_TAKE | 0x40)
                              .wait(A_NOTHING, A_NOTHING).wait())
    s["notifier_in_deinit"] = (Seed().notifier(145, 8)
                               .attach(146, flags=FL_CLOSE | FL_CALLS,
                                       pick=CALL_NOTIFY | 0xc0)
                               .attach(147, sock=NONE, flags=FL_CALLS,
                                       pick=CALL_TAKE)
                               .op("delete", 146).wait(A_READ_SOME, 1)
                               .op("group", 2, 147, 145).wait())
    # The channels whose deinits use the notifiers come first, so that
    # (in the library's order today) they find them still attached.
    s["destroy_with_calls"] = (Seed().attach(150, flags=FL_CLOSE | FL_CALLS,
                                             pick=CALL_NOTIFY | CALL_TAKE)
                               .attach(151, sock=NONE,
                                       flags=FL_CALLS | FL_REENTER,
                                       pick=1 | CALL_NOTIFY)
                               .notifier(148, 3).notifier(149, 0)
                               .op("notify", 0, 2).op("deadline", 150, DL_HOUR)
                               .wait().op("destroy", 0))
    s["destroy_in_walk"] = (Seed().attach(152, sock=NONE, wants=POOL)
                            .attach(153, wants=RECV)
                            .op("peer_write", 0, 5)
                            .wait(nested(Seed().op("destroy", 0))))
    s["set_socket_act_rule"] = Seed()
    for i, w in enumerate((SEND, SEND | POOL, SEND | ERR, RECV | SEND)):
        s["set_socket_act_rule"].attach(154 + i, wants=w).op("peer_close", i)
    (s["set_socket_act_rule"].attach(158, sock=NONE, wants=POOL)
     .op("deadline", 154, DL_NOW)
     .wait(nested(Seed().op("set_socket", 154, NEW, 0)
                  .op("set_socket", 155, SAME, 0)
                  .op("set_socket", 156, NONE, 0)
                  .op("set_socket", 157, NEW, 0)),
           A_NOTHING, A_NOTHING, A_NOTHING)
     .op("peer_close", 4).wait(A_NOTHING, [A_SET_SOCKET, SAME, 0])
     .wait())
    s["deadlines"] = (Seed().attach(159, sock=NONE, wants=0)
                      .op("deadline", 159, DL_ZERO).wait(A_NOTHING)
                      .op("deadline", 159, DL_HOUR).wait(timeout=1)
                      .op("deadline", 159, DL_NEVER).op("deadline", 159,
                                                        DL_NOW)
                      .wait([A_DEADLINE, DL_FAR]).wait(timeout=1)
                      .op("alloc_fail", 0).attach(160, sock=NONE)
                      .op("alloc_fail", 0).op("deadline", 160, DL_ZERO)
                      .wait())
    s["deadline_deleted"] = (Seed().attach(161).attach(162, sock=NONE)
                             .op("deadline", 161, DL_ZERO)
                             .op("deadline", 162, DL_HOUR)
                             .op("delete", 161).op("dead", 0, DL_ZERO)
                             .attach(173, sock=NONE).op("dead", 0, DL_NOW)
                             .op("group", 1, 162).op("dead", 1, DL_NOW)
                             .wait().op("dead", 0, 0))
    s["deadline_in_walk"] = (Seed().attach(163, sock=NONE, wants=POOL)
                             .attach(164, sock=NONE, wants=POOL)
                             .wait(nested(Seed().op("deadline", 163, DL_ZERO)
                                          .op("deadline", 164, DL_NOW)),
                                   [A_DEADLINE, DL_HOUR])
                             .wait(A_NOTHING, A_NOTHING).wait())
    s["dead_in_walk"] = (Seed().attach(165, sock=NONE, wants=POOL,
                                       flags=FL_CALLS, pick=0)
                         .attach(166, sock=NONE, wants=POOL)
                         .wait([A_DELETE_USE, DL_ZERO],
                               [A_DELETE_USE | MORE, DL_NOW])
                         .op("dead", 1, DL_HOUR).wait())
    s["bad_socket"] = (Seed().op("bad_socket", 167, 0).attach(167)
                       .op("bad_socket", 167, 1).op("bad_socket", 167, 2)
                       .op("bad_socket", 168, 3).wait())
    s["calls_in_callbacks"] = (Seed().notifier(169, 16)
                               .attach(170, flags=FL_CLOSE | FL_CALLS,
                                       pick=CALL_NOTIFY | CALL_TAKE | 0x40)
                               .attach(171, sock=NONE,
                                       flags=FL_CALLS | FL_REENTER,
                                       pick=CALL_TAKE, wants=POOL)
                               .attach(172, sock=NONE, flags=FL_CALLS)
                               .op("delete", 172).op("mark", 170)
                               .op("mark", 171).op("delete_marked")
                               .wait())
    s["wait_until_deadlines"] = (Seed().attach(174, sock=NONE, wants=POOL)
                                 .wait_until(U_ZERO, A_NOTHING)
                                 .wait_until(U_PAST, [A_WANTS, 0])
                                 .wait_until(U_NOW).wait_until(AHEAD(20))
                                 .wait_until(U_1MS).attach(175, wants=RECV)
                                 .op("peer_write", 0, 5)
                                 .wait_until(AHEAD(40), A_READ_ALL)
                                 .wait_until(AHEAD(50)).op("deadline", 175,
                                                           DL_ZERO)
                                 .wait_until(AHEAD(40), A_NOTHING)
                                 .op("deadline", 175, DL_HOUR)
                                 .wait_until(AHEAD(40)).op("refusals", 1))
    s["wait_until_in_callbacks"] = (Seed().attach(176, sock=NONE,
                                                  flags=FL_REENTER, wants=POOL)
                                    .attach(177, flags=FL_CLOSE | FL_REENTER)
                                    .wait_until(AHEAD(40), A_NOTHING)
                                    .wait_until(U_NOW, nested(
                                        Seed().raw(OP["wait_until"], AHEAD(40))))
                                    .op("delete", 177).wait_until(AHEAD(9)))
    # A ghost's stale events come again at every kernel wait of a
    # po_wait_until() that triggers nothing before its deadline.
    s["wait_until_ghost"] = (Seed().attach(178, wants=RECV | SEND)
                             .wait(A_NOTHING).op("ghost", 178)
                             .wait_until(AHEAD(40)).wait_until(AHEAD(30))
                             .op("close_free", 0).wait_until(AHEAD(40)))
    s["signal_take"] = (Seed().signal(179, S_WINCH).op("raise", S_WINCH)
                        .wait(A_READ_ALL).wait().op("raise", S_WINCH)
                        .op("raise", S_WINCH).wait([A_READ_SOME, 0])
                        .wait([A_READ_SOME, 0]).wait())
    s["signal_sets"] = (Seed().signal(180, S_HUP, S_RT, S_HUP)
                        .signal(181, S_URG, S_CONT)
                        .op("raise", S_RT).op("raise", S_RT)
                        .op("raise", S_HUP).op("raise", S_CONT)
                        .op("sig_take", 0, 0).wait([A_READ_SOME, 1],
                                                   [A_READ_SOME, 0])
                        .op("sig_take", 0, UNTIL).op("sig_take", 1, UNTIL)
                        .wait().op("raise", S_URG)
                        .wait([A_WRITE, S_CONT]).wait(A_READ_ALL).wait())
    s["signal_refusals"] = (Seed().signal(182, S_HUP, bad(0))
                            .signal(182, S_HUP, bad(2)).signal(182, bad(3))
                            .signal(182, bad(4)).signal(182, bad(5), S_URG)
                            .signal(182, bad(6)).signal(182, bad(7))
                            .signal(182, bad(8)).signal(182, bad(1))
                            .signal(182).signal(182, S_HUP)
                            .signal(182, S_URG).signal(183, S_URG, S_HUP)
                            .signal(183, S_WINCH, S_HUP)
                            .op("alloc_fail", 0).signal(184, S_CONT)
                            .op("alloc_fail", 1).signal(184, S_CONT)
                            .op("alloc_fail", 0).signal(185, S_HUP)
                            .op("refusals", 0).op("refusals", 3)
                            .op("raise", S_HUP).wait())
    s["signal_delete_restores"] = (Seed().signal(186, S_HUP, S_WINCH)
                                   .op("raise", S_HUP).op("raise", S_WINCH)
                                   .op("delete", 186).op("raise", S_WINCH)
                                   .wait().signal(187, S_HUP)
                                   .op("raise", S_URG).wait(A_NOTHING)
                                   .op("raise", S_HUP).op("mark", 187)
                                   .op("delete_marked").wait()
                                   .signal(188, S_RT, S_VTALRM)
                                   .op("raise", S_RT).op("raise", S_VTALRM)
                                   .wait(A_NOTHING).op("destroy", 0))
    s["signal_in_callbacks"] = (Seed().signal(189, S_URG)
                                .attach(190, sock=NONE, flags=FL_CALLS,
                                        pick=CALL_NOTIFY | CALL_TAKE,
                                        wants=POOL)
                                .attach(191, sock=NONE,
                                        flags=FL_CALLS | FL_REENTER,
                                        pick=CALL_NOTIFY)
                                .wait(A_NOTHING, A_NOTHING)
                                .op("wants", 190, 0).wait(A_NOTHING)
                                .op("delete", 191).wait(A_READ_ALL)
                                .op("group", 2, 189, 190).wait())
    s["signal_in_walk"] = (Seed().signal(20, S_CONT)
                           .attach(21, sock=NONE, wants=POOL)
                           .wait(nested(Seed().op("raise", S_CONT)
                                        .op("sig_take", 0, UNTIL)
                                        .op("raise", S_CONT)))
                           .wait(A_READ_ALL, A_NOTHING)
                           .wait(nested(Seed().op("delete", 20)
                                        .op("raise", S_CONT)))
                           .wait())
    # fork(): the child goes on with the input (po_after_fork(), then every
    # channel re-registered at its next wait, 30 too, which the parent's
    # last wait did not trigger; the notifier and the signal channel start
    # empty), the parent waits for it and ends its input.
    s["fork_child"] = (Seed().attach(22, wants=RECV | SEND)
                       .attach(23, sock=NONE, wants=POOL)
                       .notifier(24, 4).signal(25, S_HUP, S_WINCH)
                       .attach(26, wants=RECV).op("peer_write", 1, 9)
                       .attach(30, wants=RECV)
                       .wait(A_NOTHING, A_NOTHING, A_NOTHING)
                       .op("notify", 0, 2).op("raise", S_HUP)
                       .op("deadline", 23, DL_ZERO).op("ghost", 22)
                       .op("fork", 0).op("peer_write", 1, 5)
                       .op("peer_write", 2, 3)
                       .wait(A_READ_ALL, A_READ_ALL, A_READ_ALL)
                       .op("notify", 0, 1).op("raise", S_WINCH)
                       .op("sig_take", 0, UNTIL).op("take", 0, UNTIL)
                       .op("delete", 26).attach(27, wants=SEND)
                       .wait(A_NOTHING, A_NOTHING).op("fork", 0)
                       .signal(28, S_URG).op("raise", S_URG)
                       .wait(A_READ_ALL, A_READ_ALL, A_READ_ALL))
    s["fork_in_walk_and_destroyed"] = (Seed().attach(29, sock=NONE,
                                                     wants=POOL)
                                       .wait(nested(Seed().op("fork", 0)))
                                       .op("fork", 8).op("fork", 0)
                                       .op("destroy", 0))
    # Each allocation of a notifier's attach failing in turn (the record,
    # then the poller's room for a channel), then one that succeeds.
    s["alloc_fail_notifier"] = (Seed().op("alloc_fail", 0).notifier(33, 4)
                                .op("alloc_fail", 1).notifier(33, 4)
                                .op("alloc_fail", 2).notifier(34, 4)
                                .notifier(33, 4).op("notify", 0, 1)
                                .wait(A_READ_ALL, A_READ_ALL))
    # An allocation failure armed for the fork: the uring backend's new
    # ring fails the child's first po_after_fork(), the next one succeeds.
    s["fork_alloc_fail"] = (Seed().attach(31, wants=RECV | SEND)
                            .notifier(32, 4).op("peer_write", 0, 4)
                            .wait(A_NOTHING)
                            .op("alloc_fail", 0).op("fork", 0)
                            .op("peer_write", 0, 2).op("notify", 0, 1)
                            .wait(A_READ_ALL, A_READ_ALL))
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
        if name.startswith("wait_until") or name == "timeouts":
            # The same under a short spin and a long one (byte 0's bits 1
            # and 2).
            for cfg, tag in ((2, "spin"), (6, "spin_long")):
                with open(os.path.join(out, "seed_%s_%s" % (name, tag)),
                          "wb") as f:
                    f.write(bytes([cfg] + [b & 0xff for b in seed.b]))
                n += 1
    print("%d seeds in %s" % (n, out))


if __name__ == "__main__":
    main()
