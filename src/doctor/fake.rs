//! A recording [`InitSystem`] for the doctor's unit tests: unit states
//! from a map, every call written down.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::lifecycle::{InitError, InitSystem, JobResult, UnitState};

#[derive(Default)]
pub struct FakeInit {
    pub states: HashMap<String, UnitState>,
    pub linger: Option<bool>,
    pub calls: Mutex<Vec<String>>,
}

impl FakeInit {
    fn record(&self, call: String) {
        self.calls.lock().expect("calls").push(call);
    }
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("calls").clone()
    }
}

impl InitSystem for FakeInit {
    async fn reload(&self) -> Result<(), InitError> {
        self.record("reload".into());
        Ok(())
    }
    async fn enable(&self, units: &[String]) -> Result<(), InitError> {
        self.record(format!("enable {}", units.join(" ")));
        Ok(())
    }
    async fn disable(&self, units: &[String]) -> Result<(), InitError> {
        self.record(format!("disable {}", units.join(" ")));
        Ok(())
    }
    async fn start(&self, unit: &str) -> Result<JobResult, InitError> {
        self.record(format!("start {unit}"));
        Ok(JobResult::Done)
    }
    async fn stop(&self, unit: &str) -> Result<JobResult, InitError> {
        self.record(format!("stop {unit}"));
        Ok(JobResult::Done)
    }
    async fn restart(&self, unit: &str) -> Result<JobResult, InitError> {
        self.record(format!("restart {unit}"));
        Ok(JobResult::Done)
    }
    async fn reset_failed(&self, unit: &str) -> Result<(), InitError> {
        self.record(format!("reset-failed {unit}"));
        Ok(())
    }
    async fn state(&self, unit: &str) -> Result<UnitState, InitError> {
        Ok(self.states.get(unit).cloned().unwrap_or_else(|| UnitState {
            load_state: "not-found".into(),
            active_state: "inactive".into(),
            ..UnitState::default()
        }))
    }
    async fn linger(&self) -> Option<bool> {
        self.linger
    }
    async fn probe_namespaces(
        &self,
        _: &[crate::lifecycle::systemd::hardening::Ns],
    ) -> Result<bool, InitError> {
        Ok(false)
    }
}
