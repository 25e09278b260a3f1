//! The reverse proxy that puts every module under the hub's origin
//! (issue 11): the longest services.json prefix ([`crate::hub::registry`])
//! picks the module on `127.0.0.1:<port>`. A request under a module's
//! prefix comes straight from [`crate::hub::front`]; the router's fallback
//! is the proxy too (the JSON 404, and in-process router tests). The
//! hub's own routes always win: none lies under a module's prefix.
//!
//! Built as a small layer on hyper-util's pooled client rather than on a
//! proxy crate: hyper and hyper-util are already the hub's server, so the
//! client adds no dependency, bodies stream as hyper frames both ways (no
//! buffering; SSE events are written as they come), WebSocket upgrades are
//! hyper's own `OnUpgrade` on both sides, and the policy this hub needs —
//! hub-owned prefixes, loopback-only rows, its own forwarding headers and
//! cookie rules, the vault challenge, one retry of a replayable request —
//! is ours to state in a few functions rather than to configure around a
//! crate's defaults (axum-reverse-proxy 2.x, the candidate, routes by a
//! fixed prefix per proxy and would still need all of it).
//!
//! - [`book`]: the bookkeeping the hub's state holds (a leaf);
//! - [`headers`]: what changes in headers, both ways;
//! - [`upstream`]: the pool and the retry;
//! - [`websocket`]: splicing upgraded connections;
//! - [`challenge`]: a vault's 401 names its metadata;
//! - [`unreachable`]: the answer when a module is down;
//! - [`on_demand`]: start a stopped module for the request that needs it;
//! - [`idle`]: count each module's traffic, stop it when idle;
//! - [`own_metadata`]: a vault module's own RFC 9728 document under its prefix.

pub mod book;
mod challenge;
mod headers;
pub mod idle;
pub mod on_demand;
pub mod own_metadata;
mod single_flight;
mod unreachable;
pub mod upstream;
mod websocket;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::uri::{PathAndQuery, Scheme};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use hyper::upgrade::OnUpgrade;

pub use self::upstream::Upstream;
use crate::hub::error::ApiError;
use crate::hub::registry::Route;
use crate::hub::state::HubState;

/// The router's fallback: forward to the module whose prefix matches, or
/// the hub's JSON 404.
pub async fn forward(State(state): State<HubState>, req: Request) -> Response {
    through(&state, req, Start::OnDemand).await
}

/// Whether a request may start its module when it is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    OnDemand,
    Never,
}

/// [`forward`], starting a stopped module only when `start` allows it.
pub(crate) async fn through(state: &HubState, req: Request, start: Start) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    // The view is an `Arc`, so a reload of services.json meanwhile is not
    // held up; the route is borrowed from it for the whole request (no
    // copy of its strings).
    let view = state.registry().view();
    match view.route(req.uri().path()) {
        Some(route) => routed(state, route, peer, req, start).await,
        None => ApiError::NotFound("no such endpoint".into()).into_response(),
    }
}

/// [`through`] with the route and the peer's address already in hand.
pub(crate) async fn routed(
    state: &HubState,
    route: &Route,
    peer: Option<IpAddr>,
    req: Request,
    start: Start,
) -> Response {
    // A loopback-only row does not exist for anyone else.
    if route.loopback_only && !peer.is_some_and(|p| p.is_loopback()) {
        return ApiError::NotFound("no such endpoint".into()).into_response();
    }
    let Some(uri) = target(route, req.uri()) else {
        return ApiError::NotFound("no such endpoint".into()).into_response();
    };
    if start == Start::OnDemand
        && let Some(r) = on_demand::ensure(state, route, req.method(), req.headers()).await
    {
        return r;
    }
    send(state, route, peer, req, uri).await
}

/// Send the request to the module at `uri` and relay its answer.
async fn send(
    state: &HubState,
    route: &Route,
    peer: Option<IpAddr>,
    mut req: Request,
    uri: Uri,
) -> Response {
    let in_use = state.on_demand().uses.begin(&route.service);
    let upgrade = prepare(state, route, peer, &mut req);
    let client_upgrade = upgrade
        .then(|| req.extensions_mut().remove::<OnUpgrade>())
        .flatten();
    *req.uri_mut() = uri;
    // Decided now (the request is gone after the send), without copying
    // every header of every request for the rare failure.
    let html = unreachable::wants_html(req.headers());
    match state.upstream().send(req).await {
        Ok(res) => answer(state, route, res, client_upgrade, in_use),
        Err(e) => unanswered(state, route, html, &e),
    }
}

/// The module did not answer: say so, and look at its unit afresh next time.
fn unanswered(state: &HubState, route: &Route, html: bool, e: &upstream::SendError) -> Response {
    tracing::warn!(service = %route.service, port = route.port, error = %e, "module unreachable");
    // Stopped behind the hub's back? The next request looks afresh.
    state.on_demand().forget(&route.unit);
    let why = match e {
        upstream::SendError::Connect(_) => "nothing accepts connections there",
        upstream::SendError::Failed(_) => "the connection broke before it answered",
    };
    unreachable::response(html, &route.service, route.port, why)
}

