//! The lifecycle layer: every registered service is a native init-system
//! unit, and the CLI verbs become calls on [`InitSystem`]. There is no
//! supervisor of our own: systemd restarts, logs and accounts for processes.

pub mod backend;
pub mod drift;
pub mod enablement;
#[cfg(test)]
pub mod fake;
pub mod hub;
pub mod hub_store;
pub mod idle_marker;
pub mod inventory;
pub mod launchd;
pub mod logs;
pub mod ops;
pub mod port_owner;
pub mod service;
pub mod spec;
pub mod start;
pub mod status;
pub mod systemd;
pub mod upgrade;

use std::fmt;

// Defined below this layer so the library's `Error` can wrap it.
pub use crate::error::init::InitError;

use crate::error::Error;
use crate::lifecycle::service::ServiceSpec;
use crate::lifecycle::systemd::hub_unit::HubUnits;
use crate::paths::Paths;

/// What systemd reported when a job it ran for us finished
/// (the `result` argument of the Manager's `JobRemoved` signal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobResult {
    Done,
    Canceled,
    Timeout,
    Failed,
    Dependency,
    Skipped,
    /// A result string this build does not know; kept so nothing is hidden.
    Other,
}

impl JobResult {
    pub fn parse(s: &str) -> Self {
        match s {
            "done" => Self::Done,
            "canceled" => Self::Canceled,
            "timeout" => Self::Timeout,
            "failed" => Self::Failed,
            "dependency" => Self::Dependency,
            "skipped" => Self::Skipped,
            _ => Self::Other,
        }
    }

    pub fn is_ok(self) -> bool {
        matches!(self, Self::Done | Self::Skipped)
    }
}

impl fmt::Display for JobResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Done => "done",
            Self::Canceled => "canceled",
            Self::Timeout => "timeout",
            Self::Failed => "failed",
            Self::Dependency => "dependency",
            Self::Skipped => "skipped",
            Self::Other => "unknown",
        })
    }
}

/// The unit properties `status` and the start settle check read.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UnitState {
    /// `loaded`, `not-found`, `bad-setting`, `error`, `masked`.
    pub load_state: String,
    /// `active`, `inactive`, `failed`, `activating`, `deactivating`, `reloading`.
    pub active_state: String,
    /// `running`, `dead`, `auto-restart`, `listening`, …
    pub sub_state: String,
    /// Service `Result`: `success`, `exit-code`, `signal`, `core-dump`,
    /// `start-limit-hit`, … (empty for units that have none, e.g. targets).
    pub result: String,
    /// Exit status of the main process (service units only).
    pub exec_main_status: i32,
    /// 0 when no main process runs.
    pub main_pid: u32,
    /// How many times systemd restarted the service automatically.
    pub n_restarts: u32,
    /// Microseconds since the epoch when the unit last entered `active`; 0 if never.
    pub active_enter_timestamp_us: u64,
    /// Bytes of memory in the unit's cgroup; `None` when not accounted.
    pub memory_current: Option<u64>,
    /// `enabled`, `disabled`, `static`, `linked`, … (empty when unknown).
    pub unit_file_state: String,
    /// The program of the first `ExecStart=` (service units only).
    pub exec_path: String,
    /// This run's `InvocationID` as 32 hex digits (empty when it never ran):
    /// journald tags the run's lines with it.
    pub invocation_id: String,
}

impl UnitState {
    pub fn is_active(&self) -> bool {
        self.active_state == "active"
    }
    pub fn is_failed(&self) -> bool {
        self.active_state == "failed"
    }
}

/// A service's unit text as a backend would write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub text: String,
    /// False when the hardening in it could not be probed (no manager) nor
    /// read from an earlier probe: the cautious render, without it.
    pub hardening_known: bool,
}

/// Which init system a backend drives: the words and commands shown to the
/// user differ, the operations do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Systemd,
    Launchd,
}

impl Kind {
    /// What holds the hub's socket: the unit `init` starts, or the agent.
    pub fn hub_listener(self) -> &'static str {
        match self {
            Self::Systemd => service::HUB_SOCKET,
            Self::Launchd => launchd::layout::HUB_LABEL,
        }
    }

    /// Starts the hub's listener by hand.
    pub fn start_hub_command(self) -> String {
        match self {
            Self::Systemd => format!("systemctl --user start {}", service::HUB_SOCKET),
            Self::Launchd => "parachute start hub".into(),
        }
    }

    /// Where the hub's recent output is, as a command.
    pub fn hub_log_command(self) -> String {
        match self {
            Self::Systemd => format!("journalctl --user-unit {} -n 50", service::HUB_SERVICE),
            Self::Launchd => "parachute logs hub -n 50".into(),
        }
    }
}

/// The hub's files as `init` writes them: each path with its full text.
pub type HubFiles = Vec<(std::path::PathBuf, String)>;

