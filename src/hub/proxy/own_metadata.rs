//! A vault module's own RFC 9728 document under its prefix
//! (`/vault/<name>/.well-known/oauth-protected-resource`, issue 11): the
//! hub owns that route so every vault has one, but when the module behind
//! the prefix serves its own, that one is what clients get.
//!
//! Discovery never starts a module: a stopped one gets the hub's document
//! (an MCP client probing metadata is not using the vault yet). And only
//! a real document counts — a `200` `application/json` object with a
//! `resource` member — not a catch-all page or an echo.

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::response::Response;

use super::Start;
use crate::hub::state::HubState;

/// Largest document read from a module (RFC 9728 documents are a few
/// hundred bytes); a bigger body is not taken as one.
const MAX_DOCUMENT: usize = 64 * 1024;
/// How long the module has to send the whole document.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The module's own document for `req`, if a module is routed there, is
/// running, and answers it with a document; `None` lets the hub answer
/// with its own.
pub async fn from_module(state: &HubState, req: Request) -> Option<Response> {
    if req.method() != Method::GET {
        return None;
    }
    let route = state.registry().view().route(req.uri().path())?.clone();
    if !super::on_demand::running(state, &route).await {
        return None;
    }
    document(super::through(state, req, Start::Never).await).await
}

/// `res`, if it is a protected-resource document.
async fn document(res: Response) -> Option<Response> {
    let json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    if res.status() != StatusCode::OK || !json {
        return None;
    }
    let (parts, body) = res.into_parts();
    let read = axum::body::to_bytes(body, MAX_DOCUMENT);
    let bytes = tokio::time::timeout(READ_TIMEOUT, read).await.ok()?.ok()?;
    let doc: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    doc.get("resource")?.as_str()?;
    Some(Response::from_parts(parts, Body::from(bytes)))
}
