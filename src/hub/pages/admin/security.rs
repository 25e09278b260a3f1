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
use super::super::{PageError, see_other};
use super::format::when;
use super::{CsrfForm, DoneQuery, Gate, admit, owner};
use crate::hub::session::SignedIn;
use crate::hub::state::HubState;
use crate::store;
use crate::tokens::keys;

const HERE: &str = "/admin/security";

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
        sessions: store::sessions::count_for_user(conn, &me.user.id, now)?,
        keys,
    })
}

/// `GET /admin/security`.
pub async fn show(
    State(state): State<HubState>,
    PageSession(me): PageSession,
    headers: HeaderMap,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let me = match owner(me, HERE) {
        Gate::Owner(me) => me,
        Gate::Answer(r) => return Ok(r),
    };
    let facts = {
        let conn = state.store().conn().map_err(PageError::unavailable)?;
        facts(&conn, &me, state.clock().now()).map_err(PageError::internal)?
    };
    Ok(form_page(&state, &headers, StatusCode::OK, |csrf| Page {
        csrf,
        notice: q.notice(),
        facts,
    }))
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

/// `POST /admin/security/rotate-key`: a new signing key, published at once.
pub async fn rotate_key(
    State(state): State<HubState>,
    PageSession(me): PageSession,
    headers: HeaderMap,
    PageForm(f): PageForm<CsrfForm>,
) -> Result<Response, PageError> {
    if let Gate::Answer(r) = admit(&state, &headers, me, &f.csrf, HERE)? {
        return Ok(r);
    }
    // Generate outside the write lock; it is the slow part.
    let fresh = keys::generate(state.clock().now()).map_err(PageError::internal)?;
    let store = state.store();
    store.write(|tx| keys::rotate(tx, &fresh).map_err(|e| store.other(e)))?;
    tracing::info!(kid = %fresh.public.kid, "signing key rotated from /admin");
    Ok(see_other(&format!("{HERE}?done=rotated")))
}
