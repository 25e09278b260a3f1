//! `parachute upgrade`: after the binary was replaced, point every unit at
//! it and restart the hub behind its socket (see `lifecycle::upgrade`).

use std::process::ExitCode;

use clap::Args;

use super::Context;
use super::events::say;
use crate::error::Error;
use crate::lifecycle::backend::Backend;
use crate::lifecycle::ops::{Verdict, label, run};
use crate::lifecycle::service::HUB_SOCKET;
use crate::lifecycle::start::Verb;
use crate::lifecycle::upgrade::{self, Change, HubRestart, Report, Request};
use crate::lifecycle::{InitSystem, drift};

#[derive(Debug, Args)]
pub struct UpgradeArgs {}

pub async fn run(cx: &Context, _args: UpgradeArgs) -> Result<ExitCode, Error> {
    let exe = std::env::current_exe().map_err(|source| Error::CurrentExe { source })?;
    let services = cx.services_lenient()?;
    let init = cx.init_system().await?;
    eprintln!(
        "Upgrading the units to {} ({}); the hub restarts behind its socket, open requests finish first…",
        exe.display(),
        drift::VERSION
    );
    let spec = cx.spec_context();
    let req = Request {
        paths: &cx.paths,
        exe,
        listen: crate::lifecycle::hub::listen_addr(cx.hub_port),
        services: &services,
        spec: &spec,
        settle: cx.settle,
        clock: &cx.clock,
    };
    let report = upgrade::run(&init, &req).await?;
    let mut code = present_units(cx, &init, &report);
    if !present_hub(cx, &init, &report.hub).await? {
        code = ExitCode::from(1);
    }
    let restarted: Vec<_> = report
        .units
        .iter()
        .filter_map(|u| u.restart.clone())
        .collect();
    if run::report(&cx.host(&init), Verb::Restart, &restarted, &mut say).await != Verdict::Success {
        code = ExitCode::from(1);
    }
    // This binary is what the units run now: nothing left to notice.
    drift::first_notice(&cx.paths, &drift::Drift::default(), &req.exe);
    Ok(code)
}

/// The hub's restart; returns whether it came up (or needed none).
async fn present_hub(
    cx: &Context,
    init: &impl InitSystem,
    hub: &HubRestart,
) -> Result<bool, Error> {
    let HubRestart::Restarted { from, to, outcome } = hub else {
        eprintln!("✓ the hub was not running; the next connection starts the new binary.");
        return Ok(true);
    };
    let outcome = std::slice::from_ref(&**outcome);
    if run::report(&cx.host(init), Verb::Restart, outcome, &mut say).await != Verdict::Success {
        return Ok(false);
    }
    let v = |v: &Option<String>| v.clone().unwrap_or_else(|| "?".into());
    eprintln!("  the hub's version: {} → {}", v(from), v(to));
    Ok(true)
}

/// One line per unit file; returns 1 when one could not be rendered.
fn present_units(cx: &Context, init: &Backend, report: &Report) -> ExitCode {
    let mut code = ExitCode::SUCCESS;
    for u in &report.units {
        let path = init
            .unit_path(&cx.paths, &u.unit)
            .unwrap_or_else(|| cx.paths.unit_file(&u.unit));
        match &u.change {
            Change::Rewritten => eprintln!("✓ wrote {}", path.display()),
            Change::Unchanged => {}
            Change::Kept(e) => {
                code = ExitCode::from(1);
                eprintln!("✗ {}: kept its unit as it was: {e}", label(&u.unit));
            }
        }
    }
    if !report.reloaded {
        eprintln!("✓ every unit already runs this binary; nothing rewritten");
    }
    let pending = report.pending_modules();
    if pending > 0 {
        eprintln!("  {pending} changed module unit(s) not running: they apply at the next start");
    }
    if report.socket_rewritten() {
        eprintln!(
            "⚠ {HUB_SOCKET} changed; it keeps its old settings until it restarts, which refuses connections briefly:\n  \
             systemctl --user restart {HUB_SOCKET}",
        );
    }
    code
}
