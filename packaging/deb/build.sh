#!/usr/bin/env bash
# Build the Debian package: `packaging/deb/build.sh` → target/debian/parachute_<version>_<arch>.deb
#   --no-build           reuse target/release/parachute
#   --deb-version VER    package version (default: Cargo.toml's version)
# Needs cargo-deb (`cargo install cargo-deb --locked`). The completions and the
# gzipped man pages are generated into target/packaging/ first; the
# `[package.metadata.deb]` assets in Cargo.toml point there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

build=1
deb_version=()
while (($#)); do
    case $1 in
    --no-build) build=0 ;;
    --deb-version) deb_version=(--deb-version "$2"); shift ;;
    *) echo "usage: $0 [--no-build] [--deb-version VER]" >&2; exit 1 ;;
    esac
    shift
done

((build)) && cargo build --release --locked
bin=target/release/parachute
out=target/packaging
rm -rf "$out"
mkdir -p "$out/man" "$out/completions"
for shell in bash zsh fish; do
    "$bin" completions "$shell" >"$out/completions/parachute.$shell"
done
# -n: no name or timestamp in the gzip header, so rebuilds are identical.
for page in man/*.1 man/*.5; do
    gzip -9n <"$page" >"$out/man/$(basename "$page").gz"
done
cargo deb --no-build --no-strip "${deb_version[@]}" --output target/debian/
