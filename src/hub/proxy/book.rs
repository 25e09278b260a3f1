//! The proxy's bookkeeping, as the hub's state holds it (one [`OnDemand`]
//! per hub): the on-demand starts in flight, the cached unit states, the
//! last failed starts, and each module's traffic for idle stops.
//!
//! A leaf: it imports nothing from the hub's state or pages, so
//! `hub::state` can hold it without a file-level cycle (issue 10). The
//! logic that uses it lives in [`super::on_demand`], [`super::idle`] and
//! [`super::unreachable`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant};

use super::single_flight::SingleFlight;
use crate::lifecycle::{InitError, InitSystem, UnitState};
use crate::manifest::Row;

/// How long a unit's state read from the init system is reused.
pub const UNIT_TTL: Duration = Duration::from_secs(1);
/// After a failed start, requests get the failure (not a new start) for
/// this long: a module that cannot start is not restarted by every request.
pub const BACKOFF: Duration = Duration::from_secs(5);

/// What a start came to: up (the health check passed), or why not.
pub type Outcome = Result<(), Arc<Failure>>;

/// A unit's state as last read (`None`: the read failed).
type Read = Option<Arc<UnitState>>;

/// The hub's on-demand bookkeeping (one per hub, in the hub's state).
#[derive(Debug, Default)]
pub struct OnDemand {
    pub(super) flights: SingleFlight<Outcome>,
    /// Unit name → (when read, state; `None`: the read failed).
    units: Mutex<HashMap<String, (Instant, Read)>>,
    /// Row name → (when, why) of the last failed start.
    failures: Mutex<HashMap<String, (Instant, Arc<Failure>)>>,
    /// Traffic per module, for idle stops.
    pub uses: Uses,
}

impl OnDemand {
    /// `unit`'s state, from the cache while it is fresh; `None` when the
    /// init system cannot say. Shared, not copied: the proxy reads it on
    /// every request. A failed read is remembered as long as a good one,
    /// so an init system that does not answer costs one call and one log
    /// line a second, not one per request.
    pub async fn unit_state(&self, init: &impl InitSystem, unit: &str) -> Option<Arc<UnitState>> {
        self.read_through(unit, || init.state(unit)).await
    }

    /// [`Self::unit_state`] with the init system's read as `read`.
    async fn read_through<F>(&self, unit: &str, read: impl FnOnce() -> F) -> Read
    where
        F: Future<Output = Result<UnitState, InitError>>,
    {
        if let Some(s) = self.cached(unit) {
            return s;
        }
        let read = match read().await {
            Ok(s) => Some(Arc::new(s)),
            Err(e) => {
                tracing::warn!(unit, error = %e, "cannot read the unit's state");
                None
            }
        };
        lock(&self.units).insert(unit.to_string(), (Instant::now(), read.clone()));
        read
    }

    /// `unit`'s state (or failure) if it was read less than [`UNIT_TTL`] ago.
    pub(super) fn cached(&self, unit: &str) -> Option<Read> {
        lock(&self.units)
            .get(unit)
            .filter(|(at, _)| at.elapsed() < UNIT_TTL)
            .map(|(_, s)| s.clone())
    }

    /// Drop the cached state of `unit` (it was just started or stopped).
    pub fn forget(&self, unit: &str) {
        lock(&self.units).remove(unit);
    }

    /// Whether the hub is starting `service` (a row name) now.
    pub fn starting(&self, service: &str) -> bool {
        self.flights.in_flight(service)
    }

    /// The failure of `service`'s last start and how long it still holds,
    /// within [`BACKOFF`] of it.
    pub fn recent_failure(&self, service: &str) -> Option<(Duration, Arc<Failure>)> {
        let map = lock(&self.failures);
        let (at, f) = map.get(service)?;
        BACKOFF
            .checked_sub(at.elapsed())
            .filter(|left| !left.is_zero())
            .map(|left| (left, Arc::clone(f)))
    }

