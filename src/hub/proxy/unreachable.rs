//! The answer when a module does not answer: it names the service, what
//! went wrong and the commands that fix it — an HTML page for a browser
//! navigation, `{"error": ...}` for everything else. 502 with
//! `Retry-After`: the module may be starting or restarting.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::hub::pages;
use crate::manifest::short_name;

/// Seconds a client is told to wait before trying again.
const RETRY_AFTER: &str = "5";

/// The module behind `service` on `port` could not be reached (`why`).
pub fn response(request: &HeaderMap, service: &str, port: u16, why: &str) -> Response {
    let short = short_name(service);
    let start = format!("parachute start {short}");
    let logs = format!("parachute logs {short}");
    let message = format!("`{service}` is not answering on port {port} ({why})");
    let mut r = if wants_html(request) {
        let body = format!(
            "<h1>{title}</h1><p class=\"error\">{message}</p>\
<p>Start it with <code>{start}</code>; see why it stopped with <code>{logs}</code>.</p>",
            title = pages::escape(&format!("{short} is not running")),
            message = pages::escape(&message),
            start = pages::escape(&start),
            logs = pages::escape(&logs),
        );
        pages::html(
            StatusCode::BAD_GATEWAY,
            pages::document(&format!("{short} is not running"), &body),
        )
    } else {
        (
            StatusCode::BAD_GATEWAY,
            Json(json!({
                "error": message,
                "service": service,
                "fix": [start, logs],
            })),
        )
            .into_response()
    };
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER));
    r
}

/// A browser navigation: it asks for HTML first-class.
fn wants_html(h: &HeaderMap) -> bool {
    h.get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.split(',').any(|t| t.trim().starts_with("text/html")))
}
