//! `/login` (password form) and `/logout`. Every password guess passes two
//! stored rate limits (seed 001): a per-IP ceiling and a per IP + username
//! floor. A good password starts a fresh session (the previous one is
//! deleted: rotation at login), unless the user has a second factor: then a
//! short-lived pending login is recorded and the browser goes to
//! `/login/2fa`, whose handler finishes with [`complete`].

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use rusqlite::Connection;
use serde::Deserialize;

use super::{csrf_refusal, document, escape, html, see_other};
use crate::hub::csrf;
use crate::hub::error::ApiError;
use crate::hub::ratelimit::{self, ClientIp};
use crate::hub::session::{self, MaybeSession, with_cookie};
use crate::hub::state::HubState;
use crate::identity::lockout;
use crate::identity::password::{self, Password};
use crate::oauth::safe_return_path;
use crate::secret::random_token;
use crate::store;

/// Where to go after login when `next` is missing or unsafe.
pub const DEFAULT_NEXT: &str = "/";
/// The cookie naming a pending (second-factor) login; scoped to `/login`.
pub const PENDING_COOKIE: &str = "parachute_hub_pending_login";
pub const PENDING_TTL_SECS: i64 = 5 * 60;
/// Longest username `/login` reads (bytes, before trimming); valid names
/// are at most 32 (`auth::check_username`), the slack is for whitespace.
pub const MAX_USERNAME_INPUT: usize = 64;
/// Where a pending login continues.
pub const SECOND_FACTOR_PATH: &str = "/login/2fa";

/// A `next` that is safe to redirect to.
pub fn sanitize_next(next: Option<&str>) -> String {
    next.filter(|n| safe_return_path(n))
        .unwrap_or(DEFAULT_NEXT)
        .to_string()
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

fn form(csrf_value: &str, next: &str, username: &str, error: Option<&str>) -> String {
    let error = error.map_or_else(String::new, |e| {
        format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e))
    });
    document(
        "Sign in",
        &format!(
            "<h1>Sign in to Parachute</h1>{error}\
<form method=\"post\" action=\"/login\">\
<input type=\"hidden\" name=\"{field}\" value=\"{csrf}\">\
<input type=\"hidden\" name=\"next\" value=\"{next}\">\
<label for=\"username\">Username</label><input type=\"text\" id=\"username\" name=\"username\" autocomplete=\"username\" value=\"{user}\" required autofocus>\
<label for=\"password\">Password</label><input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
<button type=\"submit\">Sign in</button></form>",
            field = csrf::FIELD,
            csrf = escape(csrf_value),
            next = escape(next),
            user = escape(username),
        ),
    )
}

fn render(
    state: &HubState,
    headers: &HeaderMap,
    status: StatusCode,
    next: &str,
    username: &str,
    error: Option<&str>,
) -> Response {
    let token = csrf::token(state, headers);
    let r = html(status, form(&token.value, next, username, error));
    match token.set_cookie {
        Some(c) => with_cookie(r, c),
        None => r,
    }
}

