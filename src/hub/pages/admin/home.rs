//! `/` and `GET /admin`: the hub and every service, the facts `parachute
//! status` shows (`lifecycle::status`), one row per service linking to its
//! page.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::super::extract::PageSession;
use super::super::kit::{Notice, page};
use super::super::{PageError, read, see_other};
use super::format::{age, bytes, duration, when};
use super::{DoneQuery, Gate, PATH, owner};
use crate::error::Error;
use crate::hub::session::SignedIn;
use crate::hub::state::HubState;
use crate::lifecycle::inventory::Inventory;
use crate::lifecycle::ops::short_label;
use crate::lifecycle::status::{ServiceStatus, collect, probe_all};
use crate::store;
use crate::tokens::operator;

/// One service as the pages show it.
pub struct ServiceItem {
    /// The name its page is under (`vault`, `hub`).
    pub short: String,
    pub name: String,
    pub unit: String,
    pub state: String,
    pub enabled: String,
    pub pid: String,
    pub uptime: String,
    pub restarts: u32,
    pub memory: String,
    pub health: String,
    pub healthy: bool,
    pub url: String,
    pub notes: Vec<String>,
    pub failing: bool,
}

impl From<&ServiceStatus> for ServiceItem {
    fn from(s: &ServiceStatus) -> Self {
        let dash = || "-".to_string();
        let state = if s.sub_state.is_empty() || s.sub_state == "dead" || s.state == s.sub_state {
            s.state.clone()
        } else {
            format!("{} ({})", s.state, s.sub_state)
        };
        let health = s.health.as_ref().map_or_else(dash, |h| {
            if h.ok {
                format!("ok ({} ms)", h.latency_ms)
            } else {
                h.error.clone().unwrap_or_else(|| "fail".into())
            }
        });
        Self {
            short: short_label(&s.unit),
            name: s.name.clone(),
            unit: s.unit.clone(),
            state,
            enabled: if s.enabled.is_empty() {
                dash()
            } else {
                s.enabled.clone()
            },
            pid: s.pid.map_or_else(dash, |p| p.to_string()),
            uptime: s.uptime_seconds.map_or_else(dash, duration),
            restarts: s.restarts,
            memory: s.memory_bytes.map_or_else(dash, bytes),
            healthy: s.health.as_ref().is_some_and(|h| h.ok),
            health,
            url: s.url.clone(),
            notes: s.notes.clone(),
            failing: s.failing,
        }
    }
}

/// The status of every service (or only of `unit`), probed; the error
/// says why the init system could not tell.
pub async fn statuses(state: &HubState, unit: Option<&str>) -> Result<Vec<ServiceStatus>, Error> {
    let host = state.host().ok_or(Error::HubWithoutInit)?;
    let inventory = Inventory::load(state.paths())?;
    let now_us = u64::try_from(state.clock().timestamp().as_microsecond()).unwrap_or(0);
    let mut rows = collect(&inventory, host.init, host.hub_port, unit, now_us).await?;
    crate::lifecycle::status::mark_idle_stopped(state.paths(), &mut rows);
    probe_all(&mut rows).await;
    Ok(rows)
}

/// The hub's own facts.
struct HubFacts {
    version: &'static str,
    uptime: String,
    origin: String,
    store: String,
    store_ok: bool,
    key_age: String,
    operator_expires: String,
}

fn hub_facts(state: &HubState, me: &SignedIn) -> Result<HubFacts, PageError> {
    let now = state.clock().now();
    let (key, operator_exp) = read(state, |conn, _| {
        let key = store::keys::active(conn)?;
        let operator_exp = store::account::live_tokens(conn, &me.user.id, now)?
            .into_iter()
            .filter(|t| t.created_via == operator::CREATED_VIA)
            .map(|t| t.expires_at)
            .max();
        Ok::<_, rusqlite::Error>((key, operator_exp))
    })?;
    let check = state.store_check();
    Ok(HubFacts {
        version: crate::version::VERSION,
        uptime: duration(state.uptime().as_secs()),
        origin: state.issuers().primary().to_string(),
        store_ok: check.is_ok(),
        store: check.err().unwrap_or_else(|| "ok".into()),
        key_age: key.map_or_else(|| "no key yet".into(), |k| age(k.public.created_at, now)),
        operator_expires: operator_exp.map_or_else(
            || "none live: run `parachute auth rotate-operator`".into(),
            when,
        ),
    })
}

/// `templates/admin/home.html`.
#[derive(Template, WebTemplate)]
#[template(path = "admin/home.html")]
struct Page {
    notice: Option<Notice>,
    hub: HubFacts,
    services: Vec<ServiceItem>,
    /// Why there are no services to show, when the init system failed.
    services_error: Option<String>,
}

/// `GET /`: the admin home for the owner, `/account` for another user,
/// the sign-in page without a session.
pub async fn landing(PageSession(me): PageSession) -> Response {
    match me {
        None => see_other("/login"),
        Some(me) if me.is_owner => see_other(PATH),
        Some(_) => see_other("/account"),
    }
}

/// `GET /admin`.
pub async fn show(
    State(state): State<HubState>,
    PageSession(me): PageSession,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let me = match owner(me, PATH) {
        Gate::Owner(me) => me,
        Gate::Answer(r) => return Ok(r),
    };
    let hub = hub_facts(&state, &me)?;
    let (services, services_error) = match statuses(&state, None).await {
        Ok(rows) => (rows.iter().map(ServiceItem::from).collect(), None),
        Err(e) => {
            tracing::warn!(error = %e, "service status for /admin");
            (Vec::new(), Some(e.to_string()))
        }
    };
    Ok(page(
        StatusCode::OK,
        Page {
            notice: q.notice(),
            hub,
            services,
            services_error,
        },
    ))
}
