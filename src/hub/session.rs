//! Server-side sessions: the cookie `parachute_hub_session` holds 32 random
//! bytes; the store keeps only their SHA-256. `HttpOnly`, `SameSite=Lax`, `Path=/`,
//! Secure when the hub's origin is https. A login always starts a new
//! session (the old one is deleted), so a session id planted before login is
//! worthless after it.

use axum::extract::FromRequestParts;
use axum::http::header::{COOKIE, HeaderMap};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::Response;

use super::error::ApiError;
use crate::hub::state::HubState;
use crate::secret::random_token;
use crate::store::{self, users::User};

pub const COOKIE_NAME: &str = "parachute_hub_session";
pub const TTL_SECS: i64 = 30 * 86_400;

/// The value of cookie `name` in the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v)
        })
        .filter(|v| !v.is_empty())
}

/// Cookies get `Secure` when the hub is served over https.
pub fn secure(state: &HubState) -> bool {
    state.issuers().primary().starts_with("https://")
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Lax`.
pub fn set_cookie(name: &str, value: &str, max_age: i64, path: &str, secure: bool) -> HeaderValue {
    let s = format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A `Set-Cookie` value that deletes the cookie.
pub fn clear_cookie(name: &str, path: &str, secure: bool) -> HeaderValue {
    set_cookie(name, "", 0, path, secure)
}

/// Add a `Set-Cookie` to a response.
pub fn with_cookie(mut r: Response, cookie: HeaderValue) -> Response {
    r.headers_mut().append(header::SET_COOKIE, cookie);
    r
}

/// The signed-in user of the request.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session_id: String,
    pub user: User,
    /// The hub's first user, who holds every scope.
    pub is_owner: bool,
}

/// The request's session, if it has a live one.
#[derive(Debug, Clone)]
pub struct MaybeSession(pub Option<SignedIn>);

impl FromRequestParts<HubState> for MaybeSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &HubState) -> Result<Self, ApiError> {
        let Some(id) = cookie(&parts.headers, COOKIE_NAME) else {
            return Ok(Self(None));
        };
        let conn = state.store().conn().map_err(ApiError::unavailable)?;
        let now = state.clock().now();
        let Some(user_id) = store::sessions::user_of(&conn, id, now).map_err(ApiError::from)?
        else {
            return Ok(Self(None));
        };
        let user = store::users::by_id(&conn, &user_id).map_err(ApiError::from)?;
        let owner = store::users::owner(&conn).map_err(ApiError::from)?;
        Ok(Self(user.map(|user| SignedIn {
            session_id: id.to_string(),
            is_owner: owner.is_some_and(|o| o.id == user.id),
            user,
        })))
    }
}

/// Start a session for `user_id`, ending `previous` (rotation at login);
/// the `Set-Cookie` to send.
pub fn start(
    state: &HubState,
    user_id: &str,
    previous: Option<&str>,
    now: i64,
) -> Result<HeaderValue, ApiError> {
    let id = random_token();
    let store = state.store();
    store
        .write(|tx| {
            if let Some(old) = previous {
                store::sessions::delete(tx, old).map_err(|e| store.err(e))?;
            }
            store::sessions::create(tx, &id, user_id, now, TTL_SECS).map_err(|e| store.err(e))
        })
        .map_err(ApiError::from)?;
    Ok(set_cookie(COOKIE_NAME, &id, TTL_SECS, "/", secure(state)))
}

/// End the request's session (if any); the `Set-Cookie` that clears it.
pub fn end(state: &HubState, headers: &HeaderMap) -> Result<HeaderValue, ApiError> {
    if let Some(id) = cookie(headers, COOKIE_NAME) {
        let store = state.store();
        store
            .write(|tx| store::sessions::delete(tx, id).map_err(|e| store.err(e)))
            .map_err(ApiError::from)?;
    }
    Ok(clear_cookie(COOKIE_NAME, "/", secure(state)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_several_headers() {
        let mut h = HeaderMap::new();
        h.append(
            COOKIE,
            HeaderValue::from_static("a=1; parachute_hub_session=abc"),
        );
        h.append(COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(cookie(&h, COOKIE_NAME), Some("abc"));
        assert_eq!(cookie(&h, "b"), Some("2"));
        assert_eq!(cookie(&h, "c"), None);
        let c = set_cookie("n", "v", 60, "/", true);
        assert_eq!(
            c.to_str().expect("ascii"),
            "n=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure"
        );
    }
}
