#!/usr/bin/env bash
# Boot (or reuse) one real `systemd --user` manager plus journald on a machine
# whose PID 1 is not systemd, for parachute's system tests (DESIGN.md, "Seams
# and tests"). Idempotent: when a healthy manager is already up it only prints
# the environment.
#
#   eval "$(tests/support/systemd-harness.sh)"
#
# stdout: `export` lines for XDG_RUNTIME_DIR, DBUS_SESSION_BUS_ADDRESS and
#         PARACHUTE_TEST_SYSTEMD_HOME (the manager's HOME, whose
#         ~/.config/systemd/user is its private unit path); also written to
#         $STATE/env. stderr: progress and, on failure, the reason.
# exit:   0 up (running or degraded), 1 cannot boot here, 2 booted but unhealthy.
#
# Knobs (all optional):
#   PARACHUTE_HARNESS_STATE    state dir (default /tmp/parachute-systemd-harness)
#   PARACHUTE_HARNESS_TIMEOUT  seconds to wait for the manager (default 30)
#   PARACHUTE_HARNESS_UID      N in user@N.service (default: our uid). journald
#                              keys user units by that cgroup, so one manager
#                              per N per machine; only change it to test this
#                              script next to a manager that already holds it.
set -euo pipefail

STATE=${PARACHUTE_HARNESS_STATE:-/tmp/parachute-systemd-harness}
TIMEOUT=${PARACHUTE_HARNESS_TIMEOUT:-30}
SYSTEMD=/usr/lib/systemd/systemd
JOURNALD=/usr/lib/systemd/systemd-journald
CG_UID=${PARACHUTE_HARNESS_UID:-$(id -u)}
CG_PATH=user.slice/user-$CG_UID.slice/user@$CG_UID.service

say() { printf 'systemd-harness: %s\n' "$*" >&2; }
die() { say "cannot boot a systemd user manager: $*"; exit "${2:-1}"; }

# --- preconditions -----------------------------------------------------------

[[ $(id -u) == 0 ]] || die "not root (uid $(id -u)); the harness must create cgroups and start journald"
[[ -x $SYSTEMD ]] || die "no $SYSTEMD (apt-get install systemd)"
[[ -x $JOURNALD ]] || die "no $JOURNALD (apt-get install systemd)"
command -v systemctl >/dev/null || die "no systemctl on PATH (apt-get install systemd)"
command -v flock >/dev/null || die "no flock on PATH (apt-get install util-linux)"
if [[ $(cat /proc/1/comm 2>/dev/null) == systemd ]]; then
    # A real init owns /sys/fs/cgroup and user@.service here; hijacking them
    # would fight it. Such hosts have a login session manager already.
    die "PID 1 is systemd; this harness only boots a private manager where PID 1 is not systemd"
fi

# cgroup hierarchies the manager must live in: the cgroup2 tree (pure or the
# hybrid `unified` mount) and the named v1 `systemd` hierarchy when present.
CG_ROOTS=()
fstype() { stat -f -c %T "$1" 2>/dev/null || true; }
if [[ $(fstype /sys/fs/cgroup) == cgroup2fs ]]; then
    CG_ROOTS+=(/sys/fs/cgroup)
else
    [[ $(fstype /sys/fs/cgroup/unified) == cgroup2fs ]] && CG_ROOTS+=(/sys/fs/cgroup/unified)
    [[ $(fstype /sys/fs/cgroup/systemd) == cgroupfs ]] && CG_ROOTS+=(/sys/fs/cgroup/systemd)
