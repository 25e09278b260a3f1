//! Stop when idle (issue 11): each module's traffic through the hub is
//! counted — requests in flight and bodies still moving, so an open SSE
//! stream or WebSocket is activity — and a row with `idleStopAfter` is
//! stopped through the init system once it has had none for that long.
//! A marker ([`crate::lifecycle::idle_marker`]) lets `parachute status`
//! say `idle-stopped`; the next request starts the module again
//! ([`super::on_demand`]).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Frame, SizeHint};

use super::book::InUse;
use crate::hub::state::HubState;
use crate::lifecycle::{InitSystem, idle_marker};

/// How often the hub looks for idle modules.
const TICK: Duration = Duration::from_secs(1);

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
