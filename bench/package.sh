#!/usr/bin/env bash
# Package benchmark (issue 15). Prints figures; asserts nothing.
#   - .deb size and installed size (dpkg's Installed-Size)
#   - `parachute --version` cold start of the installed /usr/bin/parachute
#     (first run after dropping the page cache, then the median of 20)
# Needs root (dpkg -i / -r) and cargo-deb. `--no-build` packages the existing
# target/release/parachute. The package is removed again at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
packaging/deb/build.sh "$@" >/tmp/parachute-bench-build.log
deb=$(tail -1 /tmp/parachute-bench-build.log)
installed_before=$(dpkg-query -W -f='${Status}' parachute 2>/dev/null || true)
case $installed_before in *"install ok installed"*)
    echo "parachute is installed already; remove it first (dpkg -r parachute)" >&2; exit 1 ;;
esac
trap 'dpkg -r parachute >/dev/null 2>&1 || true' EXIT
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
