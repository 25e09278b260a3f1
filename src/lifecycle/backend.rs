//! Which init system this machine runs services under. The CLI holds a
//! [`Backend`] and every operation takes `&impl InitSystem`, so adding a
//! backend is one variant here and one arm in each delegation below.

use crate::error::Error;
use crate::lifecycle::launchd::runner::Launchctl;
use crate::lifecycle::launchd::system::Launchd;
use crate::lifecycle::service::ServiceSpec;
use crate::lifecycle::systemd::Systemd;
use crate::lifecycle::systemd::hardening::Ns;
use crate::lifecycle::systemd::hub_unit::HubUnits;
use crate::lifecycle::{HubFiles, InitError, InitSystem, JobResult, Kind, Rendered, UnitState};
use crate::paths::Paths;

pub enum Backend {
    /// systemd user units (Linux).
    Systemd(Systemd),
    /// launchd `LaunchAgents` (macOS, or forced with `PARACHUTE_INIT_SYSTEM=launchd`).
    Launchd(Box<Launchd<Launchctl>>),
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Systemd(_) => "Backend::Systemd",
            Self::Launchd(_) => "Backend::Launchd",
        })
    }
}

impl Backend {
    /// The backend for this machine (not connected yet: the first manager
    /// call connects, and [`Backend::connect`] checks up front).
    pub fn from_env() -> Self {
        match Paths::from_env() {
            Ok(paths) => Self::for_paths(&paths),
            // Without a home the first command reports it; systemd needs none.
            Err(_) => Self::Systemd(Systemd::new()),
        }
    }

    /// The backend for this machine, with the suite's home at `paths` (the
    /// hub knows its paths; `PARACHUTE_INIT_SYSTEM` still chooses).
    pub fn for_paths(paths: &Paths) -> Self {
        if Self::wants_launchd() {
            Self::Launchd(Box::new(Launchd::from_env(paths)))
        } else {
            Self::Systemd(Systemd::new())
        }
    }

    /// The port the installed hub listens on, read from its files without
    /// reaching any manager (`Context` asks before every command).
    pub fn installed_hub_port_on_disk(paths: &Paths) -> Option<u16> {
        if !Self::wants_launchd() {
            return crate::lifecycle::hub::installed_port(paths);
        }
        let home = std::env::var_os(crate::env_vars::HOME)
            .map_or_else(|| paths.home.clone(), std::path::PathBuf::from);
        crate::lifecycle::launchd::hub::installed_port(&crate::lifecycle::launchd::Layout::new(
            &home,
            &paths.home,
        ))
    }

    fn wants_launchd() -> bool {
        match std::env::var(crate::env_vars::PARACHUTE_INIT_SYSTEM)
            .unwrap_or_default()
            .as_str()
        {
            "launchd" => true,
            "systemd" => false,
            _ => cfg!(target_os = "macos"),
        }
    }

    /// Reach the manager now, so a command fails before it changes anything
    /// when there is none (the error carries the guidance to print).
    pub async fn connect(self) -> Result<Self, InitError> {
        match &self {
            Self::Systemd(s) => s.user().await.map(|_| ())?,
            // launchctl is run per call; its absence is reported there.
            Self::Launchd(_) => {}
        }
        Ok(self)
    }

    /// The manager's version string, for `doctor` (empty when unreachable).
    pub async fn manager_version(&self) -> String {
        match self {
            Self::Systemd(s) => s.manager_version().await,
            Self::Launchd(_) => "launchd".into(),
        }
    }
}

/// Every call goes to the variant's own implementation.
macro_rules! delegate {
    ($self:ident, $b:ident => $call:expr) => {
        match $self {
            Backend::Systemd($b) => $call,
            Backend::Launchd($b) => $call,
        }
    };
}

