#!/usr/bin/env bash
# Two builds side by side (issue 10: "measure `parachute status` and
# `/health` before and after"). Prints figures; asserts nothing.
#   bench/before_after.sh <before-binary> <after-binary>
# The two are measured interleaved, round after round, so load from
# anything else on the machine falls on both alike:
#   - `parachute status` with 10 registered, running services (the same
#     services for both: installed once, by the after binary), median of
#     ROUNDS×10 runs each;
#   - warm GET /health with wrk on each binary's own `parachute serve`,
#     ROUNDS runs of BENCH_SECONDS each: median req/s and p99.
# Needs the systemd harness (booted here if not up), python3 and wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
before=$(realpath "${1:?usage: bench/before_after.sh <before-binary> <after-binary>}")
after=$(realpath "${2:?usage: bench/before_after.sh <before-binary> <after-binary>}")
rounds=${ROUNDS:-3}
duration=${BENCH_SECONDS:-5}
eval "$(tests/support/systemd-harness.sh)"
work=$(mktemp -d)
export HOME=$PARACHUTE_TEST_SYSTEMD_HOME PARACHUTE_HOME=$work/home
unset XDG_CONFIG_HOME PARACHUTE_HUB_ORIGIN PARACHUTE_BIND_HOST LISTEN_FDS LISTEN_PID NOTIFY_SOCKET
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for m in $(seq 1 10); do "$after" uninstall "ba$m" --yes >/dev/null 2>&1 || true; done
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

for m in $(seq 1 10); do
    d=$work/mod$m
    mkdir -p "$d/.parachute"
    cat >"$d/.parachute/module.json" <<JSON
{"name":"ba$m","manifestName":"parachute-ba$m","port":$(free_port),"paths":["/ba$m"],"health":"/ba$m","startCmd":["/usr/bin/python3","-c","import http.server,os;http.server.HTTPServer(('127.0.0.1',int(os.environ['PORT'])),http.server.SimpleHTTPRequestHandler).serve_forever()"]}
JSON
    "$after" install "$d" >/dev/null 2>&1
done

echo "== parachute status, 10 running services (median of $((rounds * 10)) runs each, interleaved)"
python3 - "$rounds" "$before" "$after" <<'PY'
import statistics, subprocess, sys, time
rounds, bins = int(sys.argv[1]), sys.argv[2:]
times = [[], []]
for _ in range(rounds * 10):
    for i, b in enumerate(bins):
        t = time.perf_counter()
        subprocess.run([b, "status"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times[i].append((time.perf_counter() - t) * 1000)
for label, ts in zip(("before", "after"), times):
    print(f"  {label}: median {statistics.median(ts):.1f} ms, p90 {sorted(ts)[int(len(ts) * 0.9)]:.1f} ms")
PY

echo "== warm GET /health (${duration}s × $rounds rounds each, wrk -t2 -c64, interleaved)"
declare -A url
for label in before after; do
    bin=$before
    [[ $label == after ]] && bin=$after
    port=$(free_port)
    PARACHUTE_HOME=$work/hub-$label PORT=$port "$bin" serve >/dev/null 2>&1 &
    pids+=($!)
    url[$label]=http://127.0.0.1:$port/health
done
for label in before after; do
    for _ in $(seq 50); do curl -fs "${url[$label]}" >/dev/null && break; sleep 0.1; done
done
declare -A rps p99
for _ in $(seq "$rounds"); do
    for label in before after; do
        out=$(wrk -t2 -c64 -d"${duration}s" --latency "${url[$label]}")
        rps[$label]+="$(awk '/^Requests\/sec/ {print $2}' <<<"$out") "
        p99[$label]+="$(awk '$1 == "99%" {print $2}' <<<"$out") "
    done
done
for label in before after; do
    # shellcheck disable=SC2086
    echo "  $label: req/s ${rps[$label]}→ median $(python3 -c 'import statistics,sys; print(f"{statistics.median(float(x) for x in sys.argv[1:]):.0f}")' ${rps[$label]}); p99 ${p99[$label]}"
done
