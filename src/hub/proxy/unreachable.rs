//! The answer when a module does not answer: it names the service, what
//! went wrong and the commands that fix it — an HTML page for a browser
//! navigation, `{"error": ...}` for everything else. 502 with
//! `Retry-After`: the module may be starting or restarting.

use askama::Template;
use askama_web::WebTemplate;
use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::hub::pages;
use crate::manifest::short_name;

/// The page a browser gets.
#[derive(Template, WebTemplate)]
#[template(path = "proxy/unreachable.html")]
struct Unreachable<'a> {
    short: &'a str,
    message: &'a str,
    start: &'a str,
    logs: &'a str,
}

/// Seconds a client is told to wait before trying again.
const RETRY_AFTER: &str = "5";

/// The module behind `service` on `port` could not be reached (`why`).
pub fn response(html: bool, service: &str, port: u16, why: &str) -> Response {
    let short = short_name(service);
    let start = format!("parachute start {short}");
    let logs = format!("parachute logs {short}");
    let message = format!("`{service}` is not answering on port {port} ({why})");
    let mut r = if html {
        pages::kit::page(
            StatusCode::BAD_GATEWAY,
            Unreachable {
                short,
                message: &message,
                start: &start,
                logs: &logs,
            },
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
pub fn wants_html(h: &HeaderMap) -> bool {
    h.get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.split(',').any(|t| t.trim().starts_with("text/html")))
}
