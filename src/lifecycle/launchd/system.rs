//! [`InitSystem`] over launchd. The operations name units the systemd way
//! (`parachute-<short>.service`, the hub's socket and service); here each
//! is one agent (`computer.parachute.<short>`; the hub's socket and service
//! are the one `computer.parachute.hub`), and `parachute.target` is nothing.

use std::path::PathBuf;

use super::agents;
use super::disabled;
use super::guard::{self, Limit};
use super::launchctl::{Domain, Launchctl};
use super::layout::{HUB_LABEL, HUB_SHORT, Layout, label};
use super::print::JobInfo;
use super::render;
use super::runner;
use super::runner::Runner;
use crate::clock::Clock;
use crate::error::Error;
use crate::lifecycle::service::ServiceSpec;
use crate::lifecycle::service::{HUB_SERVICE, HUB_SOCKET};
use crate::lifecycle::systemd::hardening::Ns;
use crate::lifecycle::systemd::hub_unit::HubUnits;
use crate::lifecycle::{HubFiles, InitError, InitSystem, JobResult, Kind, Rendered, UnitState};
use crate::paths::Paths;

/// launchd behind the `InitSystem` seam.
#[derive(Debug)]
pub struct Launchd<R> {
    pub ctl: Launchctl<R>,
    pub layout: Layout,
    pub clock: Clock,
}

/// The agent a unit name stands for: `(label, short)`; `None` for units
/// with no launchd counterpart (`parachute.target`).
pub fn job(unit: &str) -> Option<(String, String)> {
    if unit == HUB_SOCKET || unit == HUB_SERVICE {
        return Some((HUB_LABEL.into(), HUB_SHORT.into()));
    }
    let short = unit.strip_prefix("parachute-")?.strip_suffix(".service")?;
    Some((label(short), short.to_string()))
}

/// The agents `units` stand for, each once (the hub's socket and service are one).
fn labels(units: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (label, _) in units.iter().filter_map(|u| job(u)) {
        if !out.contains(&label) {
            out.push(label);
        }
    }
    out
}

fn limit(short: &str) -> Limit {
    if short == HUB_SHORT {
        guard::HUB
    } else {
        guard::MODULE
    }
}

impl Launchd<runner::Launchctl> {
    /// The real backend: `launchctl` on `PATH`, agents under `$HOME/Library`,
    /// the real uid, and `gui/<uid>` unless there is no GUI session.
    pub fn from_env(paths: &Paths) -> Self {
        use crate::env_vars;
        use std::os::unix::fs::MetadataExt as _;
        let uid = rustix::process::getuid().as_raw();
        let ssh = [env_vars::SSH_CONNECTION, env_vars::SSH_TTY]
            .iter()
            .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()));
        let console = std::fs::metadata("/dev/console").ok().map(|m| m.uid());
        let domain = Domain::choose(uid, ssh, console);
        if matches!(domain, Domain::User(_)) {
            say_user_domain_once(domain);
        }
        let user_home =
            std::env::var_os(env_vars::HOME).map_or_else(|| paths.home.clone(), PathBuf::from);
        Self::new(
            runner::Launchctl,
            domain,
            Layout::new(&user_home, &paths.home),
            Clock::system(),
        )
    }
}

/// Once per process: agents go to the background domain without a GUI session.
fn say_user_domain_once(domain: Domain) {
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| {
        eprintln!(
            "⚠ no GUI session (SSH, or another user owns the console): using launchd's `{domain}` domain; agents started here stop when you log out"
        );
    });
}

impl<R: Runner> Launchd<R> {
    pub fn new(runner: R, domain: Domain, layout: Layout, clock: Clock) -> Self {
        Self {
            ctl: Launchctl::new(runner, domain),
            layout,
            clock,
        }
    }

    fn plist(&self, label: &str) -> PathBuf {
        self.layout.plist(label)
    }

    /// Load (or start) the job and begin a fresh crash-loop count.
    async fn start_job(&self, label: &str, short: &str) -> Result<(), InitError> {
        self.ctl.start(label, &self.plist(label)).await?;
        agents::mark_loaded(&self.layout, label, short)?;
        agents::save_record(
            &self.layout,
            short,
            &guard::Record::started(self.clock.now()),
        )?;
        Ok(())
    }

