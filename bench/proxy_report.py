#!/usr/bin/env python3
"""The proxy benchmark's tables, in Markdown, from scripts/bench/proxy.sh's
raw figures (proxy.tsv, proxy_sha.tsv in the directory given).

Each cell is the median of its runs, with the spread (max - min) as a
percentage of it.  The capacity of a proxy is its rate divided by the
share of a core its busiest thread used: the rate at which that thread
would saturate its core, had it one to itself."""
import os
import statistics
import sys
from collections import defaultdict

TARGETS = ["direct", "px1", "px2", "ha1", "ha2"]
NAMES = {"direct": "redis direct", "px1": "polleros-proxy 1", "px2":
         "polleros-proxy 2", "ha1": "HAProxy 1", "ha2": "HAProxy 2"}


def load(raw):
    cells = defaultdict(lambda: defaultdict(list))
    errors = 0
    with open(os.path.join(raw, "proxy.tsv")) as f:
        for line in f:
            t, op, p, d, c, rep, rps, cpu, hwm, busy, errs, n = \
                line.rstrip("\n").split("\t")
            key = (op.upper(), int(p), int(d), int(c))
            run = {"rps": float(rps or 0), "n": int(n)}
            if cpu != "-":
                run.update(cpu=float(cpu), hwm=int(hwm), busy=float(busy))
            cells[key][t].append(run)
            errors += int(errs)
    return cells, errors


def med(runs, f):
    vals = [f(r) for r in runs]
    m = statistics.median(vals)
    return m, (max(vals) - min(vals)) / m * 100 if m else 0.0


def rate(runs):
    m, s = med(runs, lambda r: r["rps"])
    return "%.1fk ±%.0f%%" % (m / 1000, s / 2)


def main():
    raw = sys.argv[1]
    cells, errors = load(raw)
    keys = sorted(cells, key=lambda k: (k[1], k[2], k[3], k[0] != "SET"))
    reps = max(len(v) for c in cells.values() for v in c.values())
    out = []
    out.append("Requests/s, median of %d runs (± half the spread, max - min, "
               "as a share of the median):\n" % reps)
    out.append("| op | -P | value | clients | " +
               " | ".join(NAMES[t] for t in TARGETS) + " |")
    out.append("| --- " * (4 + len(TARGETS)) + "|")
    wins = total = cpu_wins = mem_wins = 0
    scal = []
    for k in keys:
        c = cells[k]
        out.append("| %s | %d | %s | %d | " % (k[0], k[1], "64 B" if k[2] == 64
                                                else "16 KiB", k[3]) +
                   " | ".join(rate(c[t]) for t in TARGETS) + " |")
    out.append("\nProxy CPU per request (µs: utime + stime over the run, "
               "divided by its requests) and peak RSS (VmHWM, MiB, over the "
               "runs of the cell):\n")
    out.append("| op | -P | value | clients | " + " | ".join(
        "%s µs/req | %s MiB" % (NAMES[t], NAMES[t]) for t in TARGETS[1:]) +
        " |")
    out.append("| --- " * (4 + 2 * 4) + "|")
    for k in keys:
        c = cells[k]
        row = []
        for t in TARGETS[1:]:
            cpu = statistics.median(r["cpu"] / r["n"] * 1e6 for r in c[t])
            hwm = max(r["hwm"] for r in c[t]) / 1024
            row += ["%.1f" % cpu, "%.1f" % hwm]
        out.append("| %s | %d | %s | %d | " % (k[0], k[1], "64 B" if k[2] == 64
                                                else "16 KiB", k[3]) +
                   " | ".join(row) + " |")
        for n in "12":
            px, ha = c["px" + n], c["ha" + n]
            total += 1
            wins += med(px, lambda r: r["rps"])[0] >= med(ha, lambda r: r["rps"])[0]
            cpu_wins += (med(px, lambda r: r["cpu"] / r["n"])[0] <
                         med(ha, lambda r: r["cpu"] / r["n"])[0])
            mem_wins += (max(r["hwm"] for r in px) < max(r["hwm"] for r in ha))
    out.append("\nTwo threads against one: the measured rate, and the "
               "capacity (rate / the busiest thread's share of a core):\n")
    out.append("| op | -P | value | clients | polleros-proxy rate 2/1 | "
               "polleros-proxy capacity 2/1 | HAProxy rate 2/1 | "
               "HAProxy capacity 2/1 |")
    out.append("| --- " * 8 + "|")
    for k in keys:
        c = cells[k]
        row = []
        for p in "px", "ha":
            r1 = med(c[p + "1"], lambda r: r["rps"])[0]
            r2 = med(c[p + "2"], lambda r: r["rps"])[0]
            k1 = med(c[p + "1"], lambda r: r["rps"] / max(r["busy"], 1e-3))[0]
            k2 = med(c[p + "2"], lambda r: r["rps"] / max(r["busy"], 1e-3))[0]
            row += ["%.2f" % (r2 / r1), "%.2f" % (k2 / k1)]
            if p == "px":
                scal.append(k2 / k1)
        out.append("| %s | %d | %s | %d | " % (k[0], k[1], "64 B" if k[2] == 64
                                                else "16 KiB", k[3]) +
                   " | ".join(row) + " |")
    sha = []
    path = os.path.join(raw, "proxy_sha.tsv")
    if os.path.exists(path):
        with open(path) as f:
            sha = [line.split("\t")[1:3] for line in f]
    out.append("\nThe bar: polleros-proxy at or above HAProxy's rate with the "
               "same threads in %d of %d cells; less CPU per request in %d of %d, "
               "less memory in %d of %d; capacity 2/1 from %.2f to %.2f (median "
               "%.2f); %d errors reported by redis-benchmark; the 10 MB "
               "value's SHA-256: %s." % (
                   wins, total, cpu_wins, total, mem_wins, total, min(scal),
                   max(scal), statistics.median(scal), errors,
                   ", ".join("%s %s" % (t, r) for t, r in sha) or "not run"))
    out += bulk(raw)
    print("\n".join(out))


