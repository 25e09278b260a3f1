//! The on-demand fields a module declares: `startTimeoutMs` (how long the
//! hub holds a request while the module starts) and `idleStopAfter` (how
//! long without traffic before the hub stops it), with the duration
//! grammar `idleStopAfter` uses: a whole number and one unit, `s`, `m`,
//! `h` or `d` ("30s", "15m", "2h").

use std::time::Duration;

/// `startTimeoutMs` when a module does not say.
pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(15);
/// Bounds on `startTimeoutMs`: a held request must end, and a start under
/// 100 ms would time out before systemd has run anything.
pub const START_TIMEOUT_MS: std::ops::RangeInclusive<u64> = 100..=600_000;
/// Bounds on `idleStopAfter`: a module stopped within seconds of its last
/// request would flap; a week is "never" for a hub that runs for one person.
pub const IDLE_MIN: Duration = Duration::from_secs(5);
pub const IDLE_MAX: Duration = Duration::from_secs(7 * 86_400);

/// Parse a duration like `"15m"`; the error says what is wrong and what
/// would be right.
pub fn parse(input: &str) -> Result<Duration, String> {
    let s = input.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "" => {
            return Err(format!(
                "\"{input}\" has no unit; write a number and one of s, m, h, d, e.g. \"15m\""
            ));
        }
        _ => {
            return Err(format!(
                "\"{input}\" is not a duration; write a number and one of s, m, h, d, e.g. \"15m\""
            ));
        }
    };
    let n: u64 = digits.parse().map_err(|_| {
        format!("\"{input}\" is not a duration; write a number and one of s, m, h, d, e.g. \"15m\"")
    })?;
    let d = Duration::from_secs(n.saturating_mul(unit_secs));
    if d < IDLE_MIN || d > IDLE_MAX {
        return Err(format!(
            "\"{input}\" is out of range; it must be between {}s and {}d",
            IDLE_MIN.as_secs(),
            IDLE_MAX.as_secs() / 86_400
        ));
    }
    Ok(d)
}

/// Check a `startTimeoutMs` value as read from JSON.
pub fn start_timeout(v: &serde_json::Value) -> Result<Duration, String> {
    v.as_u64()
        .filter(|ms| START_TIMEOUT_MS.contains(ms))
        .map(Duration::from_millis)
        .ok_or_else(|| {
            format!(
                "must be an integer number of milliseconds from {} to {} (got {v}), e.g. 15000",
                START_TIMEOUT_MS.start(),
                START_TIMEOUT_MS.end()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_and_a_unit_is_a_duration() {
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse(" 2h "), Ok(Duration::from_secs(7_200)));
        assert_eq!(parse("1d"), Ok(Duration::from_secs(86_400)));
    }

    #[test]
    fn anything_else_says_what_to_write() {
        for bad in [
            "15", "m", "", "1.5m", "-3m", "15 m", "15min", "1m30s", "1e3s",
        ] {
            let e = parse(bad).expect_err(bad);
            assert!(e.contains("e.g. \"15m\""), "{bad}: {e}");
        }
        assert!(
            parse("4s")
                .expect_err("short")
                .contains("between 5s and 7d")
        );
        assert!(parse("8d").expect_err("long").contains("between 5s and 7d"));
        assert!(parse("99999999999999999999s").is_err());
    }

    #[test]
    fn start_timeouts_are_bounded_milliseconds() {
        use serde_json::json;
        assert_eq!(start_timeout(&json!(2500)), Ok(Duration::from_millis(2500)));
        for bad in [
            json!(0),
            json!(99),
            json!(600_001),
            json!("15s"),
            json!(1.5),
        ] {
            let e = start_timeout(&bad).expect_err("bad");
            assert!(e.contains("from 100 to 600000"), "{e}");
        }
    }
}
