//! What `parachute status` and the hub's admin pages show of each service:
//! state from the init system, health probed concurrently, and a unit's
//! recent log lines from wherever the init system keeps them. Data only;
//! the callers present it.

use std::time::Duration;

use serde::Serialize;

use crate::error::Error;
use crate::health::{self, Health};
use crate::lifecycle::backend::Backend;
use crate::lifecycle::inventory::{Inventory, short_of};
use crate::lifecycle::logs;
use crate::lifecycle::service::{HUB_SERVICE, HUB_SOCKET};
use crate::lifecycle::{InitSystem, UnitState};
use crate::manifest::Row;
use crate::ports;

const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// One service as `status` reports it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceStatus {
    pub name: String,
    pub unit: String,
    pub port: u16,
    pub version: String,
    /// systemd's `ActiveState`, `not-installed` when there is no unit.
    pub state: String,
    /// systemd's `UnitFileState`: `enabled` starts at login, `disabled`
    /// does not (the hub's is its socket's); empty without a unit.
    pub enabled: String,
    pub sub_state: String,
    pub pid: Option<u32>,
    pub uptime_seconds: Option<u64>,
    pub restarts: u32,
    pub memory_bytes: Option<u64>,
    pub health: Option<Health>,
    pub url: String,
    /// Continuation notes (port drift, last start error, unit failure).
    pub notes: Vec<String>,
    /// Counts against the exit status: failed unit, or running but unhealthy.
    pub failing: bool,
    /// The path to probe; `None` when there is nothing to probe it on (a
    /// unit with no services.json row has no known port).
    #[serde(skip)]
    pub health_path: Option<String>,
}

/// The status of every service (or only of the unit `only`), hub last.
pub async fn collect(
    inventory: &Inventory,
    init: &impl InitSystem,
    hub_port: u16,
    only: Option<&str>,
    now_us: u64,
) -> Result<Vec<ServiceStatus>, Error> {
    let wanted = |unit: &str| only.is_none_or(|o| o == unit);
    let mut rows = Vec::new();
    for row in inventory.services.rows.iter().filter(|r| wanted(&r.unit())) {
        let state = init.state(&row.unit()).await?;
        let mut s = base_status(row, &state, now_us);
        if state.is_failed()
            && let Some(why) = init.why_stopped(&row.unit())
        {
            s.notes.push(format!("! {why}"));
        }
        rows.push(s);
    }
    for unit in inventory.unregistered.iter().filter(|u| wanted(u)) {
        let state = init.state(unit).await?;
        rows.push(unregistered_status(
            unit,
            &state,
            now_us,
            inventory.unreadable.is_some(),
        ));
    }
    if wanted(HUB_SERVICE) {
        rows.push(hub_status(init, hub_port, now_us).await?);
    }
    Ok(rows)
}

/// A stopped module the hub stopped for being idle shows as
/// `idle-stopped` (the next request through the hub starts it again).
pub fn mark_idle_stopped(paths: &crate::paths::Paths, rows: &mut [ServiceStatus]) {
    for s in rows.iter_mut().filter(|s| s.state == "inactive") {
        if crate::lifecycle::idle_marker::is_set(paths, &s.name) {
            s.state = IDLE_STOPPED.into();
            s.notes
                .push("→ stopped by the hub for being idle; the next request starts it".into());
        }
    }
}

/// The `state` of a module the hub stopped for being idle.
pub const IDLE_STOPPED: &str = "idle-stopped";

/// Probe every running service at once; a stopped one is not probed.
pub async fn probe_all(rows: &mut [ServiceStatus]) {
    let client = health::client();
    let probes = rows.iter().map(|s| {
        let client = &client;
        let want = matches!(s.state.as_str(), "active" | "activating" | "reloading")
            || (s.unit == HUB_SERVICE && s.sub_state == "listening");
        async move {
            match &s.health_path {
                Some(path) if want => {
                    Some(health::probe(client, s.port, path, PROBE_TIMEOUT).await)
                }
                _ => None,
            }
        }
    });
    let results = futures_util::future::join_all(probes).await;
    for (s, h) in rows.iter_mut().zip(results) {
        if h.as_ref().is_some_and(|h| !h.ok) && s.state == "active" {
            s.failing = true;
        }
        s.health = h;
    }
}

/// The last `lines` log lines of `unit`: journald's under systemd, the
/// agent's log file under launchd.
pub async fn recent_lines(init: &Backend, unit: &str, lines: usize) -> Vec<String> {
    match init {
        Backend::Launchd(l) => crate::lifecycle::launchd::system::job(unit)
            .and_then(|(_, short)| {
                crate::lifecycle::launchd::logs::tail(&l.layout.log(&short), lines).ok()
            })
            .unwrap_or_default(),
        Backend::Systemd(_) => logs::tail(&logs::Query {
            unit,
            lines,
            since: None,
            invocation: None,
        })
        .await
        .unwrap_or_default(),
    }
}

/// Most of a unit file the admin pages show (units and plists are a few KiB).
pub const UNIT_TEXT_MAX: u64 = 64 * 1024;

/// A unit file as the backend wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitText {
    pub path: std::path::PathBuf,
    /// `None` when there is no such file (or it cannot be read).
    pub text: Option<String>,
}

