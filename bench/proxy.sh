#!/usr/bin/env bash
# Reverse-proxy benchmark (issue 11, "Performance"). Prints figures;
# asserts nothing. One small backend (nginx answering a fixed 2-byte body
# from memory, so the backend is not the bottleneck) measured three ways in
# one run with wrk: directly, through a release hub (a services.json row
# `/bench`), and through nginx as a reverse proxy (a second nginx with one
# worker and a keep-alive upstream, the peer's usual setup), saturated (wrk -c32) and at one connection (the
# added latency without queueing). Then SSE first-event latency and a WebSocket echo
# round trip through the hub, against tests/modules/proxied/server.py.
# Env: DURATION (wrk seconds, default 10), CONNS (default 32), THREADS (2),
# RUNS (rounds of direct/hub/nginx, interleaved, default 1),
# PARACHUTE_BIN=<binary> (skips the release build), PERF=<file> (records
# `perf record -g` of the hub during its first round into <file>).
# Needs wrk, nginx, python3 (and perf for PERF); builds release.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${PARACHUTE_BIN:-}" ]; then
    bin=$PARACHUTE_BIN
else
    cargo build --release --quiet
    bin=$PWD/target/release/parachute
fi
work=$(mktemp -d)
free() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
backend=$(free) front=$(free) hubport=$(free) py=$(free)
dur=${DURATION:-10} conns=${CONNS:-32} threads=${THREADS:-2}
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# nginx: the backend on $backend, and the peer reverse proxy on $front as
# a second nginx with its own worker (as the hub is its own process): a
# proxy sharing the backend's one worker would serve both from one core,
# and its own CPU could only be guessed by subtraction.
nginx_conf() { # <dir> <server blocks>
    mkdir -p "$1/logs"
    cat >"$1/nginx.conf" <<NGINX
daemon off;
worker_processes 1;
pid $1/nginx.pid;
error_log $1/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $1/body;
    proxy_temp_path $1/proxy;
    fastcgi_temp_path $1/fcgi;
    uwsgi_temp_path $1/uwsgi;
    scgi_temp_path $1/scgi;
    keepalive_requests 100000;
    $2
}
NGINX
}
nginx_conf "$work/backend" "server { listen 127.0.0.1:$backend; location / { default_type text/plain; return 200 \"ok\"; } }"
nginx_conf "$work/front" "upstream module { server 127.0.0.1:$backend; keepalive 64; }
    server {
        listen 127.0.0.1:$front;
        location / {
            proxy_pass http://module;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$remote_addr;
            proxy_set_header X-Forwarded-Proto \$scheme;
        }
    }"
nginx -p "$work/backend" -c "$work/backend/nginx.conf" &
backend_master=$!
pids+=($backend_master)
nginx -p "$work/front" -c "$work/front/nginx.conf" &
front_master=$!
pids+=($front_master)

# The Python module for SSE and WebSocket.
PORT=$py SSE_HOLD=0.2 python3 tests/modules/proxied/server.py benchpy >/dev/null &
pids+=($!)

# The hub, routing /bench to the nginx backend and /benchpy to Python.
export PARACHUTE_HOME=$work/home PORT=$hubport
unset PARACHUTE_HUB_ORIGIN PARACHUTE_BIND_HOST LISTEN_FDS LISTEN_PID NOTIFY_SOCKET
mkdir -p "$PARACHUTE_HOME"
cat >"$PARACHUTE_HOME/services.json" <<JSON
{"services":[
 {"name":"parachute-bench","port":$backend,"paths":["/bench"],"health":"/bench","version":"1"},
 {"name":"parachute-benchpy","port":$py,"paths":["/benchpy"],"health":"/benchpy/health","version":"1","websocket":true}
]}
JSON
RUST_LOG=warn "$bin" serve 2>"$work/hub.log" &
hub_pid=$!
pids+=($hub_pid)
for url in "http://127.0.0.1:$hubport/bench/x" "http://127.0.0.1:$front/bench/x" "http://127.0.0.1:$py/health"; do
    for _ in $(seq 100); do curl -fsS "$url" >/dev/null 2>&1 && break; sleep 0.1; done
done

# wrk's latency distribution: "p50 p99 req/s" (latencies in ms).
measure() {
    wrk -t"$threads" -c"$conns" -d"${dur}s" --latency "$1" | awk '
        function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
        $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) } $1 == "Requests/sec:" { rps = $2 }
        END { printf "%.3f %.3f %.0f\n", p50, p99, rps }'
}
# CPU seconds a process has used (user + system), from /proc.
cpu_s() { awk -v t="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat"; }
# CPU microseconds per request of process $1 while `measure $2` runs:
# "p50 p99 req/s cpu_us_per_request". The machine's noise moves req/s a
# lot; the CPU a proxy spends per request moves much less.
measure_cpu() {
    local before after out
    before=$(cpu_s "$1")
    out=$(measure "$2")
    after=$(cpu_s "$1")
    awk -v o="$out" -v b="$before" -v a="$after" -v d="$dur" 'BEGIN {
        split(o, f, " "); printf "%s %s %s %.1f\n", f[1], f[2], f[3], (a - b) * 1e6 / (f[3] * d) }'
}

