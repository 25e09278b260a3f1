//! `parachute unit <service>`: print the unit that would be written.

use std::process::ExitCode;

use clap::Args;

use super::Context;
use super::context::out;
use crate::error::Error;
use crate::lifecycle::InitSystem as _;
use crate::lifecycle::spec;

#[derive(Debug, Args)]
pub struct UnitArgs {
    /// The service, by short name or manifestName.
    pub service: String,
}

pub async fn run(cx: &Context, args: UnitArgs) -> Result<ExitCode, Error> {
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
