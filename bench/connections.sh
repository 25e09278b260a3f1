#!/usr/bin/env bash
# Connection-bound benchmark (issue 8, "No timeouts"). Prints figures;
# asserts nothing. A release hub started with the 1024 soft descriptors a
# user manager gives by default; a client holds HELD connections (default
# 1100: half idle, half with half a request line sent) for HOLD seconds
# (default 8, inside the hub's 10 s header timeout) while timing GET
# /health on fresh connections, then reports how long the held sockets took
# to be dropped by the hub. Bounded: ≤ 1,100 connections, ≤ 30 s.
# Needs python3 and prlimit (util-linux); release build.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=$PWD/target/release/parachute
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export PARACHUTE_HOME=$work/home PORT=$port
unset PARACHUTE_HUB_ORIGIN PARACHUTE_BIND_HOST LISTEN_FDS LISTEN_PID NOTIFY_SOCKET
held=${HELD:-1100}
hold=${HOLD:-8}
(( held <= 1100 )) || { echo "HELD is capped at 1100" >&2; exit 1; }

hub_pid=
cleanup() {
    if [[ -n $hub_pid ]]; then kill "$hub_pid" 2>/dev/null || true; wait "$hub_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

hard=$(ulimit -Hn)
prlimit --nofile=1024:"$hard" -- "$bin" serve 2>"$work/hub.log" &
hub_pid=$!
for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    sleep 0.1
done

echo "hub: pid $hub_pid, started with nofile 1024:$hard"
python3 - "$port" "$held" "$hold" <<'PY'
import resource, socket, statistics, sys, time
port, held, hold = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, held + 1024), hard))

def health():
    t = time.perf_counter()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.settimeout(5)
        # The hub answers only for its own names, port included (421
        # otherwise, issue 8's DNS-rebinding rule).
        s.sendall(f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        s.close()
        status = data.split(b"\r\n", 1)[0].decode(errors="replace") or "no answer"
    except OSError as e:
        status = f"{type(e).__name__}: {e}"
    return status, (time.perf_counter() - t) * 1000

t0 = time.perf_counter()
socks = []
for i in range(held):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    if i % 2:
        s.sendall(b"GET /health HT")
    socks.append(s)
opened = time.perf_counter() - t0
print(f"held: {held} connections ({held - held // 2} idle, {held // 2} half-open), opened in {opened * 1000:.0f} ms")

times, failed, first_failure = [], 0, None
end = time.perf_counter() + hold
while time.perf_counter() < end:
    status, ms = health()
    if status.startswith("HTTP/1.1 200"):
        times.append(ms)
    else:
        failed += 1
        first_failure = first_failure or status
    time.sleep(0.05)
if times:
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"/health while held: {len(times)} ok, {failed} failed; median {statistics.median(times):.2f} ms, p99 {p99:.2f} ms, max {times[-1]:.2f} ms")
else:
    print(f"/health while held: 0 ok, {failed} failed")
if first_failure:
    print(f"first failed /health: {first_failure}")

# How long until the hub drops the held sockets (its header timeout).
import selectors
sel = selectors.DefaultSelector()
for s in socks:
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
left = held
deadline = time.perf_counter() + 15
while left and time.perf_counter() < deadline:
    for key, _ in sel.select(timeout=0.5):
        s = key.fileobj
        try:
            data = s.recv(4096)
        except BlockingIOError:
            continue
        except OSError:
            data = b""
        if data == b"":
            sel.unregister(s)
            s.close()
            left -= 1
print(f"held sockets dropped by the hub: {held - left} of {held}, {time.perf_counter() - t0:.1f} s after the first was opened")
PY
echo "hub open fds after: $(ls /proc/$hub_pid/fd 2>/dev/null | wc -l)"
