# shellcheck shell=sh disable=SC2154 # port_<target>, pid_<target>: set through eval
# The proxies where they are the bottleneck: each of 4 connections sends
# 1 GB (a quarter with --quick) through them to a sink, with endpoints that
# copy nothing (bench/bulk.c: sendfile() from the page cache, recv() with
# MSG_TRUNC), while the proxy copies every byte in and out.  Per run: GB/s,
# the proxy's CPU seconds and its busiest thread's share of the wall, and
# the sender's and the sink's CPU seconds, which is the endpoints' share of
# the machine's cores.  Sourced by proxy.sh after its redis part, with the
# same targets; PROXY_REPS runs, interleaved over the targets.
if [ ! -x "$bin/bulk" ]; then
    echo "   skipped: bulk transfer (bench/bulk: Linux only)"
    return 0
fi
echo "== proxy: bulk transfer, 4 connections ($reps runs per target)"
bulk_out=$raw/proxy_bulk.tsv
file=$work/bulk.bin
head -c 67108864 /dev/urandom >"$file"
sport=$((base + 10))
"$bin/bulk" sink "$sport" &
sink_pid=$!
servers="$servers $sink_pid" pids="$pids $sink_pid"
wait_listen "$sport"
start_targets "$sport"
bytes=$((1000000000 / scale))
rep=1
while [ "$rep" -le "$reps" ]; do
    for t in direct px1 px2 ha1 ha2; do
        eval "port=\$port_$t"
        pid=
        [ "$t" = direct ] || eval "pid=\$pid_$t"
        [ -z "$pid" ] || thread_ticks "$pid" >"$work/before"
        thread_ticks "$sink_pid" >"$work/sink_before"
        t0=$(date +%s.%N)
        # bulk, streams, bytes, seconds, GB/s, the sender's CPU seconds
        if ! line=$("$bin/bulk" send "$port" 4 "$bytes" "$file"); then
            echo "$t bulk-failed" >>"$work/errors"
            continue
        fi
        t1=$(date +%s.%N)
        thread_ticks "$sink_pid" >"$work/sink_after"
        cpu="- -"
        if [ -n "$pid" ]; then
            thread_ticks "$pid" >"$work/after"
            cpu=$(cpu_between "$work/before" "$work/after" "$t0" "$t1")
        fi
        sink=$(cpu_between "$work/sink_before" "$work/sink_after" "$t0" "$t1")
        # target, rep, GB/s, seconds, proxy CPU s, busiest share, sender CPU
        # s, sink CPU s
        printf '%s\n' "$line" | {
            IFS='	' read -r _ _ _ secs gbps scpu
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$rep" "$gbps" \
                "$secs" "${cpu% *}" "${cpu#* }" "$scpu" "${sink% *}"
        } >>"$bulk_out"
    done
    echo "   run $rep: done"
    rep=$((rep + 1))
done
stop_targets
kill "$sink_pid"
wait "$sink_pid" 2>/dev/null || true
servers=${servers% "$sink_pid"} pids=$servers
rm -f "$file"
