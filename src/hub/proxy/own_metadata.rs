//! A vault module's own RFC 9728 document under its prefix
//! (`/vault/<name>/.well-known/oauth-protected-resource`, issue 11): the
//! hub owns that route so every vault has one, but when the module behind
//! the prefix serves its own, that one is what clients get.

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;

use crate::hub::state::HubState;

/// The module's own document for `req`, if a module is routed there and
/// answers it with 200; `None` lets the hub answer with its own.
pub async fn from_module(state: &HubState, req: Request) -> Option<Response> {
    if req.method() != Method::GET {
        return None;
    }
    state.registry().view().route(req.uri().path())?;
    let res = super::forward(State(state.clone()), req).await;
    (res.status() == StatusCode::OK).then_some(res)
}
