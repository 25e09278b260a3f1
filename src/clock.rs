//! The one place the wall clock is read. Rules take `now` (Unix seconds) as
//! a parameter; handlers and operations get it from a [`Clock`] held in
//! their state, so tests can pin and move time. `clippy.toml` forbids the
//! direct reads (`jiff::Timestamp::now`, `SystemTime::now`) everywhere else.
//! Monotonic `Instant`s (timeouts, caches) are not wall-clock time and stay
//! where they are used.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Wall-clock time source. Cheap to clone; clones of a fixed clock share
/// one time, so a test that advances it moves every holder.
#[derive(Debug, Clone, Default)]
pub struct Clock(Source);

#[derive(Debug, Clone, Default)]
enum Source {
    #[default]
    System,
    Fixed(Arc<AtomicI64>),
}

impl Clock {
    /// The real clock.
    pub fn system() -> Self {
        Self(Source::System)
    }

    /// A clock stopped at `unix_seconds` until [`Self::set`] or [`Self::advance`].
    pub fn fixed(unix_seconds: i64) -> Self {
        Self(Source::Fixed(Arc::new(AtomicI64::new(unix_seconds))))
    }

    /// The current time in Unix seconds.
    pub fn now(&self) -> i64 {
        match &self.0 {
            Source::System => read_system().as_second(),
            Source::Fixed(at) => at.load(Ordering::Relaxed),
        }
    }

    /// The current time as a timestamp (for calendar formatting).
    pub fn timestamp(&self) -> jiff::Timestamp {
        match &self.0 {
            Source::System => read_system(),
            Source::Fixed(at) => jiff::Timestamp::from_second(at.load(Ordering::Relaxed))
                .unwrap_or(jiff::Timestamp::UNIX_EPOCH),
        }
    }

    /// Move a fixed clock to `unix_seconds`; no effect on the system clock.
    pub fn set(&self, unix_seconds: i64) {
        if let Source::Fixed(at) = &self.0 {
            at.store(unix_seconds, Ordering::Relaxed);
        }
    }

    /// Move a fixed clock forward by `seconds`; no effect on the system clock.
    pub fn advance(&self, seconds: i64) {
        if let Source::Fixed(at) = &self.0 {
            at.fetch_add(seconds, Ordering::Relaxed);
        }
    }
}

/// The current time in Unix seconds from the system clock, for the few
/// callers with no state to hold a [`Clock`] (a CLI command's start).
pub fn now() -> i64 {
    read_system().as_second()
}

/// Unix seconds as an RFC 3339 UTC time, for people.
pub fn date(secs: i64) -> String {
    jiff::Timestamp::from_second(secs).map_or_else(|_| secs.to_string(), |t| t.to_string())
}

#[allow(clippy::disallowed_methods)] // the one sanctioned read
fn read_system() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_is_shared_by_its_clones_and_moves_only_when_told() {
        let c = Clock::fixed(1_000);
        let d = c.clone();
        assert_eq!(d.now(), 1_000);
        c.advance(30);
        assert_eq!(d.now(), 1_030);
        d.set(5);
        assert_eq!(c.now(), 5);
        assert_eq!(c.timestamp().as_second(), 5);
    }

    #[test]
    fn the_system_clock_reads_the_present() {
        let c = Clock::system();
        assert!(c.now() > 1_700_000_000);
        c.advance(1_000_000); // no effect
        assert!(c.now() < now() + 10);
    }
}
