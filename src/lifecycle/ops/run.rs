//! `start` and `restart`: of one service, the hub, or the whole suite; each
//! unit is watched until it settles ([`crate::lifecycle::start`]). A unit
//! that fails is left stopped (not crash-looping behind the operator's
//! back), its `lastStartError` recorded and this run's log lines reported.

use crate::error::Error;
use crate::lifecycle::InitSystem;
use crate::lifecycle::service::HUB_SERVICE;
use crate::lifecycle::start::{self, Outcome, Target, Verb};
use crate::manifest::{ManifestError, Services};

use super::{DISABLED, Event, Host, Verdict, label, units};

/// Lines of the log shown when a start fails.
pub const FAILURE_LOG_LINES: usize = 20;

/// What to start: `None` for the whole suite, `hub`, or a service by name.
pub async fn run(
    host: &Host<'_, impl InitSystem>,
    services: &Services,
    service: Option<&str>,
    verb: Verb,
    say: &mut impl FnMut(Event),
) -> Result<Verdict, Error> {
    let targets = match service {
        None => {
            let all = units::suite(host, services, say).await?;
            skip_disabled(host, all, say).await?
        }
        Some("hub" | "parachute-hub") => units::hub(host),
        Some(name) => {
            let row = services.find(name).ok_or_else(|| Error::UnknownService {
                name: name.to_string(),
                known: services.known(),
            })?;
            if units::ensure_unit(host, row, None).await? {
                host.init.reload().await?;
            }
            vec![row.unit()]
        }
    };
    if targets.is_empty() {
        say(Event::NothingToStart { verb });
        return Ok(Verdict::Success);
    }
    let targets: Vec<Target> = targets
        .iter()
        .map(|u| Target::new(u.clone(), units::port_of(host, services, u)))
        .collect();
    let outcomes = start::run(host.init, host.clock, &targets, verb, host.settle).await?;
    if verb == Verb::Start && host.linger_off_once().await {
        say(Event::LingerOff);
    }
    Ok(report(host, verb, &outcomes, say).await)
}

/// The suite's units less the services the operator disabled (`disable`
/// lasts until `enable`, issue 9 item 10), each said in one line; one that
/// runs anyway (started by name) stays in, so a restart restarts it. The
/// target and the hub are the suite itself and always start.
async fn skip_disabled(
    host: &Host<'_, impl InitSystem>,
    units: Vec<String>,
    say: &mut impl FnMut(Event),
) -> Result<Vec<String>, Error> {
    let mut out = Vec::with_capacity(units.len());
    for u in units {
        if u.ends_with(".service") && u != HUB_SERVICE {
            let s = host.init.state(&u).await?;
            if s.unit_file_state == DISABLED && !s.is_active() {
                say(Event::DisabledNotStarted { short: label(&u) });
                continue;
            }
        }
        out.push(u);
    }
    Ok(out)
}

/// Report each outcome; on failure fetch this run's log lines, record
/// `lastStartError` on the row and stop the unit so it does not flap.
pub async fn report(
    host: &Host<'_, impl InitSystem>,
    verb: Verb,
    outcomes: &[Outcome],
    say: &mut impl FnMut(Event),
) -> Verdict {
    let mut verdict = Verdict::Success;
    let at = host.clock.timestamp().to_string();
    for o in outcomes {
        let row_name = format!("parachute-{}", label(&o.unit));
        let name = host.init.display(&o.unit);
        match &o.failure {
            None => {
                say(Event::Started {
                    name,
                    verb,
                    pid: o.state.main_pid,
                    port_pending: o.port_pending,
                });
                record(host, &row_name, None, &at, say);
                crate::lifecycle::idle_marker::clear(host.paths(), &row_name);
            }
            Some(why) => {
                verdict = Verdict::Failure;
                failed(host, o, name, why, &at, say).await;
            }
        }
    }
    verdict
}

/// A failed start: show this run's log, record `lastStartError`, stop it.
async fn failed(
    host: &Host<'_, impl InitSystem>,
    o: &Outcome,
    name: String,
    why: &str,
    at: &str,
    say: &mut impl FnMut(Event),
) {
    let row_name = format!("parachute-{name}");
    // Only this run's lines: the log keeps earlier runs too.
    let log = host
        .init
        .run_log(&o.unit, &o.invocation_id, o.since_us, FAILURE_LOG_LINES)
        .await;
    say(Event::StartFailed {
        name,
        why: why.to_string(),
        log,
    });
    let kind = if o.state.result.is_empty() || o.state.result == "success" {
        o.job.to_string()
    } else {
        o.state.result.clone()
    };
    record(host, &row_name, Some((&kind, why)), at, say);
    if o.unit.ends_with(".service") {
        // Leave it stopped rather than crash-looping behind our back;
        // `lastStartError` and the log say why.
        let _ = host.init.stop(&o.unit).await;
    }
}

/// Set or clear `lastStartError` on an existing row. The registry is a
/// courtesy here: failing to update it must not hide the start's outcome.
fn record(
    host: &Host<'_, impl InitSystem>,
    row_name: &str,
    error: Option<(&str, &str)>,
    at: &str,
    say: &mut impl FnMut(Event),
) {
    let res = Services::update(host.paths(), |s| -> Result<_, ManifestError> {
        let Some(row) = s.find_mut(row_name) else {
            return Ok((false, ()));
        };
        let changed = match error {
            Some((kind, why)) => {
                row.set_last_start_error(kind, why, at);
                true
            }
            None => row.clear_last_start_error(),
        };
        Ok((changed, ()))
    });
    if let Err(e) = res {
        say(Event::RecordFailed {
            error: e.to_string(),
        });
    }
}
