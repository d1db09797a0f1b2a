#!/bin/sh
# shellcheck disable=SC2034,SC2154 # port_<target>, pid_<target>: set and read through eval
# Proxy: redis-benchmark (SET and GET; -P 1 and 16; 64-byte and 16 KiB
# values; 50 and 1,000 clients) against redis-server directly, through
# polleros-proxy with 1 and 2 threads, and through HAProxy in TCP mode
# with nbthread 1 and 2: requests/s, the proxy's CPU seconds (utime +
# stime from /proc) and peak RSS (VmHWM), and each proxy thread's CPU, from
# which bench/proxy_report.py derives the rate at which the busiest thread
# would saturate its core.  PROXY_REPS runs per cell (5; 1 with --quick),
# interleaved over the targets so that a slow phase of the machine hits all
# alike.  Then a 10 MB value is set and read back through the proxy with
# redis-cli, and the SHA-256 of both compared.  Last, a bulk transfer
# through the same proxies (proxy_bulk.sh); proxy_targets.sh starts them.
# Run by scripts/bench.sh after its build, with its argument ([--quick]).
set -eu
cd "$(dirname "$0")/../.."
. scripts/bench/common.sh

for c in redis-server redis-benchmark redis-cli haproxy; do
    have_cmd "$c" || { echo "skipped: proxy ($c not installed)"; exit 0; }
done
proxy=$build/examples/polleros-proxy
work=$raw/proxy
out=$raw/proxy.tsv
mkdir -p "$work"
rm -f "$out" "$raw/proxy_sha.tsv" "$raw/proxy_bulk.tsv" "$work"/*
if [ "$quick" -eq 1 ]; then reps=${PROXY_REPS:-1} scale=4; else reps=${PROXY_REPS:-5} scale=1; fi
tck=$(getconf CLK_TCK)
# Ports of our own, away from a redis the machine may run.
base=$((20000 + $$ % 20000))
rport=$base
. scripts/bench/proxy_targets.sh

redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no \
    --protected-mode no --maxclients 10000 >"$work/redis.log" 2>&1 &
servers=$! pids=$!
wait_listen "$rport"

run_cell() { # target op pipeline size clients rep requests
    t=$1
    eval "port=\$port_$t"
    pid=
    [ "$t" = direct ] || eval "pid=\$pid_$t"
    [ -z "$pid" ] || thread_ticks "$pid" >"$work/before"
    t0=$(date +%s.%N)
    redis-benchmark -h 127.0.0.1 -p "$port" -t "$2" -P "$3" -d "$4" -c "$5" \
        -n "$7" -q --csv >"$work/rb.csv" 2>"$work/rb.err" || echo "$t rb-exit" >>"$work/errors"
    t1=$(date +%s.%N)
    rps=$(awk -F'"' 'NR > 1 { print $4 }' "$work/rb.csv")
    errs=$(grep -c -i error "$work/rb.err" || true)
    [ "$errs" -eq 0 ] || { cat "$work/rb.err" >&2; echo "$t rb-errors" >>"$work/errors"; }
    cpu=- busiest=- hwm=-
    if [ -n "$pid" ]; then
        thread_ticks "$pid" >"$work/after"
        set -- "$@" "$(cpu_between "$work/before" "$work/after" "$t0" "$t1")"
        cpu=${8% *} busiest=${8#* }
        hwm=$(awk '/VmHWM/ { print $2 }' /proc/"$pid"/status)
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$2" "$3" "$4" \
        "$5" "$6" "$rps" "$cpu" "$hwm" "$busiest" "$errs" "$7" >>"$out"
}

echo "== proxy: redis-benchmark direct, through polleros-proxy and HAProxy ($reps runs per cell)"
for p in 1 16; do
    for d in 64 16384; do
        for c in 50 1000; do
            start_targets "$rport"
            for op in set get; do
                # about a second per run on 2 cores with nothing else
                n=$((p == 1 ? 30000 : 200000))
                [ "$d" -eq 64 ] || n=$((n / 8))
                n=$((n / scale))
                rep=1
                while [ "$rep" -le "$reps" ]; do
                    for t in $TARGETS; do
                        run_cell "$t" "$op" "$p" "$d" "$c" "$rep" "$n"
                    done
                    rep=$((rep + 1))
                done
                echo "   -P $p -d $d -c $c $op: done"
            done
            stop_targets
        done
    done
done

echo "== proxy: a 10 MB value through polleros-proxy, SHA-256 compared"
start_targets "$rport"
head -c 10485760 /dev/urandom >"$work/big"
want=$(sha256sum <"$work/big" | cut -d ' ' -f 1)
for t in px1 px2; do
    eval "port=\$port_$t"
    redis-cli -p "$port" -x set big <"$work/big" >/dev/null
    got=$(redis-cli -p "$port" --raw get big | head -c 10485760 | sha256sum | cut -d ' ' -f 1)
    [ "$got" = "$want" ] && r=same || r=differs
    printf 'sha256\t%s\t%s\t%s\n' "$t" "$r" "$want" >>"$raw/proxy_sha.tsv"
    echo "   $t: 10 MB set and read back: SHA-256 $r ($want)"
done
stop_targets
rm -f "$work/big"
. scripts/bench/proxy_bulk.sh
[ ! -s "$work/errors" ] || { echo "proxy: errors:"; cat "$work/errors"; }
python3 bench/proxy_report.py "$raw" >"$raw/proxy.md"
cat "$raw/proxy.md"
