//! `/admin/security`: the owner's two-factor status (changed on /account),
//! their sessions with "sign out everywhere else", and the signing keys
//! with rotate (as `parachute auth rotate-key`: the old key stays published
//! and trusted until the last token it signed expires).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::super::extract::{PageForm, PageSession};
use super::super::kit::{Notice, form_page};
use super::super::{PageError, read, see_other};
use super::format::when;
use super::{CsrfForm, DoneQuery, Gate, admit, owner, step_up};
use crate::hub::session::SignedIn;
use crate::hub::state::HubState;
use crate::identity::step_up::{self as rules, StepUpError};
use crate::store;
use crate::tokens::keys;
use serde::Deserialize;

const HERE: &str = "/admin/security";
const ROTATE: &str = "/admin/security/rotate-key";

struct KeyItem {
    kid: String,
    algorithm: String,
    created: String,
    /// `active`, or when it was retired.
    status: String,
}

/// Everything the page shows but the CSRF token and the notice.
struct Facts {
    two_factor_on: bool,
    pin_set: bool,
    sessions: usize,
    keys: Vec<KeyItem>,
}

/// `templates/admin/security.html`.
#[derive(Template, WebTemplate)]
#[template(path = "admin/security.html")]
struct Page {
    csrf: String,
    notice: Option<Notice>,
    facts: Facts,
    pin_max: usize,
}

fn facts(conn: &rusqlite::Connection, me: &SignedIn, now: i64) -> rusqlite::Result<Facts> {
    let totp = store::two_factor::totp(conn, &me.user.id)?;
    let keys = store::keys::published(conn, now)?
        .into_iter()
        .map(|k| KeyItem {
            status: k
                .retired_at
                .map_or_else(|| "active".into(), |at| format!("retired {}", when(at))),
            created: when(k.created_at),
            kid: k.kid,
            algorithm: k.algorithm,
        })
        .collect();
    Ok(Facts {
        two_factor_on: totp.is_some_and(|t| t.enabled()),
        pin_set: rules::configured(conn, &me.user.id)?,
        sessions: store::sessions::count_for_user(conn, &me.user.id, now)?,
        keys,
    })
}

/// The page at `status` with `notice`.
fn render(
    state: &HubState,
    headers: &HeaderMap,
    me: &SignedIn,
    status: StatusCode,
    notice: Option<Notice>,
) -> Result<Response, PageError> {
    let facts = read(state, |conn, now| facts(conn, me, now))?;
    Ok(form_page(state, headers, status, |csrf| Page {
        csrf,
        notice,
        facts,
        pin_max: rules::PIN_MAX_DIGITS,
    }))
}

/// `GET /admin/security`.
pub async fn show(
    State(state): State<HubState>,
    PageSession(me): PageSession,
    headers: HeaderMap,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    match owner(me, HERE) {
        Gate::Owner(me) => render(&state, &headers, &me, StatusCode::OK, q.notice()),
        Gate::Answer(r) => Ok(r),
    }
}

#[derive(Deserialize)]
pub struct PinForm {
    #[serde(rename = "__csrf", default)]
    csrf: String,
    #[serde(default)]
    new_pin: String,
    #[serde(default)]
    current_pin: String,
}

/// `POST /admin/security/pin`: set the step-up PIN, or change it (with the
/// current one), under seed 004's rules (`identity::step_up::set_pin`).
pub async fn set_pin(
    State(state): State<HubState>,
    PageSession(me): PageSession,
    headers: HeaderMap,
    PageForm(f): PageForm<PinForm>,
) -> Result<Response, PageError> {
    let me = match admit(&state, &headers, me, &f.csrf, HERE)? {
        Gate::Owner(me) => me,
        Gate::Answer(r) => return Ok(r),
    };
    let (s, user, now) = (state.clone(), me.user.id.clone(), state.clock().now());
    let current = Some(f.current_pin).filter(|c| !c.is_empty());
    let done = tokio::task::spawn_blocking(move || {
        rules::set_pin(s.store(), &user, &f.new_pin, current.as_deref(), now)
    })
    .await
    .map_err(PageError::internal)?;
    let status = match done {
        Ok(()) => return Ok(see_other(&format!("{HERE}?done=pin"))),
        Err(StepUpError::Format) => StatusCode::BAD_REQUEST,
        Err(StepUpError::CurrentPinRequired) => StatusCode::UNAUTHORIZED,
        Err(StepUpError::RateLimited(_)) => StatusCode::TOO_MANY_REQUESTS,
        Err(ref e) => return Err(PageError::internal(e)),
    };
    let retry = match &done {
        Err(StepUpError::RateLimited(secs)) => Some(*secs),
        _ => None,
    };
    let msg = format!(
        "The PIN was not changed: {}.",
        done.err().map(|e| e.to_string()).unwrap_or_default()
    );
    let mut r = render(&state, &headers, &me, status, Some(Notice::err(msg)))?;
    if let Some(secs) = retry {
        r.headers_mut()
            .insert(axum::http::header::RETRY_AFTER, secs.into());
    }
    Ok(r)
}

/// `POST /admin/security/sign-out-everywhere`: every session of the owner
/// but this browser's ends.
pub async fn sign_out_everywhere(
    State(state): State<HubState>,
    PageSession(me): PageSession,
    headers: HeaderMap,
    PageForm(f): PageForm<CsrfForm>,
) -> Result<Response, PageError> {
    let me = match admit(&state, &headers, me, &f.csrf, HERE)? {
        Gate::Owner(me) => me,
        Gate::Answer(r) => return Ok(r),
    };
    let store = state.store();
    let ended = store.write(|tx| {
        store::sessions::delete_others(tx, &me.user.id, &me.session_id).map_err(|e| store.err(e))
    })?;
    tracing::info!(user_id = %me.user.id, ended, "signed out everywhere else from /admin");
    Ok(see_other(&format!("{HERE}?done=signed-out")))
}

#[derive(Deserialize)]
pub struct StepUpForm {
    #[serde(rename = "__csrf", default)]
    csrf: String,
    #[serde(default)]
    step_up_token: String,
}

/// `POST /admin/security/rotate-key`: a new signing key, published at
/// once; needs step-up.
pub async fn rotate_key(
    State(state): State<HubState>,
    PageSession(me): PageSession,
    headers: HeaderMap,
    PageForm(f): PageForm<StepUpForm>,
) -> Result<Response, PageError> {
    let me = match admit(&state, &headers, me, &f.csrf, HERE)? {
        Gate::Owner(me) => me,
        Gate::Answer(r) => return Ok(r),
    };
    if let Some(r) = step_up::gate(&state, &headers, &me, &f.step_up_token, ROTATE, &[]) {
        return Ok(r);
    }
    // Generate outside the write lock; it is the slow part.
    let fresh = keys::generate(state.clock().now()).map_err(PageError::internal)?;
    let store = state.store();
    store.write(|tx| keys::rotate(tx, &fresh).map_err(|e| store.other(e)))?;
    tracing::info!(kid = %fresh.public.kid, "signing key rotated from /admin");
    Ok(see_other(&format!("{HERE}?done=rotated")))
}
