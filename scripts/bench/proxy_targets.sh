# shellcheck shell=sh disable=SC2034,SC2154 # port_<target>, pid_<target>: set and read through eval
# What scripts/bench/proxy.sh and its bulk part (proxy_bulk.sh) share,
# sourced after common.sh with $proxy, $work, $base and $tck set: the
# proxies under test (polleros-proxy with 1 and 2 threads, HAProxy in TCP
# mode with nbthread 1 and 2), started in front of one upstream, and their
# threads' CPU.  $servers holds the pids of what they relay to.

servers=""
pids=""
cleanup() {
    for tp in $pids; do kill "$tp" 2>/dev/null || true; done
    for tp in $pids; do wait "$tp" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

# Until something accepts a connection on the port.
wait_listen() { # port
    i=0
    until python3 -c 'import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1" 2>/dev/null; do
        i=$((i + 1))
        [ "$i" -lt 100 ] || { echo "proxy: nothing answers on port $1" >&2; exit 1; }
        sleep 0.1
    done
}

haproxy_cfg() { # threads port upstream-port
    cat <<CFG
global
    nbthread $1
    maxconn 5000
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend fe
    bind 127.0.0.1:$2
    default_backend be
backend be
    server up 127.0.0.1:$3
CFG
}

# The targets: name, port in port_<name>, pid in pid_<name> (not direct,
# which is the upstream itself).
TARGETS="direct px1 px2 ha1 ha2"
start_targets() { # upstream-port
    port_direct=$1
    n=1
    for t in px1 px2; do
        eval "port_$t=$((base + n))"
        eval "tp=\$port_$t"
        "$proxy" --listen "127.0.0.1:$tp" --upstream "127.0.0.1:$1" \
            --threads "${t#px}" >"$work/$t.out" 2>&1 &
        eval "pid_$t=$!"
        n=$((n + 1))
    done
    for t in ha1 ha2; do
        eval "port_$t=$((base + n))"
        eval "tp=\$port_$t"
        haproxy_cfg "${t#ha}" "$tp" "$1" >"$work/$t.cfg"
        haproxy -db -f "$work/$t.cfg" >"$work/$t.out" 2>&1 &
        eval "pid_$t=$!"
        n=$((n + 1))
    done
    pids="$servers $pid_px1 $pid_px2 $pid_ha1 $pid_ha2"
    for t in px1 px2 ha1 ha2; do eval "wait_listen \$port_$t"; done
}

# Stops the proxies; polleros-proxy's totals must balance: every byte read
# from one side was written to the other.
stop_targets() {
    for t in px1 px2 ha1 ha2; do
        eval "tp=\$pid_$t"
        kill "$tp"
        wait "$tp" 2>/dev/null || true
    done
    pids=$servers
    for t in px1 px2; do
        awk -v t="$t" '/ totals / {
            for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
            if (v["client_in"] != v["upstream_out"] || v["upstream_in"] != v["client_out"])
                { print "proxy: " t ": bytes lost: " $0; exit 1 } }' \
            "$work/$t.out" >&2 || echo "$t bytes-lost" >>"$work/errors"
    done
}

# utime + stime of each thread of a process, in ticks: "tid ticks" lines.
thread_ticks() { # pid
    for f in /proc/"$1"/task/*/stat; do
        sed 's/.*) //' "$f" | awk -v f="$f" '{ split(f, p, "/"); print p[5], $12 + $13 }'
    done
}

# From two thread_ticks files and the wall clock around a run: the
# process's CPU seconds and its busiest thread's share of the wall time.
cpu_between() { # before after t0 t1
    awk -v tck="$tck" -v t0="$3" -v wall="$4" '
        BEGIN { wall -= t0 }
        NR == FNR { b[$1] = $2; next }
        { d = $2 - b[$1]; s += d; if (d > m) m = d }
        END { printf "%.2f %.3f", s / tck, m / tck / wall }' "$1" "$2"
}
