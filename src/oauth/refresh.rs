//! Refresh-token rotation (OAuth 2.1 §4.3.1): every use rotates; a rotated
//! token presented again means it leaked, so the whole family is revoked.
//!
//! The reuse grace (Dex's `reuseInterval`): a client that races itself —
//! several tabs or threads refreshing the same token at once — would revoke
//! its own grant. So for [`GRACE_SECS`] after a rotation, the same client
//! presenting the rotated token again, while its successor is still unused,
//! gets **the same answer** the rotation gave (the same access and refresh
//! token, remembered in [`Recent`]); nothing new is issued and the family
//! stays live. After the window, or once the successor has itself been
//! used, a reuse revokes the family. The answers are kept in memory only:
//! within the window after a hub restart a reuse is refused
//! (`invalid_grant`) without revoking anything.

use std::collections::HashMap;
use std::sync::Mutex;

/// How long (seconds, inclusive) a rotated token is answered with its
/// successor after the rotation.
pub const GRACE_SECS: i64 = 3;
/// At most this many rotations are remembered at once; past it a rotation
/// is not remembered, and a reuse of its token is refused (not revoked).
pub const MAX_RECENT: usize = 1024;

/// A freshly issued pair (remembered for the reuse grace, so `Debug` leaves
/// the tokens out).
#[derive(Clone, PartialEq, Eq)]
pub struct Issued {
    pub access: String,
    pub refresh: String,
    /// The granted scopes, space-separated.
    pub scope: String,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

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
    /// Within the grace: answer as the rotation into this jti did.
    Replay(&'a str),
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
            Decision::Replay(next)
        }
        (Some(_), Some(_)) => Decision::RevokeFamily,
        (Some(_), None) => Decision::Refuse("the refresh token has been revoked"),
    }
}

/// The answers of the rotations of the last [`GRACE_SECS`], by the SHA-256
/// of the refresh token they rotated. `Debug` shows only how many.
pub struct Recent<T> {
    map: Mutex<HashMap<String, Answered<T>>>,
}

struct Answered<T> {
    at: i64,
    successor: String,
    answer: T,
}

impl<T> Default for Recent<T> {
    fn default() -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> std::fmt::Debug for Recent<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.map.lock().map_or(0, |m| m.len());
        f.debug_struct("Recent").field("answers", &n).finish()
    }
}

impl<T: Clone> Recent<T> {
    /// Remember that rotating `presented_hash` into `successor` answered
    /// `answer` at `now`; forgets answers older than the grace first.
    pub fn remember(&self, presented_hash: &str, successor: &str, answer: T, now: i64) {
        let Ok(mut m) = self.map.lock() else {
            return;
        };
        m.retain(|_, a| now - a.at <= GRACE_SECS);
        if m.len() < MAX_RECENT {
            m.insert(
                presented_hash.to_string(),
                Answered {
                    at: now,
                    successor: successor.to_string(),
                    answer,
                },
            );
        }
    }

    /// The answer of the rotation of `presented_hash` into `successor`, if
    /// it is remembered and within the grace at `now`.
    pub fn recall(&self, presented_hash: &str, successor: &str, now: i64) -> Option<T> {
        let m = self.map.lock().ok()?;
        m.get(presented_hash)
            .filter(|a| a.successor == successor && now - a.at <= GRACE_SECS)
            .map(|a| a.answer.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_answers_last_the_grace_and_name_their_successor() {
        let r: Recent<&str> = Recent::default();
        r.remember("h", "b", "answer", 100);
        assert_eq!(r.recall("h", "b", 100 + GRACE_SECS), Some("answer"));
        assert_eq!(
            r.recall("h", "b", 101 + GRACE_SECS),
            None,
            "after the grace"
        );
        assert_eq!(r.recall("h", "c", 100), None, "another successor");
        assert_eq!(r.recall("x", "b", 100), None);
        // Old answers are forgotten when a new one is remembered.
        r.remember("h2", "c", "second", 200);
        assert_eq!(format!("{r:?}"), "Recent { answers: 1 }");
    }

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
                Decision::Replay("n"),
            ),
            (
                "previous at grace edge",
                t(Some(1_000), Some("n")),
                "c1",
                true,
                1_000 + GRACE_SECS,
                Decision::Replay("n"),
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