/// `unit`'s file as written on disk (systemd: the unit, launchd: the plist),
/// read up to [`UNIT_TEXT_MAX`] bytes.
pub fn unit_text(init: &Backend, paths: &crate::paths::Paths, unit: &str) -> Option<UnitText> {
    use std::io::Read as _;
    let path = init.unit_path(paths, unit)?;
    let text = std::fs::File::open(&path).ok().and_then(|f| {
        let mut buf = Vec::new();
        f.take(UNIT_TEXT_MAX).read_to_end(&mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf).into_owned())
    });
    Some(UnitText { path, text })
}

fn unregistered_status(
    unit: &str,
    state: &UnitState,
    now_us: u64,
    registry_unreadable: bool,
) -> ServiceStatus {
    let name = format!("parachute-{}", short_of(unit));
    let mut s = from_unit(&name, unit, 0, "-", state, now_us);
    s.url = String::new();
    s.notes.push(if registry_unreadable {
        "! not read from services.json (it could not be read); state from the unit only".into()
    } else {
        format!(
            "! no services.json row for {unit}; re-register it with `parachute install <path-to-module>`, or see `parachute doctor`"
        )
    });
    s
}

pub fn base_status(row: &Row, state: &UnitState, now_us: u64) -> ServiceStatus {
    let mut notes = Vec::new();
    if let Some(c) = ports::canonical(&row.name).filter(|c| *c != row.port) {
        notes.push(format!("! canonical port is {c}"));
    }
    if let Some(e) = row.last_start_error() {
        let desc = e
            .get("error_description")
            .and_then(|v| v.as_str())
            .unwrap_or("unknown error");
        let at = e.get("at").and_then(|v| v.as_str()).unwrap_or("");
        notes.push(format!("! failed to start: {desc} ({at})"));
    }
    let path = row.paths.first().map_or("", String::as_str);
    let health_path = Some(row.health.clone());
    let mut s = from_unit(
        &row.name,
        &row.unit(),
        row.port,
        &row.version,
        state,
        now_us,
    );
    s.url = format!("http://127.0.0.1:{}{path}", row.port);
    s.health_path = health_path;
    s.notes.extend(notes);
    s
}

pub fn from_unit(
    name: &str,
    unit: &str,
    port: u16,
    version: &str,
    state: &UnitState,
    now_us: u64,
) -> ServiceStatus {
    let installed = state.load_state != "not-found";
    let active = state.is_active();
    let mut notes = Vec::new();
    if state.is_failed() {
        let exit = crate::lifecycle::start::describe_exit(state);
        notes.push(format!("! unit failed{exit}"));
    }
    ServiceStatus {
        name: name.to_string(),
        unit: unit.to_string(),
        port,
        version: version.to_string(),
        state: if installed {
            state.active_state.clone()
        } else {
            "not-installed".into()
        },
        sub_state: state.sub_state.clone(),
        enabled: if installed {
            state.unit_file_state.clone()
        } else {
            String::new()
        },
        pid: (state.main_pid != 0).then_some(state.main_pid),
        uptime_seconds: (active && state.active_enter_timestamp_us > 0)
            .then(|| now_us.saturating_sub(state.active_enter_timestamp_us) / 1_000_000),
        restarts: state.n_restarts,
        memory_bytes: if active { state.memory_current } else { None },
        health: None,
        url: format!("http://127.0.0.1:{port}"),
        notes,
        failing: state.is_failed(),
        health_path: None,
    }
}

/// The hub row: its service unit, or its socket when the service is idle.
async fn hub_status(
    init: &impl InitSystem,
    hub_port: u16,
    now_us: u64,
) -> Result<ServiceStatus, Error> {
    let svc = init.state(HUB_SERVICE).await?;
    let sock = init.state(HUB_SOCKET).await?;
    let mut s = from_unit(
        "parachute-hub",
        HUB_SERVICE,
        hub_port,
        crate::version::VERSION,
        &svc,
        now_us,
    );
    s.health_path = Some("/health".into());
    // The hub starts at login through its socket (its service has `Also=`).
    if sock.load_state != "not-found" {
        s.enabled.clone_from(&sock.unit_file_state);
    }
    if !svc.is_active() && sock.is_active() {
        // Socket-activated and idle: listening, started on the next connection.
        s.state = "active".into();
        s.sub_state = "listening".into();
    }
    if sock.is_failed() {
        s.failing = true;
        s.notes.push(format!(
            "! {HUB_SOCKET} failed: {} — run: parachute restart hub",
            sock.result
        ));
    }
    if svc.is_failed()
        && let Some(why) = init.why_stopped(HUB_SERVICE)
    {
        s.notes.push(format!("! {why}"));
    }
    if svc.load_state == "not-found" && sock.load_state == "not-found" {
        s.notes.push("→ not set up yet: parachute init".into());
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_unit_fails_status_and_says_why() {
        let st = UnitState {
            load_state: "loaded".into(),
            active_state: "failed".into(),
            result: "exit-code".into(),
            exec_main_status: 2,
            ..UnitState::default()
        };
        let s = from_unit("parachute-x", "parachute-x.service", 1950, "1", &st, 0);
        assert!(s.failing);
        assert_eq!(s.notes, vec!["! unit failed: exit-code (status 2)"]);
        assert_eq!(s.pid, None);
    }
}
