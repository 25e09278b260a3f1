//! `parachute doctor`: each check says what it found and the command that fixes it.

use std::fmt::Write as _;
use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use super::Context;
use super::context::out;
use crate::error::Error;
use crate::lifecycle::systemd::dbus::SystemdUser;
use crate::lifecycle::systemd::exposure::{self, Finding};
use crate::lifecycle::systemd::unit;
use crate::lifecycle::{InitSystem, spec, units};
use crate::manifest::Services;
use crate::ports;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print JSON for scripts.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

#[derive(Debug, Serialize)]
pub struct Check {
    pub name: String,
    pub status: Status,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

fn check(name: &str, status: Status, detail: impl Into<String>, fix: Option<String>) -> Check {
    Check {
        name: name.into(),
        status,
        detail: detail.into(),
        fix,
    }
}

pub async fn run(cx: &Context, args: DoctorArgs) -> Result<ExitCode, Error> {
    let mut checks = Vec::new();
    let init = match cx.systemd().await {
        Ok(init) => {
            let v = init.version().await.unwrap_or_default();
            checks.push(check(
                "user-manager",
                Status::Pass,
                format!("systemd {v} user manager reachable"),
                None,
            ));
            Some(init)
        }
        Err(e) => {
            checks.push(check(
                "user-manager",
                Status::Fail,
                e.to_string(),
                Some("log in as this user directly (not su/sudo) or export XDG_RUNTIME_DIR=/run/user/$(id -u); without systemd run: parachute serve".into()),
            ));
            None
        }
    };
    if let Some(init) = &init {
        let user = std::env::var("USER").unwrap_or_else(|_| "$USER".into());
        checks.push(match init.linger().await {
            Some(true) => check(
                "linger",
                Status::Pass,
                "lingering is on: services run without a login session",
                None,
            ),
            Some(false) => check(
                "linger",
                Status::Warn,
                "lingering is off: services stop at logout and do not start at boot",
                Some(format!("loginctl enable-linger {user}")),
            ),
            None => check(
                "linger",
                Status::Warn,
                "cannot ask logind whether lingering is on",
                Some(format!("loginctl show-user {user} --property=Linger")),
            ),
        });
    }
    let path = cx.paths.services_json();
    match Services::load_strict(&path) {
        Ok(services) => {
            checks.push(check(
                "services-json",
                Status::Pass,
                format!(
                    "{} valid ({} services)",
                    path.display(),
                    services.rows.len()
                ),
                None,
            ));
            if let Some(init) = &init {
                unit_checks(cx, init, &services, &mut checks).await;
            }
            port_checks(&services, init.as_ref(), &mut checks).await;
            if init.is_some() {
                exposure_checks(cx, &services, &mut checks);
            }
        }
        Err(e) => checks.push(check(
            "services-json",
            Status::Fail,
            e.to_string(),
            Some(format!("fix or remove {}", path.display())),
        )),
    }
    let count = |s| checks.iter().filter(|c| c.status == s).count();
    let (pass, warn, fail) = (
        count(Status::Pass),
        count(Status::Warn),
        count(Status::Fail),
    );
    if args.json {
        let doc = serde_json::json!({
            "ok": fail == 0,
            "summary": {"pass": pass, "warn": warn, "fail": fail},
            "checks": checks,
        });
        out(&format!("{doc:#}\n"))?;
    } else {
        out(&text_report(&checks, pass, warn, fail))?;
    }
    Ok(if fail == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn text_report(checks: &[Check], pass: usize, warn: usize, fail: usize) -> String {
    let mut text = String::new();
    for c in checks {
        let mark = match c.status {
            Status::Pass => "✓",
            Status::Warn => "⚠",
            Status::Fail => "✗",
        };
        let _ = writeln!(text, "  {mark} {}: {}", c.name, c.detail);
        if let Some(f) = &c.fix {
            let _ = writeln!(text, "      fix: {f}");
        }
    }
    if warn == 0 && fail == 0 {
        let _ = writeln!(text, "All clear — {pass} checks passed.");
    } else {
        let _ = writeln!(
            text,
            "Summary: {pass} ok, {warn} warnings, {fail} failures."
        );
    }
    text
}

/// Each unit on disk equals a fresh render; a stale one is rewritten by a restart.
async fn unit_checks(
    cx: &Context,
    init: &SystemdUser,
    services: &Services,
    checks: &mut Vec<Check>,
) {
    let hardening = units::hardening(&cx.paths, init).await;
    for row in &services.rows {
        let name = format!("unit:{}", row.short());
        let path = cx.paths.unit_file(&row.unit());
        let spec = match spec::for_row(row, None, &cx.spec_context()) {
            Ok(Some(s)) => s,
            Ok(None) if path.is_file() => {
                checks.push(check(
                    &name,
                    Status::Pass,
                    format!("{} exists (no installDir to compare with)", path.display()),
                    None,
                ));
                continue;
            }
            Ok(None) => {
                checks.push(check(
                    &name,
                    Status::Warn,
                    "no unit and no installDir",
                    Some(format!("parachute install <path-to-{}>", row.short())),
                ));
                continue;
            }
            Err(e) => {
                checks.push(check(
                    &name,
                    Status::Fail,
                    e.to_string(),
                    Some(format!("parachute install <path-to-{}>", row.short())),
                ));
                continue;
            }
        };
        let want = unit::render_service(&spec, hardening);
        let fix = Some(format!("parachute restart {}", row.short()));
        checks.push(match std::fs::read_to_string(&path) {
            Ok(have) if have == want => check(
                &name,
                Status::Pass,
                format!("{} is current", row.unit()),
                None,
            ),
            Ok(_) => check(
                &name,
                Status::Warn,
                format!(
                    "{} differs from what parachute would write now",
                    path.display()
                ),
                fix,
            ),
            Err(_) => check(
                &name,
                Status::Warn,
                format!("{} is not written yet", path.display()),
                fix,
            ),
        });
    }
}

/// Canonical-port drift, and ports held by something else while the service is down.
async fn port_checks(services: &Services, init: Option<&SystemdUser>, checks: &mut Vec<Check>) {
    for row in &services.rows {
        let name = format!("port:{}", row.short());
        if let Some(c) = ports::canonical(&row.name).filter(|c| *c != row.port) {
            checks.push(check(
                &name,
                Status::Warn,
                format!(
                    "{} is on port {}; its canonical port is {c}",
                    row.name, row.port
                ),
                Some(format!(
                    "set \"port\": {c} for {} in services.json, then: parachute restart {}",
                    row.name,
                    row.short()
                )),
            ));
            continue;
        }
        let running = match init {
            Some(i) => i.state(&row.unit()).await.is_ok_and(|s| s.is_active()),
            None => false,
        };
        if !running && !ports::bind_probe(row.port) {
            checks.push(check(
                &name,
                Status::Warn,
                format!(
                    "port {} is held by another process while {} is not running",
                    row.port,
                    row.short()
                ),
                Some(format!("find it with: lsof -ti :{}", row.port)),
            ));
        } else {
            checks.push(check(
                &name,
                Status::Pass,
                format!("port {} ok", row.port),
                None,
            ));
        }
    }
}

/// Each unit's `systemd-analyze` exposure, and drop-ins that loosen the hub
/// (issue 16). A loosening drop-in is a warning: the user may mean it.
fn exposure_checks(cx: &Context, services: &Services, checks: &mut Vec<Check>) {
    let units: Vec<String> = std::iter::once(unit::HUB_SERVICE.to_string())
        .chain(services.rows.iter().map(crate::manifest::Row::unit))
        .collect();
    for f in exposure::check(&cx.paths, &units) {
        checks.push(match f {
            Finding::Figure { unit, exposure } => check(
                &format!("exposure:{}", short(&unit)),
                Status::Pass,
                format!("{unit} rates {exposure:.1} in `systemd-analyze --user security` (0 confined, 10 exposed)"),
                None,
            ),
            Finding::NoFigure { unit, why } => check(
                &format!("exposure:{}", short(&unit)),
                Status::Warn,
                why,
                Some(format!("systemd-analyze --user security {unit}")),
            ),
            Finding::Weakened(w) => check(
                "hub-drop-in",
                Status::Warn,
                format!(
                    "{}:{} sets `{}={}`, loosening the hub's `{}={}`",
                    w.file.display(),
                    w.line,
                    w.directive,
                    w.value,
                    w.directive,
                    w.ours
                ),
                Some(format!(
                    "remove that line from {}, then: systemctl --user daemon-reload && parachute restart hub",
                    w.file.display()
                )),
            ),
        });
    }
}

/// `parachute-vault.service` → `vault`.
fn short(unit: &str) -> &str {
    unit.strip_prefix("parachute-")
        .and_then(|u| u.strip_suffix(".service"))
        .unwrap_or(unit)
}