def bulk(raw):
    """The bulk transfer's table (proxy_bulk.tsv), where the proxies are
    the bottleneck: the endpoints copy nothing."""
    path = os.path.join(raw, "proxy_bulk.tsv")
    if not os.path.exists(path):
        return []
    runs = defaultdict(list)
    with open(path) as f:
        for line in f:
            t, rep, gbps, secs, cpu, busy, scpu, kcpu = \
                line.rstrip("\n").split("\t")
            run = {"gbps": float(gbps), "ends": (float(scpu) + float(kcpu)) /
                   float(secs)}
            if cpu != "-":
                run.update(cpu=float(cpu) / (float(gbps) * float(secs)),
                           busy=float(busy))
            runs[t].append(run)
    reps = max(len(v) for v in runs.values())
    out = ["\nBulk transfer, where the proxy is the bottleneck: 4 connections "
           "each send 1 GB through it, from sendfile() to a sink that "
           "discards with recv(MSG_TRUNC), so that the endpoints copy "
           "nothing and the proxy copies every byte twice (median of %d runs; "
           "the endpoints' CPU is the sender's and the sink's, in cores):\n"
           % reps,
           "| target | GB/s | proxy CPU s/GB | busiest thread's share of a "
           "core | endpoints' cores |", "| --- " * 5 + "|"]
    for t in TARGETS:
        if t not in runs:
            continue
        r = runs[t]
        row = [NAMES[t].replace("redis direct", "sink direct"),
               rate_of(r), "-", "-", "%.2f" % med(r, lambda x: x["ends"])[0]]
        if t != "direct":
            row[2] = "%.2f" % med(r, lambda x: x["cpu"])[0]
            row[3] = "%.2f" % med(r, lambda x: x["busy"])[0]
        out.append("| " + " | ".join(row) + " |")
    out.append("\n| | rate 2/1 | capacity 2/1 (rate / busiest thread's "
               "share) |\n| --- | --- | --- |")
    for p, name in ("px", "polleros-proxy"), ("ha", "HAProxy"):
        if p + "1" not in runs or p + "2" not in runs:
            continue
        r1 = med(runs[p + "1"], lambda x: x["gbps"])[0]
        r2 = med(runs[p + "2"], lambda x: x["gbps"])[0]
        k1 = med(runs[p + "1"], lambda x: x["gbps"] / max(x["busy"], 1e-3))[0]
        k2 = med(runs[p + "2"], lambda x: x["gbps"] / max(x["busy"], 1e-3))[0]
        out.append("| %s | %.2f | %.2f |" % (name, r2 / r1, k2 / k1))
    return out


def rate_of(runs):
    m, s = med(runs, lambda r: r["gbps"])
    return "%.2f ±%.0f%%" % (m, s / 2)


if __name__ == "__main__":
    main()
