//! The crash-loop guard launchd lacks. systemd stops a unit that starts
//! more than `StartLimitBurst` times within `StartLimitIntervalSec`; launchd
//! respawns a crashing agent every `ThrottleInterval` for the whole session.
//! So every look at a job (`status`, `start`'s settle, `doctor`) records how
//! many times launchd has spawned it (`runs`); once it has exited `burst`
//! times within `window_secs` with a failure, the caller boots it out and
//! keeps the [`Trip`] so `status` can say why. Pure: time comes in as `now`.

use serde::{Deserialize, Serialize};

use crate::lifecycle::systemd::{hub_unit, unit};

/// Exits allowed within a window, as in the generated systemd units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub burst: u32,
    pub window_secs: i64,
}

/// Modules: `StartLimitBurst=5` in `StartLimitIntervalSec=300`.
pub const MODULE: Limit = Limit {
    burst: unit::START_LIMIT_BURST,
    window_secs: unit::START_LIMIT_INTERVAL_SEC as i64,
};
/// The hub: 20 in 60 s (its idle exits are successful and do not count).
pub const HUB: Limit = Limit {
    burst: hub_unit::START_LIMIT_BURST,
    window_secs: hub_unit::START_LIMIT_INTERVAL_SEC as i64,
};

/// Observations older than this say nothing about a loop now.
const KEEP_SECS: i64 = 24 * 3600;
const KEEP_SAMPLES: usize = 32;

/// One look at the job: at `at`, launchd had spawned it `runs` times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    pub at: i64,
    pub runs: u32,
}

/// Why the guard booted a job out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trip {
    pub at: i64,
    pub exits: u32,
    pub within_secs: i64,
    /// The last exit status launchd reported (`None` when unknown).
    pub last_exit_code: Option<i32>,
}

impl Trip {
    /// What `status` says.
    pub fn reason(&self, short: &str) -> String {
        let code = self
            .last_exit_code
            .map_or_else(|| "unknown".to_string(), |c| c.to_string());
        format!(
            "crash loop: exited {} times within {}s (last exit code {code}); parachute stopped it. Fix the cause (parachute logs {short}), then: parachute start {short}",
            self.exits, self.within_secs
        )
    }
}

/// What is kept per job in `$PARACHUTE_HOME/launchd/<short>.crash-loop.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub samples: Vec<Sample>,
    pub tripped: Option<Trip>,
}

impl Record {
    /// A fresh start: the job was (re)loaded, so `runs` counts from zero
    /// again, and an earlier trip no longer applies.
    pub fn started(now: i64) -> Self {
        Self {
            samples: vec![Sample { at: now, runs: 0 }],
            tripped: None,
        }
    }

    /// Record one look. Returns the trip when this look finds a loop: at
    /// least `burst` spawns since a sample inside the window, or the same
    /// rate since an older one, while the last exit was a failure.
    pub fn observe(
        &mut self,
        now: i64,
        runs: u32,
        last_exit_code: Option<i32>,
        limit: Limit,
    ) -> Option<Trip> {
        if self.tripped.is_some() {
            return None;
        }
        // launchd counts from one again after a reload we did not see.
        if self.samples.last().is_some_and(|s| s.runs > runs) {
            self.samples.clear();
        }
        self.samples.retain(|s| now - s.at <= KEEP_SECS);
        let failing = last_exit_code.is_some_and(|c| c != 0);
        let found = self.samples.iter().find_map(|s| {
            let exits = runs.saturating_sub(s.runs);
            let span = (now - s.at).max(limit.window_secs);
            // exits / span >= burst / window, in integers.
            let looping = exits >= limit.burst
                && i64::from(exits) * limit.window_secs >= i64::from(limit.burst) * span;
            looping.then_some(Trip {
                at: now,
                exits,
                within_secs: (now - s.at).max(1),
                last_exit_code,
            })
        });
        self.samples.push(Sample { at: now, runs });
        if self.samples.len() > KEEP_SAMPLES {
            self.samples.remove(0);
        }
        let trip = found.filter(|_| failing)?;
        self.tripped = Some(trip.clone());
        Some(trip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;

    #[test]
    fn five_failed_exits_within_the_window_trip_the_guard() {
        let clock = Clock::fixed(1_000_000);
        let mut r = Record::started(clock.now());
        // launchd respawns every 10 s: by 40 s in, it ran 4 times.
        clock.advance(40);
        assert_eq!(r.observe(clock.now(), 4, Some(1), MODULE), None);
        clock.advance(10);
        let trip = r.observe(clock.now(), 5, Some(1), MODULE).expect("tripped");
        assert_eq!(trip.exits, 5);
        assert_eq!(trip.within_secs, 50);
        assert_eq!(r.tripped, Some(trip.clone()));
        assert!(trip.reason("vault").contains("parachute start vault"));
        // Tripped once; later looks do not trip again.
        clock.advance(10);
        assert_eq!(r.observe(clock.now(), 6, Some(1), MODULE), None);
    }

    #[test]
    fn slow_occasional_crashes_do_not_trip_it() {
        let clock = Clock::fixed(1_000_000);
        let mut r = Record::started(clock.now());
        for runs in 1..=10 {
            clock.advance(3600);
            assert_eq!(r.observe(clock.now(), runs, Some(1), MODULE), None);
        }
    }

    #[test]
    fn a_sparse_look_still_sees_a_steady_loop() {
        let clock = Clock::fixed(1_000_000);
        let mut r = Record::started(clock.now());
        // Nobody looked for 20 minutes; launchd respawned it 120 times.
        clock.advance(1200);
        assert!(r.observe(clock.now(), 120, Some(1), MODULE).is_some());
    }

    #[test]
    fn successful_exits_and_a_reload_are_not_a_loop() {
        let clock = Clock::fixed(1_000_000);
        let mut r = Record::started(clock.now());
        clock.advance(30);
        // The hub idles out with 0 and is socket-activated again: fine.
        assert_eq!(r.observe(clock.now(), 25, Some(0), HUB), None);
        // A reload we did not make restarts launchd's count.
        clock.advance(5);
        assert_eq!(r.observe(clock.now(), 1, Some(1), MODULE), None);
        assert_eq!(r.samples.len(), 1);
    }

    #[test]
    fn the_limits_match_the_systemd_units() {
        assert_eq!((MODULE.burst, MODULE.window_secs), (5, 300));
        assert_eq!((HUB.burst, HUB.window_secs), (20, 60));
    }
}
