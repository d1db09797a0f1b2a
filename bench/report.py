#!/usr/bin/env python3
"""Turns the raw outputs of scripts/bench.sh into the results.

usage: report.py [--readme README.md] RAWDIR RESULTSDIR

Writes RESULTSDIR/results.tsv (every figure, one per line: bench, driver,
case, metric, value), RESULTSDIR/results.md (the tables, each figure with
its ratio to the hand-written epoll floor, and the performance targets checked
figure by figure), RESULTSDIR/profile.txt (callgrind's instructions per
event by function), and gnuplot scripts with their data (*.gp, *.dat) that
bench.sh renders to SVG and removes.  With --readme, also replaces the part
of that README between the markers <!-- bench:begin --> and
<!-- bench:end --> with the bar, the chained-pipes tables and the plot.
Reads only what is there: a part of the suite that did not run is left out
of the report.
"""
import csv
import datetime
import os
import platform
import re
import statistics
import subprocess
import sys

FLOOR = "epoll-floor"
PO = "polleros/epoll/changed"
LIBS = ["libev", "libevent", "libuv"]
DRIVER_ORDER = [FLOOR, PO, "polleros/epoll/full", "polleros/uring/changed",
                "polleros/poll/changed", "polleros/poll/full"] + LIBS

# The performance targets.
BAR_INSTR = 1.3      # instructions/event, times the floor, at most
BAR_WALL = 1.05      # wall median, times the floor, at most
BAR_BYTES = 96       # poller-owned bytes per channel at 1,000,000 channels


def read_tsv(path, header=False):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        rows = [r for r in csv.reader(f, delimiter="\t") if r]
    if header and rows:
        names = rows[0]
        return [dict(zip(names, r)) for r in rows[1:]]
    return rows


