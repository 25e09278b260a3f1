//! A recording [`InitSystem`] for unit tests of the operations (and the
//! doctor): unit files kept in memory, states and job results scripted,
//! every call written down in order as `verb unit`.
//!
//! A started unit becomes active with [`FakeInit::RUNNING_PID`] unless a
//! state after start is scripted; a stopped one becomes inactive.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use crate::error::Error;
use crate::lifecycle::service::ServiceSpec;
use crate::lifecycle::systemd::hardening::Ns;
use crate::lifecycle::{InitError, InitSystem, JobResult, Rendered, UnitState};
use crate::paths::Paths;

#[derive(Default)]
pub struct FakeInit {
    /// What `state` answers, by unit; a unit not here is `not-found`.
    pub states: Mutex<HashMap<String, UnitState>>,
    /// The state a unit is in after a successful start or restart.
    pub after_start: HashMap<String, UnitState>,
    /// The job result of start/restart/stop by unit (default `done`).
    pub jobs: HashMap<String, JobResult>,
    /// Unit files "on disk": name → text.
    pub files: Mutex<BTreeMap<String, String>>,
    /// Namespace directives the manager can set up, each on its own.
    pub namespaces: Vec<Ns>,
    /// Whether those fail when probed together.
    pub namespaces_conflict: bool,
    pub linger: Option<bool>,
    /// What `run_log` answers, by unit.
    pub logs: HashMap<String, Vec<String>>,
    /// Whether `enable` marks the units `enabled`, as a manager does (so a
    /// second run sees them enabled); off, their states stay as scripted.
    pub remember_enabled: bool,
    pub calls: Mutex<Vec<String>>,
}

impl FakeInit {
    /// The main PID of a unit the fake started.
    pub const RUNNING_PID: u32 = 4242;

    /// A fake whose units are in these states.
    pub fn with_states(states: impl IntoIterator<Item = (String, UnitState)>) -> Self {
        Self {
            states: Mutex::new(states.into_iter().collect()),
            ..Self::default()
        }
    }

    /// Put a unit file "on disk" without recording a call.
    #[must_use]
    pub fn with_file(self, unit: &str, text: &str) -> Self {
        self.files
            .lock()
            .expect("files")
            .insert(unit.to_string(), text.to_string());
        self
    }

    /// Set `unit`'s state.
    pub fn set_state(&self, unit: &str, state: UnitState) {
        self.states
            .lock()
            .expect("states")
            .insert(unit.to_string(), state);
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("calls").clone()
    }

    /// The unit files "on disk".
    pub fn files(&self) -> BTreeMap<String, String> {
        self.files.lock().expect("files").clone()
    }

    /// What the fake renders for `spec` (enough to see a changed spec).
    pub fn text_of(spec: &ServiceSpec) -> String {
        format!(
            "{} {} port={}\n",
            spec.unit,
            spec.exec_start.join(" "),
            spec.port
        )
    }

    fn record(&self, call: String) {
        self.calls.lock().expect("calls").push(call);
    }

    fn job(&self, unit: &str) -> JobResult {
        self.jobs.get(unit).copied().unwrap_or(JobResult::Done)
    }

    fn started(&self, unit: &str) {
        let state = self.after_start.get(unit).cloned().unwrap_or_else(|| {
            let mut s = active();
            s.unit_file_state = self.current(unit).unit_file_state;
            s
        });
        self.set_state(unit, state);
    }

    fn current(&self, unit: &str) -> UnitState {
        self.states
            .lock()
            .expect("states")
            .get(unit)
            .cloned()
            .unwrap_or_else(not_found)
    }
}

/// A loaded unit that runs with [`FakeInit::RUNNING_PID`].
pub fn active() -> UnitState {
    UnitState {
        load_state: "loaded".into(),
        active_state: "active".into(),
        sub_state: "running".into(),
        result: "success".into(),
        main_pid: FakeInit::RUNNING_PID,
        ..UnitState::default()
    }
}

/// A loaded unit that is not running.
pub fn inactive() -> UnitState {
    UnitState {
        load_state: "loaded".into(),
        active_state: "inactive".into(),
        sub_state: "dead".into(),
        ..UnitState::default()
    }
}

