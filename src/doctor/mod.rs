//! `parachute doctor`'s checks (issue 9 item 2). Each check looks at one
//! part of the installation and returns [`Finding`]s: what it found, and
//! the command that fixes it; a finding `doctor --fix` can repair carries a
//! [`Repair`], applied by [`fix::apply`]. The CLI only presents them.
//!
//! Adding a check: a function `async fn check(env: &Env<'_, impl
//! InitSystem>) -> Vec<Finding>` in a file of this folder, and one line in
//! [`run`].

mod exec;
mod exposure;
pub mod fix;
mod hub;
mod launchd;
mod manager;
mod ports;
mod registry;
mod store;
#[cfg(test)]
mod tests;
mod units;

use std::path::PathBuf;

use serde::Serialize;

use crate::lifecycle::spec::SpecContext;
use crate::lifecycle::{InitSystem, Kind};
use crate::paths::Paths;

/// Every check, in the order the report shows them.
pub async fn run(env: &Env<'_, impl InitSystem>) -> Vec<Finding> {
    // launchd's agents replace the unit, lingering and exposure checks.
    let launchd = env.init().is_some_and(|i| i.kind() == Kind::Launchd);
    let mut found = Vec::new();
    if launchd {
        found.extend(launchd::manager(env));
    } else {
        found.extend(manager::check(env).await);
    }
    found.extend(registry::check(env));
    found.extend(store::check(env));
    found.extend(store::operator_token(env));
    if launchd {
        found.extend(launchd::check(env).await);
    } else {
        found.extend(hub::check(env).await);
        found.extend(units::check(env).await);
        found.extend(units::orphans(env).await);
    }
    found.extend(ports::check(env).await);
    if !launchd {
        found.extend(exposure::check(env));
    }
    found
}

/// What the checks read: paths, the hub's configuration, this binary, the
/// user manager (when one is reachable) and the time.
pub struct Env<'a, I> {
    pub paths: &'a Paths,
    pub spec: SpecContext<'a>,
    pub hub_port: u16,
    pub hub_origin: &'a str,
    /// This binary: what the hub's `ExecStart=` should run.
    pub exe: PathBuf,
    /// The user manager, or why none is reachable.
    pub init: Result<&'a I, String>,
    /// The manager's version, for the report.
    pub manager_version: String,
    /// `$USER`, for `loginctl` commands.
    pub user: String,
    pub now: i64,
}

impl<I> Env<'_, I> {
    fn init(&self) -> Option<&I> {
        self.init.as_ref().ok().copied()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Pass,
    /// Worth knowing; not a fault (doctor still exits 0).
    Warn,
    /// A fault: doctor exits non-zero while one remains.
    Fail,
}

/// One thing a check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Stable name for scripts: `hub-service`, `unit:vault`, `orphan:<unit>` …
    pub check: String,
    pub severity: Severity,
    pub what: String,
    /// The command (or step) that fixes it.
    pub fix: Option<String>,
    /// What `doctor --fix` would do about it.
    pub repair: Option<Repair>,
}

impl Finding {
    pub fn pass(check: impl Into<String>, what: impl Into<String>) -> Self {
        Self::new(check, Severity::Pass, what, None)
    }
    pub fn warn(check: impl Into<String>, what: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::new(check, Severity::Warn, what, Some(fix.into()))
    }
    pub fn fail(check: impl Into<String>, what: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::new(check, Severity::Fail, what, Some(fix.into()))
    }
    fn new(
        check: impl Into<String>,
        severity: Severity,
        what: impl Into<String>,
        fix: Option<String>,
    ) -> Self {
        Self {
            check: check.into(),
            severity,
            what: what.into(),
            fix,
            repair: None,
        }
    }
    #[must_use]
    pub fn repair(mut self, r: Repair) -> Self {
        self.repair = Some(r);
        self
    }
}

/// A repair `doctor --fix` knows how to make.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Repair {
    /// Stop a hub serving a deleted store, clear its `-wal`/`-shm`, create
    /// an empty store (destructive: asks).
    NewStore,
    /// Rewrite the hub's units for this binary and port, reload, clear a
    /// failed state and start the socket.
    HubUnits,
    /// Clear the socket's failed state and start it.
    StartHubSocket,
    /// Rewrite a module's unit from its row, reload, restart it if it runs.
    ModuleUnit { service: String },
    /// Clear a failed unit's state and restart it.
    RestartUnit { unit: String },
    /// Stop, disable and delete a unit no row owns (destructive: asks).
    RemoveOrphan { unit: String },
    /// Write a fresh operator token.
    RenewOperatorToken,
}

impl std::fmt::Display for Repair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NewStore => f.write_str("make a new hub store"),
            Self::HubUnits => f.write_str("rewrite the hub's units"),
            Self::StartHubSocket => f.write_str("start the hub's socket"),
            Self::ModuleUnit { service } => write!(f, "rewrite the unit of {service}"),
            Self::RestartUnit { unit } => write!(f, "restart {unit}"),
            Self::RemoveOrphan { unit } => write!(f, "remove {unit}"),
            Self::RenewOperatorToken => f.write_str("renew the operator token"),
        }
    }
}

const FIX: &str = "parachute doctor --fix";

/// `parachute doctor --fix (or: <alt>)`.
fn fix_or(alt: &str) -> String {
    format!("{FIX} (or: {alt})")
}
