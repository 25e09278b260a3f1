//! Refresh-token rotation (OAuth 2.1 §4.3.1): every use rotates; a rotated
//! token presented again means it leaked (or a client raced itself), so the
//! whole family is revoked — except, for a few seconds, the immediately
//! previous token while its successor is still unused (Dex's
//! `reuseInterval`), which rotates that successor instead.

/// How long the immediately previous token is honoured after rotation.
pub const GRACE_SECS: i64 = 3;

/// The presented token's registry state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presented<'a> {
    pub client_id: &'a str,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    /// The token it was rotated into, if it was rotated.
    pub rotated_to: Option<&'a str>,
}

/// What to do with a refresh request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision<'a> {
    /// Rotate the presented token.
    Rotate,
    /// Within the grace: rotate its live successor (this jti) instead.
    RotateSuccessor(&'a str),
    /// Reuse of a rotated token: revoke the family, answer `invalid_grant`.
    RevokeFamily,
    /// `invalid_grant` without side effects (expired, revoked outright,
    /// another client's token).
    Refuse(&'static str),
}

/// Decide; `successor_live` says whether `rotated_to` is neither revoked
/// nor expired.
pub fn decide<'a>(
    t: &Presented<'a>,
    client_id: &str,
    successor_live: bool,
    now: i64,
) -> Decision<'a> {
    if t.client_id != client_id {
        return Decision::Refuse("the refresh token was issued to another client");
    }
    if t.expires_at <= now {
        return Decision::Refuse("the refresh token has expired");
    }
    match (t.revoked_at, t.rotated_to) {
        (None, _) => Decision::Rotate,
        (Some(at), Some(next)) if now - at <= GRACE_SECS && successor_live => {
            Decision::RotateSuccessor(next)
        }
        (Some(_), Some(_)) => Decision::RevokeFamily,
        (Some(_), None) => Decision::Refuse("the refresh token has been revoked"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(revoked_at: Option<i64>, rotated_to: Option<&str>) -> Presented<'_> {
        Presented {
            client_id: "c1",
            expires_at: 10_000,
            revoked_at,
            rotated_to,
        }
    }

    #[test]
    fn decision_table() {
        let cases: &[(&str, Presented<'_>, &str, bool, i64, Decision<'_>)] = &[
            (
                "live token rotates",
                t(None, None),
                "c1",
                false,
                1_000,
                Decision::Rotate,
            ),
            (
                "other client",
                t(None, None),
                "c2",
                false,
                1_000,
                Decision::Refuse("the refresh token was issued to another client"),
            ),
            (
                "expired",
                t(None, None),
                "c1",
                false,
                10_000,
                Decision::Refuse("the refresh token has expired"),
            ),
            (
                "previous within grace",
                t(Some(999), Some("n")),
                "c1",
                true,
                1_000 + GRACE_SECS - 1,
                Decision::RotateSuccessor("n"),
            ),
            (
                "previous at grace edge",
                t(Some(1_000), Some("n")),
                "c1",
                true,
                1_000 + GRACE_SECS,
                Decision::RotateSuccessor("n"),
            ),
            (
                "previous after grace",
                t(Some(1_000), Some("n")),
                "c1",
                true,
                1_000 + GRACE_SECS + 1,
                Decision::RevokeFamily,
            ),
            (
                "older than previous",
                t(Some(1_000), Some("n")),
                "c1",
                false,
                1_001,
                Decision::RevokeFamily,
            ),
            (
                "revoked outright",
                t(Some(1_000), None),
                "c1",
                false,
                1_001,
                Decision::Refuse("the refresh token has been revoked"),
            ),
        ];
        for (name, p, client, live, now, want) in cases {
            assert_eq!(decide(p, client, *live, *now), *want, "{name}");
        }
    }
}
