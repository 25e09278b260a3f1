//! The hub's listening-socket faults as plain data below `hub` (which
//! re-exports them as `hub::listener::ListenError`), so the library's `Error`
//! wraps them without importing the hub. `hub::listener` decides which one a
//! failed bind or activation is.

/// Why the hub has no socket to serve on. `crate::error::Error` wraps it for
/// the CLI, which prints it and exits 1 (2 for `Listen` and `Setup`).
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// The port is held by a running hub.
    #[error(
        "a Parachute hub is already listening on {addr}.\n  Use it, or stop it first: systemctl --user stop parachute-hub.socket parachute-hub.service\n  Or run this one elsewhere: parachute serve --port <PORT>"
    )]
    HubAlreadyRunning { addr: String },

    /// The port is held by some other program.
    #[error(
        "{addr} is in use by another program (not a Parachute hub).\n  Free the port, or run the hub elsewhere: parachute serve --port <PORT>"
    )]
    PortInUse { addr: String },

    /// A bind (or socket setup) error other than "in use".
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },

    /// The socket cannot be set up: `what` failed.
    #[error("the hub cannot start: cannot {what}: {source}")]
    Setup {
        what: &'static str,
        source: std::io::Error,
    },

    /// systemd passed a descriptor that is not a listening TCP socket.
    #[error(
        "systemd passed fd 3, but it is not a listening TCP socket ({detail}). Check `ListenStream=` in parachute-hub.socket: systemctl --user cat parachute-hub.socket"
    )]
    ActivationSocket { detail: String },

    /// launchd started the hub but did not hand over its socket.
    #[error(
        "launchd did not hand over the hub socket (`launch_activate_socket` error {rc}). Rewrite its agent: parachute init"
    )]
    LaunchdRefused { rc: i32 },
}