/// The init system seam: systemd over D-Bus on Linux; a recording fake in tests.
///
/// Every start/stop/restart waits for the manager's job to finish and returns
/// its result; callers read [`UnitState`] afterwards for the details. The
/// unit-file methods work on disk and need no manager (`stop` and the
/// "is the hub set up" checks run before one is reached).
///
/// The hub methods default to systemd's units, so a fake only overrides
/// what it records.
#[allow(async_fn_in_trait)]
pub trait InitSystem: Sized {
    fn kind(&self) -> Kind {
        Kind::Systemd
    }
    /// Where `unit`'s file is written: the unit under the user's unit dir
    /// (systemd), the agent's plist (launchd; `None` for a unit it has no
    /// job for).
    fn unit_path(&self, paths: &Paths, unit: &str) -> Option<std::path::PathBuf> {
        Some(paths.unit_file(unit))
    }
    /// Where the services' output goes as files (launchd's log files);
    /// `None` when a journal keeps it.
    fn log_dir(&self) -> Option<std::path::PathBuf> {
        None
    }
    /// Why parachute itself stopped `unit`, for `status` (launchd: the
    /// crash-loop guard's record; systemd's start limit needs no note).
    fn why_stopped(&self, _unit: &str) -> Option<String> {
        None
    }
    /// The name a message gives `unit`: what this backend's own tools call it
    /// (`parachute-hub.socket` for systemctl, `computer.parachute.hub` for
    /// launchctl), so a user can paste it into them.
    fn display(&self, unit: &str) -> String {
        ops::label(unit)
    }
    /// Whether the hub is set up (systemd: its socket unit; launchd: its agent).
    fn has_hub(&self, paths: &Paths) -> bool {
        self.has_unit(paths, service::HUB_SOCKET)
    }
    /// The port the installed hub listens on (the socket's `ListenStream=`,
    /// the agent's `SockServiceName`).
    fn installed_hub_port(&self, paths: &Paths) -> Option<u16> {
        hub::installed_port(paths)
    }
    /// The program the installed hub runs, when it is not `exe` (systemd:
    /// its service unit's `ExecStart=`; launchd: its agent's
    /// `ProgramArguments[0]`): after a move, what the next command says once.
    fn hub_program_elsewhere(&self, paths: &Paths, exe: &std::path::Path) -> Option<String> {
        drift::pinned_elsewhere(paths, exe)
    }
    /// The hub's files as `init` would write them now.
    async fn render_hub(&self, paths: &Paths, spec: &HubUnits) -> Result<HubFiles, Error> {
        let hardening = systemd::units::hardening(paths, self).await;
        Ok(hub::expected(spec, hardening)
            .into_iter()
            .map(|(unit, text)| (paths.unit_file(unit), text))
            .collect())
    }
    /// Write the hub's files when they changed, and nothing else (`upgrade`
    /// restarts it); returns whether any changed.
    async fn write_hub(&self, paths: &Paths, spec: &HubUnits) -> Result<bool, Error> {
        let mut changed = false;
        for (unit, text) in hub::expected(spec, systemd::units::hardening(paths, self).await) {
            changed |= systemd::units::write_if_changed(paths, unit, &text)?;
        }
        Ok(changed)
    }
    /// Write the hub's files when they changed, enable them, and stop a
    /// running hub after a change so the new files apply (the caller starts
    /// it again). Returns what it changed, one line each.
    async fn ensure_hub(&self, paths: &Paths, spec: &HubUnits) -> Result<Vec<String>, Error> {
        hub::ensure_systemd_units(paths, self, spec).await
    }
    /// Whether `unit`'s file is on disk.
    fn has_unit(&self, paths: &Paths, unit: &str) -> bool;
    /// Write the group every service belongs to (systemd: `parachute.target`)
    /// if it is missing or different; returns whether it changed.
    fn ensure_group(&self, paths: &Paths) -> Result<bool, Error>;
    /// Render `spec`'s unit (hardening probed, or cautious without a manager).
    async fn render_service(&self, paths: &Paths, spec: &ServiceSpec) -> Rendered;
    /// Render `spec`'s unit and write it when its text changed, leaving the
    /// user's overrides (systemd drop-ins) alone; returns whether it changed.
    async fn write_service(&self, paths: &Paths, spec: &ServiceSpec) -> Result<bool, Error>;
    /// Remove `unit`'s file (never the user's overrides); returns whether there was one.
    fn remove_unit(&self, paths: &Paths, unit: &str) -> Result<bool, Error>;
    /// `daemon-reload`: pick up unit files written or removed on disk.
    async fn reload(&self) -> Result<(), InitError>;
    /// Enable unit files (create their `[Install]` symlinks); does not start them.
    async fn enable(&self, units: &[String]) -> Result<(), InitError>;
    /// Disable unit files; does not stop them.
    async fn disable(&self, units: &[String]) -> Result<(), InitError>;
    async fn start(&self, unit: &str) -> Result<JobResult, InitError>;
    async fn stop(&self, unit: &str) -> Result<JobResult, InitError>;
    async fn restart(&self, unit: &str) -> Result<JobResult, InitError>;
    /// Clear a failed state (and the start-limit counter) so a new start can run.
    async fn reset_failed(&self, unit: &str) -> Result<(), InitError>;
    /// Read the unit's state. A unit the manager does not know has `load_state = "not-found"`.
    async fn state(&self, unit: &str) -> Result<UnitState, InitError>;
    /// `Some(true)` when lingering is on for this user, `None` when logind is unavailable.
    async fn linger(&self) -> Option<bool>;
    /// The last `lines` log lines of one run of `unit` (the run the start
    /// that returned `invocation_id` began, at Unix microseconds `since_us`).
    async fn run_log(
        &self,
        unit: &str,
        invocation_id: &str,
        since_us: i64,
        lines: usize,
    ) -> Vec<String>;
    /// Whether these namespace-based hardening directives work together in
    /// this manager: runs a transient unit with them and reports whether it
    /// succeeded.
    async fn probe_namespaces(
        &self,
        directives: &[systemd::hardening::Ns],
    ) -> Result<bool, InitError>;
}
