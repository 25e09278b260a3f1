//! `parachute status`: one row per service plus the hub, state from systemd,
//! health probed concurrently.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use serde::Serialize;

use super::Context;
use super::context::out;
use crate::error::Error;
use crate::health::{self, Health};
use crate::lifecycle::systemd::unit::{HUB_SERVICE, HUB_SOCKET};
use crate::lifecycle::{InitSystem, UnitState};
use crate::manifest::Row;
use crate::ports;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON for scripts instead of the table.
    #[arg(long)]
    pub json: bool,
}

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
}

pub async fn run(cx: &Context, args: StatusArgs) -> Result<ExitCode, Error> {
    let services = cx.services_lenient()?;
    let init = cx.systemd().await?;
    let now_us = u64::try_from(jiff::Timestamp::now().as_microsecond()).unwrap_or(0);
    let mut rows = Vec::with_capacity(services.rows.len() + 1);
    for row in &services.rows {
        let state = init.state(&row.unit()).await?;
        rows.push(base_status(row, &state, now_us));
    }
    rows.push(hub_status(&init, cx.hub_port, now_us).await?);

    // Probe every running service at once; a stopped one is not probed.
    let client = health::client();
    let health_paths: Vec<String> = services
        .rows
        .iter()
        .map(|r| r.health.clone())
        .chain(std::iter::once("/health".to_string()))
        .collect();
    let probes = rows.iter().zip(&health_paths).map(|(s, path)| {
        let client = &client;
        let want = matches!(s.state.as_str(), "active" | "activating" | "reloading")
            || (s.unit == HUB_SERVICE && s.sub_state == "listening");
        async move {
            if want {
                Some(health::probe(client, s.port, path, PROBE_TIMEOUT).await)
            } else {
                None
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
    let failing = rows.iter().any(|s| s.failing);
    if args.json {
        let doc = serde_json::json!({ "ok": !failing, "services": rows });
        out(&format!("{doc:#}\n"))?;
    } else {
        out(&table(&rows))?;
    }
    Ok(if failing {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
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
    let mut s = from_unit(
        &row.name,
        &row.unit(),
        row.port,
        &row.version,
        state,
        now_us,
    );
    s.url = format!("http://127.0.0.1:{}{path}", row.port);
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
        pid: (state.main_pid != 0).then_some(state.main_pid),
        uptime_seconds: (active && state.active_enter_timestamp_us > 0)
            .then(|| now_us.saturating_sub(state.active_enter_timestamp_us) / 1_000_000),
        restarts: state.n_restarts,
        memory_bytes: if active { state.memory_current } else { None },
        health: None,
        url: format!("http://127.0.0.1:{port}"),
        notes,
        failing: state.is_failed(),
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
        env!("CARGO_PKG_VERSION"),
        &svc,
        now_us,
    );
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
        "SERVICE", "PORT", "VERSION", "STATE", "PID", "UPTIME", "RESTARTS", "MEMORY", "HEALTH",
        "LATENCY",
    ];
    let cells: Vec<[String; 10]> = rows
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
                s.port.to_string(),
                s.version.clone(),
                state,
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
        let _ = writeln!(outp, "  → {}", s.url);
        for n in &s.notes {
            let _ = writeln!(outp, "  {n}");
        }
    }
    outp
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
