//! The `--ttl` grammar of `mint-token`: an integer and one unit, `d`, `h`,
//! `m` or `s` (`90d`, `24h`, `30m`, `60s`); more than zero, at most 365 days.
//! Deliberately small — no compound forms, no `w` — so the operator surface
//! stays obvious.

/// Default lifetime of a minted token: 90 days.
pub const DEFAULT_SECS: i64 = 90 * 86_400;
/// Longest lifetime a minted token may have: 365 days.
pub const MAX_SECS: i64 = 365 * 86_400;

/// Seconds in `input`, or the message to print (without the command prefix).
pub fn parse(input: &str) -> Result<i64, String> {
    let invalid = || format!("invalid --ttl \"{input}\" — expected e.g. 90d, 24h, 30m, 60s");
    let unit = input.chars().last().ok_or_else(invalid)?;
    let digits = &input[..input.len() - unit.len_utf8()];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let mult = match unit {
        'd' => 86_400,
        'h' => 3_600,
        'm' => 60,
        's' => 1,
        _ => return Err(invalid()),
    };
    let cap = || format!("--ttl \"{input}\" exceeds 365d cap");
    // Digits only, so a parse failure is an overflow: far past the cap.
    let n: i64 = digits.parse().map_err(|_| cap())?;
    if n == 0 {
        return Err(format!("invalid --ttl \"{input}\" — must be > 0"));
    }
    let secs = n.checked_mul(mult).ok_or_else(cap)?;
    if secs > MAX_SECS {
        return Err(cap());
    }
    Ok(secs)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn units() {
        assert_eq!(parse("90d"), Ok(7_776_000));
        assert_eq!(parse("24h"), Ok(86_400));
        assert_eq!(parse("1h"), Ok(3_600));
        assert_eq!(parse("30m"), Ok(1_800));
        assert_eq!(parse("60s"), Ok(60));
        assert_eq!(parse("007s"), Ok(7));
    }

    #[test]
    fn the_cap_is_inclusive() {
        assert_eq!(parse("365d"), Ok(31_536_000));
        assert_eq!(parse("8760h"), Ok(31_536_000));
        for over in [
            "366d",
            "400d",
            "8761h",
            "31536001s",
            "99999999999999999999999d",
        ] {
            let e = parse(over).expect_err(over);
            assert!(e.contains("365d cap"), "{over}: {e}");
        }
    }

    #[test]
    fn zero_is_rejected() {
        for zero in ["0s", "0d", "000m"] {
            let e = parse(zero).expect_err(zero);
            assert!(e.contains("must be > 0"), "{zero}: {e}");
        }
    }

    #[test]
    fn anything_else_is_invalid() {
        for bad in [
            "", "d", "1week", "1w", "1.5h", "-1h", "+1h", "1 h", "h1", "1H", "1dd", "١d",
        ] {
            let e = parse(bad).expect_err(bad);
            assert!(e.starts_with("invalid --ttl"), "{bad}: {e}");
        }
    }
}
