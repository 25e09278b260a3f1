//! The suite's services as the lifecycle operations name them, and the
//! backend-neutral description a service's unit is rendered from.

use std::path::PathBuf;

use crate::manifest::OptOuts;

/// The group that holds every Parachute service (systemd: the target).
pub const TARGET: &str = "parachute.target";
/// The hub's socket unit; modules start after it so the hub can route to them.
pub const HUB_SOCKET: &str = "parachute-hub.socket";
/// The hub's service unit (activated by the socket).
pub const HUB_SERVICE: &str = "parachute-hub.service";

/// The hub's soft descriptor limit: the unit's `LimitNOFILE=` and what
/// `hub::connections` raises itself to at start,
/// room for its connection cap above the 1024 a user manager gives. Here,
/// not in the hub, so the init systems do not import the server.
pub const HUB_NOFILE: u64 = 65_536;

/// Everything a module's service is run from, whatever the init system
/// (a systemd unit today, a launchd plist later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    /// `parachute-<short>.service`.
    pub unit: String,
    pub short: String,
    /// Shown in `systemctl --user status`.
    pub description: String,
    /// Absolute argv; `exec_start[0]` is an absolute path.
    pub exec_start: Vec<String>,
    pub working_dir: PathBuf,
    pub port: u16,
    pub parachute_home: PathBuf,
    pub hub_origin: String,
    /// The user's home, for the tool directories put on `PATH`.
    pub user_home: PathBuf,
    /// `Type=notify` instead of `Type=exec`.
    pub notify: bool,
    /// Hardening directives the module's module.json opts out of, with why.
    pub opt_out: OptOuts,
}
