//! systemd user units: rendering, the D-Bus client, journald.

pub mod dbus;
pub mod exposure;
pub mod hardening;
pub mod hub_unit;
mod init;
pub mod journal;
pub mod unit;
pub mod units;

pub use init::Systemd;
