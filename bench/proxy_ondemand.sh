#!/usr/bin/env bash
# Start-on-demand benchmark (issue 11). Prints figures; asserts nothing.
#   - the module's own start: `systemctl --user start`, then the first byte
#     of its health URL (polled from one process every 2 ms);
#   - through the hub: a request to the same module while it is stopped,
#     to its first byte (the hub starts it, waits for its health check,
#     then forwards).
#   Target: the hub's time within the module's own start + 50 ms (medians).
# Needs the systemd harness (booted here if not up) and python3.
# PARACHUTE_BIN=<binary> skips the release build (figures from a debug
# build are slower but still show the overhead). ROUNDS=<n> (default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(tests/support/systemd-harness.sh)"
if [ -n "${PARACHUTE_BIN:-}" ]; then
  bin=$PARACHUTE_BIN
else
  cargo build --release --quiet
  bin=$PWD/target/release/parachute
fi
rounds=${ROUNDS:-10}
work=$(mktemp -d)
export HOME=$PARACHUTE_TEST_SYSTEMD_HOME PARACHUTE_HOME=$work/home
unset XDG_CONFIG_HOME LISTEN_FDS LISTEN_PID NOTIFY_SOCKET PARACHUTE_HUB_ORIGIN
hub_pid=
cleanup() {
  [ -n "$hub_pid" ] && kill "$hub_pid" 2>/dev/null || true
  "$bin" uninstall benchod --yes >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
hub_port=$(free_port)
mod=$work/benchod
mkdir -p "$mod/.parachute"
cp tests/modules/proxied/server.py "$mod/"
cat > "$mod/.parachute/module.json" <<JSON
{"name":"benchod","manifestName":"parachute-benchod","version":"1.0.0","port":$port,"paths":["/benchod"],"health":"/benchod/health","startCmd":["/usr/bin/python3","server.py","benchod"]}
JSON
"$bin" install "$mod" --no-start >/dev/null 2>&1
PORT=$hub_port PARACHUTE_BIND_HOST=127.0.0.1 "$bin" serve 2>"$work/hub.log" &
hub_pid=$!

python3 - "$port" "$hub_port" "$rounds" <<'PY'
import http.client, statistics, subprocess, sys, time
port, hub_port, rounds = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
unit = "parachute-benchod.service"

def first_byte(p, path, tries):
    """Seconds until GET path on p returns its first byte; None if never."""
    t = time.perf_counter()
    for _ in range(tries):
        try:
            c = http.client.HTTPConnection("127.0.0.1", p, timeout=30)
            c.request("GET", path, headers={"Accept": "application/json"})
            r = c.getresponse()
            r.read(1)
            status = r.status
            c.close()
            if status == 200:
                return time.perf_counter() - t
        except OSError:
            pass
        time.sleep(0.002)
    return None

def systemctl(*args):
    subprocess.run(["systemctl", "--user", *args], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

if first_byte(hub_port, "/health", 2500) is None:
    sys.exit("the hub did not come up")
own, through = [], []
for _ in range(rounds):
    systemctl("reset-failed", unit)
    t = time.perf_counter()
    systemctl("start", unit)
    d = first_byte(port, "/benchod/health", 5000)
    own.append((time.perf_counter() - t) if d is not None else float("nan"))
    systemctl("stop", unit)
    # The hub reuses a unit's state for up to 1 s; let it see the stop.
    time.sleep(1.1)
    d = first_byte(hub_port, "/benchod/echo", 1)
    through.append(d if d is not None else float("nan"))
    systemctl("stop", unit)
    time.sleep(1.1)

ms = lambda xs: statistics.median(xs) * 1000
print(f"module's own start to first byte:      median {ms(own):.1f} ms  (min {min(own)*1000:.1f}, max {max(own)*1000:.1f})")
print(f"request to stopped module, first byte: median {ms(through):.1f} ms  (min {min(through)*1000:.1f}, max {max(through)*1000:.1f})")
print(f"added by the hub:                      {ms(through) - ms(own):+.1f} ms   (target: within +50 ms)")
PY
