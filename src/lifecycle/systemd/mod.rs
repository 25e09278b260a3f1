//! systemd user units: rendering, the D-Bus client, journald.

pub mod dbus;
pub mod exposure;
pub mod hardening;
pub mod hub_unit;
pub mod journal;
pub mod unit;