# The hub's run, recorded by perf on the first round when PERF is set.
measure_hub() {
    if [ -n "${PERF:-}" ] && [ "$1" = 1 ]; then
        perf record -q -g -o "$PERF" -p "$hub_pid" -- sleep "$dur" 2>/dev/null &
        local perf_pid=$!
        measure_cpu "$hub_pid" "http://127.0.0.1:$hubport/bench/x"
        wait "$perf_pid" || true
    else
        measure_cpu "$hub_pid" "http://127.0.0.1:$hubport/bench/x"
    fi
}
worker_of() { local w; for _ in $(seq 50); do w=$(pgrep -P "$1" | head -1) && [ -n "$w" ] && break; sleep 0.1; done; echo "$w"; }
backend_worker=$(worker_of "$backend_master")
front_worker=$(worker_of "$front_master")
echo "wrk -t$threads -c$conns -d${dur}s, GET of a 2-byte body; $(nproc) CPUs; $(uptime | sed 's/.*load/load/')"
for run in $(seq "${RUNS:-1}"); do
    # Each proxy's CPU per request is its own process's (the backend's is
    # the direct row's).
    read -r d50 d99 drps dcpu < <(measure_cpu "$backend_worker" "http://127.0.0.1:$backend/bench/x")
    read -r h50 h99 hrps hcpu < <(measure_hub "$run")
    read -r n50 n99 nrps ncpu < <(measure_cpu "$front_worker" "http://127.0.0.1:$front/bench/x")
    echo "round $run"
    printf '%-8s %9s %9s %10s\n' path p50_ms p99_ms req/s
    printf '%-8s %9s %9s %10s\n' direct "$d50" "$d99" "$drps" hub "$h50" "$h99" "$hrps" nginx "$n50" "$n99" "$nrps"
    awk -v d50="$d50" -v d99="$d99" -v h50="$h50" -v h99="$h99" -v n50="$n50" -v n99="$n99" \
        -v d="$drps" -v h="$hrps" -v n="$nrps" -v dc="$dcpu" -v hc="$hcpu" -v nc="$ncpu" 'BEGIN {
        printf "added by the hub:  p50 %+.3f ms, p99 %+.3f ms\n", h50 - d50, h99 - d99
        printf "added by nginx:    p50 %+.3f ms, p99 %+.3f ms\n", n50 - d50, n99 - d99
        printf "req/s hub/direct %.2f (target >= 0.8), hub/nginx %.2f (target >= 1.0), nginx/direct %.2f\n", h / d, h / n, n / d
        printf "CPU per request: hub %.1f us, nginx %.1f us (hub/nginx %.2f); backend %.1f us\n", hc, nc, hc / nc, dc }'
done

# Added latency without queueing: one connection, one request at a time
# (wrk -t1 -c1), so each figure is what a request pays to pass through,
# not the wait behind 31 others that the saturated rounds above measure
# on a machine whose CPUs wrk, the backend and the proxy share.
measure1() { threads=1 conns=1 measure "$1"; }
read -r l_d50 l_d99 _ < <(measure1 "http://127.0.0.1:$backend/bench/x")
read -r l_h50 l_h99 _ < <(measure1 "http://127.0.0.1:$hubport/bench/x")
read -r l_n50 l_n99 _ < <(measure1 "http://127.0.0.1:$front/bench/x")
echo "one connection (wrk -t1 -c1): p50/p99 direct $l_d50/$l_d99 ms, hub $l_h50/$l_h99 ms, nginx $l_n50/$l_n99 ms"
awk -v d50="$l_d50" -v d99="$l_d99" -v h50="$l_h50" -v h99="$l_h99" -v n50="$l_n50" -v n99="$l_n99" 'BEGIN {
    printf "added at one connection: hub p50 %+.3f ms (target < 0.2), p99 %+.3f ms; nginx p50 %+.3f ms, p99 %+.3f ms\n",
        h50 - d50, h99 - d99, n50 - d50, n99 - d99 }'

# SSE first event and WebSocket echo round trip, through the hub and direct.
python3 - "$hubport" "$py" <<'PY'
import base64, os, socket, statistics, sys, time
hub, direct = int(sys.argv[1]), int(sys.argv[2])

def sse_first(port, path):
    t = time.perf_counter()
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\r\n".encode())
    buf = b""
    while b"data: first" not in buf:
        buf += s.recv(4096)
    s.close()
    return (time.perf_counter() - t) * 1000

def ws_rtt(port, path, n=200):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(4096)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        s.sendall(bytes([0x81, 0x80 | 4]) + b"\0\0\0\0" + b"ping")
        want = 2 + len(b"echo:ping")
        got = b""
        while len(got) < want:
            got += s.recv(4096)
        times.append((time.perf_counter() - t) * 1000)
    s.close()
    return statistics.median(times)

for name, port, pre in (("direct", direct, ""), ("hub", hub, "/benchpy")):
    sse = statistics.median(sse_first(port, f"{pre}/sse") for _ in range(20))
    ws = ws_rtt(port, f"{pre}/ws")
    print(f"{name:7s} SSE first event {sse:.3f} ms (median of 20), WebSocket echo RTT {ws:.3f} ms (median of 200)")
PY
