//! The two JSON contracts shared with the module ecosystem:
//! `$PARACHUTE_HOME/services.json` (the registry) and
//! `<installDir>/.parachute/module.json` (what a module declares).

pub mod duration;
pub mod error;
pub mod module;
pub mod names;
pub mod opt_out;
pub mod row;
pub mod services;

pub use error::ManifestError;
pub use module::ModuleManifest;
pub use opt_out::OptOuts;
pub use row::Row;
pub use services::Services;

/// `parachute-vault` → `vault`; names without the prefix are their own short.
pub fn short_name(manifest_name: &str) -> &str {
    manifest_name
        .strip_prefix("parachute-")
        .unwrap_or(manifest_name)
}

/// The path prefixes the hub answers itself; no module may claim one (or a
/// path under one), and the proxy never routes them. `/` is the hub's own
/// page, so it is owned exactly, not as a prefix of everything. Every hub
/// route lies under one of these, but for the vault metadata the hub
/// answers under a vault's own prefix (`hub::oauth::routes`).
pub const HUB_PREFIXES: &[&str] = &[
    "/.well-known",
    "/oauth",
    "/login",
    "/logout",
    "/account",
    "/admin",
    "/api",
    "/git",
    "/health",
];

/// The hub-owned prefix `path` falls under (on segment boundaries: `/api`
/// owns `/api/x`, not `/apiary`), if any.
pub fn hub_owned(path: &str) -> Option<&'static str> {
    let p = path.trim_end_matches('/');
    if p.is_empty() {
        return Some("/");
    }
    HUB_PREFIXES
        .iter()
        .copied()
        .find(|h| p == *h || p.strip_prefix(h).is_some_and(|r| r.starts_with('/')))
}

/// The systemd unit a service runs as: `parachute-<short>.service`.
pub fn unit_name(manifest_name: &str) -> String {
    format!("parachute-{}.service", short_name(manifest_name))
}
