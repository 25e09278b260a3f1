//! The version this binary reports: `--version`, `/health`, the hub's
//! start line, `status`, and the user agent of its fetches.
//!
//! A packager may stamp another one at build time with
//! `PARACHUTE_BUILD_VERSION` (e.g. a Debian revision such as `0.1.0+ci2`);
//! otherwise it is Cargo.toml's. CI builds a second package this way, so a
//! `parachute upgrade` onto a binary that really reports another version
//! is tried end to end (packaging/deb/ci-check.sh).

pub const VERSION: &str = match option_env!("PARACHUTE_BUILD_VERSION") {
    Some(v) => v,
    None => env!("CARGO_PKG_VERSION"),
};
