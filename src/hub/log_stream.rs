//! `GET /api/services/<svc>/logs/stream?ticket=…` (issue 14): a service's
//! log as Server-Sent Events, one event per line, its `id:` the journal
//! cursor (launchd: the byte offset past the line in the agent's log
//! file), so a reconnect with `Last-Event-ID` (or `?last_event_id=`, which
//! a page reopening an `EventSource` with a fresh ticket can set) resumes
//! right after the last line it saw. Without one it starts with the last
//! [`BACKLOG`] lines.
//!
//! Authority is a one-time ticket (`POST /api/ui/sse-ticket`) carrying
//! [`SCOPE`]; a JWT in the URL is refused outright. The hub's own log also
//! needs the ticket to have been minted with a step-up token.
//!
//! Bounds: a stream's lines pass through a channel of [`BUFFER`] events,
//! so a slow reader stalls `journalctl`'s pipe instead of growing the
//! hub's memory; the follower (and its `journalctl`) ends as soon as the
//! client goes; at most [`MAX_STREAMS`] streams are open at once (429
//! beyond). A comment every [`KEEPALIVE`] keeps proxies from timing the
//! stream out and notices a client that vanished.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use serde::Deserialize;
use tokio::sync::{OwnedSemaphorePermit, mpsc};

use super::error::ApiError;
use super::sse_ticket::Refusal;
use super::state::HubState;
use super::step_up::{Reason, StepUpRequired};
use crate::env_vars::PARACHUTE_SSE_KEEPALIVE_MS;
use crate::lifecycle::inventory::Inventory;
use crate::lifecycle::logs::{Live, LiveLog};
use crate::lifecycle::service::HUB_SERVICE;

pub use super::sse_ticket::SCOPE;
pub use super::state::MAX_LOG_STREAMS as MAX_STREAMS;
/// Events buffered per stream before the follower waits for the reader.
pub const BUFFER: usize = 64;
/// Lines sent first when the client resumes from nowhere.
pub const BACKLOG: usize = 20;
/// Default time between keep-alive comments.
pub const KEEPALIVE: Duration = Duration::from_secs(15);
/// Longest `Last-Event-ID` looked at.
const MAX_EVENT_ID: usize = 512;

#[derive(Debug, Deserialize)]
pub struct StreamQuery {
    #[serde(default)]
    ticket: String,
    last_event_id: Option<String>,
    /// Never accepted: present only to be refused by name.
    token: Option<String>,
    access_token: Option<String>,
}

/// The keep-alive interval: [`KEEPALIVE`] unless `PARACHUTE_SSE_KEEPALIVE_MS` says.
fn keepalive() -> Duration {
    std::env::var(PARACHUTE_SSE_KEEPALIVE_MS)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|ms| *ms >= 100)
        .map_or(KEEPALIVE, Duration::from_millis)
}

/// `svc` as a unit: `hub`, or a service by short name or manifestName.
fn resolve(state: &HubState, svc: &str) -> Result<String, ApiError> {
    if matches!(svc, "hub" | "parachute-hub") {
        return Ok(HUB_SERVICE.to_string());
    }
    let inventory = Inventory::load(state.paths()).map_err(ApiError::internal)?;
    inventory
        .find_unit(svc)
        .ok_or_else(|| ApiError::NotFound(format!("there is no service `{svc}`")))
}

/// Where to resume: the `Last-Event-ID` header, else `?last_event_id=`.
fn resume_from(headers: &HeaderMap, q: &StreamQuery) -> Option<String> {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| q.last_event_id.clone())
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty() && id.len() <= MAX_EVENT_ID)
}

/// The unit a request may stream: the ticket is spent first (whatever
/// follows), then its scope, the service and, for the hub, step-up.
fn admit(state: &HubState, svc: &str, q: &StreamQuery) -> Result<String, Refusal> {
    if q.token.is_some() || q.access_token.is_some() {
        return Err(Refusal::Api(ApiError::invalid_request(
            "a token in the URL is refused (URLs land in logs); mint a one-time ticket with `POST /api/ui/sse-ticket` and pass `?ticket=`",
        )));
    }
    let grant = state
        .tickets()
        .consume(&q.ticket, state.clock().now())
        .ok_or(Refusal::Api(ApiError::InvalidToken {
            reason: "no valid one-time SSE ticket".into(),
            scope: SCOPE,
        }))?;
    if !grant.has_scope(SCOPE) {
        return Err(Refusal::Api(ApiError::InsufficientScope(SCOPE)));
    }
    let unit = resolve(state, svc).map_err(Refusal::Api)?;
    if unit == HUB_SERVICE && !grant.stepped_up {
        return Err(Refusal::StepUp(StepUpRequired {
            reason: Reason::Token,
        }));
    }
    Ok(unit)
}