    /// `enabled` or `disabled`, from `print-disabled`. Asked only for a job
    /// that is not loaded: launchd refuses to load a disabled one (119), and
    /// `disable` boots it out, so a loaded job is enabled.
    async fn enablement(&self, label: &str) -> &'static str {
        match self.ctl.is_disabled(label).await {
            Ok(d) => disabled::word(d.unwrap_or(false)),
            Err(e) => {
                tracing::debug!("{e}");
                "enabled"
            }
        }
    }

    /// Write the hub's agent when it changed, clear a persisted "disabled",
    /// and boot out a loaded hub whose agent changed (the caller bootstraps
    /// the new one).
    async fn ensure_hub_agent(&self, spec: &HubUnits) -> Result<Vec<String>, InitError> {
        let agent = super::hub::agent(&self.layout, spec);
        let mut changed = Vec::new();
        if agents::write_if_changed(&self.layout, &agent)? {
            changed.push(format!("wrote {}", self.plist(HUB_LABEL).display()));
        }
        // Unreadable: `bootstrap` answers 119 for a disabled job, and is retried after `enable`.
        if matches!(self.ctl.is_disabled(HUB_LABEL).await, Ok(Some(true))) {
            self.ctl.enable(HUB_LABEL).await?;
            changed.push(format!("enabled {HUB_LABEL}"));
        }
        if agents::changed_since_load(&self.layout, HUB_LABEL, HUB_SHORT)
            && self.ctl.print(HUB_LABEL).await?.is_some()
        {
            self.ctl.bootout(HUB_LABEL).await?;
            changed.push("stopped the running hub so its new agent applies".into());
        }
        Ok(changed)
    }

    /// The hub's socket: launchd listens for as long as the agent is loaded,
    /// whether or not the hub process runs.
    async fn socket_state(&self) -> Result<UnitState, InitError> {
        let mut s = self.job_state(HUB_LABEL, HUB_SHORT).await?;
        if s.is_failed() || s.load_state == "not-found" {
            return Ok(s);
        }
        if self.ctl.print(HUB_LABEL).await?.is_some() {
            s.active_state = "active".into();
            s.sub_state = "listening".into();
            s.main_pid = 0;
            s.memory_current = None;
        }
        Ok(s)
    }

    /// Read the job, let the guard look at it, and describe it as systemd would.
    async fn job_state(&self, label: &str, short: &str) -> Result<UnitState, InitError> {
        let plist = self.plist(label);
        let mut s = UnitState {
            load_state: if plist.is_file() {
                "loaded"
            } else {
                "not-found"
            }
            .into(),
            unit_file_state: if plist.is_file() { "enabled" } else { "" }.into(),
            exec_path: program(&plist).unwrap_or_default(),
            ..UnitState::default()
        };
        let mut record = agents::record(&self.layout, short);
        let Some(info) = self.ctl.print(label).await? else {
            (s.active_state, s.sub_state) = ("inactive".into(), "dead".into());
            if plist.is_file() {
                s.unit_file_state = self.enablement(label).await.into();
            }
            if record.tripped.is_some() {
                crash_looped(&mut s);
            }
            return Ok(s);
        };
        if let Some(trip) = record.observe(
            self.clock.now(),
            info.runs,
            info.last_exit_code,
            limit(short),
        ) {
            agents::save_record(&self.layout, short, &record)?;
            self.ctl.bootout(label).await?;
            tracing::warn!(label, exits = trip.exits, "crash loop: booted the job out");
            s.exec_main_status = trip.last_exit_code.unwrap_or_default();
            crash_looped(&mut s);
            return Ok(s);
        }
        agents::save_record(&self.layout, short, &record)?;
        describe(&mut s, &info);
        with_process(&mut s, process(info.pid).await, self.clock.now());
        Ok(s)
    }
}

/// `status` shows a tripped guard as systemd shows a start limit.
fn crash_looped(s: &mut UnitState) {
    s.active_state = "failed".into();
    s.sub_state = "failed".into();
    s.result = "start-limit-hit".into();
}

fn describe(s: &mut UnitState, info: &JobInfo) {
    s.n_restarts = info.runs.saturating_sub(1);
    s.exec_main_status = info.last_exit_code.unwrap_or_default();
    if info.is_running() {
        s.active_state = "active".into();
        s.sub_state = "running".into();
        s.main_pid = info.pid.unwrap_or_default();
        s.result = "success".into();
    } else if info.last_exit_code.is_some_and(|c| c != 0) {
        // KeepAlive respawns it after ThrottleInterval.
        s.active_state = "activating".into();
        s.sub_state = "auto-restart".into();
        s.result = "exit-code".into();
    } else {
        s.active_state = "inactive".into();
        s.sub_state = "dead".into();
        s.result = "success".into();
    }
}

