//! `install`: validate the module → settle its port → write its row → write
//! its unit → reload → enable → start (or restart a changed running one) →
//! watch it settle. A re-install of a running service restarts it only
//! when something it runs with changed (unit text, version, paths), like
//! `brew reinstall`.
//!
//! Only a first install enables: a re-install keeps the operator's
//! `disable` (as systemd's own `daemon-reload` does) and leaves a disabled,
//! stopped service stopped, saying how to turn it back on.

use std::path::Path;

use crate::error::Error;
use crate::lifecycle::InitSystem;
use crate::lifecycle::service::TARGET;
use crate::lifecycle::start::{self, Target, Verb};
use crate::manifest::{ModuleManifest, Row, Services, names, short_name};
use crate::ports;

use super::{DISABLED, Event, Host, Verdict, run, units};

/// What `install` was asked.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Register and enable the unit, but do not start it now.
    pub no_start: bool,
    /// Take over a service registered from another directory.
    pub force: bool,
}

/// Install the module in `dir` (an absolute, existing directory):
/// validate → port and row → unit → reload → enable → start → settle.
pub async fn run(
    host: &Host<'_, impl InitSystem>,
    dir: &Path,
    opts: Options,
    say: &mut impl FnMut(Event),
) -> Result<Verdict, Error> {
    let module = load_module(dir, say)?;
    let version = module.version.clone().or_else(|| package_version(dir));
    // Register first: the port must be settled before the unit is rendered.
    let reg = register(host, &module, dir, version.as_deref(), opts.force)?;
    say_port(&reg, say);
    let row = &reg.row;
    let (unit_changed, disabled) =
        write_and_enable(host, row, &module, reg.reinstall.is_some(), say).await?;
    let running = host.init.state(&row.unit()).await?;
    let changed = unit_changed || reg.reinstall == Some(true);
    let restart = running.is_active() && reg.reinstall.is_some();
    let short = row.short().to_string();
    if restart && !changed {
        say(Event::Unchanged {
            short,
            pid: running.main_pid,
        });
        return Ok(Verdict::Success);
    }
    if opts.no_start {
        say(if restart {
            Event::ChangedNotApplied { short }
        } else {
            Event::StartWith { short }
        });
        return Ok(Verdict::Success);
    }
    if disabled && !running.is_active() {
        say(Event::DisabledNotStarted { short });
        return Ok(Verdict::Success);
    }
    start_now(host, row, restart, say).await
}

/// Start the freshly installed unit (restart it on a changed re-install)
/// and wait for it to settle.
async fn start_now(
    host: &Host<'_, impl InitSystem>,
    row: &Row,
    restart: bool,
    say: &mut impl FnMut(Event),
) -> Result<Verdict, Error> {
    let verb = if restart {
        say(Event::Restarting {
            short: row.short().to_string(),
        });
        Verb::Restart
    } else {
        Verb::Start
    };
    let target = [Target::new(row.unit(), Some(row.port))];
    let outcomes = start::run(host.init, host.clock, &target, verb, host.settle).await?;
    Ok(run::report(host, verb, &outcomes, say).await)
}

/// Read and vet the module's manifest, warning about fields we do not know.
fn load_module(dir: &Path, say: &mut impl FnMut(Event)) -> Result<ModuleManifest, Error> {
    let module = ModuleManifest::load(dir)?;
    for f in &module.unknown_fields {
        say(Event::UnknownField {
            manifest: ModuleManifest::path_in(dir),
            field: f.clone(),
        });
    }
    if let Some(problem) = names::refusal(&module.name, &module.manifest_name) {
        return Err(Error::ReservedName {
            path: dir.join(".parachute/module.json"),
            problem,
        });
    }
    Ok(module)
}

/// Tell the user when the port they asked for was not the one they got.
fn say_port(reg: &Registered, say: &mut impl FnMut(Event)) {
    let Some(a) = &reg.assigned else { return };
    let row = &reg.row;
    if let Some((asked, why)) = &a.refused {
        say(Event::PortRefused {
            name: row.name.clone(),
            asked: *asked,
            why: why.to_string(),
            port: row.port,
        });
    }
    if a.overflow {
        say(Event::PortOverflow {
            name: row.name.clone(),
            port: row.port,
        });
    }
}