/// The module's URI for a request: the prefix removed under
/// `stripPrefix`, the query string verbatim. Built from parts: without
/// `stripPrefix` the request's own path and query are reused as they are.
fn target(route: &Route, uri: &Uri) -> Option<Uri> {
    let path_and_query = match uri.path_and_query() {
        Some(pq) if !route.strip => pq.clone(),
        _ => {
            let path = match uri.path().get(route.prefix.len()..)? {
                "" => "/",
                rest => rest,
            };
            let pq = match uri.query() {
                Some(q) => format!("{path}?{q}"),
                None => path.to_string(),
            };
            PathAndQuery::try_from(pq).ok()?
        }
    };
    Uri::builder()
        .scheme(Scheme::HTTP)
        .authority(route.authority.clone())
        .path_and_query(path_and_query)
        .build()
        .ok()
}

/// Rewrite the request's headers for the module; returns whether it is a
/// WebSocket upgrade the route bridges.
fn prepare(state: &HubState, route: &Route, peer: Option<IpAddr>, req: &mut Request) -> bool {
    let upgrade = route
        .websocket
        .then(|| headers::upgrade_of(req.headers()))
        .flatten();
    // A clone of the value is a reference count, not a copy.
    let host = req.headers().get(header::HOST).cloned();
    let h = req.headers_mut();
    headers::strip_hop_by_hop(h);
    headers::strip_hub_cookies(h);
    let origin = headers::Origin {
        peer: peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        trusted: peer.is_some_and(|p| state.edge().trusts(p)),
        host: host.as_ref().and_then(|v| v.to_str().ok()),
    };
    headers::set_forwarded(h, &origin);
    match upgrade {
        Some(protocol) => {
            headers::restore_upgrade(h, protocol);
            true
        }
        None => false,
    }
}

/// The module's response, as the client gets it.
fn answer(
    state: &HubState,
    route: &Route,
    mut res: hyper::Response<hyper::body::Incoming>,
    client_upgrade: Option<OnUpgrade>,
    in_use: book::InUse,
) -> Response {
    let mut in_use = Some(in_use);
    let switching = res.status() == StatusCode::SWITCHING_PROTOCOLS;
    let protocol = res.headers().get(header::UPGRADE).cloned();
    if switching {
        let Some(client) = client_upgrade.filter(|_| protocol.is_some()) else {
            tracing::warn!(service = %route.service, "module switched protocols unasked");
            return (
                StatusCode::BAD_GATEWAY,
                "the module switched protocols unasked\n",
            )
                .into_response();
        };
        let module = hyper::upgrade::on(&mut res);
        websocket::bridge(client, module, route.service.clone(), in_use.take());
    }
    let (mut parts, body) = res.into_parts();
    relay_headers(&mut parts.headers, protocol.filter(|_| switching));
    // The module counts as in use until the body ends (a bridged
    // WebSocket counts itself).
    let body = match in_use {
        Some(u) => Body::new(idle::Held::new(body, u)),
        None => Body::new(body),
    };
    let mut res = Response::from_parts(parts, body);
    if let Some(vault) = &route.vault {
        challenge::complete(&mut res, state.issuers().primary(), vault);
    }
    res
}

/// The module's response headers as the client gets them: hop-by-hop and
/// hub cookies gone, an upgrade's two headers back, SSE unbuffered.
fn relay_headers(h: &mut HeaderMap, upgrade: Option<HeaderValue>) {
    headers::strip_hop_by_hop(h);
    headers::strip_hub_set_cookies(h);
    if let Some(p) = upgrade {
        headers::restore_upgrade(h, p);
    }
    let sse = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/event-stream"));
    if sse {
        h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    }
}

#[cfg(test)]
mod tests {
    use axum::http::uri::Authority;

    use super::*;

    fn route(prefix: &str, strip: bool) -> Route {
        Route {
            prefix: prefix.into(),
            service: "parachute-x".into(),
            unit: "parachute-x.service".into(),
            port: 4000,
            authority: Authority::from_static("127.0.0.1:4000"),
            strip,
            websocket: false,
            loopback_only: false,
            vault: None,
        }
    }

    #[test]
    fn the_prefix_is_stripped_only_when_asked_and_the_query_passes_verbatim() {
        let uri: Uri = "/notes/a/b?x=1&y=%2F+z".parse().expect("uri");
        assert_eq!(
            target(&route("/notes", false), &uri).map(|u| u.to_string()),
            Some("http://127.0.0.1:4000/notes/a/b?x=1&y=%2F+z".into())
        );
        assert_eq!(
            target(&route("/notes", true), &uri).map(|u| u.to_string()),
            Some("http://127.0.0.1:4000/a/b?x=1&y=%2F+z".into())
        );
        let bare: Uri = "/notes".parse().expect("uri");
        assert_eq!(
            target(&route("/notes", true), &bare).map(|u| u.to_string()),
            Some("http://127.0.0.1:4000/".into())
        );
    }
}