/// What the manager says of a unit it has no file for.
pub fn not_found() -> UnitState {
    UnitState {
        load_state: "not-found".into(),
        active_state: "inactive".into(),
        ..UnitState::default()
    }
}

impl InitSystem for FakeInit {
    fn has_unit(&self, _: &Paths, unit: &str) -> bool {
        self.files.lock().expect("files").contains_key(unit)
    }
    fn ensure_group(&self, _: &Paths) -> Result<bool, Error> {
        let mut files = self.files.lock().expect("files");
        if files.contains_key(crate::lifecycle::service::TARGET) {
            return Ok(false);
        }
        files.insert(crate::lifecycle::service::TARGET.into(), "group\n".into());
        drop(files);
        self.record("write-group".into());
        Ok(true)
    }
    async fn render_service(&self, _: &Paths, spec: &ServiceSpec) -> Rendered {
        Rendered {
            text: Self::text_of(spec),
            hardening_known: true,
        }
    }
    async fn write_service(&self, _: &Paths, spec: &ServiceSpec) -> Result<bool, Error> {
        let text = Self::text_of(spec);
        let mut files = self.files.lock().expect("files");
        if files.get(&spec.unit) == Some(&text) {
            return Ok(false);
        }
        files.insert(spec.unit.clone(), text);
        drop(files);
        self.record(format!("write {}", spec.unit));
        Ok(true)
    }
    fn remove_unit(&self, _: &Paths, unit: &str) -> Result<bool, Error> {
        let had = self.files.lock().expect("files").remove(unit).is_some();
        if had {
            self.record(format!("remove {unit}"));
        }
        Ok(had)
    }
    async fn reload(&self) -> Result<(), InitError> {
        self.record("reload".into());
        Ok(())
    }
    async fn enable(&self, units: &[String]) -> Result<(), InitError> {
        self.record(format!("enable {}", units.join(" ")));
        for unit in units.iter().filter(|_| self.remember_enabled) {
            let mut s = self.current(unit);
            s.unit_file_state = "enabled".into();
            self.set_state(unit, s);
        }
        Ok(())
    }
    async fn disable(&self, units: &[String]) -> Result<(), InitError> {
        self.record(format!("disable {}", units.join(" ")));
        Ok(())
    }
    async fn start(&self, unit: &str) -> Result<JobResult, InitError> {
        self.record(format!("start {unit}"));
        let job = self.job(unit);
        if job.is_ok() {
            self.started(unit);
        }
        Ok(job)
    }
    async fn stop(&self, unit: &str) -> Result<JobResult, InitError> {
        self.record(format!("stop {unit}"));
        let job = self.job(unit);
        if job.is_ok() && self.current(unit).load_state != "not-found" {
            let mut s = inactive();
            s.unit_file_state = self.current(unit).unit_file_state;
            self.set_state(unit, s);
        }
        Ok(job)
    }
    async fn restart(&self, unit: &str) -> Result<JobResult, InitError> {
        self.record(format!("restart {unit}"));
        let job = self.job(unit);
        if job.is_ok() {
            self.started(unit);
        }
        Ok(job)
    }
    async fn reset_failed(&self, unit: &str) -> Result<(), InitError> {
        self.record(format!("reset-failed {unit}"));
        Ok(())
    }
    async fn state(&self, unit: &str) -> Result<UnitState, InitError> {
        Ok(self.current(unit))
    }
    async fn linger(&self) -> Option<bool> {
        self.linger
    }
    async fn run_log(&self, unit: &str, _: &str, _: i64, lines: usize) -> Vec<String> {
        let log = self.logs.get(unit).cloned().unwrap_or_default();
        log[log.len().saturating_sub(lines)..].to_vec()
    }
    async fn probe_namespaces(&self, directives: &[Ns]) -> Result<bool, InitError> {
        let keys: Vec<&str> = directives.iter().map(|n| n.key()).collect();
        self.record(format!("probe {}", keys.join(" ")));
        let each = directives.iter().all(|n| self.namespaces.contains(n));
        Ok(each && !(self.namespaces_conflict && directives.len() > 1))
    }
}
