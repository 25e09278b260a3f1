//! How the admin pages write times, durations and sizes.

/// A Unix time as `2026-12-02 06:30 UTC`.
pub fn when(secs: i64) -> String {
    jiff::Timestamp::from_second(secs).map_or_else(
        |_| secs.to_string(),
        |t| t.strftime("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

/// `3d 4h`, `2h 5m`, `4m 10s`, `12s`: the two largest units.
pub fn duration(secs: u64) -> String {
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

/// Bytes in the largest binary unit that keeps a whole part.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n;
    let mut tenths = 0;
    let mut unit = 0;
    while v >= 1024 && unit + 1 < UNITS.len() {
        tenths = (v % 1024) * 10 / 1024;
        v /= 1024;
        unit += 1;
    }
    if unit == 0 {
        format!("{v} B")
    } else {
        format!("{v}.{tenths} {}", UNITS[unit])
    }
}

/// The age of something made at `then`, as of `now`.
pub fn age(then: i64, now: i64) -> String {
    duration(u64::try_from(now.saturating_sub(then)).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes_read_like_status() {
        assert_eq!(duration(12), "12s");
        assert_eq!(duration(250), "4m 10s");
        assert_eq!(duration(7500), "2h 5m");
        assert_eq!(duration(3 * 86_400 + 4 * 3600), "3d 4h");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(12 * 1024 * 1024 + 512 * 1024), "12.5 MiB");
        assert_eq!(when(0), "1970-01-01 00:00 UTC");
    }
}
