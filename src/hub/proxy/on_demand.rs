//! Start on demand (issue 11): a request for a module whose unit is not
//! running starts it through the same lifecycle operation as
//! `parachute start` ([`run::run`]: reset, start, settle, `lastStartError`)
//! and is held until the module's health check passes, within the row's
//! `startTimeoutMs`; nothing was sent upstream before, so this is safe for
//! every method. Concurrent requests wait on the same start
//! ([`SingleFlight`]); a browser navigation that would wait gets the
//! "starting" page, which reloads itself, while API clients just wait.
//!
//! The unit's state is read from the init system at most once a second
//! per module ([`super::book::UNIT_TTL`]), so the hot path costs a map lookup. The
//! bookkeeping itself (the flights, that cache, the failures) is
//! [`super::book`]'s.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, Method};
use axum::response::Response;

use super::book::{BACKOFF, Failure, Outcome};
use super::single_flight::Ticket;
use super::unreachable;
use crate::hub::registry::Route;
use crate::hub::state::HubState;
use crate::lifecycle::ops::{Event, Verdict, run};
use crate::lifecycle::start::Verb;
use crate::lifecycle::status::recent_lines;
use crate::lifecycle::{InitSystem as _, UnitState};
use crate::manifest::{Row, Services};

/// How long a browser navigation waits before it gets the "starting" page.
const BROWSER_WAIT: Duration = Duration::from_secs(1);
/// How often the health check is tried while a module starts.
const HEALTH_POLL: Duration = Duration::from_millis(20);
/// Journal lines summarised in a failure answer.
const LOG_LINES: usize = 8;

/// Whether `route`'s module runs, as far as the hub knows without asking
/// the init system: yes with no init system, or when the unit's fresh
/// cached state says it runs (or could not be read: taken to run); no
/// while the hub is starting it; `None` when only the init system can say.
fn known_up(state: &HubState, route: &Route) -> Option<bool> {
    if state.host().is_none() {
        return Some(true);
    }
    let od = state.on_demand();
    if od.starting(&route.service) {
        return Some(false);
    }
    od.cached(&route.unit)
        .map(|read| read.is_none_or(|s| up(&s)))
}

/// Make sure `route`'s module runs before the request goes to it: `None`
/// to forward now, or the answer to give instead (starting, failed,
/// disabled). Every proxied request asks, and nearly always the cache
/// answers at once; the rest — an init-system call, a start to wait for —
/// is boxed, so its several KiB of future are not carried (and moved) by
/// every proxied request's.
pub async fn ensure(
    state: &HubState,
    route: &Route,
    method: &Method,
    headers: &HeaderMap,
) -> Option<Response> {
    if known_up(state, route) == Some(true) {
        return None;
    }
    Box::pin(ensure_slow(state, route, method, headers)).await
}

/// [`ensure`] past what the cache can tell.
async fn ensure_slow(
    state: &HubState,
    route: &Route,
    method: &Method,
    headers: &HeaderMap,
) -> Option<Response> {
    let od = state.on_demand();
    // A start under way: its unit is active before its health check passes.
    if !od.starting(&route.service) {
        match look(state, route, headers).await {
            Look::Forward => return None,
            Look::Answer(r) => return Some(r),
            Look::Start => {}
        }
    }
    let ticket = take_off(state, route)?;
    let outcome = if navigation(method, headers) {
        match tokio::time::timeout(BROWSER_WAIT, ticket.outcome()).await {
            Ok(o) => o,
            Err(_) => return Some(unreachable::starting(&route.service)),
        }
    } else {
        ticket.outcome().await
    };
    match outcome {
        Some(Ok(())) => None,
        Some(Err(f)) => Some(unreachable::failed(headers, &f, Some(BACKOFF))),
        None => {
            let f = Failure::internal(&route.service, &route.unit);
            Some(unreachable::failed(headers, &f, None))
        }
    }
}

/// Start `route`'s module, or join the start under way; `None` when its
/// row is gone from services.json.
fn take_off(state: &HubState, route: &Route) -> Option<Ticket<Outcome>> {
    let row = state
        .registry()
        .view()
        .rows
        .iter()
        .find(|r| r.name == route.service)
        .cloned()?;
    let owned = state.clone();
    // A start runs lifecycle operations (unit files, the journal): on the
    // work runtime, not the connections' thread (`hub::work`).
    let on = state.work();
    let ticket = (state.on_demand().flights).join(&on, &route.service, move || start(owned, row));
    if ticket.started {
        tracing::info!(service = %route.service, "starting on demand");
    }
    Some(ticket)
}

/// What a module's unit says the request needs.
enum Look {
    Forward,
    Answer(Response),
    Start,
}

async fn look(state: &HubState, route: &Route, headers: &HeaderMap) -> Look {
    let Some(host) = state.host() else {
        return Look::Forward;
    };
    let od = state.on_demand();
    let Some(unit_state) = od.unit_state(host.init, &route.unit).await else {
        return Look::Forward;
    };
    if up(&unit_state) {
        return Look::Forward;
    }
    if unit_state.unit_file_state == "disabled" {
        return Look::Answer(unreachable::disabled(headers, &route.service, &unit_state));
    }
    match od.recent_failure(&route.service) {
        Some((left, f)) => Look::Answer(unreachable::failed(headers, &f, Some(left))),
        None => Look::Start,
    }
}

