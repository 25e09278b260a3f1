//! Server-rendered pages: plain HTML forms, no JavaScript. Every form
//! carries the CSRF token (`hub::csrf`); every page refuses framing and is
//! not cached.

pub mod account;
pub mod login;
pub mod two_factor;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

use super::csrf;
use super::state::HubState;

/// The routes of the pages in this module.
pub fn routes() -> Router<HubState> {
    Router::new()
        .route("/login", get(login::show).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/login/2fa", get(two_factor::show).post(two_factor::submit))
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
}

/// Escape text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page around `body`.
pub fn document(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta name=\"referrer\" content=\"same-origin\">\
<title>{title} · Parachute</title>\
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}}\
label{{display:block;margin:.8rem 0 .2rem}}input[type=text],input[type=password]{{width:100%;padding:.4rem;box-sizing:border-box}}\
button{{margin-top:1rem;padding:.5rem 1rem}}.error{{color:#a00}}.risk-elevated,.risk-high{{color:#a00;font-weight:bold}}\
ul.scopes li{{margin:.5rem 0}}code{{background:#f3f3f3;padding:0 .2rem}}</style></head>\
<body>{body}</body></html>\n",
        title = escape(title)
    )
}

/// An HTML response: not cached, not frameable.
pub fn html(status: StatusCode, page: String) -> Response {
    let mut r = (status, Html(page)).into_response();
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
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
    html(
        status,
        document(
            title,
            &format!(
                "<h1>{}</h1><p class=\"error\">{}</p>",
                escape(title),
                escape(message)
            ),
        ),
    )
}

/// The CSRF check a form POST starts with: `Some` is the 403 page, titled
/// `refused`, to answer with instead. (`Option`, not `Result`: a `Response`
/// is too large an error for clippy.)
pub fn csrf_refusal(
    state: &HubState,
    headers: &HeaderMap,
    submitted: &str,
    refused: &str,
) -> Option<Response> {
    csrf::check(state, headers, submitted)
        .err()
        .map(|why| error_page(StatusCode::FORBIDDEN, refused, why.message()))
}

/// A 303 to a local path or URL.
pub fn see_other(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
