//! `parachute start|stop|restart [service]`.

use std::process::ExitCode;

use clap::Args;

use super::Context;
use crate::error::Error;
use crate::lifecycle::inventory::Inventory;
use crate::lifecycle::logs;
use crate::lifecycle::service::{HUB_SERVICE, HUB_SOCKET, TARGET};
use crate::lifecycle::start::{self, Outcome, Target, Verb};
use crate::lifecycle::{InitSystem, spec};
use crate::manifest::{ModuleManifest, Row, Services, short_name};

#[derive(Debug, Args)]
pub struct LifecycleArgs {
    /// The service, by short name (`vault`) or manifestName
    /// (`parachute-vault`); `hub` for the hub. Omit for the whole suite.
    pub service: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Start,
    Stop,
    Restart,
}

/// Lines of the journal shown when a start fails.
const FAILURE_LOG_LINES: usize = 20;

pub async fn run(cx: &Context, op: Op, args: LifecycleArgs) -> Result<ExitCode, Error> {
    let whole_suite_or_hub = args
        .service
        .as_deref()
        .is_none_or(|s| matches!(s, "hub" | "parachute-hub"));
    // Without the hub's units the target starts nothing that serves; saying
    // "started" then would be a lie.
    if op != Op::Stop && whole_suite_or_hub && !cx.has_unit(HUB_SOCKET) {
        return Err(Error::Usage(format!(
            "the hub is not set up yet, so there is nothing to {}. Run `parachute init` first.",
            verb_word(op)
        )));
    }
    let inventory = cx.inventory()?;
    if op == Op::Stop {
        return stop_from_inventory(cx, &inventory, args.service.as_deref()).await;
    }
    // Starting renders units from the rows: an unreadable registry stops here.
    if let Some(e) = inventory.unreadable {
        return Err(e);
    }
    let services = inventory.services;
    let init = cx.init_system().await?;
    let targets = match args.service.as_deref() {
        None => suite_units(cx, &init, &services).await?,
        Some("hub" | "parachute-hub") => hub_units(cx),
        Some(name) => {
            let row = services.find(name).ok_or_else(|| Error::UnknownService {
                name: name.to_string(),
                known: services.known(),
            })?;
            if ensure_unit(cx, &init, row, None).await? {
                init.reload().await?;
            }
            vec![row.unit()]
        }
    };
    if targets.is_empty() {
        eprintln!(
            "Nothing to {}: no services are installed. Try: parachute install <path-to-module>",
            verb_word(op)
        );
        return Ok(ExitCode::SUCCESS);
    }
    let verb = if op == Op::Start {
        Verb::Start
    } else {
        Verb::Restart
    };
    let ports: Vec<Target> = targets
        .iter()
        .map(|u| Target::new(u.clone(), port_of(cx, &services, u)))
        .collect();
    let outcomes = start::run(&init, &ports, verb, cx.settle).await?;
    if op == Op::Start {
        cx.warn_linger_once(&init).await;
    }
    report_outcomes(cx, &init, verb, &outcomes).await
}

/// `stop` works from the unit files alone: a malformed services.json is
/// reported (and left as it is), a missing one hides nothing, and units on
/// disk without a row are stopped too.
async fn stop_from_inventory(
    cx: &Context,
    inventory: &Inventory,
    service: Option<&str>,
) -> Result<ExitCode, Error> {
    if let Some(e) = &inventory.unreadable {
        eprintln!("⚠ {e}");
        eprintln!("  Stopping from the unit files instead (parachute-*.service, {TARGET}).");
    }
    let targets = match service {
        None => stop_units(cx, inventory),
        Some("hub" | "parachute-hub") => hub_units(cx),
        Some(name) => vec![
            inventory
                .find_unit(name)
                .ok_or_else(|| Error::UnknownService {
                    name: name.to_string(),
                    known: inventory.known(),
                })?,
        ],
    };
    if targets.is_empty() {
        eprintln!("Nothing to stop: no services are installed.");
        return Ok(ExitCode::SUCCESS);
    }
    let init = cx.init_system().await?;
    stop(&init, &targets, service.is_none()).await
}

