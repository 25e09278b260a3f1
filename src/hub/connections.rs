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

use axum::serve::Listener as _;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};

use super::activity::{CountedStream, CountingListener};
use super::front::Front;

/// Longest wait for a complete request head, from the moment the hub starts
/// waiting for one (a new connection, or the end of the previous response).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Most connections served at once, when the descriptor limit allows it.
pub const MAX_CONNECTIONS: usize = 8192;
/// Descriptors kept free of connections: the store, the journal, D-Bus and
/// three pipes per git backend.
pub const FD_RESERVE: u64 = 512;
/// The soft descriptor limit `serve` asks for (the unit's `LimitNOFILE=`).
pub const WANT_NOFILE: u64 = crate::lifecycle::service::HUB_NOFILE;
/// At shutdown, how long a connection accepted but not yet asked on may
/// still deliver its first request (see [`serve_connection`]).
pub const FIRST_REQUEST_GRACE: Duration = Duration::from_secs(1);

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

/// Serve `app` on `listener` until `shutdown` resolves, then stop
/// accepting and let open connections finish their current request (the
/// caller bounds the wait). Returns once every connection has closed.
pub async fn serve(
    app: Front,
    mut listener: CountingListener,
    max_connections: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(max_connections));
    let (stopping_tx, stopping) = watch::channel(false);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            a = accept(&mut listener, &slots, max_connections) => a,
            () = &mut shutdown => break,
        };
        let Some((slot, stream, addr)) = accepted else {
            break;
        };
        let conn = Conn { stream, addr, slot };
        tokio::spawn(serve_connection(
            http.clone(),
            app.clone(),
            conn,
            stopping.clone(),
        ));
    }
    drop(listener);
    let _ = stopping_tx.send(true);
    // Each connection holds its slot until it ends: all slots back, all done.
    let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
    Ok(())
}

/// Take a slot, then accept: at the cap, new connections wait in the
/// kernel's backlog until one closes. Cancel-safe (the shutdown races it).
async fn accept(
    listener: &mut CountingListener,
    slots: &Arc<Semaphore>,
    max_connections: usize,
) -> Option<(OwnedSemaphorePermit, CountedStream, SocketAddr)> {
    let slot = Arc::clone(slots).acquire_owned().await.ok()?;
    if slots.available_permits() == 0 {
        tracing::warn!(max_connections, "connection cap reached; new ones wait");
    }
    let (stream, addr) = listener.accept().await;
    Some((slot, stream, addr))
}

/// One accepted connection and the slot it holds until it ends.
struct Conn {
    stream: CountedStream,
    addr: SocketAddr,
    slot: OwnedSemaphorePermit,
}

/// Serve one connection until it ends or the hub stops. On stop, hyper
/// closes a connection it has not yet read a request on as idle, unanswered;
/// but one accepted just before the stop may have its first request still on
/// the wire (the upgrade race of issue 15), so such a connection gets
/// [`FIRST_REQUEST_GRACE`] for that request to arrive before the graceful
/// close, which then answers it.
async fn serve_connection(
    http: hyper::server::conn::http1::Builder,
    app: Front,
    conn: Conn,
    mut stopping: watch::Receiver<bool>,
) {
    let asked = Arc::new(Notify::new());
    let service = service(app, conn.addr, Arc::clone(&asked));
    // With upgrades: the proxy bridges WebSocket upgrades to modules (an
    // upgraded connection gives its slot back once it is handed off).
    let http_conn = http
        .serve_connection(TokioIo::new(conn.stream), service)
        .with_upgrades();
    tokio::pin!(http_conn);
    let result = tokio::select! {
        r = http_conn.as_mut() => r,
        () = stopped(&mut stopping) => {
            // Keep serving while the grace runs: that is what reads the request.
            let ended = tokio::select! {
                r = http_conn.as_mut() => Some(r),
                () = asked.notified() => None,
                () = tokio::time::sleep(FIRST_REQUEST_GRACE) => None,
            };
            if let Some(r) = ended {
                r
            } else {
                http_conn.as_mut().graceful_shutdown();
                http_conn.await
            }
        }
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, addr = %conn.addr, "connection ended with an error");
    }
    drop(conn.slot);
}

/// The hub's surface as this connection's hyper service; `asked` is told
/// of each request as it arrives.
fn service(
    app: Front,
    addr: SocketAddr,
    asked: Arc<Notify>,
) -> impl hyper::service::Service<
    hyper::Request<Incoming>,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Future<Output = Result<axum::response::Response, std::convert::Infallible>> + Send,
> + Clone {
    hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        asked.notify_one();
        app.call(req, addr)
    })
}

/// Resolves once the hub is stopping (the `Ref` `wait_for` yields is not
/// `Send`, so it must not live across the drain's awaits).
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|s| *s).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::io::{Read as _, Write as _};

    use crate::hub::activity::Activity;

    /// A hub-like server on 127.0.0.1:0 with a shutdown trigger.
    async fn served() -> (SocketAddr, Arc<Activity>, tokio::sync::oneshot::Sender<()>) {
        let app = Front::router_only(
            axum::Router::new().route("/health", axum::routing::get(|| async { "ok" })),
        );
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = tcp.local_addr().expect("addr");
        let activity = Arc::new(Activity::default());
        let listener = CountingListener::new(tcp, Arc::clone(&activity));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(serve(app, listener, 16, async {
            let _ = rx.await;
        }));
        (addr, activity, tx)
    }

    /// The upgrade race (issue 15): the old hub accepted a connection, then
    /// was told to stop before the request's bytes were read. The request
    /// must still be answered, not cut off unanswered.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_connection_accepted_just_before_shutdown_still_gets_its_answer() {
        let (addr, activity, stop) = served().await;
        let answer = tokio::task::spawn_blocking(move || {
            let mut s = std::net::TcpStream::connect(addr).expect("connect");
            s.set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
            let accepted = std::time::Instant::now();
            while activity.open_connections() == 0 && accepted.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(2));
            }
            assert_eq!(activity.open_connections(), 1, "the server accepted");
            let _ = stop.send(());
            // The request was still on the wire when the stop came.
            std::thread::sleep(Duration::from_millis(100));
            let mut answer = String::new();
            if let Err(e) = write!(s, "GET /health HTTP/1.1\r\nHost: {addr}\r\n\r\n") {
                return format!("cut off before the request was sent: {e}");
            }
            let _ = s.read_to_string(&mut answer);
            answer
        })
        .await
        .expect("client");
        assert!(answer.starts_with("HTTP/1.1 200"), "answer: {answer:?}");
        assert!(answer.ends_with("ok"), "answer: {answer:?}");
    }

    /// A silent connection does not hold the shutdown for long.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_silent_connection_delays_shutdown_by_the_grace_at_most() {
        let (addr, activity, stop) = served().await;
        let _silent = std::net::TcpStream::connect(addr).expect("connect");
        while activity.open_connections() == 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let t = std::time::Instant::now();
        let _ = stop.send(());
        while activity.open_connections() > 0 && t.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(activity.open_connections(), 0, "closed");
        assert!(
            t.elapsed() < FIRST_REQUEST_GRACE + Duration::from_secs(2),
            "{:?}",
            t.elapsed()
        );
    }

    #[test]
    fn the_cap_leaves_room_under_the_descriptor_limit() {
        assert_eq!(cap(1024), 512);
        assert_eq!(cap(65_536), MAX_CONNECTIONS);
        assert_eq!(cap(100), 16);
        assert!(cap(WANT_NOFILE) > 1100, "1,100 held connections fit");
    }
}
