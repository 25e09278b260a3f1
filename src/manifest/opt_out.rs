//! `hardeningOptOut`: the sandboxing directives a module may go without.
//! The vocabulary lives here, with the manifest that uses it; the systemd
//! renderer checks (in its tests) that it names exactly what module units carry.

use std::collections::BTreeMap;

/// Directive → reason: what a module asked to go without.
pub type OptOuts = BTreeMap<String, String>;

/// Directive names a module may opt out of: the ones its unit carries, in unit order.
pub const MODULE_DIRECTIVES: &[&str] = &[
    "NoNewPrivileges",
    "LockPersonality",
    "RestrictRealtime",
    "RestrictSUIDSGID",
    "SystemCallArchitectures",
    "RestrictAddressFamilies",
    "SystemCallFilter",
    "SystemCallErrorNumber",
    "RestrictNamespaces",
    "CapabilityBoundingSet",
    "AmbientCapabilities",
    "UMask",
    "KeyringMode",
    "ProtectSystem",
    "PrivateTmp",
];
