#!/usr/bin/env bash
# CI for the Debian package (run by .ci/run as root, after the systemd
# harness is up and its environment exported): build the .deb, install it,
# use the installed binary (`--version`, `man`, `parachute init` in the
# harness's user manager), upgrade to a second build with a bumped version
# under the running hub and run `parachute upgrade` as the postinst says,
# then remove and purge it. Removal must take the binary, man pages and
# completions and leave the user's Parachute home alone.
# `--no-build` packages the existing target/release/parachute (local reruns).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
build_args=()
[ "${1:-}" = --no-build ] && build_args=(--no-build)

: "${XDG_RUNTIME_DIR:?export the systemd harness environment first}"
: "${PARACHUTE_TEST_SYSTEMD_HOME:?export the systemd harness environment first}"

fail() { echo "✗ deb: $*" >&2; exit 1; }
step() { printf -- '-- %s\n' "$*"; }

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
step "build ($version and $version+ci2)"
# cargo-deb prints the package's path last; keep each build aside, since a
# second run cleans its output directory.
debs=target/deb-check
rm -rf "$debs" && mkdir -p "$debs"
first=$(packaging/deb/build.sh "${build_args[@]}" | tail -1)
mv "$first" "$debs/" && first=$debs/$(basename "$first")
# The second build really is another version: the binary reports it too
# (`PARACHUTE_BUILD_VERSION`, src/version.rs), so the upgrade below is
# onto a hub that answers with a new version, as after a real release.
# It is always built (a re-run with --no-build would otherwise package a
# leftover of either version first).
second=$(PARACHUTE_BUILD_VERSION="${version}+ci2" packaging/deb/build.sh --deb-version "${version}+ci2" | tail -1)
mv "$second" "$debs/" && second=$debs/$(basename "$second")
[ -f "$first" ] && [ -f "$second" ] || fail "missing $first or $second"
ls -l "$first" "$second"

step "lintian"
# --fail-on error: warnings are reviewed in packaging/deb/README.md.
lintian --fail-on error "$first"

# A clean system state: no earlier install of ours.
dpkg --purge parachute >/dev/null 2>&1 || true

step "dpkg -i $first"
postinst=$(dpkg -i "$first" 2>&1) || { echo "$postinst"; fail "dpkg -i failed"; }
echo "$postinst"
grep -qF 'parachute init' <<<"$postinst" || fail "postinst does not print the next step"
/usr/bin/parachute --version | grep -qx "parachute $version" || fail "--version: $(/usr/bin/parachute --version)"
MANPAGER=cat man parachute | grep -q 'SYNOPSIS' || fail "man parachute shows no page"
MANPAGER=cat man 5 parachute-module | grep -q 'manifestName' || fail "man 5 parachute-module"
MANPAGER=cat man parachute-auth-set-password | grep -q 'parachute auth set-password' ||
    fail "man parachute-auth-set-password"
files=(/usr/bin/parachute
    /usr/share/man/man1/parachute.1.gz
    /usr/share/man/man5/parachute-module.5.gz
    /usr/share/bash-completion/completions/parachute
    /usr/share/zsh/vendor-completions/_parachute
    /usr/share/fish/vendor_completions.d/parachute.fish
    /usr/share/doc/parachute/copyright
    /usr/share/doc/parachute/changelog.Debian.gz
    /usr/share/doc/parachute/examples/hello-module/.parachute/module.json)
