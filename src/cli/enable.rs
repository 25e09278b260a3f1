//! `parachute enable|disable [service]`: whether a service starts at login.

use std::process::ExitCode;

use clap::Args;

use super::Context;
use crate::error::Error;
use crate::lifecycle::enablement::{self, Selection};

#[derive(Debug, Args)]
pub struct EnableArgs {
    /// The service, by short name (`vault`) or manifestName
    /// (`parachute-vault`); `hub` for the hub. Omit for the whole suite.
    pub service: Option<String>,
}

fn resolve(cx: &Context, service: Option<&str>) -> Result<Selection, Error> {
    let inventory = cx.inventory()?;
    if let Some(e) = &inventory.unreadable {
        eprintln!("⚠ {e}");
        eprintln!("  Working from the unit files instead.");
    }
    enablement::select_with(&cx.init_lazy(), &cx.paths, &inventory, service)
}

/// The command that names the same selection again.
fn named(cmd: &str, sel: &Selection, service: Option<&str>) -> String {
    match service {
        None => format!("parachute {cmd}"),
        Some(_) => format!("parachute {cmd} {}", sel.label),
    }
}

pub async fn enable(cx: &Context, args: EnableArgs) -> Result<ExitCode, Error> {
    let sel = resolve(cx, args.service.as_deref())?;
    let init = cx.init_system().await?;
    let target_enabled = enablement::enable(&init, &sel).await?;
    eprintln!("✓ {} enabled: it starts at login.", sel.label);
    if !target_enabled && args.service.is_some() {
        eprintln!(
            "  ⚠ parachute.target is disabled, so nothing of the suite starts at login. Enable it with: parachute enable"
        );
    }
    eprintln!(
        "  Enabling does not start it now; for that: {}",
        named("start", &sel, args.service.as_deref())
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn disable(cx: &Context, args: EnableArgs) -> Result<ExitCode, Error> {
    let sel = resolve(cx, args.service.as_deref())?;
    let init = cx.init_system().await?;
    let done = enablement::disable(&init, &sel).await?;
    let how = if done.stopped {
        "disabled and stopped"
    } else {
        "disabled"
    };
    eprintln!(
        "✓ {} {how}: it won't start at login. Turn it back on with: {}",
        sel.label,
        named("enable", &sel, args.service.as_deref())
    );
    if let Some(job) = done.stop_failed {
        eprintln!(
            "✗ stopping it did not finish (job {job}); see: parachute status {}",
            args.service.as_deref().unwrap_or_default()
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