impl InitSystem for Backend {
    fn kind(&self) -> Kind {
        delegate!(self, b => b.kind())
    }
    fn unit_path(&self, paths: &Paths, unit: &str) -> Option<std::path::PathBuf> {
        delegate!(self, b => b.unit_path(paths, unit))
    }
    fn log_dir(&self) -> Option<std::path::PathBuf> {
        delegate!(self, b => b.log_dir())
    }
    fn why_stopped(&self, unit: &str) -> Option<String> {
        delegate!(self, b => b.why_stopped(unit))
    }
    fn display(&self, unit: &str) -> String {
        delegate!(self, b => b.display(unit))
    }
    fn has_hub(&self, paths: &Paths) -> bool {
        delegate!(self, b => b.has_hub(paths))
    }
    fn installed_hub_port(&self, paths: &Paths) -> Option<u16> {
        delegate!(self, b => b.installed_hub_port(paths))
    }
    fn hub_program_elsewhere(&self, paths: &Paths, exe: &std::path::Path) -> Option<String> {
        delegate!(self, b => b.hub_program_elsewhere(paths, exe))
    }
    async fn render_hub(&self, paths: &Paths, spec: &HubUnits) -> Result<HubFiles, Error> {
        delegate!(self, b => b.render_hub(paths, spec).await)
    }
    async fn write_hub(&self, paths: &Paths, spec: &HubUnits) -> Result<bool, Error> {
        delegate!(self, b => b.write_hub(paths, spec).await)
    }
    async fn ensure_hub(&self, paths: &Paths, spec: &HubUnits) -> Result<Vec<String>, Error> {
        delegate!(self, b => b.ensure_hub(paths, spec).await)
    }
    fn has_unit(&self, paths: &Paths, unit: &str) -> bool {
        delegate!(self, b => b.has_unit(paths, unit))
    }
    fn ensure_group(&self, paths: &Paths) -> Result<bool, Error> {
        delegate!(self, b => b.ensure_group(paths))
    }
    async fn render_service(&self, paths: &Paths, spec: &ServiceSpec) -> Rendered {
        delegate!(self, b => b.render_service(paths, spec).await)
    }
    async fn write_service(&self, paths: &Paths, spec: &ServiceSpec) -> Result<bool, Error> {
        delegate!(self, b => b.write_service(paths, spec).await)
    }
    fn remove_unit(&self, paths: &Paths, unit: &str) -> Result<bool, Error> {
        delegate!(self, b => b.remove_unit(paths, unit))
    }
    async fn reload(&self) -> Result<(), InitError> {
        delegate!(self, b => b.reload().await)
    }
    async fn enable(&self, units: &[String]) -> Result<(), InitError> {
        delegate!(self, b => b.enable(units).await)
    }
    async fn disable(&self, units: &[String]) -> Result<(), InitError> {
        delegate!(self, b => b.disable(units).await)
    }
    async fn start(&self, unit: &str) -> Result<JobResult, InitError> {
        delegate!(self, b => b.start(unit).await)
    }
    async fn stop(&self, unit: &str) -> Result<JobResult, InitError> {
        delegate!(self, b => b.stop(unit).await)
    }
    async fn restart(&self, unit: &str) -> Result<JobResult, InitError> {
        delegate!(self, b => b.restart(unit).await)
    }
    async fn reset_failed(&self, unit: &str) -> Result<(), InitError> {
        delegate!(self, b => b.reset_failed(unit).await)
    }
    async fn state(&self, unit: &str) -> Result<UnitState, InitError> {
        delegate!(self, b => b.state(unit).await)
    }
    async fn linger(&self) -> Option<bool> {
        delegate!(self, b => b.linger().await)
    }
    async fn run_log(&self, unit: &str, id: &str, since_us: i64, lines: usize) -> Vec<String> {
        delegate!(self, b => b.run_log(unit, id, since_us, lines).await)
    }
    async fn probe_namespaces(&self, directives: &[Ns]) -> Result<bool, InitError> {
        delegate!(self, b => b.probe_namespaces(directives).await)
    }
}
