#!/usr/bin/env bash
# Package benchmark (issue 15). Prints figures; asserts nothing.
#   - .deb size and installed size (dpkg's Installed-Size)
#   - `parachute --version` cold start of the installed /usr/bin/parachute
#     (first run after dropping the page cache, then the median of 20)
#   - the upgrade gap: a hub from the installed binary (`parachute init` in
#     the systemd harness), the package installed again over it (the binary
#     replaced in place, as an upgrade does), then `parachute upgrade` while
#     a client asks `/health` on fresh connections: the longest wait of one
#     request, and how many failed (should be 0)
# Needs root (dpkg -i / -r), cargo-deb, and for the gap the systemd
# harness's environment (eval "$(tests/support/systemd-harness.sh)").
# `--no-build` packages the existing target/release/parachute. The package
# is removed again at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
packaging/deb/build.sh "$@" >/tmp/parachute-bench-build.log
deb=$(tail -1 /tmp/parachute-bench-build.log)
installed_before=$(dpkg-query -W -f='${Status}' parachute 2>/dev/null || true)
case $installed_before in *"install ok installed"*)
    echo "parachute is installed already; remove it first (dpkg -r parachute)" >&2; exit 1 ;;
esac
work=$(mktemp -d /tmp/parachute-bench-package.XXXXXX)
cleanup() {
    if [ -n "${user_home:-}" ]; then
        as_user systemctl --user stop parachute-hub.socket parachute-hub.service >/dev/null 2>&1 || true
        as_user systemctl --user disable parachute-hub.socket >/dev/null 2>&1 || true
        rm -f "$user_home/.config/systemd/user/parachute-hub.socket" "$user_home/.config/systemd/user/parachute-hub.service"
        as_user systemctl --user daemon-reload >/dev/null 2>&1 || true
        as_user systemctl --user reset-failed parachute-hub.socket parachute-hub.service >/dev/null 2>&1 || true
    fi
    dpkg -r parachute >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
dpkg -i "$deb" >/dev/null

printf '.deb size:            %s KiB (%s)\n' "$(($(stat -c %s "$deb") / 1024))" "$(basename "$deb")"
printf 'installed size:       %s KiB (dpkg Installed-Size)\n' "$(dpkg-query -W -f='${Installed-Size}' parachute)"
sync
cold=$( { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null && echo yes || echo no)
python3 - "$cold" <<'PY'
import subprocess, sys, time, statistics
def run():
    t = time.perf_counter()
    subprocess.run(["/usr/bin/parachute", "--version"], stdout=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - t) * 1000
first = run()
rest = [run() for _ in range(20)]
label = "after dropping caches" if sys.argv[1] == "yes" else "first run; caches not droppable here"
print(f"--version first run:  {first:.1f} ms ({label})")
print(f"--version median:     {statistics.median(rest):.1f} ms (20 runs)")
PY

if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ -z "${PARACHUTE_TEST_SYSTEMD_HOME:-}" ]; then
    echo "upgrade gap:          skipped (export the systemd harness environment first)"
    exit 0
fi
user_home=$PARACHUTE_TEST_SYSTEMD_HOME
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_user() {
    env -u XDG_CONFIG_HOME -u SUDO_USER -u PARACHUTE_HUB_ORIGIN -u PARACHUTE_BIND_HOST \
        HOME="$user_home" PARACHUTE_HOME="$work/home" PORT="$port" "$@"
}
# The harness's manager is shared with the system tests: hold their lock.
exec 9>"${PARACHUTE_HARNESS_STATE:-/tmp/parachute-systemd-harness}/tests.lock"
flock 9
printf 'correct horse battery staple\n' | as_user /usr/bin/parachute init --password-stdin >/dev/null 2>&1
dpkg -i "$deb" >/dev/null
as_user python3 - "$port" <<'PY'
import socket, subprocess, sys, threading, time
port = int(sys.argv[1])
stop = threading.Event()
waits, failed = [], []
def ask():
    t = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    if not answer.startswith(b"HTTP/1.1 200"):
        raise OSError(answer[:60])
    return (time.perf_counter() - t) * 1000
def loop():
    while not stop.is_set():
        try:
            waits.append(ask())
        except OSError as e:
            failed.append(str(e))
        time.sleep(0.005)
client = threading.Thread(target=loop)
client.start()
time.sleep(1)
t = time.perf_counter()
up = subprocess.run(["/usr/bin/parachute", "upgrade"], capture_output=True, text=True)
took = (time.perf_counter() - t) * 1000
time.sleep(1)
stop.set()
client.join()
if up.returncode != 0:
    print(up.stderr, file=sys.stderr)
    sys.exit("parachute upgrade failed")
print(f"upgrade gap:          {max(waits):.1f} ms longest request wait during `parachute upgrade` "
      f"({len(waits)} requests, {len(failed)} failed; median {sorted(waits)[len(waits)//2]:.1f} ms; "
      f"the upgrade took {took:.0f} ms)")
PY
