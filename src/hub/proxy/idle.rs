//! Stop when idle (issue 11): each module's traffic through the hub is
//! counted — requests in flight and bodies still moving, so an open SSE
//! stream or WebSocket is activity — and a row with `idleStopAfter` is
//! stopped through the init system once it has had none for that long.
//! A marker ([`crate::lifecycle::idle_marker`]) lets `parachute status`
//! say `idle-stopped`; the next request starts the module again
//! ([`super::on_demand`]).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::body::{Body, Frame, SizeHint};

use crate::hub::state::HubState;
use crate::lifecycle::{InitSystem, idle_marker};

/// How often the hub looks for idle modules.
const TICK: Duration = Duration::from_secs(1);

/// Traffic per module (by row name).
#[derive(Debug)]
pub struct Uses {
    epoch: Instant,
    map: Mutex<HashMap<String, Arc<Use>>>,
}

impl Default for Uses {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            map: Mutex::default(),
        }
    }
}

#[derive(Debug, Default)]
struct Use {
    open: AtomicUsize,
    /// Milliseconds after the epoch of the last request's end (or start).
    last_ms: AtomicU64,
}

/// One request (and then its response body, or its WebSocket) in use.
#[derive(Debug)]
pub struct InUse {
    used: Arc<Use>,
    epoch: Instant,
}

fn ms_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl Uses {
    /// A request for `service` begins; it counts until the guard drops.
    pub fn begin(&self, service: &str) -> InUse {
        let used = {
            let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(map.entry(service.to_string()).or_default())
        };
        used.open.fetch_add(1, Ordering::SeqCst);
        used.last_ms.store(ms_since(self.epoch), Ordering::SeqCst);
        InUse {
            used,
            epoch: self.epoch,
        }
    }

    /// How long `service` has had no traffic through this hub (since the
    /// hub started, if never); `None` while something is open.
    pub fn idle_for(&self, service: &str) -> Option<Duration> {
        let map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        let last = match map.get(service) {
            Some(u) if u.open.load(Ordering::SeqCst) > 0 => return None,
            Some(u) => u.last_ms.load(Ordering::SeqCst),
            None => 0,
        };
        Some(Duration::from_millis(
            ms_since(self.epoch).saturating_sub(last),
        ))
    }

    /// Count `service` as just used (the hub started it: the idle clock
    /// runs from then, not from the hub's start).
    pub fn touch(&self, service: &str) {
        drop(self.begin(service));
    }
}

impl Drop for InUse {
    fn drop(&mut self) {
        self.used
            .last_ms
            .store(ms_since(self.epoch), Ordering::SeqCst);
        self.used.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A response body that keeps its request counted until it is done.
#[derive(Debug)]
pub struct Held<B> {
    inner: B,
    _use: InUse,
}

impl<B> Held<B> {
    pub fn new(inner: B, in_use: InUse) -> Self {
        Self {
            inner,
            _use: in_use,
        }
    }
}

impl<B: Body + Unpin> Body for Held<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Stop modules idle past their `idleStopAfter`, for as long as the hub runs.
pub async fn reaper(state: HubState) {
    loop {
        tokio::time::sleep(TICK).await;
        let view = state.registry().view();
        for row in &view.rows {
            let Some(after) = row.idle_stop_after() else {
                continue;
            };
            let idle = state.on_demand().uses.idle_for(&row.name);
            if idle.is_some_and(|d| d >= after) && !state.on_demand().starting(&row.name) {
                stop_idle(&state, &row.name, &row.unit(), after).await;
            }
        }
    }
}

/// Whether a running module waits for this hub to stop it when idle: a
/// hub that exits when idle itself (`serve --idle-exit`, the socket
/// unit's default) must stay until then, or the module would run on.
pub async fn stop_pending(state: &HubState) -> bool {
    let Some(host) = state.host() else {
        return false;
    };
    let view = state.registry().view();
    for row in view.rows.iter().filter(|r| r.idle_stop_after().is_some()) {
        let unit = row.unit();
        if state
            .on_demand()
            .unit_state(host.init, &unit)
            .await
            .is_some_and(|s| s.is_active())
        {
            return true;
        }
    }
    false
}

/// Stop `unit` if it runs, and leave the marker `status` reads.
async fn stop_idle(state: &HubState, name: &str, unit: &str, after: Duration) {
    let Some(host) = state.host() else {
        return;
    };
    // The cached state first: an idle module that is already stopped costs
    // no call to the init system each tick.
    match state.on_demand().unit_state(host.init, unit).await {
        Some(s) if s.is_active() => {}
        _ => return,
    }
    match host.init.state(unit).await {
        Ok(s) if s.is_active() => {}
        _ => return,
    }
    // Requests from now on find it stopped and start it again.
    state.on_demand().forget(unit);
    match host.init.stop(unit).await {
        Ok(job) if job.is_ok() => {
            idle_marker::set(state.paths(), name);
            tracing::info!(service = name, idle_stop_after = ?after, "stopped: idle");
        }
        Ok(job) => tracing::warn!(service = name, %job, "idle stop failed"),
        Err(e) => tracing::warn!(service = name, error = %e, "idle stop failed"),
    }
    state.on_demand().forget(unit);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_request_is_never_idle_and_the_clock_starts_when_it_ends() {
        let uses = Uses::default();
        assert!(
            uses.idle_for("parachute-x").is_some(),
            "never used: idle since start"
        );
        let a = uses.begin("parachute-x");
        let b = uses.begin("parachute-x");
        assert_eq!(uses.idle_for("parachute-x"), None);
        drop(a);
        assert_eq!(uses.idle_for("parachute-x"), None, "one still open");
        drop(b);
        let idle = uses.idle_for("parachute-x").expect("idle");
        assert!(idle < Duration::from_secs(1), "{idle:?}");
        std::thread::sleep(Duration::from_millis(30));
        assert!(uses.idle_for("parachute-x").expect("idle") >= Duration::from_millis(30));
        assert!(uses.idle_for("parachute-y").is_some());
    }
}
