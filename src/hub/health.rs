//! `GET /health` (liveness plus the store's state) and `GET /api/ready`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::SERVICE;
use super::state::HubState;

fn no_store(status: StatusCode, body: serde_json::Value) -> Response {
    let mut r = (status, Json(body)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// `{"status":"ok","service":"parachute-hub","version":…,"db":"ok"}`, or
/// 503 with `db` naming the fault (missing, replaced, corrupt, error: …).
pub async fn health(State(s): State<HubState>) -> Response {
    let (status, state, db) = match s.store_check() {
        Ok(()) => (StatusCode::OK, "ok", "ok".to_string()),
        Err(fault) => (StatusCode::SERVICE_UNAVAILABLE, "error", fault),
    };
    no_store(
        status,
        json!({
            "status": state,
            "service": SERVICE,
            "version": crate::version::VERSION,
            "db": db,
        }),
    )
}

/// Whether the hub can serve requests that need its store. Module
/// readiness (the upstream `ready_modules` lists) is not tracked yet; the
/// lists are present and empty so clients can parse the shape.
pub async fn ready(State(s): State<HubState>) -> Response {
    let check = s.store_check();
    let status = if check.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    no_store(
        status,
        json!({
            "ready": check.is_ok(),
            "db": check.err().unwrap_or_else(|| "ok".into()),
            "uptime_seconds": s.uptime().as_secs(),
            "ready_modules": [],
            "transient_modules": [],
            "persistent_modules": [],
        }),
    )
}
