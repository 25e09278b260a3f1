//! The first stop of a request on a connection: one for a module's prefix
//! goes straight to the proxy; everything else goes to the hub's router.
//!
//! The router would send the module's request to the same place — the
//! proxy is its fallback — but only after its own dispatch: the route
//! table's miss, the layers around the fallback, a boxed future and a
//! cloned service per layer. That is per proxied request and buys nothing,
//! since no hub route lies under a module's prefix: the registry never
//! routes a hub-owned path ([`crate::manifest::HUB_PREFIXES`]), and the one
//! hub route that does sit under a module's prefix, a vault's metadata
//! ([`oauth::VAULT_METADATA_UNDER_PREFIX`]), is left to the router. The
//! `Host` check every request passes is applied here first, as the router
//! applies it.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::response::Response;
use axum::{BoxError, Router};
use futures_util::future::Either;
use tower::ServiceExt as _;
use tower::util::Oneshot;

use super::state::HubState;
use super::{host_check, oauth, proxy};

/// The router, and the hub's state when proxied requests may bypass it
/// (without state, every request goes to the router).
#[derive(Clone)]
pub struct Front {
    router: Router,
    state: Option<HubState>,
}

impl Front {
    pub fn new(router: Router, state: HubState) -> Self {
        Self {
            router,
            state: Some(state),
        }
    }

    /// Every request to `router`.
    pub fn router_only(router: Router) -> Self {
        Self {
            router,
            state: None,
        }
    }

    /// Answer one request from `peer` (`B`: hyper's `Incoming` on a
    /// connection). The router's requests carry the peer as axum's
    /// `ConnectInfo` (git's `REMOTE_ADDR`); the proxy's are handed it,
    /// which spares every proxied request the extension map.
    pub fn call<B>(
        &self,
        mut req: Request<B>,
        peer: SocketAddr,
    ) -> Either<
        impl Future<Output = Result<Response, Infallible>> + Send + use<B>,
        Oneshot<Router, Request<B>>,
    >
    where
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        if let Some(state) = &self.state
            && !oauth::is_vault_metadata_under_prefix(req.uri().path())
        {
            let view = state.registry().view();
            if let Some(at) = view.route_index(req.uri().path()) {
                let state = state.clone();
                return Either::Left(async move {
                    if let Some(refused) = host_check::refusal(&state, req.headers(), req.uri()) {
                        return Ok(refused);
                    }
                    let req = req.map(Body::new);
                    let start = proxy::Start::OnDemand;
                    let route = &view.routes()[at];
                    Ok(proxy::routed(&state, route, Some(peer.ip()), req, start).await)
                });
            }
        }
        // As `into_make_service_with_connect_info` would.
        req.extensions_mut().insert(ConnectInfo(peer));
        Either::Right(self.router.clone().oneshot(req))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{StatusCode, header};

    use super::*;
    use crate::hub::test_support::state_in;

    /// A router that answers everything itself, so an answer from it
    /// shows the request went through it.
    fn teapot() -> Router {
        Router::new().fallback(|| async { StatusCode::IM_A_TEAPOT })
    }

    async fn status(front: &Front, path: &str, host: &str) -> StatusCode {
        let req = Request::get(path)
            .header(header::HOST, host)
            .body(Body::empty())
            .expect("request");
        let peer = SocketAddr::from(([127, 0, 0, 1], 40000));
        match front.call(req, peer).await {
            Ok(r) => r.status(),
        }
    }

    #[tokio::test]
    async fn a_modules_request_skips_the_router_and_the_rest_go_through_it() {
        let tmp = tempfile::tempdir().expect("tmp");
        let state = state_in(tmp.path());
        // Two distinct ports nothing listens on once these close: the
        // proxy answers 502 for them.
        let bind = || std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let (a, b) = (bind(), bind());
        let port = |l: &std::net::TcpListener| l.local_addr().expect("addr").port();
        let (closed, closed_too) = (port(&a), port(&b));
        drop((a, b));
        std::fs::write(
            state.paths().services_json(),
            format!(
                r#"{{"services":[
                {{"name":"parachute-gone","port":{closed},"paths":["/gone"],"health":"/gone/health","version":"1"}},
                {{"name":"parachute-vault","port":{closed_too},"paths":["/vault/default"],"health":"/health","version":"1"}}]}}"#
            ),
        )
        .expect("services.json");
        let front = Front::new(teapot(), state);
        let hub = "127.0.0.1:1939";
        assert_eq!(
            status(&front, "/gone/x?y=1", hub).await,
            StatusCode::BAD_GATEWAY
        );
        assert_eq!(
            status(&front, "/vault/default/mcp", hub).await,
            StatusCode::BAD_GATEWAY
        );
        // Not a module's: the router's.
        assert_eq!(status(&front, "/gonex", hub).await, StatusCode::IM_A_TEAPOT);
        assert_eq!(
            status(&front, "/health", hub).await,
            StatusCode::IM_A_TEAPOT
        );
        // The hub's one route under a module's prefix stays the router's.
        let metadata = "/vault/default/.well-known/oauth-protected-resource";
        assert_eq!(status(&front, metadata, hub).await, StatusCode::IM_A_TEAPOT);
        // The Host check still comes first.
        assert_eq!(
            status(&front, "/gone/x", "evil.example").await,
            StatusCode::MISDIRECTED_REQUEST
        );
        let front = Front::router_only(teapot());
        assert_eq!(
            status(&front, "/gone/x", hub).await,
            StatusCode::IM_A_TEAPOT
        );
    }
}
