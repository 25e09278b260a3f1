#!/usr/bin/env bash
# Lifecycle benchmarks (issue #2). Prints figures; asserts nothing.
#   - `parachute status` with 10 registered, running services (median; target < 100 ms)
#   - `parachute start` + `stop` of one service vs the same through systemctl
#     (target: under the unit's own start time + 50 ms)
#   - cold `parachute --help` (median; target < 5 ms)
# Needs the systemd harness (booted here if not up) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(tests/support/systemd-harness.sh)"
cargo build --release --quiet
bin=$PWD/target/release/parachute
work=$(mktemp -d)
trap 'for m in $(seq 1 10); do HOME=$PARACHUTE_TEST_SYSTEMD_HOME PARACHUTE_HOME=$work/home "$bin" uninstall bench$m --yes >/dev/null 2>&1 || true; done; rm -rf "$work"' EXIT
export HOME=$PARACHUTE_TEST_SYSTEMD_HOME PARACHUTE_HOME=$work/home
unset XDG_CONFIG_HOME

median_ms() { # runs "$@" N times, prints the median wall time in ms
  local n=$1; shift
  python3 - "$n" "$@" <<'PY'
import subprocess, sys, time, statistics
n = int(sys.argv[1]); cmd = sys.argv[2:]
times = []
for _ in range(n):
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    times.append((time.perf_counter() - t) * 1000)
print(f"{statistics.median(times):.1f}")
PY
}

for m in $(seq 1 10); do
  d=$work/mod$m; mkdir -p "$d/.parachute"
  cat > "$d/.parachute/module.json" <<JSON
{"name":"bench$m","manifestName":"parachute-bench$m","port":$((2100+m)),"paths":["/bench$m"],"health":"/bench$m/health","startCmd":["/usr/bin/python3","-c","import http.server,os;http.server.HTTPServer(('127.0.0.1',int(os.environ['PORT'])),http.server.SimpleHTTPRequestHandler).serve_forever()"]}
JSON
  "$bin" install "$d" >/dev/null 2>&1
done

"$bin" stop bench1 >/dev/null 2>&1
echo "status, 10 running services:  median $(median_ms 20 "$bin" status) ms   (target < 100 ms)"
# The unit's own start time: systemctl start, then poll the port from one
# process (no per-try interpreter start-up), then stop.
theirs=$(python3 - <<'PY'
import socket, statistics, subprocess, time
def up():
    try:
        socket.create_connection(("127.0.0.1", 2101), 0.05).close(); return True
    except OSError:
        return False
times = []
for _ in range(10):
    # Repeated starts would hit the unit's start limit; parachute resets it too.
    subprocess.run(["systemctl", "--user", "reset-failed", "parachute-bench1.service"])
    t = time.perf_counter()
    subprocess.run(["systemctl", "--user", "start", "parachute-bench1.service"], check=True)
    while not up():
        time.sleep(0.002)
    subprocess.run(["systemctl", "--user", "stop", "parachute-bench1.service"], check=True)
    times.append((time.perf_counter() - t) * 1000)
print(f"{statistics.median(times):.1f}")
PY
)
ours=$(median_ms 10 sh -c "'$bin' start bench1 && '$bin' stop bench1")
echo "start+stop one service:       median $ours ms; the unit's own (systemctl start, port open, stop): $theirs ms   (target: within +50 ms)"
echo "cold --help:                  median $(median_ms 50 "$bin" --help) ms   (target < 5 ms)"
