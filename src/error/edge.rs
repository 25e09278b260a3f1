//! An edge setting of `parachute serve` that does not parse, as plain data
//! below `hub` (which re-exports it as `hub::edge::EdgeError`), so the
//! library's `Error` wraps it without importing the hub.

/// A setting that does not parse; `serve` refuses to start on it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "`{var}`: `{value}` is not {expected}. Fix it with `systemctl --user edit parachute-hub.service` (or unset it)."
)]
pub struct EdgeError {
    pub var: &'static str,
    pub value: String,
    pub expected: &'static str,
}
