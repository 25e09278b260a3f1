//! The proxy's connections to modules: one pooled hyper-util client.
//!
//! The pool forgets an idle connection after [`POOL_IDLE`], shorter than
//! the keep-alive of the servers modules run on (Bun closes after 10 s,
//! Node after 5 s), so the hub rarely picks a connection the module is
//! closing. When it does anyway, a request that was never sent is retried
//! by hyper-util itself; an idempotent request without a body that failed
//! on the wire is sent once more here, on a fresh connection. Bodies are
//! never buffered, so a request with one cannot be replayed and is not.

use std::time::Duration;

use axum::body::{Body, HttpBody as _};
use axum::http::{Method, Request, Response, request};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

/// How long an idle pooled connection to a module is kept.
pub const POOL_IDLE: Duration = Duration::from_secs(2);
/// Idle connections kept per module.
const POOL_MAX_IDLE: usize = 64;
/// A loopback connect either succeeds at once or is refused; this bounds a
/// listener whose backlog is full.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The pooled client (cheap to clone; one per hub).
#[derive(Debug, Clone)]
pub struct Upstream {
    client: Client<HttpConnector, Body>,
}

impl Default for Upstream {
    fn default() -> Self {
        Self::new()
    }
}

/// Why a request did not get an answer from the module.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Nothing listens on the module's port (or the connect timed out).
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The connection broke before a response head came.
    #[error("the connection failed: {0}")]
    Failed(String),
}

impl Upstream {
    pub fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE)
            .pool_max_idle_per_host(POOL_MAX_IDLE)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(connector);
        Self { client }
    }

    /// Send `req`; an idempotent request with no body is retried once on a
    /// fresh connection when the first attempt failed after connecting.
    pub async fn send(&self, req: Request<Body>) -> Result<Response<Incoming>, SendError> {
        let replay =
            (idempotent(req.method()) && req.body().is_end_stream()).then(|| replay_parts(&req));
        match self.client.request(req).await {
            Ok(r) => Ok(r),
            Err(e) if e.is_connect() => Err(SendError::Connect(chain(&e))),
            Err(e) => {
                let Some(parts) = replay else {
                    return Err(SendError::Failed(chain(&e)));
                };
                tracing::debug!(error = %chain(&e), "pooled connection failed; retrying once");
                self.client
                    .request(Request::from_parts(parts, Body::empty()))
                    .await
                    .map_err(|e| {
                        if e.is_connect() {
                            SendError::Connect(chain(&e))
                        } else {
                            SendError::Failed(chain(&e))
                        }
                    })
            }
        }
    }
}

/// RFC 9110 §9.2.2.
fn idempotent(m: &Method) -> bool {
    matches!(
        *m,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE | Method::TRACE
    )
}

/// What a second attempt needs (no extensions: they hold the first
/// attempt's upgrade handle).
fn replay_parts(req: &Request<Body>) -> request::Parts {
    let mut b = Request::builder()
        .method(req.method().clone())
        .uri(req.uri().clone())
        .version(req.version());
    if let Some(h) = b.headers_mut() {
        h.clone_from(req.headers());
    }
    b.body(())
        .map_or_else(|_| Request::new(()).into_parts().0, |r| r.into_parts().0)
}

/// An error and its causes on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
