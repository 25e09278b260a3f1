//! `parachute install` and `parachute uninstall`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use super::Context;
use super::lifecycle::{ensure_unit, report_outcomes};
use crate::error::Error;
use crate::lifecycle::InitSystem;
use crate::lifecycle::service::TARGET;
use crate::lifecycle::start::{self, Target, Verb};
use crate::manifest::names;
use crate::manifest::{ModuleManifest, Row, Services, short_name};
use crate::ports;

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
    let module = ModuleManifest::load(&dir)?;
    for f in &module.unknown_fields {
        eprintln!(
            "⚠ {}: unknown field `{f}` ignored (misspelled? the fields are in `man 5 parachute-module`)",
            ModuleManifest::path_in(&dir).display()
        );
    }
    if let Some(problem) = names::refusal(&module.name, &module.manifest_name) {
        return Err(Error::ReservedName {
            path: dir.join(".parachute/module.json"),
            problem,
        });
    }
    let version = module.version.clone().or_else(|| package_version(&dir));

    // Register first: the port must be settled before the unit is rendered.
    let (row, assigned, reinstall) = register(cx, &module, &dir, version.as_deref(), args.force)?;
    if let Some(a) = &assigned {
        if let Some((asked, why)) = &a.refused {
            eprintln!(
                "⚠ {} asked for port {asked}, but {why}; it got port {}.",
                row.name, row.port
            );
        }
        if a.overflow {
            eprintln!(
                "⚠ {}: the canonical and reserved ports are taken; using port {} instead.",
                row.name, row.port
            );
        }
    }

    let init = cx.init_system().await?;
    let unit = row.unit();
    let reload = init.ensure_group(&cx.paths)?;
    let unit_changed = ensure_unit(cx, &init, &row, Some(&module)).await?;
    if reload || unit_changed {
        init.reload().await?;
    }
    init.enable(&[unit.clone(), TARGET.to_string()]).await?;
    eprintln!("✓ {} registered on port {}", row.name, row.port);
    cx.warn_linger_once(&init).await;
    // A re-install of a running service restarts it only when something it
    // runs with changed (unit text, version, paths), like `brew reinstall`.
    let running = init.state(&unit).await?;
    let changed = unit_changed || reinstall == Some(true);
    let restart = running.is_active() && reinstall.is_some();
    if restart && !changed {
        eprintln!(
            "✓ {} unchanged; left running (pid {}).",
            row.short(),
            running.main_pid
        );
        return Ok(ExitCode::SUCCESS);
    }
    if args.no_start {
        if restart {
            eprintln!(
                "  it changed and is still running the old version; apply it with: parachute restart {}",
                row.short()
            );
        } else {
            eprintln!("  start it with: parachute start {}", row.short());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let verb = if restart {
        eprintln!("  {} changed; restarting it.", row.short());
        Verb::Restart
    } else {
        Verb::Start
    };
    let outcomes = start::run(&init, &[Target::new(unit, Some(row.port))], verb, cx.settle).await?;
    report_outcomes(cx, &init, verb, &outcomes).await
}

/// Add or refresh the module's services.json row. Returns the row, the port
/// assignment on a first install (`None` on a re-install, which keeps the
/// row's port), and for a re-install whether the row changed (`None` on a
/// first install).
fn register(
    cx: &Context,
    module: &ModuleManifest,
    dir: &Path,
    version: Option<&str>,
    force: bool,
) -> Result<(Row, Option<ports::Assignment>, Option<bool>), Error> {
    let hub_port = cx.hub_port();
    Services::update(&cx.paths, |services| {
        let before = services.find(&module.manifest_name).cloned();
        if let Some(current) = before.as_ref().and_then(|r| r.install_dir.clone())
            && current != dir
            && !force
        {
            return Err(Error::InstalledElsewhere {
                name: module.manifest_name.clone(),
                short: short_name(&module.manifest_name).to_string(),
                current,
                new: dir.to_path_buf(),
            });
        }
        // Re-install keeps the port the row has (an operator may have moved it).
        let (mut row, assigned) = if let Some(r) = &before {
            (r.clone(), None)
        } else {
            let a = ports::assign(
                &module.manifest_name,
                Some(module.port),
                services,
                hub_port,
                ports::bind_probe,
            );
            let row = Row::new(
                &module.manifest_name,
                a.port,
                &module.paths,
                &module.health,
                version.unwrap_or("0.0.0-linked"),
            );
            (row, Some(a))
        };
        apply_module(&mut row, module, dir, version);
        let changed = before.as_ref() != Some(&row);
        let reinstall = before.is_some().then_some(changed);
        services.upsert(row.clone());
        Ok((changed, (row, assigned, reinstall)))
    })
}

/// Bring the row in line with the module's declaration, keeping its port.
fn apply_module(row: &mut Row, m: &ModuleManifest, dir: &Path, version: Option<&str>) {
    let mut v = row.to_value();
    v["paths"] = m.paths.clone().into();
    v["health"] = m.health.clone().into();
    if let Some(ver) = version {
        v["version"] = ver.into();
    }
    let mut fresh = Row::from_value(&v).unwrap_or_else(|_| row.clone());
    fresh.set_install_dir(dir.to_path_buf());
    if m.display_name.is_some() {
        fresh.set_display_name(m.display_name.as_deref());
    }
    if let Some(b) = m.strip_prefix {
        fresh.set_extra("stripPrefix", b.into());
    }
    if let Some(b) = m.websocket {
        fresh.set_extra("websocket", b.into());
    }
    *row = fresh;
}

/// `version` from the module's package.json, when it has one.
fn package_version(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("package.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("version")?.as_str().map(str::to_string)
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
    let unit = row.unit();
    init.stop(&unit).await?;
    init.disable(std::slice::from_ref(&unit)).await?;
    init.reset_failed(&unit).await?;
    if init.remove_unit(&cx.paths, &unit)? {
        init.reload().await?;
    }
    Services::update(&cx.paths, |s| Ok((s.remove(&row.name).is_some(), ())))?;
    eprintln!("✓ {} uninstalled.", row.name);
    let data = cx.paths.home.join(row.short());
    if data.exists() {
        eprintln!("  its data stays in {}", data.display());
    }
    Ok(ExitCode::SUCCESS)
}
