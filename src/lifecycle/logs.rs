//! Services' logs, whichever init system keeps them (journald under
//! systemd): one unit's, one run's, or several units' interleaved.

use std::fmt::Write as _;
use std::time::Duration;

pub use crate::lifecycle::systemd::journal::{Entry, Query, follow, follow_all, tail, tail_all};

use crate::lifecycle::inventory::short_of;
use crate::lifecycle::service::HUB_SERVICE;

/// journald forwards lines asynchronously: how long a run's lines may take
/// to show up after the run ended.
const ARRIVAL: Duration = Duration::from_millis(1500);
const ARRIVAL_POLL: Duration = Duration::from_millis(100);

/// The last `lines` lines of one run of `unit`: those tagged with its
/// invocation ID; where journald tags none (it finds the ID only under
/// `/run/user/<uid>`), those since `since_us`, to the microsecond.
pub async fn of_run(unit: &str, invocation_id: &str, since_us: i64, lines: usize) -> Vec<String> {
    if !invocation_id.is_empty() {
        let q = Query {
            unit,
            lines,
            since: None,
            invocation: Some(invocation_id),
        };
        let deadline = tokio::time::Instant::now() + ARRIVAL;
        loop {
            let found = tail(&q).await.unwrap_or_default();
            if !found.is_empty() {
                return found;
            }
            if tokio::time::Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(ARRIVAL_POLL).await;
        }
    }
    let since = format!("@{}.{:06}", since_us / 1_000_000, since_us % 1_000_000);
    tail(&Query {
        unit,
        lines,
        since: Some(&since),
        invocation: None,
    })
    .await
    .unwrap_or_default()
}

/// The name a line is prefixed with: `vault`, or `hub`.
pub fn prefix_of(unit: &str) -> &str {
    if unit == HUB_SERVICE {
        "hub"
    } else {
        short_of(unit)
    }
}

/// The width of the widest prefix among `units`.
pub fn prefix_width(units: &[String]) -> usize {
    units
        .iter()
        .map(|u| prefix_of(u).chars().count())
        .max()
        .unwrap_or(0)
}

/// `vault  | 2026-01-31T09:00:00+0000 python3[42]: …`, like `pm2 logs`.
pub fn prefixed(e: &Entry, width: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{:<width$} | {}", prefix_of(&e.unit), e.line);
    s
}

/// One line of a log followed live, with where the log stands after it:
/// the journal cursor (systemd) or the byte offset just past the line in
/// the agent's log file (launchd). A reader resumes from `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Live {
    pub id: String,
    pub line: String,
}

/// A unit's log followed live, whichever init system keeps it. Dropping
/// it stops the follow (and kills `journalctl`).
#[derive(Debug)]
pub enum LiveLog {
    Journal(Box<crate::lifecycle::systemd::journal::Follower>),
    File(crate::lifecycle::launchd::logs::Lines),
}

impl LiveLog {
    /// Follow `unit`'s log from just after `after` (an id a [`Live`] line
    /// carried) when it is one, else from its last `lines` lines.
    pub fn open(
        init: &crate::lifecycle::backend::Backend,
        unit: &str,
        after: Option<&str>,
        lines: usize,
    ) -> Result<Self, crate::error::Error> {
        use crate::lifecycle::backend::Backend;
        match init {
            Backend::Systemd(_) => Ok(Self::Journal(Box::new(
                crate::lifecycle::systemd::journal::Follower::start(unit, after, lines)?,
            ))),
            Backend::Launchd(l) => {
                let (_, short) = crate::lifecycle::launchd::system::job(unit).ok_or_else(|| {
                    crate::error::Error::NoLaunchdLog {
                        unit: unit.to_string(),
                    }
                })?;
                let offset = after.and_then(|a| a.parse().ok());
                Ok(Self::File(crate::lifecycle::launchd::logs::Lines::open(
                    &l.layout.log(&short),
                    offset,
                    lines,
                )))
            }
        }
    }

    /// The next line; `None` once the log can no longer be followed.
    pub async fn next(&mut self) -> Option<Live> {
        match self {
            Self::Journal(j) => j.next().await.map(|(id, e)| Live { id, line: e.line }),
            Self::File(f) => {
                let (at, line) = f.next().await;
                Some(Live {
                    id: at.to_string(),
                    line,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_prefixed_with_a_padded_short_name() {
        let units = vec![
            HUB_SERVICE.to_string(),
            "parachute-vault.service".to_string(),
        ];
        let w = prefix_width(&units);
        let e = |unit: &str| Entry {
            unit: unit.into(),
            realtime_us: 0,
            line: "T x[1]: hi".into(),
        };
        assert_eq!(prefixed(&e(HUB_SERVICE), w), "hub   | T x[1]: hi\n");
        assert_eq!(
            prefixed(&e("parachute-vault.service"), w),
            "vault | T x[1]: hi\n"
        );
    }
}