/// Write the group and the unit, reload if either changed, enable both
/// (on a re-install, those the operator has not disabled). Returns whether
/// the unit file changed and whether the service is disabled.
async fn write_and_enable(
    host: &Host<'_, impl InitSystem>,
    row: &Row,
    module: &ModuleManifest,
    reinstall: bool,
    say: &mut impl FnMut(Event),
) -> Result<(bool, bool), Error> {
    let unit = row.unit();
    let reload = host.init.ensure_group(host.paths())?;
    let unit_changed = units::ensure_unit(host, row, Some(module)).await?;
    if reload || unit_changed {
        host.init.reload().await?;
    }
    let wanted = [unit.clone(), TARGET.to_string()];
    let enable = if reinstall {
        not_disabled(host, &wanted).await?
    } else {
        wanted.to_vec()
    };
    if !enable.is_empty() {
        host.init.enable(&enable).await?;
    }
    say(Event::Registered {
        name: row.name.clone(),
        port: row.port,
    });
    if host.linger_off_once().await {
        say(Event::LingerOff);
    }
    Ok((unit_changed, !enable.contains(&unit)))
}

/// Of `units`, those whose unit file the operator has not disabled.
async fn not_disabled(
    host: &Host<'_, impl InitSystem>,
    units: &[String],
) -> Result<Vec<String>, Error> {
    let mut out = Vec::with_capacity(units.len());
    for u in units {
        if host.init.state(u).await?.unit_file_state != DISABLED {
            out.push(u.clone());
        }
    }
    Ok(out)
}

/// The module's services.json row after registering.
struct Registered {
    row: Row,
    /// The port assignment on a first install (`None` on a re-install,
    /// which keeps the row's port).
    assigned: Option<ports::Assignment>,
    /// For a re-install, whether the row changed (`None` on a first install).
    reinstall: Option<bool>,
}

/// Add or refresh the module's services.json row.
fn register(
    host: &Host<'_, impl InitSystem>,
    module: &ModuleManifest,
    dir: &Path,
    version: Option<&str>,
    force: bool,
) -> Result<Registered, Error> {
    let hub_port = host.hub_port;
    Services::update(host.paths(), |services| {
        let before = services.find(&module.manifest_name).cloned();
        if !force {
            refuse_elsewhere(before.as_ref(), module, dir)?;
        }
        // Re-install keeps the port the row has (an operator may have moved it).
        let (mut row, assigned) = if let Some(r) = &before {
            (r.clone(), None)
        } else {
            let (row, a) = first_row(module, services, hub_port, version);
            (row, Some(a))
        };
        apply_module(&mut row, module, dir, version);
        let changed = before.as_ref() != Some(&row);
        let reinstall = before.is_some().then_some(changed);
        services.upsert(row.clone());
        Ok((
            changed,
            Registered {
                row,
                assigned,
                reinstall,
            },
        ))
    })
}

/// An install must not silently take over a row registered from elsewhere.
fn refuse_elsewhere(
    before: Option<&Row>,
    module: &ModuleManifest,
    dir: &Path,
) -> Result<(), Error> {
    match before.and_then(|r| r.install_dir.clone()) {
        Some(current) if current != dir => Err(Error::InstalledElsewhere {
            name: module.manifest_name.clone(),
            short: short_name(&module.manifest_name).to_string(),
            current,
            new: dir.to_path_buf(),
        }),
        _ => Ok(()),
    }
}

/// A first install's row, on the port [`ports::assign`] picks.
fn first_row(
    module: &ModuleManifest,
    services: &Services,
    hub_port: u16,
    version: Option<&str>,
) -> (Row, ports::Assignment) {
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
    (row, a)
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
    if let Some(ms) = m.start_timeout_ms {
        fresh.set_extra("startTimeoutMs", ms.into());
    }
    if let Some(d) = &m.idle_stop_after {
        fresh.set_extra("idleStopAfter", d.clone().into());
    }
    *row = fresh;
}

/// `version` from the module's package.json, when it has one.
fn package_version(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("package.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("version")?.as_str().map(str::to_string)
}
