#!/usr/bin/env bash
# Hub benchmarks (issue #3). Prints figures; asserts nothing.
#   - socket-activated cold start: connect → first /health response with the
#     hub not running (median of 20; target < 30 ms). Through the real
#     `systemd --user` of tests/support/systemd-harness.sh when it boots here,
#     else through `systemd-socket-activate` (labelled as such).
#   - warm GET /health: throughput and p99 with wrk (target > 66k req/s, the
#     upstream Bun hub on the same 2-core machine)
#   - a bearer-validated endpoint (GET /api/auth/tokens): throughput and p99
#   - `parachute auth mint-token` wall time (median of 30; target < 15 ms)
#   - idle RSS of the hub after its first request (target < 15 MB)
# Needs python3 and wrk (apt-get install wrk); release build.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=$PWD/target/release/parachute
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export PARACHUTE_HOME=$work/home PORT=$port
unset PARACHUTE_HUB_ORIGIN PARACHUTE_BIND_HOST LISTEN_FDS LISTEN_PID NOTIFY_SOCKET
url=http://127.0.0.1:$port
duration=${BENCH_SECONDS:-10}

hub_pid=
systemd_units=
cleanup() {
    if [[ -n $hub_pid ]]; then kill "$hub_pid" 2>/dev/null || true; wait "$hub_pid" 2>/dev/null || true; fi
    if [[ -n $systemd_units ]]; then
        systemctl --user stop parachute-hub.service parachute-hub.socket >/dev/null 2>&1 || true
        systemctl --user disable parachute-hub.socket >/dev/null 2>&1 || true
        rm -f "$HOME/.config/systemd/user/parachute-hub.socket" "$HOME/.config/systemd/user/parachute-hub.service"
        systemctl --user daemon-reload >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

median_ms() { # N cmd... : median wall time of N runs, in ms
    local n=$1; shift
    python3 - "$n" "$@" <<'PY'
import subprocess, sys, time, statistics
n = int(sys.argv[1]); cmd = sys.argv[2:]
times = []
for _ in range(n):
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    times.append((time.perf_counter() - t) * 1000)
print(f"{statistics.median(times):.1f}")
PY
}

first_response_ms() { # url: ms from connect to the end of the first response
    python3 - "$1" <<'PY'
import socket, sys, time, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
t = time.perf_counter()
s = socket.create_connection((u.hostname, u.port), timeout=30)
s.sendall(f"GET {u.path} HTTP/1.1\r\nHost: {u.netloc}\r\nConnection: close\r\n\r\n".encode())
data = b""
while chunk := s.recv(65536):
    data += chunk
assert data.startswith(b"HTTP/1.1 200"), data[:80]
print(f"{(time.perf_counter() - t) * 1000:.2f}")
PY
}

median_of() { python3 -c 'import statistics,sys; print(f"{statistics.median(float(x) for x in sys.argv[1:]):.1f}")' "$@"; }

rss_mb() { awk '/^VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

wrk_line() { # label, wrk args...: prints req/s and p99
    local label=$1; shift
    if ! command -v wrk >/dev/null; then
        echo "$label: SKIP (wrk not installed: apt-get install wrk)"
        return
    fi
    local out
    out=$(wrk -t2 -c64 -d"${duration}s" --latency "$@")
    local rps p99
    rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    local errors
    errors=$(grep -E 'Non-2xx|Socket errors' <<<"$out" || true)
    echo "$label: ${rps} req/s, p99 ${p99}${errors:+ ($errors)}"
}

printf 'benchmark password\n' | "$bin" auth set-password --password-stdin >/dev/null 2>&1
echo "mint-token wall time (median of 30): $(median_ms 30 "$bin" auth mint-token --scope scribe:transcribe) ms (target < 15 ms)"

cold=()
if harness_env=$(tests/support/systemd-harness.sh 2>/dev/null); then
    eval "$harness_env"
    export HOME=$PARACHUTE_TEST_SYSTEMD_HOME
    unset XDG_CONFIG_HOME
    systemd_units=1
    "$bin" init --no-start >/dev/null 2>&1
    systemctl --user start parachute-hub.socket
    for _ in $(seq 20); do
        # Each activation is a start; keep the start limit out of the figure.
        systemctl --user stop parachute-hub.service 2>/dev/null
        systemctl --user reset-failed parachute-hub.service 2>/dev/null || true
        cold+=("$(first_response_ms "$url/health")")
    done
    how="systemd --user socket unit"
    pid=$(systemctl --user show parachute-hub.service -p MainPID --value)
elif command -v systemd-socket-activate >/dev/null; then
    for _ in $(seq 20); do
        systemd-socket-activate -l "127.0.0.1:$port" "$bin" serve >/dev/null 2>&1 &
        act=$!
        sleep 0.2
        cold+=("$(first_response_ms "$url/health")")
        kill "$act"; wait "$act" 2>/dev/null || true
    done
    how="systemd-socket-activate (no user manager here)"
    "$bin" serve >/dev/null 2>&1 &
    hub_pid=$!
    pid=$hub_pid
    sleep 0.5
else
    echo "cold start: SKIP (no systemd user manager and no systemd-socket-activate)"
    "$bin" serve >/dev/null 2>&1 &
    hub_pid=$!
    pid=$hub_pid
    sleep 0.5
fi
((${#cold[@]})) && echo "cold start, connect → first /health (median of ${#cold[@]}, $how): $(median_of "${cold[@]}") ms (target < 30 ms)"

first_response_ms "$url/health" >/dev/null
sleep 1
echo "idle RSS after the first request: $(rss_mb "$pid") MB (target < 15 MB)"

wrk_line "warm GET /health (${duration}s, 64 connections)" "$url/health"
echo "  (target: ahead of 66k req/s, the upstream Bun hub on the same 2-core machine)"
token=$("$bin" auth mint-token --scope parachute:host:auth --ttl 1h)
wrk_line "bearer-validated GET /api/auth/tokens (${duration}s, 64 connections)" -H "Authorization: Bearer $token" "$url/api/auth/tokens?limit=1"
echo "RSS after load: $(rss_mb "$pid") MB"
