//! Signing in, both steps in one place: `/login` (the password form,
//! [`password`]), `/login/2fa` (the second factor for users with TOTP on,
//! [`second_factor`]) and `/logout`. The rules — rate limits before the
//! argon2 verify, lockout, the pending login between the steps, judging a
//! code once — are `identity::login`; these handlers read the form, call it
//! and answer with a page. Either step ends in [`finish`]: a fresh session
//! replacing the request's old one (rotation at login) and a redirect to
//! `next`.

mod password;
mod second_factor;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use crate::hub::pages::PageError;
use crate::hub::pages::extract::{PageForm, check_csrf};
use crate::hub::pages::see_other;
use crate::hub::session::{self, with_cookie};
use crate::hub::state::HubState;
use crate::oauth::safe_return_path;

/// Where to go after login when `next` is missing or unsafe.
pub const DEFAULT_NEXT: &str = "/";
/// The cookie naming a pending (second-factor) login; scoped to `/login`.
pub const PENDING_COOKIE: &str = "parachute_hub_pending_login";
/// Where a pending login continues.
pub const SECOND_FACTOR_PATH: &str = "/login/2fa";

/// The routes of signing in and out.
pub fn routes() -> Router<HubState> {
    Router::new()
        .route("/login", get(password::show).post(password::submit))
        .route(
            SECOND_FACTOR_PATH,
            get(second_factor::show).post(second_factor::submit),
        )
        .route("/logout", post(logout))
}

/// A `next` that is safe to redirect to.
pub fn sanitize_next(next: Option<&str>) -> String {
    next.filter(|n| safe_return_path(n))
        .unwrap_or(DEFAULT_NEXT)
        .to_string()
}

/// The `Set-Cookie` that forgets the pending login.
fn clear_pending(state: &HubState) -> axum::http::HeaderValue {
    session::clear_cookie(PENDING_COOKIE, "/login", session::secure(state))
}

/// Finish a sign-in for `user_id`: a fresh session replacing the request's
/// old one, the pending-login cookie cleared, and a redirect to `next`
/// (already sanitized).
fn finish(
    state: &HubState,
    headers: &HeaderMap,
    user_id: &str,
    next: &str,
) -> Result<Response, PageError> {
    let previous = session::cookie(headers, session::COOKIE_NAME);
    let cookie = session::start(state, user_id, previous, state.clock().now())?;
    tracing::info!(user_id, "signed in");
    let r = with_cookie(see_other(next), cookie);
    Ok(if session::cookie(headers, PENDING_COOKIE).is_some() {
        with_cookie(r, clear_pending(state))
    } else {
        r
    })
}

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(rename = "__csrf", default)]
    csrf: String,
}

/// `POST /logout`: end the session, back to `/login`.
async fn logout(
    State(state): State<HubState>,
    headers: HeaderMap,
    PageForm(f): PageForm<LogoutForm>,
) -> Result<Response, PageError> {
    check_csrf(&state, &headers, &f.csrf, "Sign-out refused")?;
    let cookie = session::end(&state, &headers)?;
    Ok(with_cookie(see_other("/login"), cookie))
}
