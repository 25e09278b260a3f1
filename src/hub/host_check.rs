//! The middleware that applies [`Edge::host_allowed`] to every request:
//! kept apart from `edge` so the settings know nothing of the state that
//! holds them.

use axum::extract::{Request, State};
use axum::http::header;
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
    // Borrowed, not copied: this runs on every request, proxied ones too.
    let host = req
        .headers()
        .get(header::HOST)
        .map(|v| v.to_str().unwrap_or("\u{0}"))
        .or_else(|| {
            req.uri()
                .authority()
                .map(axum::http::uri::Authority::as_str)
        });
    let edge: &Edge = state.edge();
    if let Some(h) = host
        && !edge.host_allowed(h, state.issuers().accepted())
    {
        tracing::warn!(host = %h.escape_debug(), "request for a foreign Host refused (421)");
        return ApiError::MisdirectedHost.into_response();
    }
    next.run(req).await
}