/// What `stop` of the whole suite acts on: the target, the hub's units and
/// every service unit on disk, registered or not.
fn stop_units(cx: &Context, inventory: &Inventory) -> Vec<String> {
    [TARGET, HUB_SOCKET, HUB_SERVICE]
        .into_iter()
        .map(str::to_string)
        .chain(inventory.service_units())
        .filter(|u| cx.has_unit(u))
        .collect()
}

/// The port a unit's service must open: its row's, or the hub's.
fn port_of(cx: &Context, services: &Services, unit: &str) -> Option<u16> {
    if unit == HUB_SERVICE {
        return Some(cx.hub_port);
    }
    services
        .rows
        .iter()
        .find(|r| r.unit() == unit)
        .map(|r| r.port)
}

fn verb_word(op: Op) -> &'static str {
    match op {
        Op::Start => "start",
        Op::Stop => "stop",
        Op::Restart => "restart",
    }
}

/// The hub's units that exist on disk (socket first: it is what listens).
fn hub_units(cx: &Context) -> Vec<String> {
    [HUB_SOCKET, HUB_SERVICE]
        .into_iter()
        .filter(|u| cx.has_unit(u))
        .map(str::to_string)
        .collect()
}

/// Every unit of the suite to start: the target, the hub socket, and each
/// service whose unit can be written (or already exists).
async fn suite_units(
    cx: &Context,
    init: &impl InitSystem,
    services: &Services,
) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    let mut changed = init.ensure_group(&cx.paths)?;
    for row in &services.rows {
        match ensure_unit(cx, init, row, None).await {
            Ok(c) => changed |= c,
            Err(e) => {
                eprintln!("⚠ skipping {}: {e}", row.short());
                continue;
            }
        }
        if cx.has_unit(&row.unit()) {
            out.push(row.unit());
        }
    }
    if changed {
        init.reload().await?;
    }
    let mut all = Vec::new();
    if cx.has_unit(TARGET) {
        all.push(TARGET.to_string());
    }
    if cx.has_unit(HUB_SOCKET) {
        all.push(HUB_SOCKET.to_string());
    }
    all.extend(out);
    Ok(all)
}

/// Render the row's unit and write it if it changed; returns whether it did.
/// A row with neither `installDir` nor a known command may still have a unit
/// from an earlier install; without one it cannot be started.
pub async fn ensure_unit(
    cx: &Context,
    init: &impl InitSystem,
    row: &Row,
    module: Option<&ModuleManifest>,
) -> Result<bool, Error> {
    match spec::for_row(row, module, &cx.spec_context())? {
        Some(s) => init.write_service(&cx.paths, &s).await,
        None if cx.has_unit(&row.unit()) => Ok(false),
        None => Err(Error::NoInstallDir {
            short: row.short().to_string(),
        }),
    }
}

async fn stop(
    init: &impl InitSystem,
    targets: &[String],
    whole_suite: bool,
) -> Result<ExitCode, Error> {
    // Read every state first: stopping the socket or the target also stops
    // the units bound to it, which would then look as if they never ran.
    let mut before = Vec::with_capacity(targets.len());
    for u in targets {
        before.push(init.state(u).await?);
    }
    let mut code = ExitCode::SUCCESS;
    let mut come_back = Vec::new();
    for (u, before) in targets.iter().zip(&before) {
        if before.load_state == "not-found" {
            eprintln!("{} isn't installed (no unit).", label(u));
            continue;
        }
        let job = init.stop(u).await?;
        if !job.is_ok() {
            eprintln!("✗ {} did not stop: job {job}", label(u));
            code = ExitCode::from(1);
        } else if before.is_active() || before.active_state == "activating" {
            eprintln!("✓ {} stopped.", label(u));
            // The hub's service is enabled through its socket (`Also=`).
            if before.unit_file_state == "enabled" && u != TARGET && u != HUB_SERVICE {
                come_back.push(short_label(u));
            }
        } else {
            eprintln!("{} wasn't running.", label(u));
        }
    }
    come_back.dedup();
    match (whole_suite, come_back.as_slice()) {
        (_, []) => {}
        (false, [one]) => eprintln!(
            "  {one} is enabled, so it comes back at next login unless disabled: parachute disable {one}"
        ),
        _ => eprintln!(
            "  Enabled services come back at next login unless disabled ({}): parachute disable <service>",
            come_back.join(", ")
        ),
    }
    Ok(code)
}

