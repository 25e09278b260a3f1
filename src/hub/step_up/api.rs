//! The step-up API (seed 004, issue 14):
//!
//! - `GET /api/step-up` → `{configured}`: has the caller's user a PIN?
//! - `POST /api/step-up {pin}` → `{token, stepUpToken, expires_at}`: a
//!   step-up token of the calling credential (`token` is the hub's name,
//!   as in its other mint answers; `stepUpToken` the seed's, for clients
//!   written against it). 401 wrong PIN, 409 no PIN yet, 429 with
//!   `Retry-After`.
//! - `POST /api/step-up/pin {newPin, currentPin?}` → `{ok, configured}`:
//!   set the first PIN, or rotate it with the current one.
//!
//! The rules (4–12 digits, argon2id, 5 attempts per 5 minutes shared by
//! both POSTs and the admin pages, counted before the verify) are
//! `identity::step_up`'s alone; these handlers only adapt.
//!
//! Callers: a bearer for the hub holding an elevated scope — only such a
//! credential can do anything step-up guards, so only it may spend its
//! user's PIN attempts — or a browser session, whose POSTs must carry the
//! CSRF cookie's value in `X-CSRF-Token` and come from the hub's origin (a
//! cookie rides along on requests other sites make; a bearer does not). An
//! `Authorization: Bearer` header wins over a cookie: it is the credential
//! the caller chose.

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Holder;
use crate::hub::bearer::{Expect as _, HubApi, bearer_token};
use crate::hub::csrf;
use crate::hub::error::ApiError;
use crate::hub::session::MaybeSession;
use crate::hub::state::HubState;
use crate::identity::step_up::{self as rules, StepUpError};
use crate::tokens::audience::Expected;
use crate::tokens::scopes;

/// The header a session's POST carries its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The scope a refused bearer is told to ask for.
const SCOPE: &str = HubApi::SCOPE;

/// The step-up endpoints.
pub fn routes() -> Router<HubState> {
    Router::new()
        .route("/api/step-up", get(status).post(exchange))
        .route("/api/step-up/pin", post(set_pin))
}