/// `ProgramArguments[0]` of the plist on disk.
fn program(plist: &std::path::Path) -> Option<String> {
    let v = plist::Value::from_file(plist).ok()?;
    v.as_dictionary()?
        .get("ProgramArguments")?
        .as_array()?
        .first()?
        .as_string()
        .map(str::to_string)
}

/// What `ps` says of the job's process: resident bytes and seconds since
/// it started (launchd's `print` reports neither).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Process {
    rss_bytes: u64,
    elapsed_secs: u64,
}

/// `ps -o rss=,etime= -p <pid>` (macOS and Linux alike).
async fn process(pid: Option<u32>) -> Option<Process> {
    let pid = pid?;
    let out = tokio::process::Command::new("ps")
        .args(["-o", "rss=,etime=", "-p", &pid.to_string()])
        .output()
        .await
        .ok()?;
    parse_ps(&String::from_utf8_lossy(&out.stdout))
}

/// `  25700     01:02:03`: RSS in KiB, then `[[dd-]hh:]mm:ss`.
fn parse_ps(line: &str) -> Option<Process> {
    let mut words = line.split_whitespace();
    let kib: u64 = words.next()?.parse().ok()?;
    let etime = words.next()?;
    let (days, clock) = match etime.split_once('-') {
        Some((d, rest)) => (d.parse::<u64>().ok()?, rest),
        None => (0, etime),
    };
    let mut secs = 0u64;
    for part in clock.split(':') {
        secs = secs * 60 + part.parse::<u64>().ok()?;
    }
    Some(Process {
        rss_bytes: kib * 1024,
        elapsed_secs: days * 86_400 + secs,
    })
}

/// `status`'s memory and uptime columns, from `ps`.
fn with_process(s: &mut UnitState, p: Option<Process>, now: i64) {
    let Some(p) = p else { return };
    s.memory_current = Some(p.rss_bytes);
    let started = u64::try_from(now)
        .unwrap_or_default()
        .saturating_sub(p.elapsed_secs);
    s.active_enter_timestamp_us = started * 1_000_000;
}

impl<R: Runner> InitSystem for Launchd<R> {
    fn kind(&self) -> Kind {
        Kind::Launchd
    }

    fn unit_path(&self, _: &Paths, unit: &str) -> Option<PathBuf> {
        job(unit).map(|(label, _)| self.plist(&label))
    }

    fn log_dir(&self) -> Option<PathBuf> {
        Some(self.layout.logs_dir.clone())
    }

    fn why_stopped(&self, unit: &str) -> Option<String> {
        let (_, short) = job(unit)?;
        let trip = agents::record(&self.layout, &short).tripped?;
        Some(trip.reason(&short))
    }

    fn has_hub(&self, _: &Paths) -> bool {
        self.plist(HUB_LABEL).is_file()
    }

    /// Both hub units are the one hub agent here; modules keep their short
    /// name, as on systemd.
    fn display(&self, unit: &str) -> String {
        if unit.starts_with("parachute-hub.") {
            HUB_LABEL.to_string()
        } else {
            crate::lifecycle::ops::label(unit)
        }
    }

    fn installed_hub_port(&self, _: &Paths) -> Option<u16> {
        super::hub::installed_port(&self.layout)
    }

    fn hub_program_elsewhere(&self, _: &Paths, exe: &std::path::Path) -> Option<String> {
        program(&self.plist(HUB_LABEL)).filter(|p| std::path::Path::new(p) != exe)
    }

    async fn render_hub(&self, _: &Paths, spec: &HubUnits) -> Result<HubFiles, Error> {
        let agent = super::hub::agent(&self.layout, spec);
        let text = agents::expected(&self.layout, &agent).map_err(InitError::from)?;
        Ok(vec![(self.plist(HUB_LABEL), text)])
    }

    async fn write_hub(&self, _: &Paths, spec: &HubUnits) -> Result<bool, Error> {
        let agent = super::hub::agent(&self.layout, spec);
        Ok(agents::write_if_changed(&self.layout, &agent).map_err(InitError::from)?)
    }

    async fn ensure_hub(&self, _: &Paths, spec: &HubUnits) -> Result<Vec<String>, Error> {
        Ok(self.ensure_hub_agent(spec).await?)
    }

