//! Where the hub's own handlers run. The connections, and the proxy's
//! forwarding with them, live on one thread (`cli::serve` builds a
//! current-thread runtime): a proxied request is a handful of wake-ups
//! between the client's connection and the module's, and on one thread
//! those are plain function calls instead of futex calls between workers
//! (on two cores, a hand-run `wrk` loop measured about half the CPU per
//! proxied request and more requests per second than two workers managed;
//! bench/RESULTS-proxy.md has the figures).
//!
//! The hub's own handlers block now and then — the store, a journal read —
//! and a blocked call there must not stall every module's traffic, so
//! [`offload`] runs each of them on the work runtime (multi-threaded, as
//! before) and hands the response back to the connection. The request is
//! moved there whole; a client that goes away still cancels the handler.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::task::JoinHandle;

use super::error::ApiError;
use super::state::HubState;

/// Middleware for the hub's own routes: run the rest of the stack on
/// [`HubState::work`].
pub async fn offload(State(state): State<HubState>, req: Request, next: Next) -> Response {
    let mut task = Cancel(state.work().spawn(next.run(req)));
    match (&mut task.0).await {
        Ok(res) => res,
        Err(e) => {
            // A panicking handler answers 500 instead of killing the connection.
            tracing::error!(error = %e, "a handler failed");
            ApiError::Internal("the handler failed".into()).into_response()
        }
    }
}

/// Aborts the handler when the request's future is dropped (the client
/// went away), as running it inline would have.
struct Cancel(JoinHandle<Response>);

impl Drop for Cancel {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt as _;

    use super::*;

    /// Built inside a test runtime: `HubState::work` is that runtime.
    fn state() -> (tempfile::TempDir, HubState) {
        let tmp = tempfile::tempdir().expect("tmp");
        let state = crate::hub::test_support::state_in(tmp.path());
        (tmp, state)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_handler_runs_on_the_work_runtime_and_a_panic_answers_500() {
        let (_tmp, state) = state();
        let work = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("work")
            .enable_all()
            .build()
            .expect("runtime");
        state.set_work(work.handle().clone());
        let app = Router::new()
            .route(
                "/where",
                get(|| async { std::thread::current().name().unwrap_or("").to_string() }),
            )
            .route(
                "/panic",
                get(|| async {
                    panic!("boom");
                    #[allow(unreachable_code)]
                    ""
                }),
            )
            .route_layer(axum::middleware::from_fn_with_state(state.clone(), offload))
            .with_state(state);
        let res = app
            .clone()
            .oneshot(Request::get("/where").body(Body::empty()).expect("req"))
            .await
            .expect("infallible");
        let body = axum::body::to_bytes(res.into_body(), 1024)
            .await
            .expect("body");
        assert_eq!(&body[..], b"work");
        let res = app
            .oneshot(Request::get("/panic").body(Body::empty()).expect("req"))
            .await
            .expect("infallible");
        assert_eq!(res.status(), 500);
        work.shutdown_background();
    }

    #[tokio::test]
    async fn a_dropped_request_cancels_its_handler() {
        let (_tmp, state) = state();
        let finished = Arc::new(AtomicBool::new(false));
        let f = finished.clone();
        let app = Router::new()
            .route(
                "/slow",
                get(move || async move {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    f.store(true, Ordering::SeqCst);
                }),
            )
            .route_layer(axum::middleware::from_fn_with_state(state.clone(), offload))
            .with_state(state);
        let req = app.oneshot(Request::get("/slow").body(Body::empty()).expect("req"));
        let gone = tokio::time::timeout(Duration::from_millis(20), req).await;
        assert!(gone.is_err(), "the handler is still running");
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(!finished.load(Ordering::SeqCst), "the handler was aborted");
    }
}
