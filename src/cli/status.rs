//! `parachute status [service]`: one row per service plus the hub, state
//! from systemd, health probed concurrently; for one service, its details
//! and its last journal lines (like `systemctl status`). Units on disk
//! without a services.json row are shown too, so a deleted or malformed
//! registry hides nothing.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use serde::Serialize;

use super::Context;
use super::context::out;
use crate::error::Error;
use crate::health::{self, Health};
use crate::lifecycle::inventory::{Inventory, short_of};
use crate::lifecycle::logs;
use crate::lifecycle::service::{HUB_SERVICE, HUB_SOCKET};
use crate::lifecycle::{InitSystem, UnitState};
use crate::manifest::Row;
use crate::ports;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// One service (short name or manifestName, or `hub`): its details and
    /// its last log lines. Omit for the table of all.
    pub service: Option<String>,
    /// Print JSON for scripts instead of the table.
    #[arg(long)]
    pub json: bool,
}

const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Journal lines `status <service>` shows.
const DETAIL_LOG_LINES: usize = 10;

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

pub async fn run(cx: &Context, args: StatusArgs) -> Result<ExitCode, Error> {
    let inventory = cx.inventory()?;
    if let Some(e) = &inventory.unreadable {
        eprintln!("⚠ {e}");
        eprintln!("  Showing the units on disk instead.");
    }
    // Resolve the name before asking systemd anything: a typo fails fast.
    let only = match args.service.as_deref() {
        None => None,
        Some("hub" | "parachute-hub") => Some(HUB_SERVICE.to_string()),
        Some(name) => Some(inventory.find_unit(name).ok_or_else(|| {
            Error::UnknownService {
                name: name.to_string(),
                known: std::iter::once("hub".to_string())
                    .chain(inventory.known())
                    .collect(),
            }
        })?),
    };
    let init = cx.init_system().await?;
    let now_us = u64::try_from(cx.clock.timestamp().as_microsecond()).unwrap_or(0);
    let mut rows = collect(&inventory, &init, cx.hub_port, only.as_deref(), now_us).await?;
    probe_all(&mut rows).await;
    let failing = rows.iter().any(|s| s.failing);
    match rows.first().filter(|_| only.is_some()) {
        Some(one) => detail(one, args.json).await?,
        None if args.json => {
            let doc = serde_json::json!({ "ok": !failing, "services": rows });
            out(&format!("{doc:#}\n"))?;
        }
        None => out(&table(&rows))?,
    }
    Ok(if failing {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The status of every service (or only of the unit `only`), hub last.
async fn collect(
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
        rows.push(base_status(row, &state, now_us));
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

/// Probe every running service at once; a stopped one is not probed.
async fn probe_all(rows: &mut [ServiceStatus]) {
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

/// `status <service>`: the details, then the journal's last lines.
async fn detail(s: &ServiceStatus, json: bool) -> Result<(), Error> {
    let launchd_log = match crate::lifecycle::backend::Backend::from_env() {
        crate::lifecycle::backend::Backend::Launchd(l) => {
            crate::lifecycle::launchd::system::job(&s.unit).map(|(_, short)| l.layout.log(&short))
        }
        crate::lifecycle::backend::Backend::Systemd(_) => None,
    };
    let lines = match launchd_log {
        // launchd has no journal: the agent's log file.
        Some(path) => {
            crate::lifecycle::launchd::logs::tail(&path, DETAIL_LOG_LINES).unwrap_or_default()
        }
        None => logs::tail(&logs::Query {
            unit: &s.unit,
            lines: DETAIL_LOG_LINES,
            since: None,
            invocation: None,
        })
        .await
        .unwrap_or_default(),
    };
    if json {
        let doc = serde_json::json!({ "ok": !s.failing, "service": s, "logs": lines });
        return out(&format!("{doc:#}\n"));
    }
    out(&detail_text(s, &lines))
}

/// A unit on disk that services.json does not list: shown from systemd's
/// view alone (no port, no health path to probe).
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

fn base_status(row: &Row, state: &UnitState, now_us: u64) -> ServiceStatus {
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

fn from_unit(
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
    if svc.load_state == "not-found" && sock.load_state == "not-found" {
        s.notes.push("→ not set up yet: parachute init".into());
    }
    Ok(s)
}

fn table(rows: &[ServiceStatus]) -> String {
    let header = [
        "SERVICE", "PORT", "VERSION", "STATE", "ENABLED", "PID", "UPTIME", "RESTARTS", "MEMORY",
        "HEALTH", "LATENCY",
    ];
    let cells: Vec<[String; 11]> = rows
        .iter()
        .map(|s| {
            let dash = || "-".to_string();
            let state = if s.sub_state.is_empty() || s.sub_state == "dead" || s.state == s.sub_state
            {
                s.state.clone()
            } else {
                format!("{} ({})", s.state, s.sub_state)
            };
            [
                s.name.clone(),
                if s.port == 0 {
                    dash()
                } else {
                    s.port.to_string()
                },
                s.version.clone(),
                state,
                if s.enabled.is_empty() {
                    dash()
                } else {
                    s.enabled.clone()
                },
                s.pid.map_or_else(dash, |p| p.to_string()),
                s.uptime_seconds.map_or_else(dash, human_duration),
                s.restarts.to_string(),
                s.memory_bytes.map_or_else(dash, human_bytes),
                s.health.as_ref().map_or_else(dash, |h| {
                    if h.ok {
                        "ok".into()
                    } else {
                        h.error.clone().unwrap_or_else(|| "fail".into())
                    }
                }),
                s.health
                    .as_ref()
                    .map_or_else(dash, |h| format!("{}ms", h.latency_ms)),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for c in &cells {
        for (w, v) in widths.iter_mut().zip(c) {
            *w = (*w).max(v.chars().count());
        }
    }
    let line = |vals: &[String]| {
        let mut l = String::new();
        for (i, (v, w)) in vals.iter().zip(widths).enumerate() {
            if i + 1 == vals.len() {
                l.push_str(v);
            } else {
                let _ = write!(l, "{v:<w$}  ");
            }
        }
        l.trim_end().to_string() + "\n"
    };
    let mut outp = line(&header.map(str::to_string));
    for (s, c) in rows.iter().zip(&cells) {
        outp.push_str(&line(c));
        if !s.url.is_empty() {
            let _ = writeln!(outp, "  → {}", s.url);
        }
        for n in &s.notes {
            let _ = writeln!(outp, "  {n}");
        }
    }
    outp
}

/// The text of `status <service>`.
fn detail_text(s: &ServiceStatus, lines: &[String]) -> String {
    let short = logs::prefix_of(&s.unit).to_string();
    let mut t = String::new();
    let _ = writeln!(t, "● {short} ({})", s.unit);
    let mut state = s.state.clone();
    if !s.sub_state.is_empty() && s.sub_state != s.state {
        let _ = write!(state, " ({})", s.sub_state);
    }
    if let Some(up) = s.uptime_seconds {
        let _ = write!(state, " for {}", human_duration(up));
    }
    let mut field = |k: &str, v: String| {
        let _ = writeln!(t, "  {k:>9}: {v}");
    };
    field("State", state);
    field(
        "Enabled",
        match s.enabled.as_str() {
            "" => "-".into(),
            "enabled" => "enabled (starts at login)".into(),
            "disabled" => {
                format!("disabled (not at login; turn on with: parachute enable {short})")
            }
            other => other.into(),
        },
    );
    if let Some(pid) = s.pid {
        field("PID", pid.to_string());
    }
    if s.port != 0 {
        field("Port", format!("{} → {}", s.port, s.url));
    }
    if let Some(h) = &s.health {
        let verdict = if h.ok {
            "ok".to_string()
        } else {
            h.error.clone().unwrap_or_else(|| "fail".into())
        };
        field("Health", format!("{verdict} ({}ms)", h.latency_ms));
    }
    field("Restarts", s.restarts.to_string());
    if let Some(m) = s.memory_bytes {
        field("Memory", human_bytes(m));
    }
    field("Version", s.version.clone());
    for n in &s.notes {
        let _ = writeln!(t, "  {n}");
    }
    if lines.is_empty() {
        let _ = writeln!(t, "\nNo log lines yet.");
    } else {
        let _ = writeln!(t, "\nLast log lines (more: parachute logs {short}):");
        for l in lines {
            let _ = writeln!(t, "  {l}");
        }
    }
    t
}

fn human_duration(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h {}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d {}h", s / 86_400, (s % 86_400) / 3600),
    }
}

#[allow(clippy::cast_precision_loss)]
fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 4] = ["B", "K", "M", "G"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b}B")
    } else {
        format!("{v:.1}{}", UNITS[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes_read_like_a_person_writes_them() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(125), "2m 5s");
        assert_eq!(human_duration(7980), "2h 13m");
        assert_eq!(human_duration(90_000), "1d 1h");
        assert_eq!(human_bytes(512), "512B");
        assert_eq!(human_bytes(12_900_000), "12.3M");
    }

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

    #[test]
    fn drift_and_start_errors_become_continuation_lines() {
        let mut row = Row::new(
            "parachute-vault",
            1941,
            &["/vault/default".into()],
            "/h",
            "1",
        );
        row.set_last_start_error("exit-code", "boom", "2026-01-01T00:00:00Z");
        let s = base_status(
            &row,
            &UnitState {
                load_state: "loaded".into(),
                active_state: "inactive".into(),
                ..UnitState::default()
            },
            0,
        );
        assert_eq!(s.url, "http://127.0.0.1:1941/vault/default");
        assert!(s.notes.contains(&"! canonical port is 1940".to_string()));
        assert!(s.notes.iter().any(|n| n.contains("failed to start: boom")));
        let t = table(&[s]);
        assert!(t.starts_with("SERVICE"));
        assert!(t.contains("  → http://127.0.0.1:1941/vault/default\n"));
    }
}