/// A JSON answer that is never cached.
fn answer(status: StatusCode, body: Value) -> Response {
    let mut r = (status, Json(body)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn refusal(status: StatusCode, error: &str, description: &str) -> Response {
    answer(
        status,
        json!({"error": error, "error_description": description}),
    )
}

/// Why a step-up request was refused; [`IntoResponse`] is the one place
/// each becomes its answer.
#[derive(Debug)]
pub enum Refusal {
    /// The credential: missing, invalid, or without an elevated scope.
    Api(ApiError),
    /// A session's POST without its CSRF header or from another origin.
    Csrf(csrf::Refused),
    /// The PIN rules said no.
    Pin(StepUpError),
    /// The body is not what the endpoint reads.
    Body(String),
    /// A bearer without `jti` cannot hold a step-up.
    NoJti,
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

impl From<StepUpError> for Refusal {
    fn from(e: StepUpError) -> Self {
        Self::Pin(e)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Self::Api(e) => e.into_response(),
            Self::Csrf(why) => csrf_refusal(why),
            Self::Pin(e) => pin_refusal(e),
            Self::Body(d) => refusal(StatusCode::BAD_REQUEST, "invalid_request", &d),
            Self::NoJti => refusal(
                StatusCode::FORBIDDEN,
                "invalid_token",
                "this token has no `jti`, so it cannot step up; use one the hub minted",
            ),
        }
    }
}

/// The calling credential as step-up sees it. `writes`: the request
/// changes something (CSRF applies to a session).
fn caller(
    state: &HubState,
    headers: &HeaderMap,
    session: MaybeSession,
    writes: bool,
) -> Result<Holder, Refusal> {
    if let Some(token) = bearer_token(headers) {
        let claims = state
            .validate(token, Expected::Hub)
            .map_err(|r| ApiError::InvalidToken {
                reason: r.to_string(),
                scope: SCOPE,
            })?;
        if !claims.scopes().any(scopes::is_elevated) {
            return Err(ApiError::InsufficientScope(SCOPE).into());
        }
        return Ok(Holder::bearer(&claims));
    }
    let Some(me) = session.0 else {
        return Err(ApiError::MissingToken { scope: SCOPE }.into());
    };
    if writes {
        let sent = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        csrf::check(state, headers, sent).map_err(Refusal::Csrf)?;
    }
    Ok(Holder::session(&me))
}

fn csrf_refusal(why: csrf::Refused) -> Response {
    let description = match why {
        csrf::Refused::Token => {
            "send the value of the `parachute_hub_csrf` cookie in the `X-CSRF-Token` header"
        }
        csrf::Refused::OriginRequired | csrf::Refused::OriginMismatch => {
            "this request came from another site, so it was refused"
        }
    };
    refusal(StatusCode::FORBIDDEN, "csrf_failed", description)
}

/// What a refused PIN comes to: seed 004's codes and words.
fn pin_refusal(e: StepUpError) -> Response {
    // A busy store is a 503 with `Retry-After`, not the hub's own fault.
    let e = match e {
        StepUpError::Store(e) => return ApiError::from(e).into_response(),
        other => other,
    };
    let (status, error) = match &e {
        StepUpError::Format => (StatusCode::BAD_REQUEST, "invalid_request"),
        StepUpError::NotConfigured => (StatusCode::CONFLICT, "step_up_not_configured"),
        StepUpError::WrongPin | StepUpError::CurrentPinRequired => {
            (StatusCode::UNAUTHORIZED, "invalid_pin")
        }
        StepUpError::NotAUser(_) => (StatusCode::FORBIDDEN, "not_a_user"),
        StepUpError::RateLimited(secs) => return rate_limited(*secs),
        StepUpError::Hash(_) | StepUpError::Store(_) => {
            return ApiError::internal(e).into_response();
        }
    };
    let description = match e {
        StepUpError::Format => "body.newPin must be 4–12 digits".to_string(),
        other => other.to_string(),
    };
    refusal(status, error, &description)
}

/// 429 with `Retry-After`, and the seconds in the body too.
fn rate_limited(secs: i64) -> Response {
    let body = json!({
        "error": "rate_limited",
        "error_description": StepUpError::RateLimited(secs).to_string(),
        "retry_after_seconds": secs,
    });
    let mut r = answer(StatusCode::TOO_MANY_REQUESTS, body);
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    r
}

/// Whether `user` has a PIN.
fn configured(state: &HubState, user: &str) -> Result<bool, Refusal> {
    let conn = state.store().conn().map_err(ApiError::unavailable)?;
    Ok(rules::configured(&conn, user).map_err(ApiError::from)?)
}

/// Run an argon2-bound rule off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StepUpError> + Send + 'static,
) -> Result<T, Refusal> {
    match tokio::task::spawn_blocking(f).await {
        Ok(done) => Ok(done?),
        Err(e) => Err(ApiError::internal(e).into()),
    }
}

/// `GET /api/step-up` → `{configured}`.
pub async fn status(
    State(state): State<HubState>,
    session: MaybeSession,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let holder = caller(&state, &headers, session, false)?;
    let configured = configured(&state, holder.subject())?;
    Ok(answer(StatusCode::OK, json!({ "configured": configured })))
}

#[derive(Debug, Deserialize)]
pub struct ExchangeBody {
    pin: Option<Value>,
}

/// `POST /api/step-up {pin}` → a step-up token of this credential.
pub async fn exchange(
    State(state): State<HubState>,
    session: MaybeSession,
    headers: HeaderMap,
    body: Result<Json<ExchangeBody>, JsonRejection>,
) -> Result<Response, Refusal> {
    let holder = caller(&state, &headers, session, true)?;
    // No PIN: nothing to exchange (the seed tells this before the body).
    if !configured(&state, holder.subject())? {
        return Err(StepUpError::NotConfigured.into());
    }
    let pin = match body.map(|Json(b)| b.pin) {
        Ok(Some(Value::String(p))) if !p.is_empty() => p,
        Ok(_) => {
            return Err(Refusal::Body(
                "body.pin (non-empty string) is required".into(),
            ));
        }
        Err(e) => return Err(Refusal::Body(e.body_text())),
    };
    let key = holder.key().ok_or(Refusal::NoJti)?;
    let (s, user, now) = (
        state.clone(),
        holder.subject().to_string(),
        state.clock().now(),
    );
    let minted = blocking(move || rules::verify(s.store(), &user, &key, &pin, now)).await?;
    tracing::info!(user_id = %holder.subject(), via = holder.kind(), "stepped up over the API");
    let expires_at = crate::clock::date(minted.expires_at);
    Ok(answer(
        StatusCode::OK,
        json!({"token": minted.token, "stepUpToken": minted.token, "expires_at": expires_at}),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PinBody {
    new_pin: Option<Value>,
    current_pin: Option<Value>,
}

/// A JSON string, or `None` (absent, or not a string).
fn text(v: Option<Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) => Some(s),
        _ => None,
    }
}

/// `POST /api/step-up/pin {newPin, currentPin?}`: set or rotate the PIN.
pub async fn set_pin(
    State(state): State<HubState>,
    session: MaybeSession,
    headers: HeaderMap,
    body: Result<Json<PinBody>, JsonRejection>,
) -> Result<Response, Refusal> {
    let holder = caller(&state, &headers, session, true)?;
    let Json(body) = body.map_err(|e| Refusal::Body(e.body_text()))?;
    let new_pin = text(body.new_pin).unwrap_or_default();
    let current = text(body.current_pin).filter(|c| !c.is_empty());
    let (s, user, now) = (
        state.clone(),
        holder.subject().to_string(),
        state.clock().now(),
    );
    blocking(move || rules::set_pin(s.store(), &user, &new_pin, current.as_deref(), now)).await?;
    tracing::info!(user_id = %holder.subject(), "step-up PIN set over the API");
    Ok(answer(
        StatusCode::OK,
        json!({"ok": true, "configured": true}),
    ))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt as _;

    use super::*;
    use crate::clock::Clock;
    use crate::hub::step_up::{Reason, require};
    use crate::hub::test_support::{ORIGIN, state_with_clock};
    use crate::tokens::{mint, operator};

    const T0: i64 = 1_800_000_000;

    /// A hub on a fixed clock with the user `u1` and a bearer of theirs.
    fn hub(dir: &std::path::Path, scope: &str) -> (HubState, crate::tokens::Claims, String) {
        let state = state_with_clock(dir, Clock::fixed(T0));
        let store = state.store();
        let scopes = vec![scope.to_string()];
        let minted = store
            .write(|tx| {
                tx.execute(
                    "INSERT INTO users (id, username, password_hash, created_at, updated_at)
                     VALUES ('u1', 'ada', 'x', 0, 0)",
                    [],
                )
                .map_err(|e| store.err(e))?;
                let m = mint::Mint {
                    sub: "u1",
                    user_id: Some("u1"),
                    scopes: &scopes,
                    audience: "hub",
                    client_id: operator::CLIENT_ID,
                    ttl_secs: 3600,
                    created_via: Some("cli_mint"),
                    parent_jti: None,
                    label: None,
                };
                mint::mint(tx, ORIGIN, &m, T0).map_err(|e| store.other(e))
            })
            .expect("mint");
        (state, minted.claims, minted.token)
    }

    async fn post(state: &HubState, path: &str, bearer: &str, body: Value) -> (StatusCode, Value) {
        let req = Request::post(path)
            .header(header::AUTHORIZATION, format!("Bearer {bearer}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("req");
        let res = crate::hub::router(state.clone())
            .oneshot(req)
            .await
            .expect("infallible");
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .expect("body");
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    #[tokio::test]
    async fn the_token_the_api_hands_out_lives_five_minutes_for_its_bearer() {
        let dir = tempfile::tempdir().expect("tmp");
        let (state, claims, bearer) = hub(dir.path(), "parachute:host:auth");
        let set = json!({"newPin": "4242"});
        assert_eq!(
            post(&state, "/api/step-up/pin", &bearer, set).await.0,
            StatusCode::OK
        );
        let (status, v) = post(&state, "/api/step-up", &bearer, json!({"pin": "4242"})).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(
            v["expires_at"],
            crate::clock::date(T0 + rules::TOKEN_TTL_SECS)
        );
        let token = v["token"].as_str().expect("token").to_string();
        let me = Holder::bearer(&claims);
        assert_eq!(require(&state, &me, Some(&token)), Ok(()));
        state.clock().advance(rules::TOKEN_TTL_SECS - 1);
        assert_eq!(require(&state, &me, Some(&token)), Ok(()), "still fresh");
        state.clock().advance(1);
        let refused = require(&state, &me, Some(&token)).err().map(|e| e.reason);
        assert_eq!(refused, Some(Reason::Token), "five minutes on");
    }

    #[tokio::test]
    async fn an_everyday_bearer_may_not_spend_the_users_pin_attempts() {
        let dir = tempfile::tempdir().expect("tmp");
        let (state, _, bearer) = hub(dir.path(), "vault:work:read");
        let (status, v) = post(&state, "/api/step-up", &bearer, json!({"pin": "4242"})).await;
        assert_eq!(
            (status, v["error"].as_str()),
            (StatusCode::FORBIDDEN, Some("insufficient_scope"))
        );
    }
}