/// The name a user types for a unit: `hub` for both hub units.
fn short_label(unit: &str) -> String {
    if unit.starts_with("parachute-hub.") {
        "hub".to_string()
    } else {
        label(unit)
    }
}

/// `parachute-vault.service` → `vault`; the target and hub keep their names.
pub fn label(unit: &str) -> String {
    let base = unit.strip_suffix(".service").unwrap_or(unit);
    if unit == TARGET || unit.starts_with("parachute-hub.") {
        return unit.to_string();
    }
    short_name(base).to_string()
}

/// Print each outcome; on failure show the journal's last lines, record
/// `lastStartError` on the row and stop the unit so it does not flap.
pub async fn report_outcomes(
    cx: &Context,
    init: &impl InitSystem,
    verb: Verb,
    outcomes: &[Outcome],
) -> Result<ExitCode, Error> {
    let mut code = ExitCode::SUCCESS;
    let at = jiff::Timestamp::now().to_string();
    for o in outcomes {
        let name = label(&o.unit);
        let row_name = format!("parachute-{name}");
        match &o.failure {
            None => {
                let pid = if o.state.main_pid == 0 {
                    String::new()
                } else {
                    format!(" (pid {})", o.state.main_pid)
                };
                let done = if verb == Verb::Start {
                    "started"
                } else {
                    "restarted"
                };
                eprintln!("✓ {name} {done}{pid}.");
                if let Some(port) = o.port_pending {
                    eprintln!(
                        "  ⚠ port {port} isn't accepting connections yet; check: parachute logs {name}"
                    );
                }
                record(cx, &row_name, None, &at);
            }
            Some(why) => {
                code = ExitCode::from(1);
                eprintln!("✗ {name} failed to start: {why}");
                // Only this run's lines: the journal keeps earlier runs too.
                let lines =
                    logs::of_run(&o.unit, &o.invocation_id, o.since_us, FAILURE_LOG_LINES).await;
                if lines.is_empty() {
                    eprintln!("  (no log lines; see: parachute logs {name})");
                } else {
                    eprintln!("  its log from this start:");
                    for l in lines {
                        eprintln!("  │ {l}");
                    }
                }
                let kind = if o.state.result.is_empty() || o.state.result == "success" {
                    o.job.to_string()
                } else {
                    o.state.result.clone()
                };
                record(cx, &row_name, Some((&kind, why)), &at);
                if o.unit.ends_with(".service") {
                    // Leave it stopped rather than crash-looping behind our back;
                    // `lastStartError` and the log above say why.
                    let _ = init.stop(&o.unit).await;
                }
            }
        }
    }
    Ok(code)
}

/// Set or clear `lastStartError` on an existing row. The registry is a
/// courtesy here: failing to update it must not hide the start's outcome.
fn record(cx: &Context, row_name: &str, error: Option<(&str, &str)>, at: &str) {
    let res = Services::update(&cx.paths, |s| {
        let Some(row) = s.find_mut(row_name) else {
            return Ok((false, ()));
        };
        let changed = match error {
            Some((kind, why)) => {
                row.set_last_start_error(kind, why, at);
                true
            }
            None => row.clear_last_start_error(),
        };
        Ok((changed, ()))
    });
    if let Err(e) = res {
        eprintln!("⚠ could not record the start result in services.json: {e}");
    }
}
