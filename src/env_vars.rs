//! Every environment variable the binary reads or sets, named once.

/// Root of Parachute's state. Default `~/.parachute`.
pub const PARACHUTE_HOME: &str = "PARACHUTE_HOME";
/// The public origin of the hub, injected into every module's unit.
pub const PARACHUTE_HUB_ORIGIN: &str = "PARACHUTE_HUB_ORIGIN";
/// The port a module must listen on, injected into every module's unit.
pub const PORT: &str = "PORT";
/// Used to find `~` when `PARACHUTE_HOME` / `XDG_CONFIG_HOME` are unset.
pub const HOME: &str = "HOME";
/// Base of the user unit directory (`$XDG_CONFIG_HOME/systemd/user`).
pub const XDG_CONFIG_HOME: &str = "XDG_CONFIG_HOME";
/// Where `systemd --user` keeps its private socket (`$XDG_RUNTIME_DIR/systemd/private`).
pub const XDG_RUNTIME_DIR: &str = "XDG_RUNTIME_DIR";
/// The session bus, the fallback route to the user manager.
pub const DBUS_SESSION_BUS_ADDRESS: &str = "DBUS_SESSION_BUS_ADDRESS";
/// Set by `sudo`; a user manager must not be driven as root on someone's behalf.
pub const SUDO_USER: &str = "SUDO_USER";
/// Longest wait, in milliseconds, for a started service to open its port
/// before `start` stops watching (default 3000). A service that dies within
/// it failed to start; one still active after it counts as started.
pub const PARACHUTE_START_SETTLE_MS: &str = "PARACHUTE_START_SETTLE_MS";