fi
((${#CG_ROOTS[@]})) || die "no cgroup filesystem at /sys/fs/cgroup (need cgroup2, or the v1 name=systemd hierarchy)"

mkdir -p "$STATE"
# Several test binaries (or engineers) may call us at once; one boots, the
# rest wait and then reuse. Every daemon we start gets fd 9 closed (`9>&-`),
# or it would hold this lock for as long as it lives.
exec 9>"$STATE/lock"
flock -w "$((TIMEOUT + 30))" 9 || die "timed out waiting for $STATE/lock"

# --- helpers -----------------------------------------------------------------

# Print `export` lines for a manager's environment.
emit_env() { # runtime_dir bus_address home
    local kv k v
    for kv in "XDG_RUNTIME_DIR=$1" "DBUS_SESSION_BUS_ADDRESS=$2" "PARACHUTE_TEST_SYSTEMD_HOME=$3"; do
        k=${kv%%=*} v=${kv#*=}
        printf "export %s='%s'\n" "$k" "${v//\'/\'\\\'\'}"
    done
}

# The PID of a `systemd --user` living in our user@N.service cgroup, if any.
find_manager() {
    local root pid
    for root in "${CG_ROOTS[@]}"; do
        for procs in "$root/$CG_PATH/init.scope/cgroup.procs" "$root/$CG_PATH/cgroup.procs"; do
            [[ -r $procs ]] || continue
            while read -r pid; do
                if alive "$pid" && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == systemd &&
                    $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) == *--user* ]]; then
                    echo "$pid"
                    return 0
                fi
            done <"$procs"
        done
    done
    return 1
}

# NAME from a process's environment.
proc_env() { # pid name
    local line
    while IFS= read -r -d '' line; do
        [[ $line == "$2="* ]] && { printf '%s\n' "${line#*=}"; return 0; }
    done <"/proc/$1/environ"
}

# `systemctl --user is-system-running` against one manager.
manager_state() { # runtime_dir bus_address
    XDG_RUNTIME_DIR=$1 DBUS_SESSION_BUS_ADDRESS=$2 \
        timeout 10 systemctl --user is-system-running 2>/dev/null || true
}

# PID 1 here is not an init and reaps orphans late, so a dead daemon lingers
# as a zombie that `kill -0` and pgrep still see.
alive() { # pid
    local st
    st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $st && ${st:0:1} != Z ]]
}

journald_up() {
    local pid
    [[ -S /run/systemd/journal/socket ]] || return 1
    for pid in $(pgrep -x systemd-journal); do alive "$pid" && return 0; done
    return 1
}

# Does the manager's unit path ship a socket-activated session bus
# (dbus-user-session)? Then it owns $XDG_RUNTIME_DIR/bus and a bus we forked
# would be orphaned: dbus.socket unlinks and rebinds that path.
manager_provides_bus() { # home
    local masked=$1/.config/systemd/user/dbus.socket
    [[ -L $masked && $(readlink "$masked") == /dev/null ]] && return 1
    [[ -e /etc/systemd/user/dbus.socket || -e /usr/lib/systemd/user/dbus.socket ]]
}

# journald finds a user unit's invocation ID under /run/user/<uid>/systemd/
# units/ and tags the unit's lines with it (`_SYSTEMD_INVOCATION_ID`), as on
# a machine with a login session. Point that path at our private runtime
# dir; never replace one that exists.
link_runtime_dir() { # runtime_dir
    local want=/run/user/$CG_UID
    [[ -e $want || -L $want ]] && return 0
    mkdir -p /run/user && ln -s "$1" "$want" ||
        say "cannot link $want to $1: journal lines will carry no invocation IDs"
}

report_and_emit() { # pid runtime_dir bus home state how
    local pid=$1 rt=$2 bus=$3 home=$4 state=$5 how=$6
    if [[ $state == degraded ]]; then
        say "manager PID $pid is degraded; failed units:"
        XDG_RUNTIME_DIR=$rt DBUS_SESSION_BUS_ADDRESS=$bus \
            systemctl --user --failed --no-legend --plain 2>&1 | sed 's/^/  /' >&2 || true
    fi
    say "$how manager PID $pid: $state (HOME=$home, XDG_RUNTIME_DIR=$rt)"
    link_runtime_dir "$rt"
    local env
    env="# systemd-harness: $state $how pid=$pid"$'\n'"$(emit_env "$rt" "$bus" "$home")"
    printf '%s\n' "$env" >"$STATE/env.tmp" && mv -f "$STATE/env.tmp" "$STATE/env"
    printf '%s\n' "$env"
}

# --- journald ----------------------------------------------------------------

# Without /run/systemd/system, `systemd --user` refuses to start ("not booted
# with systemd"); journald creates its sockets under /run/systemd/journal.
mkdir -p /run/systemd/system /run/systemd/journal
if ! journald_up; then
    say "starting systemd-journald"
    setsid "$JOURNALD" </dev/null >>"$STATE/journald.log" 2>&1 9>&- &
    for _ in $(seq 50); do journald_up && break; sleep 0.1; done
    journald_up || die "systemd-journald did not come up (see $STATE/journald.log)"
fi

# --- reuse -------------------------------------------------------------------

