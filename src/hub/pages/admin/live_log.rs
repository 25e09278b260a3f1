//! The live log view of a service's page: `assets/live-log.js`, served at
//! [`SCRIPT_PATH`] from the binary, and the one policy that lets the page
//! run it. Every other page keeps the kit's no-script CSP; this one adds
//! `script-src 'self'` (the file, nothing inline) and `connect-src 'self'`
//! (the ticket mint and the event stream, `hub::sse_ticket` and
//! `hub::log_stream`).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

pub const SCRIPT_PATH: &str = "/admin/assets/live-log.js";
const SCRIPT: &str = include_str!("../../../../assets/live-log.js");

/// The service page's policy: the kit's, plus the script and its requests.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// `GET /admin/assets/live-log.js`.
pub async fn script() -> Response {
    let mut r = SCRIPT.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// Let a page run the live view (see [`CSP`]).
pub fn allow(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    r
}