/// `GET /api/services/<svc>/logs/stream`.
pub async fn stream(
    State(state): State<HubState>,
    Path(svc): Path<String>,
    Query(q): Query<StreamQuery>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let unit = admit(&state, &svc, &q)?;
    let permit = state
        .log_streams()
        .clone()
        .try_acquire_owned()
        .map_err(|_| Refusal::Api(ApiError::RateLimited(5)))?;
    let host = state.host().ok_or(Refusal::Api(ApiError::Unavailable(
        "the hub was given no init system".into(),
    )))?;
    let after = resume_from(&headers, &q);
    let log = LiveLog::open(host.init, &unit, after.as_deref(), BACKLOG)
        .map_err(|e| Refusal::Api(ApiError::internal(e)))?;
    let (tx, rx) = mpsc::channel(BUFFER);
    tokio::spawn(pump(log, tx, keepalive(), permit));
    Ok(sse(rx))
}

/// The response that streams what [`pump`] sends.
fn sse(rx: mpsc::Receiver<Bytes>) -> Response {
    let events = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    });
    let mut r = Response::new(Body::from_stream(events));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // nginx and friends would otherwise hold the events back.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    r
}

/// One line as an SSE event. A line break inside a message would end the
/// field, so each piece is a `data:` line of its own.
pub fn event(l: &Live) -> Bytes {
    let mut s = format!("id: {}\n", l.id.replace(['\r', '\n'], ""));
    for part in l.line.split('\n') {
        s.push_str("data: ");
        s.push_str(part.trim_end_matches('\r'));
        s.push('\n');
    }
    s.push('\n');
    Bytes::from(s)
}

/// Move lines from the log to the client until either goes, with a
/// keep-alive comment every `every`. `send` waits while the channel is
/// full: that is the backpressure.
async fn pump(
    mut log: LiveLog,
    tx: mpsc::Sender<Bytes>,
    every: Duration,
    _permit: OwnedSemaphorePermit,
) {
    if tx.send(Bytes::from_static(b": open\n\n")).await.is_err() {
        return;
    }
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        let out = tokio::select! {
            line = log.next() => match line {
                Some(l) => event(&l),
                None => return,
            },
            _ = tick.tick() => Bytes::from_static(b": keep-alive\n\n"),
            () = tx.closed() => return,
        };
        if tx.send(out).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_one_event_with_its_id_even_across_line_breaks() {
        let e = event(&Live {
            id: "s=1;i=2".into(),
            line: "one\r\ntwo".into(),
        });
        assert_eq!(&e[..], b"id: s=1;i=2\ndata: one\ndata: two\n\n");
    }

    #[tokio::test]
    async fn a_slow_reader_stalls_the_follower_at_the_buffer_and_leaving_ends_it() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("x.log");
        let text = (0..20_000).fold(String::new(), |mut s, i| {
            use std::fmt::Write as _;
            let _ = writeln!(s, "line {i}");
            s
        });
        std::fs::write(&path, text).expect("write");
        let log = LiveLog::File(crate::lifecycle::launchd::logs::Lines::open(
            &path,
            Some(0),
            0,
        ));
        let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(1));
        let permit = sem.clone().try_acquire_owned().expect("permit");
        let (tx, mut rx) = mpsc::channel(BUFFER);
        let task = tokio::spawn(pump(log, tx, KEEPALIVE, permit));
        tokio::time::sleep(Duration::from_millis(300)).await;
        // Nobody read: the channel is full and the follower waits on it.
        assert_eq!(rx.len(), BUFFER);
        assert!(!task.is_finished());
        assert_eq!(&rx.recv().await.expect("open")[..], b": open\n\n");
        assert_eq!(
            &rx.recv().await.expect("first")[..],
            b"id: 7\ndata: line 0\n\n"
        );
        // The reader goes: the pump ends and gives its permit back.
        drop(rx);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("pump ended")
            .expect("no panic");
        assert_eq!(sem.available_permits(), 1);
    }

    #[test]
    fn the_resume_point_comes_from_the_header_first() {
        let q = StreamQuery {
            ticket: String::new(),
            last_event_id: Some("q".into()),
            token: None,
            access_token: None,
        };
        let mut h = HeaderMap::new();
        assert_eq!(resume_from(&h, &q).as_deref(), Some("q"));
        h.insert("last-event-id", HeaderValue::from_static("h"));
        assert_eq!(resume_from(&h, &q).as_deref(), Some("h"));
        h.insert(
            "last-event-id",
            HeaderValue::from_str(&"x".repeat(MAX_EVENT_ID + 1)).expect("value"),
        );
        assert_eq!(resume_from(&h, &q), None, "oversized is ignored");
    }
}
