//! What an init system answered when asked to do something: the faults of
//! the lifecycle layer's `InitSystem` seam, as plain data. They live here,
//! below `lifecycle`, so the library's `Error` can wrap them without
//! importing the layer that raises them (`lifecycle` re-exports them).

use super::launchd::LaunchdError;

/// Errors from talking to the init system.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// No user manager could be reached (no `XDG_RUNTIME_DIR`, no bus, no systemd).
    #[error("no systemd user manager is reachable ({reason})")]
    Unreachable { reason: String },
    /// Run as root through `sudo`: the user manager belongs to the invoking user.
    #[error("refusing to run under sudo")]
    Sudo,
    /// The manager answered with an error for a call on `unit`.
    #[error("systemd refused `{call}` for `{unit}`: {message}")]
    Call {
        call: &'static str,
        unit: String,
        message: String,
    },
    /// The bus connection failed mid-operation.
    #[error("D-Bus error: {0}")]
    Bus(String),
    /// launchd (through `launchctl`) refused or failed an operation.
    #[error("{0}")]
    Launchd(#[from] LaunchdError),
}
