//! One start per module, however many requests ask: the first request for
//! a key spawns the work, later ones (until it ends) wait on the same
//! outcome through a `watch` channel. Spawned rather than awaited in the
//! request, so the start goes on when the request that caused it is gone
//! (a browser gets the "starting" page at once and comes back).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::runtime::Handle;
use tokio::sync::watch;

type Flights<V> = Arc<Mutex<HashMap<String, watch::Receiver<Option<V>>>>>;

/// The flights in progress, by key.
#[derive(Debug)]
pub struct SingleFlight<V> {
    inflight: Flights<V>,
}

impl<V> Default for SingleFlight<V> {
    fn default() -> Self {
        Self {
            inflight: Arc::default(),
        }
    }
}

/// A place in one flight: [`Ticket::outcome`] waits for it to land.
#[derive(Debug)]
pub struct Ticket<V> {
    rx: watch::Receiver<Option<V>>,
    /// Whether this caller started the flight (the others joined it).
    pub started: bool,
}

impl<V: Clone + Send + Sync + 'static> SingleFlight<V> {
    /// Join the flight for `key`, or start one with `work()`, run on `on`.
    pub fn join<F>(&self, on: &Handle, key: &str, work: impl FnOnce() -> F) -> Ticket<V>
    where
        F: Future<Output = V> + Send + 'static,
    {
        let mut map = self.inflight.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(rx) = map.get(key) {
            return Ticket {
                rx: rx.clone(),
                started: false,
            };
        }
        let (tx, rx) = watch::channel(None);
        map.insert(key.to_string(), rx.clone());
        drop(map);
        let landing = Landing {
            inflight: Arc::clone(&self.inflight),
            key: key.to_string(),
        };
        let work = work();
        on.spawn(async move {
            let v = work.await;
            // Leave the table first: a request that comes after the outcome
            // looks at the module afresh instead of joining a finished flight.
            drop(landing);
            let _ = tx.send(Some(v));
        });
        Ticket { rx, started: true }
    }

    /// Whether a flight for `key` is under way.
    pub fn in_flight(&self, key: &str) -> bool {
        self.inflight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(key)
    }
}

impl<V: Clone> Ticket<V> {
    /// The flight's outcome; `None` if the work panicked.
    pub async fn outcome(mut self) -> Option<V> {
        self.rx
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|v| v.clone())
    }
}

/// Removes its key from the table when the work ends, even by a panic.
struct Landing<V> {
    inflight: Flights<V>,
    key: String,
}

impl<V> Drop for Landing<V> {
    fn drop(&mut self) {
        self.inflight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn concurrent_callers_share_one_run_and_a_later_one_starts_anew() {
        let flights: SingleFlight<usize> = SingleFlight::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let (go_tx, go_rx) = watch::channel(false);
        let work = || {
            let runs = Arc::clone(&runs);
            let mut go = go_rx.clone();
            async move {
                let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
                let _ = go.wait_for(|g| *g).await;
                n
            }
        };
        let tickets: Vec<Ticket<usize>> = (0..8)
            .map(|_| flights.join(&Handle::current(), "vault", work))
            .collect();
        assert_eq!(tickets.iter().filter(|t| t.started).count(), 1);
        assert!(flights.in_flight("vault"));
        let other = flights.join(&Handle::current(), "notes", work);
        assert!(other.started, "another key is another flight");
        go_tx.send(true).expect("go");
        let outcomes =
            futures_util::future::join_all(tickets.into_iter().map(Ticket::outcome)).await;
        assert!(
            outcomes
                .iter()
                .all(|o| *o == Some(outcomes[0].unwrap_or(0))),
            "{outcomes:?}"
        );
        assert_eq!(other.outcome().await.map(|_| ()), Some(()));
        assert_eq!(runs.load(Ordering::SeqCst), 2, "one run per key");
        assert!(!flights.in_flight("vault"), "landed");
        let again = flights.join(&Handle::current(), "vault", work);
        assert!(again.started, "after landing, a new flight");
        assert_eq!(again.outcome().await, Some(3));
    }

    #[tokio::test]
    async fn a_panicking_flight_lands_with_no_outcome() {
        let flights: SingleFlight<u8> = SingleFlight::default();
        let t = flights.join(&Handle::current(), "x", || async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            panic!("boom")
        });
        assert_eq!(t.outcome().await, None);
        assert!(!flights.in_flight("x"));
    }
}
