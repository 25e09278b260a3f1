#!/usr/bin/env bash
# Git transport benchmark (issue #5). Prints figures; asserts nothing.
#   - push and clone of a ~100 MiB repository (incompressible blobs, so the
#     pack is as large as the data) through the hub's /git/<name> endpoint
#     vs the same git over file:// (upload-pack/receive-pack on pipes: git's
#     own work without HTTP); throughput and the ratio (target ≥ 0.9)
#   - the hub's peak RSS (VmHWM, reset before each transfer) for a 10 MiB and
#     a 100 MiB transfer (target: does not grow with the pack size)
# Median of BENCH_RUNS (default 3) runs each; BENCH_MIB sets the large size.
# Needs git and python3; release build. The machine is shared: expect noise.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=$PWD/target/release/parachute
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export PARACHUTE_HOME=$work/home PORT=$port
unset PARACHUTE_HUB_ORIGIN PARACHUTE_BIND_HOST LISTEN_FDS LISTEN_PID NOTIFY_SOCKET PARACHUTE_GIT_MAX_REQUEST_BYTES
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY
# The client side: no user or system configuration, never prompt.
export HOME=$work/githome GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@parachute.computer
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@parachute.computer
mkdir -p "$HOME"
url=http://127.0.0.1:$port
runs=${BENCH_RUNS:-3}
big=${BENCH_MIB:-100}

hub_pid=
cleanup() {
    if [[ -n $hub_pid ]]; then kill "$hub_pid" 2>/dev/null || true; wait "$hub_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

printf 'benchmark password\n' | "$bin" auth set-password --password-stdin >/dev/null 2>&1
PARACHUTE_LOG=warn "$bin" serve >/dev/null 2>"$work/hub.log" &
hub_pid=$!
for _ in $(seq 100); do
    curl -fsS "$url/health" >/dev/null 2>&1 && break
    sleep 0.1
done
scopes="surface:bench:write surface:small:write surface:rss:write"
for i in $(seq "$runs"); do scopes+=" surface:push$i:write"; done
write=$("$bin" auth mint-token --scope "$scopes" --ttl 1h)
read_token=$("$bin" auth mint-token --scope "surface:bench:read surface:small:read" --ttl 1h)
auth_w="http.extraHeader=Authorization: Bearer $write"
auth_r="http.extraHeader=Authorization: Bearer $read_token"

seconds() { # cmd...: wall seconds of one run (output discarded, must succeed)
    python3 - "$@" <<'PY'
import subprocess, sys, time
t = time.perf_counter()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
print(f"{time.perf_counter() - t:.3f}")
PY
}
median_of() { python3 -c 'import statistics,sys; print(f"{statistics.median(float(x) for x in sys.argv[1:]):.3f}")' "$@"; }
mibps() { python3 -c "import sys; print(f'{$1 / float(sys.argv[1]):.1f}')" "$2"; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[2]) / float(sys.argv[1]):.2f}')" "$1" "$2"; }
reset_peak() { echo 5 >"/proc/$hub_pid/clear_refs"; }
peak_mib() { awk '/^VmHWM/ {printf "%.1f", $2/1024}' "/proc/$hub_pid/status"; }

make_repo() { # dir, MiB: one commit of MiB incompressible 1 MiB files
    git init -q -b main "$1"
    python3 - "$1" "$2" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    with open(os.path.join(d, f"blob{i:04}.bin"), "wb") as f:
        f.write(os.urandom(1 << 20))
PY
    git -C "$1" add -A
    git -C "$1" commit -q -m data
}

make_repo "$work/src-big" "$big"
make_repo "$work/src-small" 10
pack_mib=$(du -sm "$work/src-big/.git/objects" | cut -f1)
echo "repository: $big MiB of incompressible blobs (objects: $pack_mib MiB), git $(git --version | cut -d' ' -f3), $runs runs each"

# Push: a fresh target every run (the hub provisions push1, push2, …).
file_push=() hub_push=()
for i in $(seq "$runs"); do
    git init -q --bare "$work/base$i.git"
    file_push+=("$(seconds git -C "$work/src-big" push -q "file://$work/base$i.git" main)")
    hub_push+=("$(seconds git -C "$work/src-big" -c "$auth_w" push -q "$url/git/push$i" main)")
done
fp=$(median_of "${file_push[@]}") hp=$(median_of "${hub_push[@]}")
echo "push  $big MiB: file:// ${fp}s ($(mibps "$big" "$fp") MiB/s), hub ${hp}s ($(mibps "$big" "$hp") MiB/s), ratio $(ratio "$hp" "$fp") (target ≥ 0.9)"

# Clone: from one pushed repository on each side.
git -C "$work/src-big" -c "$auth_w" push -q "$url/git/bench" main 2>/dev/null
file_clone=() hub_clone=()
for i in $(seq "$runs"); do
    rm -rf "$work/c-file" "$work/c-hub"
    file_clone+=("$(seconds git clone -q --no-checkout "file://$work/base1.git" "$work/c-file")")
    hub_clone+=("$(seconds git -c "$auth_r" clone -q --no-checkout "$url/git/bench" "$work/c-hub")")
done
fc=$(median_of "${file_clone[@]}") hc=$(median_of "${hub_clone[@]}")
echo "clone $big MiB: file:// ${fc}s ($(mibps "$big" "$fc") MiB/s), hub ${hc}s ($(mibps "$big" "$hc") MiB/s), ratio $(ratio "$hc" "$fc") (target ≥ 0.9)"

# Peak RSS of the hub process (its git children not included) per transfer.
peak() { # label, cmd...
    local label=$1; shift
    reset_peak
    "$@" >/dev/null 2>&1
    echo "  $label: $(peak_mib) MiB"
}
rm -rf "$work/c-hub"
echo "hub peak RSS (VmHWM) during one transfer (target: flat in the pack size); idle RSS now $(awk '/^VmRSS/ {printf "%.1f", $2/1024}' "/proc/$hub_pid/status") MiB:"
peak "push  10 MiB" git -C "$work/src-small" -c "$auth_w" push -q "$url/git/small" main
peak "clone 10 MiB" git -c "$auth_r" clone -q --no-checkout "$url/git/small" "$work/c-small"
peak "push  $big MiB" git -C "$work/src-big" -c "$auth_w" push -q "$url/git/rss" main
peak "clone $big MiB" git -c "$auth_r" clone -q --no-checkout "$url/git/bench" "$work/c-hub"
if grep -qiE 'error|warn' "$work/hub.log"; then
    echo "hub log:"; sed 's/^/  /' "$work/hub.log"
fi