def num(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def fmt(v, digits=0):
    if v is None:
        return "-"
    if digits == 0:
        return f"{v:,.0f}"
    return f"{v:,.{digits}f}"


def ratio(v, base):
    if v is None or not base:
        return None
    return v / base


def cell_name(n, a, idle):
    s = f"N={int(n):,} A={int(a):,}"
    if int(idle):
        s += f" +{int(idle):,} idle"
    return s


def order_drivers(names):
    known = [d for d in DRIVER_ORDER if d in names]
    return known + sorted(n for n in names if n not in DRIVER_ORDER)


class Report:
    def __init__(self, raw, out):
        self.raw = raw
        self.out = out
        self.long = []  # (bench, driver, case, metric, value)
        self.md = []
        self.bar = []   # (criterion, measured, verdict)
        self.excerpt_tables = []  # the pipes tables, for the README

    def add(self, bench, driver, case, metric, value):
        if value is not None:
            self.long.append((bench, driver, case, metric, value))

    def w(self, line=""):
        self.md.append(line)

    # -- chained pipes -----------------------------------------------------

    def load_pipes(self):
        self.wall = {}   # (driver, n, a, idle) -> row dict
        self.instr = {}  # (driver, n, a, idle) -> instructions per event
        self.libs = {}   # driver -> library version
        runs = {}
        for r in read_tsv(os.path.join(self.raw, "pipes_wall.tsv"), True):
            key = (r["label"], int(r["n"]), int(r["active"]), int(r["idle"]))
            runs.setdefault(key, []).append(r)
            self.libs[r["label"]] = r["library"]
        # Several processes (passes) per cell: the median of their medians,
        # and their spread; the counters are the same in every pass.
        for key, rs in runs.items():
            meds = sorted(num(r["ns_per_event"]) for r in rs)
            r = dict(rs[0])
            r["ns_per_event"] = str(statistics.median(meds))
            r["ns_pass_min"] = str(meds[0])
            r["ns_pass_max"] = str(meds[-1])
            r["passes"] = str(len(rs))
            self.wall[key] = r
        for r in read_tsv(os.path.join(self.raw, "pipes_instr.tsv")):
            if len(r) < 9:
                continue
            key = (r[0], int(r[1]), int(r[2]), int(r[3]))
            self.instr[key] = num(r[8])
        keys = set(self.wall) | set(self.instr)
        self.cells = sorted({k[1:] for k in keys},
                            key=lambda c: (c[2] > 0, c[2], c[0], c[1]))
        self.drivers = order_drivers({k[0] for k in keys})
        for (d, n, a, i), r in self.wall.items():
            case = f"n={n},a={a},idle={i}"
            for m in ("ns_per_event", "ns_pass_min", "ns_pass_max", "passes",
                      "iters_per_event", "waits_per_event", "ctls_per_event",
                      "rss_per_channel", "writes"):
                self.add("pipes", d, case, m, num(r.get(m)))
        for (d, n, a, i), v in self.instr.items():
            self.add("pipes", d, f"n={n},a={a},idle={i}",
                     "instructions_per_event", v)

    def pipes_table(self, title, values, digits, note):
        if not values:
            return
        start = len(self.md)
        self._pipes_table(title, values, digits, note)
        self.excerpt_tables.append(self.md[start:])

    def _pipes_table(self, title, values, digits, note):
        self.w(f"### {title}")
        self.w()
        self.w(note)
        self.w()
        self.w("| cell | " + " | ".join(self.drivers) + " |")
        self.w("|---|" + "---:|" * len(self.drivers))
        for (n, a, i) in self.cells:
            base = values.get((FLOOR, n, a, i))
            row = [cell_name(n, a, i)]
            for d in self.drivers:
                v = values.get((d, n, a, i))
                r = ratio(v, base)
                if v is None:
                    row.append("-")
                elif d == FLOOR:
                    row.append(fmt(v, digits))
                else:
                    row.append(f"{fmt(v, digits)} ({r:.2f}x)" if r else
                               fmt(v, digits))
            self.w("| " + " | ".join(row) + " |")
        self.w()

    def pipes_section(self):
        if not self.cells:
            return
        wall = {k: num(r["ns_per_event"]) for k, r in self.wall.items()}
        self.w("## Chained pipes")
        self.w()
        self.w("N socketpairs with a persistent read watcher each; A bytes in "
               "flight; each watcher that fires reads its byte and, while the "
               "write budget lasts, writes one to the next pair. Idle "
               "channels have no socket: socketless polleros channels whose "
               "probe wants nothing; for libev, libevent and libuv a pending "
               "timer an hour away, the cheapest socketless thing each keeps "
               "in its loop; nothing for the hand-written floor. Ratios are "
               "to the floor of the same cell.")
        self.w()
        self.pipes_table(
            "User-space instructions per event (callgrind)", self.instr, 0,
            "Difference of two runs whose write budgets differ by D events, "
            "divided by D (set-up cancels; deterministic).")
        passes = max((int(r["passes"]) for r in self.wall.values()),
                     default=1)
        rounds = max((int(r["rounds"]) for r in self.wall.values()),
                     default=1)
        self.pipes_table(
            "Wall time, ns per event", wall, 0,
            f"The median over {passes} process(es) per driver and cell, "
            f"spread over the run, of each one's median of {rounds} timed "
            "rounds; each round's budget is sized to last about the same "
            "time. The 1-byte socket write and read dominate, so "
            "differences of several percent are the machine's noise: "
            "`results.tsv` has each cell's spread over the processes "
            "(`ns_pass_min`, `ns_pass_max`).")
        # driver counters and resident memory
        rows = []
        for d in self.drivers:
            for (n, a, i) in self.cells:
                r = self.wall.get((d, n, a, i))
                if r is None or i:
                    continue
                if (n, a) == (1000, 100) or (n == 9984 and a == 1):
                    rows.append((d, n, a, r))
        if rows:
            self.w("### Loop iterations, kernel calls (driver counters) and "
                   "resident memory")
            self.w()
            self.w("Waits and ctls per event are counted by the driver "
                   "itself during the timed rounds (polleros: `po_get_stats`; "
                   "the floor: its own counts; the libraries keep none: see "
                   "the strace table). RSS per channel: growth of the "
                   "process's resident memory over the driver's set-up and "
                   "first iterations, per watched socketpair.")
            self.w()
            self.w("| driver | cell | iterations/event | waits/event | "
                   "ctls/event | RSS bytes/channel |")
            self.w("|---|---|---:|---:|---:|---:|")
            for d, n, a, r in rows:
                self.w(f"| {d} | {cell_name(n, a, 0)} | "
                       f"{fmt(num(r['iters_per_event']), 3)} | "
                       f"{fmt(num(r['waits_per_event']), 3)} | "
                       f"{fmt(num(r['ctls_per_event']), 4)} | "
                       f"{fmt(num(r['rss_per_channel']), 0)} |")
            self.w()

    def pipes_bar(self):
        if not self.cells:
            return
        worst = None   # instructions vs floor
        margin = None  # instructions vs best library
        missing = 0
        for c in self.cells:
            po, fl = self.instr.get((PO,) + c), self.instr.get((FLOOR,) + c)
            if po is None or fl is None:
                missing += 1
                continue
            r = po / fl
            if worst is None or r > worst[0]:
                worst = (r, c, po, fl)
            libs = [(self.instr.get((l,) + c), l) for l in LIBS]
            libs = [x for x in libs if x[0] is not None]
            if libs:
                best = min(libs)
                m = po / best[0]
                if margin is None or m > margin[0]:
                    margin = (m, c, po, best)
        if worst:
            over = sum(1 for c in self.cells
                       if self.instr.get((PO,) + c) and self.instr.get(
                           (FLOOR,) + c) and self.instr[(PO,) + c] /
                       self.instr[(FLOOR,) + c] > BAR_INSTR)
            r, c, po, fl = worst
            self.bar.append((
                f"instructions/event, {PO} <= {BAR_INSTR}x the floor in "
                "every cell",
                f"worst {r:.2f}x at {cell_name(*c)} ({po:,.0f} vs "
                f"{fl:,.0f}); {over} of {len(self.cells) - missing} cells "
                "over",
                "meets" if r <= BAR_INSTR else "misses"))
        if margin:
            m, c, po, (lv, ln) = margin
            self.bar.append((
                f"instructions/event, {PO} below each of libev, libevent, "
                "libuv in every cell",
                f"closest {m:.2f}x of the best library at {cell_name(*c)} "
                f"({po:,.0f} vs {ln} {lv:,.0f})",
                "meets" if m < 1 else "misses"))
        wworst = None
        over = 0
        for c in self.cells:
            po = self.wall.get((PO,) + c)
            fl = self.wall.get((FLOOR,) + c)
            if po is None or fl is None:
                continue
            r = num(po["ns_per_event"]) / num(fl["ns_per_event"])
            over += r > BAR_WALL
            if wworst is None or r > wworst[0]:
                wworst = (r, c)
        if wworst:
            r, c = wworst
            self.bar.append((
                f"wall ns/event, {PO} within {BAR_WALL}x the floor",
                f"worst {r:.2f}x at {cell_name(*c)}; {over} of "
                f"{len(self.cells)} cells over",
                "meets" if r <= BAR_WALL else "misses"))
        # kernel calls of the loop: no interest changes, one wait per
        # iteration
        ctl = [num(r["ctls_per_event"]) for (d, *_), r in self.wall.items()
               if d.startswith("polleros/")]
        per_iter = []
        for (d, *_), r in self.wall.items():
            if d.startswith("polleros/"):
                wt, it = num(r["waits_per_event"]), num(r["iters_per_event"])
                if wt is not None and it:
                    per_iter.append(wt / it)
        if ctl:
            self.bar.append((
                "ctl calls no more than interest changes (none in this "
                "workload after the first wait)",
                f"at most {max(ctl):.4f} ctl calls/event over "
                f"{len(ctl)} polleros runs",
                "meets" if max(ctl) == 0 else "misses"))
        if per_iter:
            self.bar.append((
                "one wait call per loop iteration",
                f"{min(per_iter):.3f} to {max(per_iter):.3f} waits per "
                "iteration",
                "meets" if max(per_iter) <= 1.0 + 1e-9 else "misses"))

    # -- kernel calls by strace -------------------------------------------

    def kernel_section(self):
        rows = read_tsv(os.path.join(self.raw, "kernel.tsv"))
        if not rows:
            return
        data = {}  # (driver, a) -> {syscall: per event}
        for label, n, a, d, sc, c1, c2 in rows:
            v = (float(c2) - float(c1)) / float(d)
            data.setdefault((label, int(a)), {})[sc] = v
            self.add("kernel", label, f"n={n},a={a}", f"{sc}_per_event", v)
        self.w("## Kernel calls per event (strace -c)")
        self.w()
        self.w("Chained pipes at N = 1,000, counted by `strace -c -f` over "
               "two runs whose budgets differ by 2,000 events, divided by "
               "2,000. read and write are the workload's own (one each per "
               "event).")
        self.w()
        self.w("| driver | A | wait calls/event | epoll_ctl/event | "
               "read/event | write/event |")
        self.w("|---|---:|---:|---:|---:|---:|")
        for d in order_drivers({k[0] for k in data}):
            for a in sorted({k[1] for k in data if k[0] == d}):
                s = data[(d, a)]
                wait = sum(s.get(x, 0) for x in
                           ("epoll_wait", "epoll_pwait", "poll", "ppoll"))
                self.w(f"| {d} | {a} | {wait:.3f} | "
                       f"{s.get('epoll_ctl', 0):.3f} | "
                       f"{s.get('read', 0):.3f} | {s.get('write', 0):.3f} |")
        self.w()
        # cross-check of polleros' own counters against strace
        for (d, a), s in sorted(data.items()):
            if not d.startswith("polleros/"):
                continue
            r = self.wall.get((d, 1000, a, 0))
            if r is None:
                continue
            wait = sum(s.get(x, 0) for x in
                       ("epoll_wait", "epoll_pwait", "poll", "ppoll"))
            self.add("kernel", d, f"n=1000,a={a}", "counter_waits_per_event",
                     num(r["waits_per_event"]))
            self.add("kernel", d, f"n=1000,a={a}", "strace_waits_per_event",
                     wait)

    # -- churn and memory --------------------------------------------------

    def churn_section(self):
        rows = read_tsv(os.path.join(self.raw, "churn.tsv"))
        if not rows:
            return
        data = {}
        for _, _, desc, case, metric, value in rows:
            data.setdefault((desc, case), {})[metric] = float(value)
            self.add("churn", f"polleros/{desc}", case, metric, float(value))
        self.w("## Churn and memory (polleros)")
        self.w()
        self.w("Socketless: attach COUNT channels, wait twice, delete all; "
               "bytes are the poller's own, counted by an allocator passed "
               "in `po_options.allocator` (requested sizes, without the C "
               "library's per-block overhead: blocks per channel says how "
               "many blocks that is). Sockets: 9,984 channels on "
               "socketpairs; registering is the first wait's epoll_ctl ADDs; "
               "RSS is the process's resident growth over attach and the "
               "first wait.")
        self.w()
        self.w("| poller | case | attach ns | first wait ns/channel | "
               "idle wait µs | delete ns | bytes/channel | blocks/channel | "
               "RSS bytes/channel |")
        self.w("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for (desc, case), m in sorted(data.items()):
            first = m.get("first_wait_ns_per_channel",
                          m.get("register_ns"))
            self.w(f"| polleros/{desc} | {case} | "
                   f"{fmt(m.get('attach_ns'), 1)} | {fmt(first, 1)} | "
                   f"{fmt(m.get('idle_wait_us'), 1)} | "
                   f"{fmt(m.get('delete_ns'), 1)} | "
                   f"{fmt(m.get('bytes_per_channel'), 1)} | "
                   f"{fmt(m.get('blocks_per_channel'), 2)} | "
                   f"{fmt(m.get('rss_per_channel'), 0)} |")
        self.w()
        for (desc, case), m in data.items():
            if desc == "epoll/changed" and case == "socketless 1000000":
                b = m.get("bytes_per_channel")
                self.bar.append((
                    f"poller-owned memory <= {BAR_BYTES} bytes per channel "
                    "at 1,000,000 channels",
                    f"{b:.1f} bytes/channel (peak "
                    f"{m.get('peak_bytes_per_channel', 0):.1f})",
                    "meets" if b <= BAR_BYTES else "misses"))

    # -- echo ----------------------------------------------------------------

    def echo_section(self):
        rows = read_tsv(os.path.join(self.raw, "echo.tsv"))
        if not rows:
            return
        runs = {}
        for r in rows:
            label, conns, size, msgs, rep, rate, mbps, cpu = r[:8]
            calls = r[8:12] if len(r) >= 12 else ["-"] * 4
            runs.setdefault((label, int(conns), int(size)), []).append(
                (float(rate), float(mbps), float(cpu), int(msgs), calls))
        servers = [s for s in ["polleros/changed", "polleros/full",
                               "polleros/uring", "libuv", "libevent"]
                   if any(k[0] == s for k in runs)]
        cfgs = sorted({k[1:] for k in runs}, key=lambda c: (c[1], c[0]))
        med = {}
        for k, v in runs.items():
            rate = statistics.median(x[0] for x in v)
            mbps = statistics.median(x[1] for x in v)
            # server CPU per message, µs
            cpu = statistics.median(x[2] / (x[3] * k[1]) * 1e6 for x in v)
            med[k] = (rate, mbps, cpu, v[0][4], v[0][3])
            case = f"conns={k[1]},size={k[2]}"
            self.add("echo", k[0], case, "messages_per_s", rate)
            self.add("echo", k[0], case, "mbytes_per_s", mbps)
            self.add("echo", k[0], case, "server_cpu_us_per_message", cpu)
        self.w("## Echo")
        self.w()
        self.w("`polleros-echo-client` (CHANGED mode, its own process) "
               "against each server on loopback: every connection sends a "
               "message, waits for its whole echo, checks every byte, sends "
               "the next. Median of the repetitions. Client and server "
               "each keep one of the two cores busy, so the rate is bounded "
               "by both; the server's own cost is shown apart: its CPU time "
               "(user + system, from /proc) per message. Ratios are to the "
               "best of libuv and libevent.")
        self.w()
        self.w("| connections | message | " + " | ".join(
            f"{s} msgs/s" for s in servers) + " | " + " | ".join(
            f"{s} CPU µs/msg" for s in servers) + " |")
        self.w("|---:|---:|" + "---:|" * (2 * len(servers)))
        for c in cfgs:
            best = max((med[(s,) + c][0] for s in ("libuv", "libevent")
                        if (s,) + c in med), default=None)
            bestcpu = min((med[(s,) + c][2] for s in ("libuv", "libevent")
                           if (s,) + c in med), default=None)
            cells = []
            for s in servers:
                m = med.get((s,) + c)
                if m is None:
                    cells.append("-")
                    continue
                r = ratio(m[0], best)
                cells.append(f"{m[0]:,.0f}" + (f" ({r:.2f}x)" if r and
                                               s.startswith("polleros")
                                               else ""))
            for s in servers:
                m = med.get((s,) + c)
                if m is None:
                    cells.append("-")
                    continue
                r = ratio(m[2], bestcpu)
                cells.append(f"{m[2]:.2f}" + (f" ({r:.2f}x)" if r and
                                              s.startswith("polleros")
                                              else ""))
            size = f"{c[1]:,} B" if c[1] < 1024 else f"{c[1] // 1024} KiB"
            self.w(f"| {c[0]:,} | {size} | " + " | ".join(cells) + " |")
            po = med.get(("polleros/changed",) + c)
            if po and best:
                self.bar.append((
                    f"echo msgs/s >= best of libuv and libevent, {c[0]:,} "
                    f"connections x {size}",
                    f"polleros/changed {po[0]:,.0f} vs {best:,.0f} "
                    f"({po[0] / best:.3f}x; server CPU/msg "
                    f"{po[2] / bestcpu:.2f}x the leaner)",
                    "meets" if po[0] >= best else "misses"))
        self.w()
        # polleros server's own counters
        lines = []
        for c in cfgs:
            for s in ("polleros/changed", "polleros/full", "polleros/uring"):
                m = med.get((s,) + c)
                if m is None or m[3][0] == "-":
                    continue
                adds, mods, dels, waits = (int(x) for x in m[3])
                total = m[4] * c[0]
                lines.append(f"| {s} | {c[0]:,} | {c[1]:,} | {adds:,} | "
                             f"{mods:,} | {dels:,} | {waits / total:.3f} |")
        if lines:
            self.w("Kernel calls of the polleros server (its own counters, "
                   "one run): adds and dels are one per connection; mods "
                   "come only from real interest changes (backpressure: "
                   "PO_RECV to PO_SEND and back).")
            self.w()
            self.w("| server | connections | message bytes | adds | mods | "
                   "dels | waits/message |")
            self.w("|---|---:|---:|---:|---:|---:|---:|")
            for l in lines:
                self.w(l)
            self.w()
        st = read_tsv(os.path.join(self.raw, "echo_strace.tsv"))
        if st:
            data = {}
            for label, conns, size, msgs, sc, calls in st:
                total = int(conns) * int(msgs)
                data.setdefault(label, {})[sc] = int(calls) / total
                self.add("echo", label, f"conns={conns},size={size}",
                         f"strace_{sc}_per_message", int(calls) / total)
            self.w("Kernel calls per message of each server, `strace -c -f` "
                   "(1,000 connections x 50 messages of 64 B, set-up and "
                   "teardown included: 0.02 per message of them are the "
                   "1,000 registrations and 1,000 closes).")
            self.w()
            self.w("| server | wait (epoll_wait, io_uring_enter) | epoll_ctl | "
                   "reads | writes |")
            self.w("|---|---:|---:|---:|---:|")
            for label, s in data.items():
                wait = (s.get("epoll_wait", 0) + s.get("epoll_pwait", 0) +
                        s.get("io_uring_enter", 0))
                reads = s.get("read", 0) + s.get("recvfrom", 0)
                writes = (s.get("write", 0) + s.get("sendto", 0) +
                          s.get("writev", 0))
                self.w(f"| {label} | {wait:.3f} | "
                       f"{s.get('epoll_ctl', 0):.3f} | {reads:.3f} | "
                       f"{writes:.3f} |")
            self.w()

    # -- callgrind profiles --------------------------------------------------

    def profile(self, label, n, a, idle=0):
        """Self instructions per event by function: the difference of the
        two callgrind runs of a cell, divided by the budget difference."""
        tag = f"{label.replace('/', '_')}_n{n}_a{a}_i{idle}"
        cg = os.path.join(self.raw, "cg")
        if not os.path.isdir(cg):
            return None
        ws = sorted(int(m.group(1)) for f in os.listdir(cg)
                    for m in [re.match(re.escape(tag) + r"\.w(\d+)\.cg$", f)]
                    if m)
        if len(ws) < 2:
            return None
        w1, w2 = ws[0], ws[-1]

        def funcs(w):
            try:
                txt = subprocess.run(
                    ["callgrind_annotate", "--threshold=100", "--auto=no",
                     os.path.join(cg, f"{tag}.w{w}.cg")],
                    capture_output=True, text=True, check=True).stdout
            except (OSError, subprocess.CalledProcessError):
                return {}
            # The function table only: "Ir (pct) file:function [object]".
            # Code inlined from a header (map.h) is reported under the
            # header's name: it is summed into its function.
            out = {}
            table = False
            for line in txt.splitlines():
                if line.rstrip().endswith("file:function"):
                    table = True
                    continue
                m = re.match(r"\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S.*?)"
                             r"(?:\s+\[(.*)\])?$", line)
                if not table or not m:
                    continue
                where = m.group(2)
                fn = where.rsplit(":", 1)[-1]
                src = os.path.basename(where.rsplit(":", 1)[0])
                if src == "???":
                    src = os.path.basename(m.group(3) or "?")
                ir = int(m.group(1).replace(",", ""))
                n, srcs = out.get(fn, (0, set()))
                out[fn] = (n + ir, srcs | {src})
            return out
        f1, f2 = funcs(w1), funcs(w2)
        d = w2 - w1
        per = []
        for fn in set(f1) | set(f2):
            a, s1 = f1.get(fn, (0, set()))
            b, s2 = f2.get(fn, (0, set()))
            v = (b - a) / d
            if abs(v) >= 0.05:
                per.append((v, f"{fn} ({', '.join(sorted(s1 | s2))})"))
        return sorted(per, reverse=True)

    def profile_section(self):
        lines = []
        shown = []
        for label in [PO, FLOOR, "libev", "libuv", "libevent"]:
            for a in (1, 100):
                p = self.profile(label, 1000, a)
                if not p:
                    continue
                total = sum(v for v, _ in p)
                lines.append(f"== {label}, N=1000 A={a}: {total:.1f} "
                             "instructions per event (self cost by function)")
                for v, k in p:
                    lines.append(f"{v:10.1f}  {k}")
                lines.append("")
                if label == PO:
                    shown.append((a, total, p))
        if not lines:
            return
        with open(os.path.join(self.out, "profile.txt"), "w") as f:
            f.write("\n".join(lines))
        if shown:
            self.w(f"## Where {PO} spends its instructions")
            self.w()
            self.w("callgrind, self instructions per event by function at "
                   "N = 1,000 (the difference of the two runs per D events; "
                   "`profile.txt` has the floor and the libraries too).")
            self.w()
            for a, total, p in shown:
                self.w(f"A = {a}: {total:.1f} instructions per event")
                self.w()
                self.w("| instr/event | function |")
                self.w("|---:|---|")
                for v, k in p[:14]:
                    self.w(f"| {v:.1f} | `{k}` |")
                self.w()

    # -- plots ---------------------------------------------------------------

    def plots(self):
        if not self.cells:
            return
        wall = {k: num(r["ns_per_event"]) for k, r in self.wall.items()}
        for name, values, ylabel in (
                ("ns_per_event", wall, "wall ns per event"),
                ("instr_per_event", self.instr, "instructions per event")):
            if not values:
                continue
            actives = sorted({c[1] for c in self.cells})
            for a in actives:
                pts = sorted({(n + i, n, i) for (n, aa, i) in self.cells
                              if aa == a})
                with open(os.path.join(self.out, f"{name}_a{a}.dat"),
                          "w") as f:
                    f.write("# channels " + " ".join(self.drivers) + "\n")
                    for ch, n, i in pts:
                        vals = [values.get((d, n, a, i)) for d in
                                self.drivers]
                        f.write(f"{ch} " + " ".join(
                            "?" if v is None else f"{v:.3f}" for v in vals)
                            + "\n")
            gp = os.path.join(self.out, f"{name}.gp")
            with open(gp, "w") as f:
                f.write(f"""set terminal svg size {420 * len(actives)},460 \
dynamic font 'sans,11' background '#ffffff'
set output '{os.path.join(self.out, name + '.svg')}'
set datafile missing '?'
set logscale xy
set grid
set key top left font 'sans,9'
set xlabel 'channels (to 9,984: all socketpairs; beyond: 1,000 + idle)'
set ylabel '{ylabel}'
set multiplot layout 1,{len(actives)} title 'chained pipes: {ylabel}'
""")
                for a in actives:
                    dat = os.path.join(self.out, f"{name}_a{a}.dat")
                    plots = ", ".join(
                        f"'{dat}' using 1:{k + 2} with linespoints "
                        f"title '{d}'" for k, d in enumerate(self.drivers))
                    f.write(f"set title 'A = {a:,}'\nplot {plots}\n")
                f.write("unset multiplot\n")

    # -- the whole ---------------------------------------------------------

    def header(self):
        mode = "?"
        try:
            with open(os.path.join(self.raw, "mode")) as f:
                mode = f.read().strip()
        except OSError:
            pass
        cpu = "?"
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith("model name"):
                        cpu = line.split(":", 1)[1].strip()
                        break
        except OSError:
            pass
        try:
            rev = subprocess.run(["git", "describe", "--always", "--dirty"],
                                 capture_output=True, text=True).stdout.strip()
        except OSError:
            rev = "?"
        libs = ", ".join(sorted({v for k, v in self.libs.items()
                                 if not k.startswith(("polleros", FLOOR))}))
        self.w("# polleros benchmarks")
        self.w()
        self.w(f"Generated by `scripts/bench.sh{' --quick' if mode == 'quick' else ''}` "
               f"on {datetime.date.today().isoformat()}: polleros {rev}, "
               f"{os.cpu_count()} x {cpu}, Linux {platform.release()}"
               + (f"; {libs}" if libs else "") + ".")
        self.w()

    # -- cache misses ------------------------------------------------------

    def cache_section(self):
        rows = read_tsv(os.path.join(self.raw, "cache.tsv"))
        if not rows:
            return
        vals = {}  # (cell, driver) -> (instr, d1, ll)
        for r in rows:
            if len(r) < 11:
                continue
            cell = (int(r[1]), int(r[2]), int(r[3]))
            vals[(cell, r[0])] = (num(r[8]), num(r[9]), num(r[10]))
            case = f"n={r[1]},a={r[2]},idle={r[3]}"
            self.add("cache", r[0], case, "d1_misses_per_event", num(r[9]))
            self.add("cache", r[0], case, "ll_misses_per_event", num(r[10]))
        drivers = order_drivers({d for _, d in vals})
        self.w("## Data-cache misses per event (callgrind's cache simulation)")
        self.w()
        self.w("First-level (D1) and last-level (LL) data-cache misses, reads "
               "and writes, per event: the difference of two runs of 40,000 "
               "and 80,000 events, so that every channel has been touched "
               "before the first run ends. The simulated caches are this "
               "machine's; its hardware counters are not available.")
        self.w()
        self.w("| cell | " + " | ".join(drivers) + " |")
        self.w("|---|" + "---:|" * len(drivers))
        for cell in sorted({c for c, _ in vals}):
            out = []
            for d in drivers:
                v = vals.get((cell, d))
                out.append("-" if v is None else
                           f"{fmt(v[1], 2)} D1, {fmt(v[2], 2)} LL")
            self.w(f"| {cell_name(*cell)} | " + " | ".join(out) + " |")
        self.w()

    # -- harvest size ------------------------------------------------------

    def harvest_section(self):
        rows = read_tsv(os.path.join(self.raw, "harvest.tsv"))
        if not rows:
            return
        wall, instr = {}, {}
        for _, a, k, metric, value in rows:
            key = (int(a), int(k))
            if metric == "wall_ns":
                wall.setdefault(key, []).append(float(value))
            else:
                instr[key] = float(value)
        self.w("## The events buffer (polleros/epoll, changed)")
        self.w()
        self.w("Chained pipes at N = 9,984 with `po_options.max_events` from "
               "16 to 4,096: median wall ns per event over three interleaved "
               "passes, and callgrind instructions per event. The default "
               "is 256.")
        self.w()
        self.w("| A | max_events | wall ns/event | instructions/event |")
        self.w("|---:|---:|---:|---:|")
        for a, k in sorted(set(wall) | set(instr)):
            w = wall.get((a, k))
            med = statistics.median(w) if w else None
            self.add("harvest", "polleros/epoll/changed",
                     f"n=9984,a={a},max_events={k}", "wall_ns", med or 0)
            self.w(f"| {a:,} | {k:,} | {fmt(med, 0)} | "
                   f"{fmt(instr.get((a, k)), 1)} |")
        self.w()

    # -- deadlines ---------------------------------------------------------

    def deadlines_section(self):
        rows = read_tsv(os.path.join(self.raw, "deadlines.tsv"))
        if not rows:
            return
        data = {}
        for _, _, be, d, metric, value in rows:
            data.setdefault(int(d), {})[metric] = float(value)
            self.add("deadlines", f"polleros/{be}", f"d={d}", metric,
                     float(value))
        self.w("## Deadlines (polleros)")
        self.w()
        self.w("d socketless channels, each with a deadline an hour away: "
               "ns to set each, to move each, the median idle `po_wait(p, 0)` "
               "with all d pending, and ns per deadline for the one wait "
               "that fires all d once they are moved into the past (a "
               "binary heap: O(log d) per change, O(1) for the idle wait).")
        self.w()
        self.w("| d | set ns | move ns | idle wait ns | fire ns/deadline |")
        self.w("|---:|---:|---:|---:|---:|")
        for d in sorted(data):
            m = data[d]
            self.w(f"| {d:,} | {fmt(m.get('set_ns'), 1)} | "
                   f"{fmt(m.get('move_ns'), 1)} | "
                   f"{fmt(m.get('idle_wait_ns'), 0)} | "
                   f"{fmt(m.get('fire_ns'), 1)} |")
        self.w()

    def run(self):
        self.load_pipes()
        body_start = len(self.md)
        self.pipes_section()
        self.pipes_bar()
        self.kernel_section()
        self.echo_section()
        self.churn_section()
        self.cache_section()
        self.harvest_section()
        self.deadlines_section()
        self.profile_section()
        body = self.md[body_start:]
        self.md = self.md[:body_start]
        self.header()
        bar_start = len(self.md)
        if self.bar:
            self.w("## The performance targets")
            self.w()
            self.w("| criterion | measured | verdict |")
            self.w("|---|---|---|")
            for c, m, v in self.bar:
                self.w(f"| {c} | {m} | **{v}** |")
            self.w()
        self.bar_md = self.md[bar_start:]
        if self.cells:
            self.w("![ns per event](ns_per_event.svg)")
            self.w()
        self.md += body
        self.plots()
        with open(os.path.join(self.out, "results.md"), "w") as f:
            f.write("\n".join(self.md) + "\n")
        with open(os.path.join(self.out, "results.tsv"), "w") as f:
            f.write("bench\tdriver\tcase\tmetric\tvalue\n")
            for b, d, c, m, v in self.long:
                f.write(f"{b}\t{d}\t{c}\t{m}\t{v:.6g}\n")


    def update_readme(self, path):
        """Replaces the part of the README between the bench markers with
        the bar, the chained-pipes tables and the plot of this run."""
        begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            return
        if begin not in text or end not in text:
            return
        rel = os.path.relpath(self.out, os.path.dirname(os.path.abspath(
            path)))
        part = [begin, "", self.md[2], ""]  # the line saying when and what
        for line in self.bar_md:
            part.append(line.replace("## ", "#### ", 1)
                        if line.startswith("## ") else line)
        if self.cells:
            part += [f"![chained pipes: ns per event]({rel}/ns_per_event.svg)",
                     ""]
        for table in self.excerpt_tables:
            for line in table:
                part.append(line.replace("### ", "#### ", 1)
                            if line.startswith("### ") else line)
        part += [f"Echo, churn, memory, kernel calls and the profile: "
                 f"[{rel}/results.md]({rel}/results.md).", "", end]
        head, rest = text.split(begin, 1)
        tail = rest.split(end, 1)[1]
        with open(path, "w") as f:
            f.write(head + "\n".join(part) + tail)


def main():
    args = sys.argv[1:]
    readme = None
    if len(args) == 4 and args[0] == "--readme":
        readme = args[1]
        args = args[2:]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    os.makedirs(args[1], exist_ok=True)
    r = Report(args[0], args[1])
    r.run()
    if readme:
        r.update_readme(readme)
    return 0


if __name__ == "__main__":
    sys.exit(main())
