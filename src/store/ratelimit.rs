//! `rate_limit_hits`: a sliding-window log of attempts per `(bucket, key)`.
//! Kept in the store, not in memory, because the hub exits when idle and is
//! started again by its socket: an in-memory window would reset each time.

use rusqlite::Connection;

/// One sliding-window bucket: at most `max` attempts per key within
/// `window_secs` (the identity and hub layers name theirs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub bucket: &'static str,
    pub max: u32,
    pub window_secs: i64,
}

/// No window is longer than this; older hits of any key are swept.
const LONGEST_WINDOW_SECS: i64 = 86_400;

/// Record an attempt at `now` unless `max` attempts already fall within the
/// last `window` seconds; `Err(retry_after_secs)` when refused (a refused
/// attempt is not recorded).
pub fn hit(
    conn: &Connection,
    bucket: &str,
    key: &str,
    max: u32,
    window: i64,
    now: i64,
) -> rusqlite::Result<Result<(), i64>> {
    let since = now - window;
    sweep(conn, now)?;
    conn.execute(
        "DELETE FROM rate_limit_hits WHERE bucket = ?1 AND key = ?2 AND at <= ?3",
        (bucket, key, since),
    )?;
    let (count, oldest): (i64, Option<i64>) = conn.query_row(
        "SELECT count(*), min(at) FROM rate_limit_hits WHERE bucket = ?1 AND key = ?2",
        (bucket, key),
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if count >= i64::from(max) {
        let retry = oldest.map_or(window, |o| o + window - now).max(1);
        return Ok(Err(retry));
    }
    conn.execute(
        "INSERT INTO rate_limit_hits (bucket, key, at) VALUES (?1, ?2, ?3)",
        (bucket, key, now),
    )?;
    Ok(Ok(()))
}

/// Forget hits older than any window (the reaper's pass); how many.
pub fn sweep(conn: &Connection, now: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM rate_limit_hits WHERE at <= ?1",
        [now - LONGEST_WINDOW_SECS],
    )
}

/// Forget a key's attempts (e.g. after a successful second factor).
pub fn clear(conn: &Connection, bucket: &str, key: &str) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM rate_limit_hits WHERE bucket = ?1 AND key = ?2",
        (bucket, key),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::store;

    #[test]
    fn sliding_window_refuses_the_sixth_and_reopens() {
        let (_d, s) = store();
        let c = s.conn().expect("conn");
        for t in 0..5 {
            assert_eq!(
                hit(&c, "login", "ip|ada", 5, 900, 100 + t).expect("q"),
                Ok(())
            );
        }
        assert_eq!(
            hit(&c, "login", "ip|ada", 5, 900, 110).expect("q"),
            Err(890)
        );
        assert_eq!(
            hit(&c, "login", "ip|bob", 5, 900, 110).expect("q"),
            Ok(()),
            "per key"
        );
        assert_eq!(
            hit(&c, "totp", "ip|ada", 5, 900, 110).expect("q"),
            Ok(()),
            "per bucket"
        );
        assert_eq!(
            hit(&c, "login", "ip|ada", 5, 900, 1_000).expect("q"),
            Ok(()),
            "window slid"
        );
        clear(&c, "login", "ip|ada").expect("clear");
        for _ in 0..5 {
            assert_eq!(
                hit(&c, "login", "ip|ada", 5, 900, 1_001).expect("q"),
                Ok(())
            );
        }
    }
}
