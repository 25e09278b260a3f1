//! `enable` and `disable` keep systemd's meaning (issue 9 item 10): stopping
//! is for now, disabling is for good. A disabled unit loses its `[Install]`
//! symlinks, so nothing starts it at login; `disable` also stops it, so
//! "disabled" never means "disabled but still running".

use crate::error::Error;
use crate::lifecycle::backend::Backend;
use crate::lifecycle::inventory::{Inventory, short_of};
use crate::lifecycle::service::{HUB_SERVICE, HUB_SOCKET, TARGET};
use crate::lifecycle::{InitSystem, JobResult};
use crate::paths::Paths;

/// What a name given to `enable`/`disable` stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The name to show (`vault`, `hub`, `the suite`).
    pub label: String,
    /// The unit files to act on, each present on disk.
    pub units: Vec<String>,
}

/// Resolve `name` (a service, `hub`, or none for the whole suite) to the
/// unit files it means. Works from the files on disk, so a broken
/// services.json does not stand in the way.
pub fn select(
    paths: &Paths,
    inventory: &Inventory,
    name: Option<&str>,
) -> Result<Selection, Error> {
    select_with(&Backend::for_paths(paths), paths, inventory, name)
}

/// [`select`] with the files looked up by `init` (unit files, or agents).
pub fn select_with(
    init: &impl InitSystem,
    paths: &Paths,
    inventory: &Inventory,
    name: Option<&str>,
) -> Result<Selection, Error> {
    let exists = |u: &str| init.has_unit(paths, u);
    let on_disk = |names: &[&str]| -> Vec<String> {
        names
            .iter()
            .filter(|u| exists(u))
            .map(|u| (*u).to_string())
            .collect()
    };
    let selection = match name {
        None => Selection {
            label: "the suite".into(),
            units: on_disk(&[TARGET, HUB_SOCKET, HUB_SERVICE])
                .into_iter()
                .chain(inventory.service_units().into_iter().filter(|u| exists(u)))
                .collect(),
        },
        Some("hub" | "parachute-hub") => Selection {
            label: "hub".into(),
            units: on_disk(&[HUB_SOCKET, HUB_SERVICE]),
        },
        Some(name) => {
            let unit = inventory
                .find_unit(name)
                .ok_or_else(|| Error::UnknownService {
                    name: name.to_string(),
                    known: inventory.known(),
                })?;
            Selection {
                label: short_of(&unit).to_string(),
                units: on_disk(&[unit.as_str()]),
            }
        }
    };
    if selection.units.is_empty() {
        let fix = match name {
            None | Some("hub" | "parachute-hub") => "parachute init".to_string(),
            Some(_) => format!("parachute start {}", selection.label),
        };
        return Err(Error::NoUnitFile {
            label: selection.label,
            fix,
        });
    }
    Ok(selection)
}

/// Enable the units (start at login); returns whether the suite's target is
/// itself enabled, without which nothing starts at login.
pub async fn enable(init: &impl InitSystem, sel: &Selection) -> Result<bool, Error> {
    init.enable(&sel.units).await?;
    Ok(init.state(TARGET).await?.unit_file_state == "enabled")
}

/// How `disable` left things.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disabled {
    /// Something was running and was stopped.
    pub stopped: bool,
    /// A stop job that did not finish `done`.
    pub stop_failed: Option<JobResult>,
}

/// Disable the units, then stop them (the socket before the hub service,
/// so nothing activates it again in between).
pub async fn disable(init: &impl InitSystem, sel: &Selection) -> Result<Disabled, Error> {
    init.disable(&sel.units).await?;
    let mut out = Disabled {
        stopped: false,
        stop_failed: None,
    };
    for u in &sel.units {
        let before = init.state(u).await?;
        let job = init.stop(u).await?;
        if !job.is_ok() {
            out.stop_failed = Some(job);
        } else if before.is_active() || before.active_state == "activating" {
            out.stopped = true;
        }
    }
    Ok(out)
}
