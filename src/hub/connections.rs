//! The hub's connection loop: hyper's HTTP/1 server with the bounds axum's
//! own `serve` does not set. A peer that sends half a request line, or
//! holds a keep-alive connection open and says nothing, is dropped after
//! [`HEADER_READ_TIMEOUT`] (hyper starts that clock whenever it waits for a
//! request head, so it is also the keep-alive idle timeout); at most
//! [`cap`] connections are served at once and the rest wait in the
//! listen backlog, so descriptors never run out under the store, the
//! journal and the git backends; the descriptor limit is raised to its hard
//! ceiling at start so that cap sits well above the 1,100 idle sockets a
//! local process can hold open (issue 8).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::serve::Listener as _;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

use super::activity::CountingListener;

/// Longest wait for a complete request head, from the moment the hub starts
/// waiting for one (a new connection, or the end of the previous response).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Most connections served at once, when the descriptor limit allows it.
pub const MAX_CONNECTIONS: usize = 8192;
/// Descriptors kept free of connections: the store, the journal, D-Bus and
/// three pipes per git backend.
pub const FD_RESERVE: u64 = 512;
/// The soft descriptor limit `serve` asks for (the unit's `LimitNOFILE=`).
pub const WANT_NOFILE: u64 = 65_536;

/// Raise the soft descriptor limit towards [`WANT_NOFILE`] (never above the
/// hard one; a failure is logged, the old limit stays) and return the limit
/// in force.
pub fn raise_fd_limit() -> u64 {
    let Rlimit { current, maximum } = getrlimit(Resource::Nofile);
    let want = maximum.map_or(WANT_NOFILE, |m| m.min(WANT_NOFILE));
    let have = current.unwrap_or(u64::MAX);
    if have >= want {
        return have;
    }
    match setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(want),
            maximum,
        },
    ) {
        Ok(()) => want,
        Err(e) => {
            tracing::warn!(error = %e, limit = have, "cannot raise the descriptor limit");
            have
        }
    }
}

/// How many connections fit under a descriptor limit of `nofile`.
pub fn cap(nofile: u64) -> usize {
    let room = nofile.saturating_sub(FD_RESERVE).max(16);
    usize::try_from(room).map_or(MAX_CONNECTIONS, |r| r.min(MAX_CONNECTIONS))
}

/// Serve `app` on `listener` until `shutdown` resolves, then stop accepting
/// and let open connections finish their current request (the caller
/// bounds the wait).
pub async fn serve(
    app: Router,
    mut listener: CountingListener,
    max_connections: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(max_connections));
    // Tells open connections to finish their request and close; the
    // shutdown then waits until every connection slot is back.
    let (stop, stopping) = tokio::sync::watch::channel(());
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    tokio::pin!(shutdown);
    loop {
        // Take a slot before accepting: at the cap, new connections wait in
        // the kernel's backlog until one closes.
        let slot = tokio::select! {
            s = Arc::clone(&slots).acquire_owned() => s,
            () = &mut shutdown => break,
        };
        let Ok(slot) = slot else { break };
        if slots.available_permits() == 0 {
            tracing::warn!(max_connections, "connection cap reached; new ones wait");
        }
        let (stream, addr) = tokio::select! {
            a = listener.accept() => a,
            () = &mut shutdown => break,
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            // What `into_make_service_with_connect_info` would add: git's
            // REMOTE_ADDR comes from it.
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(addr));
            let app = app.clone();
            async move { app.oneshot(req).await }
        });
        // With upgrades: the proxy bridges WebSocket upgrades to modules
        // (an upgraded connection gives its slot back once it is handed off).
        let conn = http
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            tokio::pin!(conn);
            let ended = tokio::select! {
                r = conn.as_mut() => r,
                _ = stopping.changed() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(error = %e, %addr, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    let _ = stop.send(());
    let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_under_the_descriptor_limit() {
        assert_eq!(cap(1024), 512);
        assert_eq!(cap(65_536), MAX_CONNECTIONS);
        assert_eq!(cap(100), 16);
        assert!(cap(WANT_NOFILE) > 1100, "1,100 held connections fit");
    }
}