    fn has_unit(&self, _: &Paths, unit: &str) -> bool {
        job(unit).is_none_or(|(label, _)| self.plist(&label).is_file())
    }

    /// launchd has no group of jobs to write.
    fn ensure_group(&self, _: &Paths) -> Result<bool, Error> {
        Ok(false)
    }

    async fn render_service(&self, _: &Paths, spec: &ServiceSpec) -> Rendered {
        let agent = render::module(spec, &self.layout);
        let text = agents::expected(&self.layout, &agent).unwrap_or_else(|e| {
            tracing::warn!("{e}");
            render::render(&agent, None)
        });
        Rendered {
            text,
            hardening_known: true,
        }
    }

    async fn write_service(&self, _: &Paths, spec: &ServiceSpec) -> Result<bool, Error> {
        let agent = render::module(spec, &self.layout);
        Ok(agents::write_if_changed(&self.layout, &agent).map_err(InitError::from)?)
    }

    fn remove_unit(&self, _: &Paths, unit: &str) -> Result<bool, Error> {
        match job(unit) {
            Some((label, short)) => {
                Ok(agents::remove(&self.layout, &label, &short).map_err(InitError::from)?)
            }
            None => Ok(false),
        }
    }

    /// launchd reads a plist when it is bootstrapped; nothing to reload.
    async fn reload(&self) -> Result<(), InitError> {
        Ok(())
    }

    /// `enable`: the agent loads at login again.
    async fn enable(&self, units: &[String]) -> Result<(), InitError> {
        for label in labels(units) {
            self.ctl.enable(&label).await?;
        }
        Ok(())
    }

    /// `disable` + bootout.
    async fn disable(&self, units: &[String]) -> Result<(), InitError> {
        for label in labels(units) {
            self.ctl.disable(&label).await?;
        }
        Ok(())
    }

    async fn start(&self, unit: &str) -> Result<JobResult, InitError> {
        let Some((label, short)) = job(unit) else {
            return Ok(JobResult::Skipped);
        };
        self.start_job(&label, &short).await?;
        Ok(JobResult::Done)
    }

    async fn stop(&self, unit: &str) -> Result<JobResult, InitError> {
        let Some((label, _)) = job(unit) else {
            return Ok(JobResult::Skipped);
        };
        self.ctl.bootout(&label).await?;
        Ok(JobResult::Done)
    }

    async fn restart(&self, unit: &str) -> Result<JobResult, InitError> {
        let Some((label, short)) = job(unit) else {
            return Ok(JobResult::Skipped);
        };
        let changed = agents::changed_since_load(&self.layout, &label, &short);
        self.ctl
            .restart(&label, &self.plist(&label), changed)
            .await?;
        agents::mark_loaded(&self.layout, &label, &short)?;
        agents::save_record(
            &self.layout,
            &short,
            &guard::Record::started(self.clock.now()),
        )?;
        Ok(JobResult::Done)
    }

    /// Forget a crash-loop trip so the next start runs.
    async fn reset_failed(&self, unit: &str) -> Result<(), InitError> {
        if let Some((_, short)) = job(unit) {
            agents::save_record(&self.layout, &short, &guard::Record::default())?;
        }
        Ok(())
    }

    async fn state(&self, unit: &str) -> Result<UnitState, InitError> {
        match job(unit) {
            Some(_) if unit == HUB_SOCKET => self.socket_state().await,
            Some((label, short)) => self.job_state(&label, &short).await,
            // The target has no counterpart: it is always "there".
            None => Ok(UnitState {
                load_state: "loaded".into(),
                active_state: "active".into(),
                unit_file_state: "enabled".into(),
                ..UnitState::default()
            }),
        }
    }

    /// Agents run while their user is logged in; there is no lingering.
    async fn linger(&self) -> Option<bool> {
        None
    }

    /// The agent's log file has no runs or timestamps: its last lines stand
    /// in for the run's.
    async fn run_log(&self, unit: &str, _: &str, _: i64, lines: usize) -> Vec<String> {
        job(unit)
            .and_then(|(_, short)| super::logs::tail(&self.layout.log(&short), lines).ok())
            .unwrap_or_default()
    }

    /// launchd has no namespace sandboxing of this kind.
    async fn probe_namespaces(&self, _: &[Ns]) -> Result<bool, InitError> {
        Ok(false)
    }
}

#[cfg(test)]
mod tests;
