//! A vault module's own RFC 9728 document under its prefix
//! (`/vault/<name>/.well-known/oauth-protected-resource`, issue 11): the
//! hub owns that route so every vault has one, but when the module behind
//! the prefix serves its own, that one is what clients get.

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::Response;

use crate::hub::state::HubState;

/// The module's own document for `req`, if a module is routed there and
/// answers it with a 200 JSON document (a catch-all page is not one);
/// `None` lets the hub answer with its own.
pub async fn from_module(state: &HubState, req: Request) -> Option<Response> {
    if req.method() != Method::GET {
        return None;
    }
    state.registry().view().route(req.uri().path())?;
    let res = super::forward(State(state.clone()), req).await;
    let json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    (res.status() == StatusCode::OK && json).then_some(res)
}