    /// Remember how a start of `service` came out.
    pub fn landed(&self, service: &str, outcome: &Outcome) {
        match outcome {
            Ok(()) => {
                lock(&self.failures).remove(service);
                self.uses.touch(service);
            }
            Err(f) => {
                lock(&self.failures).insert(service.to_string(), (Instant::now(), Arc::clone(f)));
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Why a module could not be started on demand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub service: String,
    pub port: u16,
    /// `failed to start`, `is not answering on port N`.
    pub headline: String,
    pub why: String,
    /// The unit as the init system reported it after the attempt.
    pub active_state: String,
    pub sub_state: String,
    pub result: String,
    /// The last log lines of the attempt.
    pub log: Vec<String>,
}

impl Failure {
    /// The start itself failed (the unit did not come up).
    pub fn new(row: &Row, unit: UnitState, why: String, log: Vec<String>) -> Self {
        Self::with(row, "failed to start".into(), unit, why, log)
    }

    /// It started but its health check did not pass in time.
    pub fn not_answering(row: &Row, unit: UnitState, why: String, log: Vec<String>) -> Self {
        let headline = format!("is not answering on port {}", row.port);
        Self::with(row, headline, unit, why, log)
    }

    fn with(row: &Row, headline: String, unit: UnitState, why: String, log: Vec<String>) -> Self {
        Self {
            service: row.name.clone(),
            port: row.port,
            headline,
            why,
            active_state: unit.active_state,
            sub_state: unit.sub_state,
            result: unit.result,
            log,
        }
    }

    /// The start could not be attempted (no init system, a bug).
    pub fn internal(service: &str, unit: &str) -> Self {
        Self {
            service: service.to_string(),
            port: 0,
            headline: "could not be started".into(),
            why: format!("the hub could not start {unit}; see the hub's log"),
            active_state: String::new(),
            sub_state: String::new(),
            result: String::new(),
            log: Vec::new(),
        }
    }
}

/// Traffic per module (by row name).
///
/// Read-mostly: every proxied request looks its module up, and only the
/// first request for a module adds it, so a reader lock (no writer once
/// every module has been seen) keeps requests on different connections
/// from queueing on one mutex.
#[derive(Debug)]
pub struct Uses {
    epoch: Instant,
    map: RwLock<HashMap<String, Arc<Use>>>,
}

impl Default for Uses {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            map: RwLock::default(),
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
        let used = self.of(service);
        used.open.fetch_add(1, Ordering::SeqCst);
        used.last_ms.store(ms_since(self.epoch), Ordering::SeqCst);
        InUse {
            used,
            epoch: self.epoch,
        }
    }

    /// `service`'s counters, added on its first request.
    fn of(&self, service: &str) -> Arc<Use> {
        let known = self
            .map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(service)
            .map(Arc::clone);
        known.unwrap_or_else(|| {
            let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(map.entry(service.to_string()).or_default())
        })
    }

    /// How long `service` has had no traffic through this hub (since the
    /// hub started, if never); `None` while something is open.
    pub fn idle_for(&self, service: &str) -> Option<Duration> {
        let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_init_system_that_cannot_say_is_asked_once_per_ttl_not_per_request() {
        let od = OnDemand::default();
        let mut calls = 0;
        for _ in 0..100 {
            let read = od
                .read_through("parachute-x.service", || {
                    calls += 1;
                    async {
                        Err(InitError::Unreachable {
                            reason: "no bus".into(),
                        })
                    }
                })
                .await;
            assert!(read.is_none());
        }
        assert_eq!(calls, 1, "one read (and one warning) for 100 requests");
        od.forget("parachute-x.service");
        let read = od
            .read_through("parachute-x.service", || async {
                Ok(UnitState {
                    active_state: "active".into(),
                    ..UnitState::default()
                })
            })
            .await;
        assert!(
            read.is_some_and(|s| s.is_active()),
            "read again once forgotten"
        );
    }

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
