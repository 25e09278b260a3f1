//! `parachute unit <service>`: print the unit that would be written.

use std::process::ExitCode;

use clap::Args;

use super::Context;
use super::context::out;
use crate::error::Error;
use crate::lifecycle::spec;
use crate::lifecycle::systemd::unit::{self, Hardening};
use crate::lifecycle::units;

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
    let hardening = match cx.systemd().await {
        Ok(init) => units::hardening(&cx.paths, &init).await,
        Err(_) => units::cached_hardening(&cx.paths).unwrap_or_else(|| {
            eprintln!("(no user manager reachable: namespace hardening not probed, left out)");
            Hardening::NONE
        }),
    };
    out(&unit::render_service(&spec, hardening))?;
    Ok(ExitCode::SUCCESS)
}