for f in "${files[@]}"; do [ -e "$f" ] || fail "$f not installed"; done
# The installed completion works in a real bash.
got=$(bash --norc -c 'source /usr/share/bash-completion/completions/parachute
    COMP_WORDS=(parachute ins); COMP_CWORD=1; COMP_LINE="parachute ins"; COMP_POINT=13
    _parachute parachute ins parachute; echo "${COMPREPLY[*]}"')
[ "$got" = install ] || fail "bash completion of \`parachute ins\`: '$got'"

step "parachute init from /usr/bin in the harness"
# The harness's user manager, a throwaway home for it, its unit directory.
user_home=$PARACHUTE_TEST_SYSTEMD_HOME
units=$user_home/.config/systemd/user
work=$(mktemp -d /tmp/parachute-deb-check.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_user() {
    env -u XDG_CONFIG_HOME -u SUDO_USER -u PARACHUTE_HUB_ORIGIN -u PARACHUTE_BIND_HOST \
        HOME="$user_home" PARACHUTE_HOME="$work/parachute-home" PORT="$port" "$@"
}
cleanup_units() {
    as_user /usr/bin/parachute uninstall hello --yes >/dev/null 2>&1 || true
    as_user systemctl --user stop parachute-hub.socket parachute-hub.service >/dev/null 2>&1 || true
    as_user systemctl --user disable parachute-hub.socket >/dev/null 2>&1 || true
    rm -f "$units/parachute-hub.socket" "$units/parachute-hub.service"
    as_user systemctl --user daemon-reload || true
    as_user systemctl --user reset-failed parachute-hub.socket parachute-hub.service >/dev/null 2>&1 || true
}
# System tests share this manager: hold their machine-wide lock meanwhile.
exec 9>"${PARACHUTE_HARNESS_STATE:-/tmp/parachute-systemd-harness}/tests.lock"
flock 9
trap 'cleanup_units; rm -rf "$work"' EXIT
printf 'correct horse battery staple\n' | as_user /usr/bin/parachute init --password-stdin ||
    fail "parachute init from the installed binary"
grep -q '^ExecStart=/usr/bin/parachute serve' "$units/parachute-hub.service" ||
    fail "hub unit does not run /usr/bin/parachute"
curl_health=$(python3 -c "import urllib.request,sys; print(urllib.request.urlopen('http://127.0.0.1:$port/health', timeout=10).status)")
[ "$curl_health" = 200 ] || fail "/health through the socket: $curl_health"
# The README's example path for package users.
as_user /usr/bin/parachute install /usr/share/doc/parachute/examples/hello-module ||
    fail "parachute install of the packaged example module"
as_user /usr/bin/parachute uninstall hello --yes || fail "parachute uninstall hello"

step "upgrade to $second under the running hub"
hub_pid() { as_user systemctl --user show parachute-hub.service -p MainPID --value; }
old_pid=$(hub_pid)
[ "$old_pid" != 0 ] || fail "the hub is not running before the upgrade"
postinst=$(dpkg -i "$second" 2>&1) || { echo "$postinst"; fail "dpkg -i $second failed"; }
echo "$postinst"
grep -qF 'parachute upgrade' <<<"$postinst" || fail "postinst does not say \`parachute upgrade\` after an upgrade"
[ "$(dpkg-query -W -f='${Version}' parachute)" = "${version}+ci2" ] || fail "upgrade did not take"
/usr/bin/parachute --version | grep -qx "parachute ${version}+ci2" ||
    fail "upgraded --version: $(/usr/bin/parachute --version)"
health_version() {
    python3 -c "import json,urllib.request; print(json.load(urllib.request.urlopen('http://127.0.0.1:$port/health', timeout=10))['version'])"
}
[ "$(health_version)" = "$version" ] || fail "the old hub should still be serving $version"
# The next command notices that the running hub is another version, once.
notice=$(as_user /usr/bin/parachute status 2>&1 >/dev/null || true)
grep -qF "the running hub is version $version, but this binary is ${version}+ci2" <<<"$notice" ||
    fail "no version notice after the package upgrade: $notice"
notice=$(as_user /usr/bin/parachute status 2>&1 >/dev/null || true)
! grep -qF 'the running hub is version' <<<"$notice" || fail "the version notice was said twice"
# What the postinst tells each user to do: the hub moves onto the new
# binary behind its socket, with no refused or failed request meanwhile
# (a client loop of fresh connections, 6 s, across the upgrade).
loop_out=$work/loop.out
python3 - "$port" >"$loop_out" 2>&1 <<'PY' &
import sys, time, urllib.request
port, ok, failed, worst = sys.argv[1], 0, [], 0.0
end = time.monotonic() + 6
while time.monotonic() < end:
    t = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=15) as r:
            r.read()
            ok += r.status == 200
            if r.status != 200:
                failed.append(r.status)
    except Exception as e:  # refused, reset, timeout: each is a failure
        failed.append(repr(e))
    worst = max(worst, time.monotonic() - t)
print(f"ok={ok} failed={len(failed)} worst_ms={worst * 1000:.0f} {failed[:3]}")
PY
loop_pid=$!
sleep 1.5
as_user /usr/bin/parachute upgrade || fail "parachute upgrade after the package upgrade"
wait "$loop_pid" || fail "client loop: $(cat "$loop_out")"
echo "client loop across parachute upgrade: $(cat "$loop_out")"
grep -q ' failed=0 ' "$loop_out" || fail "requests failed across parachute upgrade: $(cat "$loop_out")"
[ "$(hub_pid)" != "$old_pid" ] || fail "parachute upgrade did not restart the hub"
[ "$(health_version)" = "${version}+ci2" ] || fail "/health after parachute upgrade: $(health_version)"
cleanup_units
flock -u 9

step "dpkg -r, then --purge"
[ -d "$work/parachute-home" ] || fail "init wrote no Parachute home"
dpkg -r parachute
for f in "${files[@]}"; do [ ! -e "$f" ] || fail "$f left after dpkg -r"; done
dpkg --purge parachute
[ ! -e /usr/share/doc/parachute ] || fail "/usr/share/doc/parachute left after purge"
[ -f "$work/parachute-home/hub.db" ] || fail "the user's Parachute home did not survive removal"
echo "✓ deb: built, installed, used, upgraded, removed, purged"