/// `GET /login`: the form (or straight on when already signed in).
pub async fn show(
    State(state): State<HubState>,
    MaybeSession(session): MaybeSession,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Response {
    let next = sanitize_next(q.next.as_deref());
    if session.is_some() {
        return see_other(&next);
    }
    render(&state, &headers, StatusCode::OK, &next, "", None)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
    #[serde(rename = "__csrf", default)]
    csrf: String,
}

// 2FA: `two_factor.rs` replaces this body with its own check (TOTP enrolled
// for `user_id`); everything after it — the pending-login record, its
// cookie and the redirect to `/login/2fa` — is already wired below.
fn needs_second_factor(conn: &Connection, user_id: &str) -> rusqlite::Result<bool> {
    super::two_factor::needs_second_factor(conn, user_id)
}

/// `POST /login`.
pub async fn submit(
    State(state): State<HubState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Result<Response, ApiError> {
    let next = sanitize_next(f.next.as_deref());
    if let Some(r) = csrf_refusal(&state, &headers, &f.csrf, "Sign-in refused") {
        return Ok(r);
    }
    if f.username.len() > MAX_USERNAME_INPUT {
        // No valid name is this long: refused before anything is recorded.
        return Ok(render(
            &state,
            &headers,
            StatusCode::BAD_REQUEST,
            &next,
            "",
            Some("That username is too long."),
        ));
    }
    let username = lockout::normalise(&f.username);
    let now = crate::tokens::now();
    if let Some(refused) = guess_limits(&state, &headers, &next, &ip, &username, now)? {
        return Ok(refused);
    }
    if f.password.len() > password::MAX_LEN {
        return Ok(render(
            &state,
            &headers,
            StatusCode::PAYLOAD_TOO_LARGE,
            &next,
            &username,
            Some("That password is too long."),
        ));
    }
    let user = {
        let conn = state
            .store()
            .conn()
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        store::users::by_username(&conn, &username).map_err(ApiError::internal)?
    };
    // Unknown users cost the same argon2 work as known ones.
    let phc = user
        .as_ref()
        .map_or_else(|| DUMMY_HASH.to_string(), |u| u.password_hash.clone());
    let ok = password::verify_off_thread(Password::new(f.password), phc).await && user.is_some();
    let Some(user) = user.filter(|_| ok) else {
        tracing::info!(%ip, "sign-in failed");
        return Ok(render(
            &state,
            &headers,
            StatusCode::UNAUTHORIZED,
            &next,
            &username,
            Some("Wrong username or password."),
        ));
    };
    // The right password ends the guessing: a person who signs in often
    // must not lock themselves out. The per-IP ceiling still counts it.
    ratelimit::clear(
        &state,
        ratelimit::LOGIN,
        &lockout::ip_user_key(&ip, &username),
    )?;
    ratelimit::clear(&state, ratelimit::LOGIN_USER, &lockout::user_key(&username))?;
    let second = {
        let conn = state
            .store()
            .conn()
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        needs_second_factor(&conn, &user.id).map_err(ApiError::internal)?
    };
    if second {
        let id = random_token();
        let store = state.store();
        store
            .write(|tx| {
                store::sessions::create_pending(tx, &id, &user.id, &next, now, PENDING_TTL_SECS)
                    .map_err(|e| store.err(e))
            })
            .map_err(ApiError::internal)?;
        let cookie = session::set_cookie(
            PENDING_COOKIE,
            &id,
            PENDING_TTL_SECS,
            "/login",
            session::secure(&state),
        );
        return Ok(with_cookie(see_other(SECOND_FACTOR_PATH), cookie));
    }
    complete(&state, &headers, &user.id, &next, now)
}

/// Count one password guess: the per-IP ceiling first, then the per IP +
/// username floor, then the account's own bucket (keys hold hashes, never
/// the typed name). The refusal page when one is full.
fn guess_limits(
    state: &HubState,
    headers: &HeaderMap,
    next: &str,
    ip: &str,
    username: &str,
    now: i64,
) -> Result<Option<Response>, ApiError> {
    for (limit, key) in [
        (ratelimit::LOGIN_IP, ip.to_string()),
        (ratelimit::LOGIN, lockout::ip_user_key(ip, username)),
        (ratelimit::LOGIN_USER, lockout::user_key(username)),
    ] {
        if let Err(limited) = ratelimit::check(state, limit, &key, now)? {
            let msg = format!(
                "Too many sign-in attempts. Try again in {} seconds.",
                limited.retry_after
            );
            let mut r = render(
                state,
                headers,
                StatusCode::TOO_MANY_REQUESTS,
                next,
                username,
                Some(&msg),
            );
            let (k, v) = limited.header();
            r.headers_mut().insert(k, v);
            return Ok(Some(r));
        }
    }
    Ok(None)
}

/// Finish a login for `user_id`: a fresh session replacing the request's
/// old one, and a redirect to `next` (already sanitized). Called by the
/// password step and by the second-factor step.
pub fn complete(
    state: &HubState,
    headers: &HeaderMap,
    user_id: &str,
    next: &str,
    now: i64,
) -> Result<Response, ApiError> {
    let previous = session::cookie(headers, session::COOKIE_NAME);
    let cookie = session::start(state, user_id, previous, now)?;
    tracing::info!(user_id, "signed in");
    let r = with_cookie(see_other(next), cookie);
    Ok(if session::cookie(headers, PENDING_COOKIE).is_some() {
        with_cookie(
            r,
            session::clear_cookie(PENDING_COOKIE, "/login", session::secure(state)),
        )
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
pub async fn logout(
    State(state): State<HubState>,
    headers: HeaderMap,
    Form(f): Form<LogoutForm>,
) -> Result<Response, ApiError> {
    if let Some(r) = csrf_refusal(&state, &headers, &f.csrf, "Sign-out refused") {
        return Ok(r);
    }
    let cookie = session::end(&state, &headers)?;
    Ok(with_cookie(see_other("/login"), cookie))
}

/// A valid argon2id PHC string of a random password nobody knows, so an
/// unknown username costs a real verification.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2t6e6nBYvQ0pNGSf1fHo4Gb6mL9l3oQm3b0bBTYhqZ0";
