//! The lifecycle operations the CLI (and later the hub's admin API and the
//! proxy's on-demand start) call: install, uninstall, start, restart, stop.
//! Each takes a [`Host`] (the init system, paths, clock and options) and
//! reports what happens as [`Event`]s, which the caller presents; nothing
//! here prints.

mod events;
pub mod init;
pub mod install;
pub mod run;
pub mod stop;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_disabled;
pub mod uninstall;
mod units;
#[cfg(test)]
mod world;

use std::path::PathBuf;
use std::time::Duration;

pub use events::Event;

use crate::clock::Clock;
use crate::lifecycle::InitSystem;
use crate::lifecycle::service::{HUB_SOCKET, TARGET};
use crate::lifecycle::spec::SpecContext;
use crate::manifest::short_name;
use crate::paths::Paths;

/// What every operation works with.
pub struct Host<'a, I: InitSystem> {
    pub init: &'a I,
    /// Paths, the user's home and the hub origin units are rendered with.
    pub spec: SpecContext<'a>,
    /// The port the hub listens on.
    pub hub_port: u16,
    pub clock: &'a Clock,
    /// How long a started service must stay up to count as started.
    pub settle: Duration,
    /// Where "say once" markers live: whether lingering was warned about.
    pub linger_warned: bool,
}

impl<I: InitSystem> Host<'_, I> {
    pub fn paths(&self) -> &Paths {
        self.spec.paths
    }

    fn has(&self, unit: &str) -> bool {
        self.init.has_unit(self.paths(), unit)
    }

    /// Whether to warn that services stop at logout: lingering is off and
    /// it was not said before (the marker is written when it is).
    async fn linger_off_once(&self) -> bool {
        if self.linger_warned || self.init.linger().await != Some(false) {
            return false;
        }
        let _ = std::fs::write(self.paths().linger_warned(), b"");
        true
    }
}

/// The owned parts of a [`Host`], for a caller that lives longer than one
/// command: the hub keeps one to start modules on demand and to run the
/// admin pages' buttons through the same operations as the CLI.
pub struct Machine<I: InitSystem> {
    pub init: I,
    pub user_home: PathBuf,
    pub hub_origin: String,
    pub search_path: String,
    pub hub_port: u16,
    pub settle: Duration,
}

impl<I: InitSystem> Machine<I> {
    /// A [`Host`] over this machine, for one operation.
    pub fn host<'a>(&'a self, paths: &'a Paths, clock: &'a Clock) -> Host<'a, I> {
        Host {
            init: &self.init,
            spec: SpecContext {
                paths,
                user_home: &self.user_home,
                hub_origin: &self.hub_origin,
                search_path: &self.search_path,
            },
            hub_port: self.hub_port,
            clock,
            settle: self.settle,
            // The hub has no terminal to warn on.
            linger_warned: true,
        }
    }
}

impl<I: InitSystem> std::fmt::Debug for Machine<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Machine")
            .field("hub_origin", &self.hub_origin)
            .field("hub_port", &self.hub_port)
            .finish_non_exhaustive()
    }
}

/// `UnitState::unit_file_state` of a unit the operator disabled (systemd's
/// word; launchd's `print-disabled` is read into the same).
pub(crate) const DISABLED: &str = "disabled";

/// Whether an operation did all it was asked (the exit status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Success,
    Failure,
}

/// `parachute-vault.service` → `vault`; the target and hub keep their names.
pub fn label(unit: &str) -> String {
    let base = unit.strip_suffix(".service").unwrap_or(unit);
    if unit == TARGET || unit.starts_with("parachute-hub.") {
        return unit.to_string();
    }
    short_name(base).to_string()
}

/// The name a user types for a unit: `hub` for both hub units.
pub fn short_label(unit: &str) -> String {
    if unit.starts_with("parachute-hub.") {
        "hub".to_string()
    } else {
        label(unit)
    }
}

/// Whether the hub's units are installed (without them the suite's target
/// starts nothing that serves).
pub fn hub_is_set_up(host: &Host<'_, impl InitSystem>) -> bool {
    host.has(HUB_SOCKET)
}
