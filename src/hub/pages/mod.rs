//! Server-rendered pages: plain HTML forms, no JavaScript, from the
//! templates in `templates/` through the kit in [`kit`]. Every form carries
//! the CSRF token (`hub::csrf`); every page refuses framing and is not
//! cached; a failure is an HTML page ([`PageError`]). Sign-in is
//! `hub::login`; the account pages are [`account`].

pub mod account;
pub mod admin;
pub mod error;
pub mod extract;
pub mod kit;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

pub use self::error::PageError;
use super::state::HubState;

/// The routes of the account pages.
pub fn routes() -> Router<HubState> {
    Router::new()
        .route("/account", get(account::show))
        .route("/account/password", post(account::change_password))
        .route("/account/2fa/enroll", post(account::enroll))
        .route("/account/2fa/confirm", post(account::confirm))
        .route("/account/2fa/disable", post(account::disable))
        .route("/account/tokens/revoke", post(account::revoke_token))
        .route(
            "/account/tokens/rotate-operator",
            post(account::rotate_operator),
        )
        .route("/account/grants/revoke", post(account::revoke_grant))
        .merge(admin::routes())
}

/// An already rendered page at `status`: not cached, not frameable.
pub fn html(status: StatusCode, page: String) -> Response {
    kit::secure((status, Html(page)).into_response())
}

/// Let a page's form POST end in a redirect to `redirect_uri` (the consent
/// page: its POST answers with a 303 to the app). Browsers apply CSP
/// `form-action` to the redirect too — Chromium blocks it under `'self'` —
/// so the page names the target's origin (or, for a native app's private
/// scheme, the scheme). Anything odd keeps the strict policy.
pub fn allow_form_redirect_to(mut r: Response, redirect_uri: &str) -> Response {
    let source = match redirect_uri.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
            format!("{scheme}://{host}")
        }
        None => redirect_uri
            .split_once(':')
            .map(|(scheme, _)| format!("{scheme}:"))
            .unwrap_or_default(),
    };
    let plain = !source.is_empty()
        && source
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-+:/[]".contains(&b));
    if plain {
        let csp = format!(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' {source}; frame-ancestors 'none'; base-uri 'none'"
        );
        if let Ok(v) = HeaderValue::from_str(&csp) {
            r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
        }
    }
    r
}

/// A page that only says what went wrong.
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    kit::page(
        status,
        error::ErrorPage {
            title,
            message: message.to_string(),
        },
    )
}

/// The CSRF check a form POST starts with: `Some` is the 403 page, titled
/// `refused`, to answer with instead. (`Option`, not `Result`: a `Response`
/// is too large an error for clippy.)
pub fn csrf_refusal(
    state: &HubState,
    headers: &HeaderMap,
    submitted: &str,
    refused: &'static str,
) -> Option<Response> {
    extract::check_csrf(state, headers, submitted, refused)
        .err()
        .map(IntoResponse::into_response)
}

/// A 303 to a local path or URL.
/// Read what a page shows from the store at the hub's `now`: 503 when no
/// connection can be had (the store is busy or gone) or the read found it
/// busy, 500 when the read itself fails. Every page reads through this, so
/// the two stay apart.
pub fn read<T, E: Into<PageError>>(
    state: &HubState,
    f: impl FnOnce(&rusqlite::Connection, i64) -> Result<T, E>,
) -> Result<T, PageError> {
    let conn = state.store().conn().map_err(PageError::unavailable)?;
    f(&conn, state.clock().now()).map_err(Into::into)
}

pub fn see_other(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
