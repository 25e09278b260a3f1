//! `parachute install` and `parachute uninstall`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::Context;
use super::events::{exit_code, say};
use crate::error::Error;
use crate::lifecycle::ops::{install, uninstall};
use crate::manifest::Services;

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// The module's directory (it holds `.parachute/module.json`).
    pub path: PathBuf,
    /// Register and enable the unit, but do not start it now.
    #[arg(long)]
    pub no_start: bool,
    /// Take over a service registered from another directory.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct UninstallArgs {
    /// The service, by short name (`vault`) or manifestName (`parachute-vault`).
    pub service: String,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
}

pub async fn install(cx: &Context, args: InstallArgs) -> Result<ExitCode, Error> {
    let dir = std::fs::canonicalize(&args.path).map_err(|_| {
        Error::Usage(format!(
            "`{}` does not exist. Give the module's directory: parachute install <path-to-module>",
            args.path.display()
        ))
    })?;
    // Not connected yet: the module is validated and registered first, and
    // the first manager call (writing its unit) connects.
    let init = cx.init_lazy();
    let opts = install::Options {
        no_start: args.no_start,
        force: args.force,
    };
    let verdict = install::run(&cx.host(&init), &dir, opts, &mut say).await?;
    Ok(exit_code(verdict))
}

pub async fn uninstall(cx: &Context, args: UninstallArgs) -> Result<ExitCode, Error> {
    let services = Services::load_strict(&cx.paths.services_json())?;
    let Some(row) = services.find(&args.service).cloned() else {
        return Err(Error::UnknownService {
            name: args.service,
            known: services.known(),
        });
    };
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(Error::Usage(format!(
                "uninstall needs confirmation; stdin is not a terminal. Re-run with --yes: parachute uninstall {} --yes",
                row.short()
            )));
        }
        eprint!(
            "Remove {} (its unit and services.json row; data is kept)? [y/N] ",
            row.name
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("Nothing changed.");
            return Ok(ExitCode::from(1));
        }
    }
    let init = cx.init_system().await?;
    uninstall::run(&cx.host(&init), &row, &mut say).await?;
    Ok(ExitCode::SUCCESS)
}
