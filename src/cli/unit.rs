//! `parachute unit <service>`: print the unit that would be written.

use std::process::ExitCode;

use clap::Args;

use super::Context;
use super::context::out;
use crate::error::Error;
use crate::lifecycle::InitSystem as _;
use crate::lifecycle::{hub, spec};

#[derive(Debug, Args)]
pub struct UnitArgs {
    /// The service, by short name or manifestName; `hub` for the hub's own.
    pub service: String,
}

pub async fn run(cx: &Context, args: UnitArgs) -> Result<ExitCode, Error> {
    if matches!(args.service.as_str(), "hub" | "parachute-hub") {
        return hub(cx).await;
    }
    let services = cx.services_lenient()?;
    let row = services
        .find(&args.service)
        .ok_or_else(|| Error::UnknownService {
            name: args.service.clone(),
            known: services.known(),
        })?;
    let spec =
        spec::for_row(row, None, &cx.spec_context())?.ok_or_else(|| Error::NoInstallDir {
            short: row.short().to_string(),
        })?;
    // The probe needs the manager; without one, show what a cautious render gives.
    let rendered = cx.init_lazy().render_service(&cx.paths, &spec).await;
    if !rendered.hardening_known {
        eprintln!("(no user manager reachable: namespace hardening not probed, left out)");
    }
    out(&rendered.text)?;
    Ok(ExitCode::SUCCESS)
}

/// The hub's files as `init` would write them: the plist under launchd;
/// under systemd the socket and the service, each after a `# <path>` line
/// (as `systemctl cat` shows them).
async fn hub(cx: &Context) -> Result<ExitCode, Error> {
    let init = cx.init_lazy();
    let spec = hub::spec(&cx.paths, hub::current_exe()?, cx.hub_port, &cx.hub_origin);
    let files = init.render_hub(&cx.paths, &spec).await?;
    let text = match files.as_slice() {
        [(_, only)] => only.clone(),
        many => many
            .iter()
            .map(|(path, text)| format!("# {}\n{text}", path.display()))
            .collect::<Vec<_>>()
            .join("\n"),
    };
    out(&text)?;
    Ok(ExitCode::SUCCESS)
}
