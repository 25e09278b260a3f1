//! The answer when a module does not answer: it names the service, what
//! went wrong and the commands that fix it — an HTML page for a browser
//! navigation, `{"error": ...}` for everything else. 502 with
//! `Retry-After`: the module may be starting or restarting. The on-demand
//! answers live here too: "starting…" (503, reloads itself), a failed
//! start (502 with the unit's state and last log lines) and a disabled
//! module (503, no retry helps until it is enabled).

use askama::Template;
use askama_web::WebTemplate;
use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use std::time::Duration;

pub use super::book::Failure;
use crate::hub::pages;
use crate::lifecycle::UnitState;
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

/// `inactive (dead), result exit-code`.
fn describe_unit(active: &str, sub: &str, result: &str) -> String {
    let mut s = if active.is_empty() {
        "unknown".to_string()
    } else {
        active.to_string()
    };
    if !sub.is_empty() && sub != active {
        s = format!("{s} ({sub})");
    }
    if !result.is_empty() {
        s = format!("{s}, result {result}");
    }
    s
}

/// The failed-start page a browser gets.
#[derive(Template, WebTemplate)]
#[template(path = "proxy/failed.html")]
struct Failed<'a> {
    short: &'a str,
    headline: &'a str,
    message: &'a str,
    unit: &'a str,
    unit_state: &'a str,
    log: &'a [String],
    fix: &'a [String],
}

/// What the on-demand answers say, whichever the format.
struct Answer<'a> {
    status: StatusCode,
    service: &'a str,
    headline: &'a str,
    message: String,
    unit_state: String,
    state: serde_json::Value,
    log: &'a [String],
    fix: Vec<String>,
    retry_after: Option<Duration>,
}

fn render(request: &HeaderMap, a: &Answer<'_>) -> Response {
    let short = short_name(a.service);
    let unit = crate::manifest::unit_name(a.service);
    let mut r = if wants_html(request) {
        pages::kit::page(
            a.status,
            Failed {
                short,
                headline: a.headline,
                message: &a.message,
                unit: &unit,
                unit_state: &a.unit_state,
                log: a.log,
                fix: &a.fix,
            },
        )
    } else {
        (
            a.status,
            Json(json!({
                "error": a.message,
                "service": a.service,
                "unit": a.state,
                "log": a.log,
                "fix": a.fix,
            })),
        )
            .into_response()
    };
    if let Some(after) = a.retry_after {
        let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
        if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    r
}

fn fixes(short: &str) -> Vec<String> {
    vec![
        format!("parachute start {short}"),
        format!("parachute logs {short}"),
    ]
}

/// A start on demand failed: 502, with `Retry-After` when a new attempt
/// will be made then (`retry_after`).
pub fn failed(request: &HeaderMap, f: &Failure, retry_after: Option<Duration>) -> Response {
    let message = format!("`{}` {} ({})", f.service, f.headline, f.why);
    render(
        request,
        &Answer {
            status: StatusCode::BAD_GATEWAY,
            service: &f.service,
            headline: &f.headline,
            message,
            unit_state: describe_unit(&f.active_state, &f.sub_state, &f.result),
            state: json!({"activeState": f.active_state, "subState": f.sub_state, "result": f.result}),
            log: &f.log,
            fix: fixes(short_name(&f.service)),
            retry_after,
        },
    )
}

/// The module's unit is disabled: the hub does not start it. 503 without
/// `Retry-After`, since only the operator can change that.
pub fn disabled(request: &HeaderMap, service: &str, unit: &UnitState) -> Response {
    let short = short_name(service);
    let message = format!(
        "`{service}` is disabled, so the hub does not start it on demand; enable it (`parachute enable {short}`) or start it for now (`parachute start {short}`)"
    );
    let mut fix = vec![format!("parachute enable {short}")];
    fix.extend(fixes(short));
    render(
        request,
        &Answer {
            status: StatusCode::SERVICE_UNAVAILABLE,
            service,
            headline: "is disabled",
            message,
            unit_state: describe_unit(&unit.active_state, &unit.sub_state, &unit.result),
            state: json!({"activeState": unit.active_state, "subState": unit.sub_state, "result": unit.result, "enabled": unit.unit_file_state}),
            log: &[],
            fix,
            retry_after: None,
        },
    )
}

/// The page a browser gets while its module starts.
#[derive(Template, WebTemplate)]
#[template(path = "proxy/starting.html")]
struct Starting<'a> {
    short: &'a str,
    service: &'a str,
    refresh: u64,
}

/// Seconds between the "starting" page's reloads.
const STARTING_REFRESH: u64 = 1;

/// "starting <svc>…": 503 with `Retry-After`, and the page reloads itself.
pub fn starting(service: &str) -> Response {
    let mut r = pages::kit::page(
        StatusCode::SERVICE_UNAVAILABLE,
        Starting {
            short: short_name(service),
            service,
            refresh: STARTING_REFRESH,
        },
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(STARTING_REFRESH));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    use crate::manifest::Row;

    fn row() -> Row {
        Row::from_value(&json!({"name":"parachute-notes","port":1942,"paths":["/notes"],"health":"/notes/health","version":"1"}))
            .expect("row")
    }

    async fn json_of(r: Response) -> Value {
        let body = axum::body::to_bytes(r.into_body(), 1 << 20)
            .await
            .expect("body");
        serde_json::from_slice(&body).expect("json")
    }

    #[tokio::test]
    async fn a_failed_start_names_the_unit_its_log_and_the_fixes() {
        let unit = UnitState {
            active_state: "failed".into(),
            sub_state: "failed".into(),
            result: "exit-code".into(),
            ..UnitState::default()
        };
        let f = Failure::new(
            &row(),
            unit,
            "the process exited".into(),
            vec!["boom".into()],
        );
        let r = failed(&HeaderMap::new(), &f, Some(Duration::from_millis(4200)));
        assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(r.headers()[header::RETRY_AFTER], "5", "rounded up");
        let j = json_of(r).await;
        assert_eq!(
            j["error"],
            "`parachute-notes` failed to start (the process exited)"
        );
        assert_eq!(j["unit"]["result"], "exit-code");
        assert_eq!(j["log"], json!(["boom"]));
        assert_eq!(
            j["fix"],
            json!(["parachute start notes", "parachute logs notes"])
        );
    }

    #[tokio::test]
    async fn a_disabled_module_is_503_without_a_retry_and_a_starting_page_reloads() {
        let unit = UnitState {
            active_state: "inactive".into(),
            unit_file_state: "disabled".into(),
            ..UnitState::default()
        };
        let r = disabled(&HeaderMap::new(), "parachute-notes", &unit);
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(r.headers().get(header::RETRY_AFTER).is_none());
        assert_eq!(json_of(r).await["unit"]["enabled"], "disabled");
        let r = starting("parachute-notes");
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()[header::RETRY_AFTER], "1");
        let body = axum::body::to_bytes(r.into_body(), 1 << 20)
            .await
            .expect("body");
        let html = String::from_utf8_lossy(&body);
        assert!(
            html.contains("<meta http-equiv=\"refresh\" content=\"1\">"),
            "{html}"
        );
        assert!(html.contains("starting notes…"), "{html}");
    }
}
