//! `POST /api/ui/sse-ticket` (seed 004): trade a credential presented in a
//! header for a one-time ticket an `EventSource` URL can carry
//! (`tokens::ticket`). The credential is a bearer (`Authorization`), or a
//! browser session whose CSRF token comes in the `X-CSRF-Token` header
//! (double-submit against the cookie, plus the Origin check; a form could
//! otherwise mint for a cross-site page). The ticket carries that
//! credential's subject and scopes (the owner's session holds every scope),
//! and records whether a fresh step-up token of it came in
//! `X-Step-Up-Token`: the hub's own log stream needs that.
//!
//! Answers `{ticket, expires_at}` (RFC 3339), never cached.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::bearer::bearer_token;
use super::csrf::{self, Refused};
use super::error::ApiError;
use super::session::{MaybeSession, SignedIn};
use super::state::HubState;
use super::step_up::{self, Holder, StepUpRequired};
use crate::tokens::audience::Expected;
use crate::tokens::scopes::CATALOG;
use crate::tokens::ticket::Grant;

pub const PATH: &str = "/api/ui/sse-ticket";
/// The header a session's CSRF token travels in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The scope a ticket must carry to open a log stream, and so the one a
/// 401 here suggests.
pub const SCOPE: &str = "parachute:host:admin";

/// Why no ticket was minted.
#[derive(Debug)]
pub enum Refusal {
    Api(ApiError),
    Csrf(Refused),
    StepUp(StepUpRequired),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Self::Api(e) => e.into_response(),
            Self::StepUp(e) => e.into_response(),
            Self::Csrf(why) => {
                let body = json!({"error": "csrf_failed", "error_description": why.message()});
                no_store((StatusCode::FORBIDDEN, Json(body)).into_response())
            }
        }
    }
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The credential of the request: its holder (for step-up) and scopes.
fn credential(
    state: &HubState,
    headers: &HeaderMap,
    me: Option<SignedIn>,
) -> Result<(Holder, Vec<String>), Refusal> {
    if let Some(token) = bearer_token(headers) {
        let claims = state.validate(token, Expected::Hub).map_err(|r| {
            Refusal::Api(ApiError::InvalidToken {
                reason: r.to_string(),
                scope: SCOPE,
            })
        })?;
        let scopes = claims.scopes().map(str::to_string).collect();
        return Ok((Holder::bearer(&claims), scopes));
    }
    let Some(me) = me else {
        return Err(Refusal::Api(ApiError::MissingToken { scope: SCOPE }));
    };
    let submitted = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    csrf::check(state, headers, submitted).map_err(Refusal::Csrf)?;
    // The owner holds every scope; nobody else holds one a stream needs.
    let scopes = if me.is_owner {
        CATALOG.iter().map(|s| s.scope.to_string()).collect()
    } else {
        Vec::new()
    };
    Ok((Holder::session(&me), scopes))
}

/// `POST /api/ui/sse-ticket`.
pub async fn mint(
    State(state): State<HubState>,
    MaybeSession(me): MaybeSession,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let (holder, scopes) = credential(&state, &headers, me)?;
    // A step-up token is optional here, but one that is presented must be good.
    let stepped_up = match step_up::presented(&headers) {
        Some(t) => {
            step_up::require(&state, &holder, Some(t)).map_err(Refusal::StepUp)?;
            true
        }
        None => false,
    };
    let grant = Grant {
        subject: holder.subject().to_string(),
        scopes,
        stepped_up,
    };
    let m = state.tickets().mint(grant, state.clock().now());
    let body = json!({"ticket": m.ticket, "expires_at": crate::clock::date(m.expires_at)});
    Ok(no_store(Json(body).into_response()))
}
