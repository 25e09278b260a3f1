//! `stop`: works from the unit files alone, so a malformed services.json is
//! reported (and left as it is), a missing one hides nothing, and units on
//! disk without a row are stopped too.

use crate::error::Error;
use crate::lifecycle::inventory::Inventory;
use crate::lifecycle::service::{HUB_SERVICE, TARGET};
use crate::lifecycle::{InitSystem, JobResult, UnitState};

use super::{Event, Host, Verdict, short_label, units};

/// Stop `service` (`None`: the whole suite; `hub`: the hub's units).
pub async fn run(
    host: &Host<'_, impl InitSystem>,
    inventory: &Inventory,
    service: Option<&str>,
    say: &mut impl FnMut(Event),
) -> Result<Verdict, Error> {
    if let Some(e) = &inventory.unreadable {
        say(Event::StopFromUnitFiles {
            error: e.to_string(),
        });
    }
    let targets = match service {
        None => units::stop_all(host, inventory),
        Some("hub" | "parachute-hub") => units::hub(host),
        Some(name) => vec![
            inventory
                .find_unit(name)
                .ok_or_else(|| Error::UnknownService {
                    name: name.to_string(),
                    known: inventory.known(),
                })?,
        ],
    };
    if targets.is_empty() {
        say(Event::NothingToStop);
        return Ok(Verdict::Success);
    }
    // Stopped by someone, not for being idle: `status` says plainly so.
    for u in &targets {
        if let Some(name) = u.strip_suffix(".service") {
            crate::lifecycle::idle_marker::clear(host.paths(), name);
        }
    }
    stop_units(host.init, &targets, service.is_none(), say).await
}

async fn stop_units(
    init: &impl InitSystem,
    targets: &[String],
    whole_suite: bool,
    say: &mut impl FnMut(Event),
) -> Result<Verdict, Error> {
    // Read every state first: stopping the socket or the target also stops
    // the units bound to it, which would then look as if they never ran.
    let mut before = Vec::with_capacity(targets.len());
    for u in targets {
        before.push(init.state(u).await?);
    }
    let mut verdict = Verdict::Success;
    let mut come_back = Vec::new();
    let mut said: Option<String> = None;
    for (u, before) in targets.iter().zip(&before) {
        let name = init.display(u);
        // Under launchd both hub units are one agent: stop it once, say so once.
        if said.as_deref() == Some(name.as_str()) {
            continue;
        }
        said = Some(name.clone());
        if before.load_state == "not-found" {
            say(Event::NotInstalled { label: name });
            continue;
        }
        let job = init.stop(u).await?;
        match stopped(u, name, before, job, say) {
            Ok(back) => come_back.extend(back),
            Err(()) => verdict = Verdict::Failure,
        }
    }
    say_come_back(come_back, whole_suite, say);
    Ok(verdict)
}

/// Say what stopping `u` came to: `Err` when its stop job failed, else the
/// service's short name when it is enabled, so comes back at the next login.
fn stopped(
    u: &str,
    label: String,
    before: &UnitState,
    job: JobResult,
    say: &mut impl FnMut(Event),
) -> Result<Option<String>, ()> {
    if !job.is_ok() {
        say(Event::StopFailed { label, job });
        return Err(());
    }
    if !(before.is_active() || before.active_state == "activating") {
        say(Event::WasntRunning { label });
        return Ok(None);
    }
    say(Event::Stopped { label });
    // The hub's service is enabled through its socket (`Also=`).
    let enabled = before.unit_file_state == "enabled" && u != TARGET && u != HUB_SERVICE;
    Ok(enabled.then(|| short_label(u)))
}

/// Name the stopped services that come back at the next login (enabled).
fn say_come_back(mut names: Vec<String>, whole_suite: bool, say: &mut impl FnMut(Event)) {
    names.dedup();
    if !names.is_empty() {
        say(Event::ComeBack { whole_suite, names });
    }
}
