//! The hub daemon, assembled from parts: [`router`] builds the HTTP surface
//! from a [`HubState`] (tests drive it with `oneshot`), [`serve`] runs it on a
//! listener handed in from outside (fd 3 from systemd, `127.0.0.1:0` in
//! tests). The process around it — socket, `sd_notify`, signals, idle exit —
//! is `cli::serve`.

pub mod activity;
pub mod bearer;
pub mod connections;
pub mod csrf;
pub mod edge;
pub mod error;
pub mod front;
pub mod git;
mod health;
mod host_check;
pub mod listener;
pub mod log_stream;
pub mod login;
pub mod notify;
pub mod oauth;
pub mod pages;
pub mod proxy;
pub mod ratelimit;
pub mod registry;
pub mod session;
pub mod sse_ticket;
pub mod state;
pub mod step_up;
mod tokens;
mod wellknown;
pub mod work;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};

pub use self::activity::Activity;
pub use self::bearer::{Bearer, HubApi};
use self::state::HubState;
use crate::store;

/// Largest form or JSON body any endpoint reads (413 beyond it): the
/// biggest honest one, a registration with ten redirect URIs, is a few KiB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// How often the hub forgets expired rows (`store::reap`); also once at startup.
pub const REAP_EVERY: Duration = Duration::from_secs(10 * 60);
/// `service` in `/health`.
pub const SERVICE: &str = "parachute-hub";
/// The hub's HTTP surface.
pub fn router(state: HubState) -> Router {
    core_routes()
        .merge(git::router())
        .merge(oauth::routes())
        .merge(login::routes())
        .merge(pages::routes())
        .merge(step_up::api::routes())
        // The hub's own routes only (a route layer skips the fallback): a
        // module's 401 passes as the module wrote it, or as the proxy
        // completes a vault's (`proxy::challenge`), and no proxied request
        // pays for this layer.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            oauth::challenge,
        ))
        // Off the connections' thread, so a handler that blocks on the
        // store never holds up the proxy's traffic.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            work::offload,
        ))
        // Everything else is a module's (issue 11), or the JSON 404.
        .fallback(proxy::forward)
        // Every Form/Json/Bytes body the hub reads is small; git streams
        // its own bodies (under `PARACHUTE_GIT_MAX_REQUEST_BYTES`).
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            host_check::host_check,
        ))
        .with_state(state)
}

/// Health, discovery, the token registry and the log streams.
fn core_routes() -> Router<HubState> {
    Router::new()
        .route("/health", get(health::health))
        .route("/api/ready", get(health::ready))
        .route(
            "/.well-known/jwks.json",
            get(wellknown::jwks).options(wellknown::preflight),
        )
        .route(
            "/.well-known/parachute.json",
            get(wellknown::discovery).options(wellknown::preflight),
        )
        .route(
            "/.well-known/parachute-revocation.json",
            get(tokens::revocation_list).options(wellknown::preflight),
        )
        .route("/api/revocation-list", get(tokens::revocation_list))
        .route("/api/auth/tokens", get(tokens::list))
        .route("/api/auth/revoke-token", post(tokens::revoke))
        .route(sse_ticket::PATH, post(sse_ticket::mint))
        .route("/api/services/{svc}/logs/stream", get(log_stream::stream))
}

/// Forget expired rows now and every [`REAP_EVERY`], on the hub's clock;
/// each pass also runs `PRAGMA quick_check` (too slow for every `/health`)
/// and logs a fault it finds.
pub async fn reaper(state: HubState) {
    let mut tick = tokio::time::interval(REAP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let s = state.clone();
        let pass = tokio::task::spawn_blocking(move || {
            let store = s.store();
            let now = s.clock().now();
            let reaped = store.write(|tx| {
                store::reap::reap(tx, now, crate::oauth::pending_client_cutoff(now))
                    .map_err(|e| store.err(e))
            });
            (reaped, store.quick_check())
        })
        .await;
        match pass {
            Ok((Ok(r), check)) => {
                if r.total() > 0 {
                    tracing::info!(?r, "expired rows reaped");
                }
                if let Err(fault) = check {
                    tracing::error!(fault, "store integrity check failed");
                }
            }
            Ok((Err(e), _)) => tracing::warn!(error = %e, "reaping expired rows failed"),
            Err(e) => tracing::warn!(error = %e, "the reaper task failed"),
        }
    }
}

/// Serve `router(state)` on `listener` until `shutdown` resolves, then stop
/// accepting and let in-flight requests finish (the caller bounds the wait).
/// Connections are bounded as [`connections`] describes.
pub async fn serve(
    state: HubState,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let nofile = connections::raise_fd_limit();
    let max = connections::cap(nofile);
    tracing::debug!(nofile, max_connections = max, "connection limits");
    let listener = activity::CountingListener::new(listener, Arc::clone(state.activity()));
    let front = front::Front::new(router(state.clone()), state);
    connections::serve(front, listener, max, shutdown).await
}

#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;
