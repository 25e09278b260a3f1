//! `/admin/services/<svc>`: one service — its status, its unit file as the
//! init system was given it, its recent log lines — with start / stop /
//! restart / enable / disable buttons that run the CLI's operations
//! (`lifecycle::ops`, `lifecycle::enablement`) through `HubState::host`.
//!
//! The hub's own page has no buttons: stopping or restarting the hub from
//! a page the hub serves would cut the answer off mid-way (`parachute
//! restart hub` does it). The `live-log` section is where the live view
//! of the log attaches (its `data-service` names the service).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::super::extract::{PageForm, PageSession};
use super::super::kit::{Notice, form_page};
use super::super::{PageError, error_page, see_other};
use super::home::{ServiceItem, statuses};
use super::{CsrfForm, DoneQuery, Gate, admit, owner};
use crate::error::Error;
use crate::hub::state::HubState;
use crate::lifecycle::enablement;
use crate::lifecycle::inventory::Inventory;
use crate::lifecycle::ops::{Event, Verdict, run, stop};
use crate::lifecycle::service::HUB_SERVICE;
use crate::lifecycle::start::Verb;
use crate::lifecycle::status::{recent_lines, unit_text};

/// Log lines the page shows.
const LOG_LINES: usize = 30;

/// What a button asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Start,
    Stop,
    Restart,
    Enable,
    Disable,
}

impl Action {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "start" => Self::Start,
            "stop" => Self::Stop,
            "restart" => Self::Restart,
            "enable" => Self::Enable,
            "disable" => Self::Disable,
            _ => return None,
        })
    }

    fn key(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Stop => "stop",
            Self::Restart => "restart",
            Self::Enable => "enable",
            Self::Disable => "disable",
        }
    }
}

/// `svc` as a unit: `hub`, or a service by short name or manifestName.
fn resolve(inventory: &Inventory, svc: &str) -> Option<String> {
    match svc {
        "hub" | "parachute-hub" => Some(HUB_SERVICE.to_string()),
        name => inventory.find_unit(name),
    }
}

fn not_found(svc: &str) -> Response {
    let msg = format!("There is no service `{svc}`; the hub page lists them.");
    error_page(StatusCode::NOT_FOUND, "No such service", &msg)
}

fn unavailable(why: &str) -> Response {
    let msg = format!("The init system could not be asked: {why}. See `parachute doctor`.");
    error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Services unavailable",
        &msg,
    )
}

/// `templates/admin/service.html`.
#[derive(Template, WebTemplate)]
#[template(path = "admin/service.html")]
struct Page {
    csrf: String,
    notice: Option<Notice>,
    s: ServiceItem,
    is_hub: bool,
    unit_path: String,
    unit_text: Option<String>,
    log: Vec<String>,
}

/// `GET /admin/services/<svc>`.
pub async fn show(
    State(state): State<HubState>,
    PageSession(me): PageSession,
    headers: HeaderMap,
    Path(svc): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    if let Gate::Answer(r) = owner(me, &format!("/admin/services/{svc}")) {
        return Ok(r);
    }
    let inventory = Inventory::load(state.paths()).map_err(PageError::internal)?;
    let Some(unit) = resolve(&inventory, &svc) else {
        return Ok(not_found(&svc));
    };
    let (rows, host) = match (statuses(&state, Some(&unit)).await, state.host()) {
        (Ok(rows), Some(host)) => (rows, host),
        (Err(e), _) => return Ok(unavailable(&e.to_string())),
        (_, None) => return Ok(unavailable(&Error::HubWithoutInit.to_string())),
    };
    let Some(s) = rows.first().map(ServiceItem::from) else {
        return Ok(not_found(&svc));
    };
    let file = unit_text(host.init, state.paths(), &unit);
    let log = recent_lines(host.init, &unit, LOG_LINES).await;
    let page = form_page(&state, &headers, StatusCode::OK, |csrf| Page {
        csrf,
        notice: q.notice(),
        is_hub: unit == HUB_SERVICE,
        unit_path: file
            .as_ref()
            .map(|f| f.path.display().to_string())
            .unwrap_or_default(),
        unit_text: file.and_then(|f| f.text),
        log,
        s,
    });
    Ok(super::live_log::allow(page))
}

/// Run `action` on `unit` (`svc` as the user named it) the way the CLI does.
async fn perform(
    state: &HubState,
    inventory: &Inventory,
    svc: &str,
    action: Action,
) -> Result<Verdict, Error> {
    let host = state.host().ok_or(Error::HubWithoutInit)?;
    let mut say = |e: Event| tracing::info!(service = svc, event = ?e, "admin page action");
    match action {
        Action::Start | Action::Restart => {
            let verb = if action == Action::Start {
                Verb::Start
            } else {
                Verb::Restart
            };
            run::run(&host, &inventory.services, Some(svc), verb, &mut say).await
        }
        Action::Stop => stop::run(&host, inventory, Some(svc), &mut say).await,
        Action::Enable => {
            let sel = enablement::select(state.paths(), inventory, Some(svc))?;
            enablement::enable(host.init, &sel)
                .await
                .map(|_| Verdict::Success)
        }
        Action::Disable => {
            let sel = enablement::select(state.paths(), inventory, Some(svc))?;
            let done = enablement::disable(host.init, &sel).await?;
            Ok(if done.stop_failed.is_some() {
                Verdict::Failure
            } else {
                Verdict::Success
            })
        }
    }
}

/// `POST /admin/services/<svc>/<action>`: then back to the service's page.
pub async fn act(
    State(state): State<HubState>,
    PageSession(me): PageSession,
    headers: HeaderMap,
    Path((svc, action)): Path<(String, String)>,
    PageForm(f): PageForm<CsrfForm>,
) -> Result<Response, PageError> {
    let here = format!("/admin/services/{svc}");
    if let Gate::Answer(r) = admit(&state, &headers, me, &f.csrf, &here)? {
        return Ok(r);
    }
    let inventory = Inventory::load(state.paths()).map_err(PageError::internal)?;
    let (Some(action), Some(unit)) = (Action::parse(&action), resolve(&inventory, &svc)) else {
        return Ok(not_found(&svc));
    };
    if unit == HUB_SERVICE {
        let msg = "The hub is started and stopped from the CLI (`parachute restart hub`), not from a page it serves.";
        return Ok(error_page(StatusCode::BAD_REQUEST, "Not from here", msg));
    }
    let done = match perform(&state, &inventory, &svc, action).await {
        Ok(Verdict::Success) => action.key(),
        Ok(Verdict::Failure) => "failed",
        Err(e) => {
            tracing::warn!(service = %svc, error = %e, "admin page action failed");
            "failed"
        }
    };
    Ok(see_other(&format!("{here}?done={done}")))
}
