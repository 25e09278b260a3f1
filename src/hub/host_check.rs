//! The middleware that applies [`Edge::host_allowed`] to every request:
//! kept apart from `edge` so the settings know nothing of the state that
//! holds them.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::edge::Edge;
use super::error::ApiError;
use super::state::HubState;

/// A request naming a foreign `Host` is refused with 421 (Misdirected
/// Request) before any handler sees it. A request without any `Host`
/// (HTTP/1.0, in-process tests) cannot come from a rebinding browser and
/// passes.
pub async fn host_check(State(state): State<HubState>, req: Request, next: Next) -> Response {
    match refusal(&state, req.headers(), req.uri()) {
        Some(refused) => refused,
        None => next.run(req).await,
    }
}

/// The 421 for a request naming a foreign `Host`, or `None` to go on (the
/// check itself, for [`crate::hub::front`]'s requests that skip the router).
pub fn refusal(state: &HubState, headers: &HeaderMap, uri: &Uri) -> Option<Response> {
    // Borrowed, not copied: this runs on every request, proxied ones too.
    let host = headers
        .get(header::HOST)
        .map(|v| v.to_str().unwrap_or("\u{0}"))
        .or_else(|| uri.authority().map(axum::http::uri::Authority::as_str));
    let edge: &Edge = state.edge();
    let h = host?;
    if edge.host_allowed(h, state.issuers().accepted()) {
        return None;
    }
    tracing::warn!(host = %h.escape_debug(), "request for a foreign Host refused (421)");
    Some(ApiError::MisdirectedHost.into_response())
}
