//! The two JSON contracts shared with the module ecosystem:
//! `$PARACHUTE_HOME/services.json` (the registry) and
//! `<installDir>/.parachute/module.json` (what a module declares).

pub mod atomic;
pub mod module;
pub mod names;
pub mod opt_out;
pub mod row;
pub mod services;

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

/// The systemd unit a service runs as: `parachute-<short>.service`.
pub fn unit_name(manifest_name: &str) -> String {
    format!("parachute-{}.service", short_name(manifest_name))
}