/// Running, or not a unit at all (a module run by hand): requests go to it.
fn up(unit: &UnitState) -> bool {
    unit.is_active() || unit.load_state == "not-found"
}

/// Whether `route`'s module runs now, as far as the hub can tell, without
/// starting it: with no init system, or a unit state it cannot read, the
/// module is taken to run (as [`ensure`] takes it); one the hub is still
/// starting does not yet.
pub async fn running(state: &HubState, route: &Route) -> bool {
    if let Some(known) = known_up(state, route) {
        return known;
    }
    let Some(host) = state.host() else {
        return true;
    };
    state
        .on_demand()
        .unit_state(host.init, &route.unit)
        .await
        .is_none_or(|s| up(&s))
}

/// A browser loading a page: `GET`/`HEAD` asking for HTML.
fn navigation(method: &Method, headers: &HeaderMap) -> bool {
    (method == Method::GET || method == Method::HEAD) && unreachable::wants_html(headers)
}

/// Start `row`'s module and wait for its health check, within its
/// `startTimeoutMs`; a start that fails or times out is left stopped.
async fn start(state: HubState, row: Row) -> Outcome {
    let unit = row.unit();
    let limit = row.start_timeout();
    let outcome = match tokio::time::timeout(limit, start_and_check(&state, &row)).await {
        Ok(o) => o,
        Err(_) => Err(timed_out(&state, &row, limit).await),
    };
    let od = state.on_demand();
    od.forget(&unit);
    if let Err(f) = &outcome {
        tracing::warn!(service = %row.name, why = %f.why, "on-demand start failed");
    }
    od.landed(&row.name, &outcome);
    outcome
}

async fn start_and_check(state: &HubState, row: &Row) -> Outcome {
    let host = state
        .host()
        .ok_or_else(|| Arc::new(Failure::internal(&row.name, &row.unit())))?;
    let services = Services::load_lenient(&state.paths().services_json())
        .map(|(s, _)| s)
        .map_err(|e| {
            Arc::new(Failure::new(
                row,
                UnitState::default(),
                e.to_string(),
                Vec::new(),
            ))
        })?;
    let mut failed = None;
    let mut say = |e: Event| {
        if let Event::StartFailed { why, log, .. } = e {
            failed = Some((why, log));
        }
    };
    let verdict = run::run(&host, &services, Some(row.short()), Verb::Start, &mut say).await;
    let unit = row.unit();
    let now = host.init.state(&unit).await.unwrap_or_default();
    match verdict {
        Ok(Verdict::Success) => {}
        Ok(Verdict::Failure) => {
            let (why, log) = failed.unwrap_or_else(|| ("the start failed".into(), Vec::new()));
            return Err(Arc::new(Failure::new(row, now, why, log)));
        }
        Err(e) => return Err(Arc::new(Failure::new(row, now, e.to_string(), Vec::new()))),
    }
    let client = crate::health::client();
    loop {
        let h = crate::health::probe(&client, row.port, &row.health, Duration::from_secs(1)).await;
        if h.ok {
            return Ok(());
        }
        tokio::time::sleep(HEALTH_POLL).await;
    }
}

/// The start took longer than `startTimeoutMs`: stop it (it is not left
/// half up behind the operator's back) and say so.
async fn timed_out(state: &HubState, row: &Row, limit: Duration) -> Arc<Failure> {
    let unit = row.unit();
    let Some(host) = state.host() else {
        return Arc::new(Failure::internal(&row.name, &unit));
    };
    let before = host.init.state(&unit).await.unwrap_or_default();
    let _ = host.init.stop(&unit).await;
    let log = recent_lines(host.init, &unit, LOG_LINES).await;
    let why = format!(
        "its health check {} did not pass within {} ms of starting it; raise `startTimeoutMs` in its module.json if it needs longer",
        row.health,
        limit.as_millis()
    );
    Arc::new(Failure::not_answering(row, before, why, log))
}

/// Each row's state for discovery, from the init system (cached like the
/// proxy's reads): `running`, `starting`, `stopping`, `stopped`,
/// `idle-stopped`, `failed`, `disabled`; `None` when the hub has no init
/// system. A row without a unit (a module run by hand) is left out.
pub async fn states(state: &HubState, rows: &[Row]) -> Option<HashMap<String, &'static str>> {
    let host = state.host()?;
    let mut out = HashMap::new();
    for row in rows {
        let Some(s) = state.on_demand().unit_state(host.init, &row.unit()).await else {
            continue;
        };
        if s.load_state == "not-found" {
            continue;
        }
        let word = match s.active_state.as_str() {
            "active" | "reloading" => "running",
            "activating" => "starting",
            "deactivating" => "stopping",
            "failed" => "failed",
            _ if state.on_demand().starting(&row.name) => "starting",
            _ if s.unit_file_state == "disabled" => "disabled",
            _ if crate::lifecycle::idle_marker::is_set(state.paths(), &row.name) => {
                crate::lifecycle::status::IDLE_STOPPED
            }
            _ => "stopped",
        };
        out.insert(row.name.clone(), word);
    }
    Some(out)
}