if pid=$(find_manager); then
    rt=$(proc_env "$pid" XDG_RUNTIME_DIR)
    home=$(proc_env "$pid" HOME)
    bus=$(proc_env "$pid" DBUS_SESSION_BUS_ADDRESS)
    bus=${bus:-unix:path=$rt/bus}
    [[ -n $rt && -n $home ]] || die "manager PID $pid in $CG_PATH has no XDG_RUNTIME_DIR/HOME in its environment; stop it and rerun"
    how=reused
    [[ $pid == "$(cat "$STATE/manager.pid" 2>/dev/null)" ]] || how=adopted
    [[ $how == adopted ]] && say "adopting manager PID $pid started outside this harness (one per user@$CG_UID.service)"
    for _ in $(seq "$((TIMEOUT * 10))"); do
        state=$(manager_state "$rt" "$bus")
        case $state in running | degraded) break ;; esac
        sleep 0.1
    done
    case $state in
    running | degraded)
        report_and_emit "$pid" "$rt" "$bus" "$home" "$state" "$how"
        exit 0
        ;;
    esac
    if [[ $how == adopted ]]; then
        die "manager PID $pid (not started by this harness) holds $CG_PATH but is '${state:-unreachable}'; stop it and rerun" 2
    fi
    say "our manager PID $pid is '${state:-unreachable}'; restarting it"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then kill -9 "$pid" 2>/dev/null || true; fi
fi

# --- boot --------------------------------------------------------------------

RT=$STATE/run
HOME_DIR=$STATE/home
LOG=$STATE/manager.log
mkdir -p "$RT" "$HOME_DIR/.config/systemd/user"
rm -f "$STATE/manager.pid"
chmod 0700 "$RT"
# A previous manager's sockets would make clients talk to nothing.
rm -rf "${RT:?}/systemd" "$RT/bus"
BUS=unix:path=$RT/bus

if ! manager_provides_bus "$HOME_DIR"; then
    # systemd 252 only joins the session bus while its own dbus.socket and
    # dbus.service are running, so on this bus org.freedesktop.systemd1 is
    # absent and clients must use $XDG_RUNTIME_DIR/systemd/private.
    say "no user dbus.socket (apt-get install dbus-user-session); forking a plain session bus without systemd on it"
    command -v dbus-daemon >/dev/null || die "no dbus-daemon (apt-get install dbus-user-session)"
    if [[ -f $STATE/dbus.pid ]] && alive "$(cat "$STATE/dbus.pid")"; then
        kill "$(cat "$STATE/dbus.pid")" 2>/dev/null || true
    fi
    dbus-daemon --session --address="$BUS" --fork --print-pid >"$STATE/dbus.pid" 9>&- ||
        die "dbus-daemon --session failed to start"
    [[ -S $RT/bus ]] || die "dbus-daemon started but $RT/bus is not a socket"
fi

procs=()
for root in "${CG_ROOTS[@]}"; do
    # Straight into init.scope: on cgroup2 a leftover user@N.service from an
    # earlier run may have controllers enabled, and then it can hold no
    # processes itself. The manager treats init.scope's parent as its root.
    mkdir -p "$root/$CG_PATH/init.scope" || die "cannot create $root/$CG_PATH/init.scope"
    procs+=("$root/$CG_PATH/init.scope/cgroup.procs")
done

# A clean environment: the manager hands its own to every unit it starts, and
# with no XDG_CONFIG_HOME its unit path is $HOME_DIR/.config/systemd/user.
say "booting systemd --user (log: $LOG)"
: >"$LOG"
setsid env -i \
    HOME="$HOME_DIR" USER=root LOGNAME=root SHELL=/bin/sh LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    XDG_RUNTIME_DIR="$RT" DBUS_SESSION_BUS_ADDRESS="$BUS" \
    /bin/bash -c 'echo $$ >"$1"; shift; for f; do echo $$ >"$f" || exit 97; done; exec '"$SYSTEMD"' --user' \
    bash "$STATE/manager.pid" "${procs[@]}" </dev/null >>"$LOG" 2>&1 9>&- &
# setsid forks when it happens to lead a process group, so $! may not be the
# manager; the manager's shell records its own PID before exec.
for _ in $(seq 50); do [[ -s $STATE/manager.pid ]] && break; sleep 0.1; done
pid=$(cat "$STATE/manager.pid" 2>/dev/null) ||
    die "the manager's shell never started (see $LOG)"

state=
for _ in $(seq "$((TIMEOUT * 10))"); do
    if ! alive "$pid"; then
        say "manager log:"
        tail -n 20 "$LOG" | sed 's/^/  /' >&2
        die "systemd --user (PID $pid) exited early (see $LOG)"
    fi
    state=$(manager_state "$RT" "$BUS")
    case $state in running | degraded) break ;; esac
    sleep 0.1
done
case $state in
running | degraded) report_and_emit "$pid" "$RT" "$BUS" "$HOME_DIR" "$state" booted ;;
*)
    tail -n 20 "$LOG" | sed 's/^/  /' >&2
    die "systemd --user (PID $pid) still '${state:-unreachable}' after ${TIMEOUT}s" 2
    ;;
esac
