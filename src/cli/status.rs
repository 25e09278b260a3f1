//! `parachute status [service]`: one row per service plus the hub, state
//! from systemd, health probed concurrently; for one service, its details
//! and its last journal lines (like `systemctl status`). Units on disk
//! without a services.json row are shown too, so a deleted or malformed
//! registry hides nothing.

use std::fmt::Write as _;
use std::process::ExitCode;

use clap::Args;

use super::Context;
use super::context::out;
use crate::error::Error;
use crate::lifecycle::backend::Backend;
use crate::lifecycle::logs;
use crate::lifecycle::service::HUB_SERVICE;
use crate::lifecycle::status::{self, ServiceStatus, collect, probe_all};

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// One service (short name or manifestName, or `hub`): its details and
    /// its last log lines. Omit for the table of all.
    pub service: Option<String>,
    /// Print JSON for scripts instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Journal lines `status <service>` shows.
const DETAIL_LOG_LINES: usize = 10;

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
    status::mark_idle_stopped(&cx.paths, &mut rows);
    probe_all(&mut rows).await;
    let failing = rows.iter().any(|s| s.failing);
    match rows.first().filter(|_| only.is_some()) {
        Some(one) => detail(one, &init, args.json).await?,
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

/// `status <service>`: the details, then the last log lines.
async fn detail(s: &ServiceStatus, init: &Backend, json: bool) -> Result<(), Error> {
    let lines = status::recent_lines(init, &s.unit, DETAIL_LOG_LINES).await;
    if json {
        let doc = serde_json::json!({ "ok": !s.failing, "service": s, "logs": lines });
        return out(&format!("{doc:#}\n"));
    }
    out(&detail_text(s, &lines))
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
    use crate::lifecycle::UnitState;
    use crate::lifecycle::status::base_status;
    use crate::manifest::Row;

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
