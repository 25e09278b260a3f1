//! `/admin/clients` (registrations waiting for approval, with approve and
//! deny; every registered client, with remove) and `/admin/grants` (what
//! each user consented to, with revoke): `oauth::clients`, as `parachute
//! auth pending-clients|approve-client|revoke-client|revoke-grant`.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::super::extract::{PageForm, PageSession};
use super::super::kit::{Notice, form_page};
use super::super::{PageError, error_page, read, see_other};
use super::format::when;
use super::{DoneQuery, Gate, admit, owner, step_up};
use crate::hub::state::HubState;
use crate::oauth::clients;
use crate::store::{self, clients::Client};

const CLIENTS: &str = "/admin/clients";
const GRANTS: &str = "/admin/grants";
const APPROVE: &str = "/admin/clients/approve";

/// One client row.
struct ClientItem {
    client_id: String,
    name: String,
    status: String,
    registered: String,
    redirect_uris: String,
}

impl From<Client> for ClientItem {
    fn from(c: Client) -> Self {
        Self {
            name: c.client_name.clone().unwrap_or_else(|| "-".into()),
            registered: when(c.registered_at),
            redirect_uris: c.redirect_uris.join(" "),
            status: c.status,
            client_id: c.client_id,
        }
    }
}

/// `templates/admin/clients.html`.
#[derive(Template, WebTemplate)]
#[template(path = "admin/clients.html")]
struct ClientsPage {
    csrf: String,
    notice: Option<Notice>,
    pending: Vec<ClientItem>,
    registered: Vec<ClientItem>,
}

/// `GET /admin/clients`.
pub async fn show(
    State(state): State<HubState>,
    PageSession(me): PageSession,
    headers: HeaderMap,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    if let Gate::Answer(r) = owner(me, CLIENTS) {
        return Ok(r);
    }
    let items = |v: Vec<Client>| v.into_iter().map(ClientItem::from).collect::<Vec<_>>();
    let (pending, registered) = read(&state, |conn, now| {
        Ok::<_, rusqlite::Error>((
            items(clients::pending(conn, now)?),
            items(clients::registered(conn, now)?),
        ))
    })?;
    Ok(form_page(&state, &headers, StatusCode::OK, |csrf| {
        ClientsPage {
            csrf,
            notice: q.notice(),
            pending,
            registered,
        }
    }))
}

#[derive(Deserialize)]
pub struct ClientForm {
    #[serde(default)]
    client_id: String,
    #[serde(rename = "__csrf", default)]
    csrf: String,
    #[serde(default)]
    step_up_token: String,
}

fn no_client() -> Response {
    let msg =
        "No client has that id (a pending registration expires after a while); see /admin/clients.";
    error_page(StatusCode::NOT_FOUND, "No such client", msg)
}

/// `POST /admin/clients/approve`: needs step-up.
pub async fn approve(
    State(state): State<HubState>,
    PageSession(me): PageSession,
    headers: HeaderMap,
    PageForm(f): PageForm<ClientForm>,
) -> Result<Response, PageError> {
    let me = match admit(&state, &headers, me, &f.csrf, CLIENTS)? {
        Gate::Owner(me) => me,
        Gate::Answer(r) => return Ok(r),
    };
    let carried = [("client_id".to_string(), f.client_id.clone())];
    if let Some(r) = step_up::gate(&state, &headers, &me, &f.step_up_token, APPROVE, &carried) {
        return Ok(r);
    }
    let now = state.clock().now();
    let store = state.store();
    let done =
        store.write(|tx| clients::approve(tx, &f.client_id, now).map_err(|e| store.err(e)))?;
    if done.is_none() {
        return Ok(no_client());
    }
    tracing::info!(client_id = %f.client_id, "client approved from /admin");
    Ok(see_other(&format!("{CLIENTS}?done=approved")))
}

/// `POST /admin/clients/revoke` and `/admin/clients/deny`: the client goes,
/// with its grants and tokens.
pub async fn revoke(
    State(state): State<HubState>,
    PageSession(me): PageSession,
    headers: HeaderMap,
    PageForm(f): PageForm<ClientForm>,
) -> Result<Response, PageError> {
    if let Gate::Answer(r) = admit(&state, &headers, me, &f.csrf, CLIENTS)? {
        return Ok(r);
    }
    let now = state.clock().now();
    let store = state.store();
    let done =
        store.write(|tx| clients::remove(tx, &f.client_id, now).map_err(|e| store.err(e)))?;
    let Some(tokens) = done else {
        return Ok(no_client());
    };
    tracing::info!(client_id = %f.client_id, tokens, "client removed from /admin");
    Ok(see_other(&format!("{CLIENTS}?done=removed")))
}

/// One grant row.
struct GrantItem {
    client_id: String,
    name: String,
    username: String,
    granted: String,
    scopes: String,
}

/// `templates/admin/grants.html`.
#[derive(Template, WebTemplate)]
#[template(path = "admin/grants.html")]
struct GrantsPage {
    csrf: String,
    notice: Option<Notice>,
    grants: Vec<GrantItem>,
}

/// `GET /admin/grants`.
pub async fn grants(
    State(state): State<HubState>,
    PageSession(me): PageSession,
    headers: HeaderMap,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    if let Gate::Answer(r) = owner(me, GRANTS) {
        return Ok(r);
    }
    let rows = read(&state, |conn, _| store::grants::list(conn))?;
    let grants = rows
        .into_iter()
        .map(|g| GrantItem {
            name: g.client_name.unwrap_or_else(|| g.client_id.clone()),
            granted: when(g.granted_at),
            client_id: g.client_id,
            username: g.username,
            scopes: g.scopes,
        })
        .collect();
    Ok(form_page(&state, &headers, StatusCode::OK, |csrf| {
        GrantsPage {
            csrf,
            notice: q.notice(),
            grants,
        }
    }))
}

/// `POST /admin/grants/revoke`: every user's consent to the client, and
/// its tokens.
pub async fn revoke_grant(
    State(state): State<HubState>,
    PageSession(me): PageSession,
    headers: HeaderMap,
    PageForm(f): PageForm<ClientForm>,
) -> Result<Response, PageError> {
    if let Gate::Answer(r) = admit(&state, &headers, me, &f.csrf, GRANTS)? {
        return Ok(r);
    }
    let now = state.clock().now();
    let store = state.store();
    let (grants, tokens) =
        store.write(|tx| clients::withdraw(tx, &f.client_id, now).map_err(|e| store.err(e)))?;
    if grants == 0 {
        let msg = "That app has no grant; see /admin/grants.";
        return Ok(error_page(StatusCode::NOT_FOUND, "No such grant", msg));
    }
    tracing::info!(client_id = %f.client_id, grants, tokens, "grant revoked from /admin");
    Ok(see_other(&format!("{GRANTS}?done=revoked")))
}
