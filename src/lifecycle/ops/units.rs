//! Which units an operation acts on, and writing a row's unit.

use crate::error::Error;
use crate::lifecycle::InitSystem;
use crate::lifecycle::inventory::Inventory;
use crate::lifecycle::service::{HUB_SERVICE, HUB_SOCKET, TARGET};
use crate::lifecycle::spec;
use crate::manifest::{ModuleManifest, Row, Services};

use super::{Event, Host};

/// Render the row's unit and write it if it changed; returns whether it did.
/// A row with neither `installDir` nor a known command may still have a unit
/// from an earlier install; without one it cannot be started.
pub async fn ensure_unit(
    host: &Host<'_, impl InitSystem>,
    row: &Row,
    module: Option<&ModuleManifest>,
) -> Result<bool, Error> {
    match spec::for_row(row, module, &host.spec)? {
        Some(s) => host.init.write_service(host.paths(), &s).await,
        None if host.has(&row.unit()) => Ok(false),
        None => Err(Error::NoInstallDir {
            short: row.short().to_string(),
        }),
    }
}

/// Every unit of the suite to start: the target, the hub socket, and each
/// service whose unit can be written (or already exists).
pub async fn suite(
    host: &Host<'_, impl InitSystem>,
    services: &Services,
    say: &mut impl FnMut(Event),
) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    let mut changed = host.init.ensure_group(host.paths())?;
    for row in &services.rows {
        match ensure_unit(host, row, None).await {
            Ok(c) => changed |= c,
            Err(e) => {
                say(Event::Skipped {
                    short: row.short().to_string(),
                    error: e.to_string(),
                });
                continue;
            }
        }
        if host.has(&row.unit()) {
            out.push(row.unit());
        }
    }
    if changed {
        host.init.reload().await?;
    }
    let mut all = Vec::new();
    if host.has(TARGET) {
        all.push(TARGET.to_string());
    }
    if host.has(HUB_SOCKET) {
        all.push(HUB_SOCKET.to_string());
    }
    all.extend(out);
    Ok(all)
}

/// The hub's units that exist on disk (socket first: it is what listens).
pub fn hub(host: &Host<'_, impl InitSystem>) -> Vec<String> {
    [HUB_SOCKET, HUB_SERVICE]
        .into_iter()
        .filter(|u| host.has(u))
        .map(str::to_string)
        .collect()
}

/// What `stop` of the whole suite acts on: the target, the hub's units and
/// every service unit on disk, registered or not.
pub fn stop_all(host: &Host<'_, impl InitSystem>, inventory: &Inventory) -> Vec<String> {
    [TARGET, HUB_SOCKET, HUB_SERVICE]
        .into_iter()
        .map(str::to_string)
        .chain(inventory.service_units())
        .filter(|u| host.has(u))
        .collect()
}

/// The port a unit's service must open: its row's, or the hub's.
pub fn port_of(host: &Host<'_, impl InitSystem>, services: &Services, unit: &str) -> Option<u16> {
    if unit == HUB_SERVICE {
        return Some(host.hub_port);
    }
    services
        .rows
        .iter()
        .find(|r| r.unit() == unit)
        .map(|r| r.port)
}
