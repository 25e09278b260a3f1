//! The proxy's connections to modules: one pooled hyper-util client.
//!
//! The pool forgets an idle connection after [`POOL_IDLE`], shorter than
//! the keep-alive of the servers modules run on (Bun closes after 10 s,
//! Node after 5 s), so the hub rarely picks a connection the module is
//! closing. When it does anyway, a request that was never sent is retried
//! by hyper-util itself; an idempotent request without a body that failed
//! on the wire is sent once more here, on a fresh connection. Bodies are
//! never buffered, so a request with one cannot be replayed and is not.
//!
//! Driving each module connection inside the client's own task instead of
//! a task of its own (hyper's bare HTTP/1 client connections and a stack
//! of idle ones per module) was built and measured: the same user time,
//! more system time, fewer requests per second, because the module is
//! written to between clients' reads rather than in a batch after them
//! (bench/RESULTS-proxy.md, ninth session). This client stays.

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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// A module that answers the first request on each connection with
    /// keep-alive, then reads the next one and closes without answering
    /// (a keep-alive timer firing just as the request arrives).
    async fn closing_module() -> (u16, Arc<AtomicUsize>) {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = l.local_addr().expect("addr").port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let n = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                n.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    if s.read(&mut buf).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                    let _ = s.write_all(ok).await;
                    let _ = s.read(&mut buf).await;
                });
            }
        });
        (port, accepted)
    }

    fn request(method: Method, port: u16, body: Body) -> Request<Body> {
        Request::builder()
            .method(method)
            .uri(format!("http://127.0.0.1:{port}/x"))
            .body(body)
            .expect("request")
    }

    #[tokio::test]
    async fn an_idempotent_request_on_a_connection_the_module_just_closed_is_retried_once() {
        let (port, accepted) = closing_module().await;
        let up = Upstream::new();
        let first = up.send(request(Method::GET, port, Body::empty())).await;
        assert_eq!(first.expect("first").status(), 200);
        // Pooled connection: the module takes the request and closes.
        let again = up.send(request(Method::GET, port, Body::empty())).await;
        assert_eq!(again.expect("retried").status(), 200);
        assert_eq!(accepted.load(Ordering::SeqCst), 2, "one fresh connection");
    }

    #[tokio::test]
    async fn a_request_with_a_body_is_not_replayed() {
        let (port, accepted) = closing_module().await;
        let up = Upstream::new();
        let first = up.send(request(Method::GET, port, Body::empty())).await;
        assert_eq!(first.expect("first").status(), 200);
        let with_body = up.send(request(Method::POST, port, Body::from("x"))).await;
        assert!(
            matches!(with_body, Err(SendError::Failed(_))),
            "{with_body:?}"
        );
        assert_eq!(accepted.load(Ordering::SeqCst), 1, "no second attempt");
    }
}
