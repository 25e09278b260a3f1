//! The step-up PIN (seed 004): a second factor, on top of a session or a
//! bearer, for the hub's dangerous actions. A user sets a PIN of 4–12
//! digits (argon2id, as passwords are); entering it buys a step-up token
//! that lives [`TOKEN_TTL_SECS`], is reusable within that window, and is
//! good only for the credential (the holder) that entered the PIN.
//!
//! Entering a PIN — to step up, or to prove the current one when rotating
//! it — is one attempt in [`PIN_LIMIT`], keyed on the user and recorded
//! *before* the argon2 verify, so a stolen session cannot grind PINs and
//! cannot earn a fresh window by alternating the two doors. A refused
//! attempt is not recorded; a right PIN clears the bucket.
//!
//! Every function takes `now`; argon2 makes [`verify`] and [`set_pin`]
//! slow by design, so async callers run them on the blocking pool.

use crate::identity::password::{self, Password};
use crate::secret;
use crate::store::ratelimit::Limit;
use crate::store::{self, Store, StoreError};

/// Shortest PIN, in digits.
pub const PIN_MIN_DIGITS: usize = 4;
/// Longest PIN, in digits.
pub const PIN_MAX_DIGITS: usize = 12;
/// How long a step-up token is good for: seed 004's five minutes.
pub const TOKEN_TTL_SECS: i64 = 5 * 60;
/// PIN attempts per user, shared by stepping up and rotating: seed 004's
/// 5 per 5 minutes.
pub const PIN_LIMIT: Limit = Limit {
    bucket: "step_up_pin",
    max: 5,
    window_secs: 5 * 60,
};

/// Why a step-up or a PIN change was refused.
#[derive(Debug, thiserror::Error)]
pub enum StepUpError {
    #[error("the PIN must be {PIN_MIN_DIGITS}–{PIN_MAX_DIGITS} digits")]
    Format,
    #[error("set a step-up PIN first (POST /api/step-up/pin)")]
    NotConfigured,
    #[error("incorrect PIN")]
    WrongPin,
    #[error("the current PIN is required to change it")]
    CurrentPinRequired,
    /// Too many PIN attempts; retry after this many seconds.
    #[error("too many PIN attempts — wait before retrying")]
    RateLimited(i64),
    /// The credential's subject has no user row to hold a PIN.
    #[error("`{0}` is not a user of this hub, so it cannot have a step-up PIN")]
    NotAUser(String),
    #[error(transparent)]
    Hash(#[from] password::PasswordError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A step-up token as handed to its holder (the store keeps its hash).
#[derive(Clone, PartialEq, Eq)]
pub struct Minted {
    pub token: String,
    pub expires_at: i64,
}

impl std::fmt::Debug for Minted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Minted")
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Is `pin` a well-formed PIN: 4–12 ASCII digits?
pub fn is_valid_format(pin: &str) -> bool {
    (PIN_MIN_DIGITS..=PIN_MAX_DIGITS).contains(&pin.len())
        && pin.bytes().all(|b| b.is_ascii_digit())
}

/// The holder of a browser session, as the store names it (the id's
/// SHA-256: the session id itself is a secret).
pub fn session_holder(session_id: &str) -> String {
    format!("session:{}", secret::sha256_hex(session_id))
}

/// The holder of a bearer token, as the store names it.
pub fn bearer_holder(jti: &str) -> String {
    format!("bearer:{jti}")
}

/// Has the user set a PIN?
pub fn configured(conn: &rusqlite::Connection, user_id: &str) -> rusqlite::Result<bool> {
    Ok(store::step_up::pin_hash(conn, user_id)?.is_some())
}

/// Is `token` a live step-up token of `holder`?
pub fn check(
    conn: &rusqlite::Connection,
    holder: &str,
    token: &str,
    now: i64,
) -> rusqlite::Result<bool> {
    store::step_up::token_live(conn, token, holder, now)
}

/// Enter the PIN for `holder` (a credential of `user_id`): a step-up token
/// on the right PIN.
pub fn verify(
    store: &Store,
    user_id: &str,
    holder: &str,
    pin: &str,
    now: i64,
) -> Result<Minted, StepUpError> {
    let hash = stored_hash(store, user_id)?.ok_or(StepUpError::NotConfigured)?;
    attempt(store, user_id, now)?;
    // What is not a PIN cannot be the PIN: it counts, without an argon2 run.
    if !is_valid_format(pin) || !password::verify(&Password::new(pin), &hash) {
        return Err(StepUpError::WrongPin);
    }
    let minted = Minted {
        token: secret::random_token(),
        expires_at: now + TOKEN_TTL_SECS,
    };
    store.write(|tx| {
        store::ratelimit::clear(tx, PIN_LIMIT.bucket, user_id).map_err(|e| store.err(e))?;
        store::step_up::insert_token(tx, &minted.token, holder, user_id, now, minted.expires_at)
            .map_err(|e| store.err(e))
    })?;
    Ok(minted)
}

/// Set the user's first PIN, or rotate it (`current` must then be the PIN
/// in force). A new PIN ends the step-up tokens the old one bought.
pub fn set_pin(
    store: &Store,
    user_id: &str,
    new_pin: &str,
    current: Option<&str>,
    now: i64,
) -> Result<(), StepUpError> {
    if !is_valid_format(new_pin) {
        return Err(StepUpError::Format);
    }
    let existing = stored_hash(store, user_id)?;
    if let Some(hash) = &existing {
        attempt(store, user_id, now)?;
        let Some(current) = current else {
            return Err(StepUpError::CurrentPinRequired);
        };
        if !is_valid_format(current) || !password::verify(&Password::new(current), hash) {
            return Err(StepUpError::CurrentPinRequired);
        }
    } else if !is_user(store, user_id)? {
        return Err(StepUpError::NotAUser(user_id.to_string()));
    }
    let hash = password::hash(&Password::new(new_pin))?;
    store.write(|tx| {
        let e = |e| store.err(e);
        store::ratelimit::clear(tx, PIN_LIMIT.bucket, user_id).map_err(e)?;
        store::step_up::revoke_tokens(tx, user_id).map_err(e)?;
        store::step_up::set_pin(tx, user_id, &hash, now).map_err(e)
    })?;
    Ok(())
}

/// Forget the user's PIN and its tokens (the operator's reset, `parachute
/// auth step-up clear`); whether there was one.
pub fn clear(store: &Store, user_id: &str) -> Result<bool, StoreError> {
    store.write(|tx| {
        store::ratelimit::clear(tx, PIN_LIMIT.bucket, user_id).map_err(|e| store.err(e))?;
        store::step_up::clear(tx, user_id).map_err(|e| store.err(e))
    })
}

fn stored_hash(store: &Store, user_id: &str) -> Result<Option<String>, StoreError> {
    let conn = store.conn()?;
    store::step_up::pin_hash(&conn, user_id).map_err(|e| store.err(e))
}

fn is_user(store: &Store, user_id: &str) -> Result<bool, StoreError> {
    let conn = store.conn()?;
    Ok(store::users::by_id(&conn, user_id)
        .map_err(|e| store.err(e))?
        .is_some())
}

/// One PIN attempt against [`PIN_LIMIT`], committed before any verify.
fn attempt(store: &Store, user_id: &str, now: i64) -> Result<(), StepUpError> {
    let outcome = store.write(|tx| {
        store::ratelimit::hit(
            tx,
            PIN_LIMIT.bucket,
            user_id,
            PIN_LIMIT.max,
            PIN_LIMIT.window_secs,
            now,
        )
        .map_err(|e| store.err(e))
    })?;
    outcome.map_err(StepUpError::RateLimited)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::store;

    const T0: i64 = 1_000_000;

    fn with_user() -> (tempfile::TempDir, Store) {
        let (d, s) = store();
        s.conn()
            .expect("conn")
            .execute(
                "INSERT INTO users (id, username, password_hash, created_at, updated_at)
                 VALUES ('u1', 'ada', 'x', 0, 0)",
                [],
            )
            .expect("user");
        (d, s)
    }

    fn live(s: &Store, holder: &str, token: &str, now: i64) -> bool {
        check(&s.conn().expect("conn"), holder, token, now).expect("check")
    }

    #[test]
    fn the_format_is_four_to_twelve_ascii_digits() {
        for ok in ["0000", "123456789012", "4242"] {
            assert!(is_valid_format(ok), "{ok}");
        }
        for bad in ["", "123", "1234567890123", "12a4", "١٢٣٤", " 1234", "12.4"] {
            assert!(!is_valid_format(bad), "{bad}");
        }
    }

    #[test]
    fn a_pin_buys_a_token_for_its_holder_only_until_the_ttl() {
        let (_d, s) = with_user();
        let h = bearer_holder("j1");
        assert!(matches!(
            verify(&s, "u1", &h, "4242", T0),
            Err(StepUpError::NotConfigured)
        ));
        assert!(matches!(
            set_pin(&s, "u1", "42", None, T0),
            Err(StepUpError::Format)
        ));
        set_pin(&s, "u1", "4242", None, T0).expect("set");
        assert!(configured(&s.conn().expect("c"), "u1").expect("q"));
        let m = verify(&s, "u1", &h, "4242", T0).expect("verify");
        assert_eq!(m.expires_at, T0 + TOKEN_TTL_SECS);
        assert!(
            live(&s, &h, &m.token, T0 + TOKEN_TTL_SECS - 1),
            "reusable in its window"
        );
        assert!(live(&s, &h, &m.token, T0 + 1));
        assert!(!live(&s, &h, &m.token, T0 + TOKEN_TTL_SECS), "expired");
        assert!(
            !live(&s, &bearer_holder("j2"), &m.token, T0),
            "another bearer"
        );
        assert!(!live(&s, &session_holder("j1"), &m.token, T0), "a session");
        assert!(format!("{m:?}").contains("<redacted>"));
    }

    #[test]
    fn five_attempts_then_429_shared_by_rotation_and_cleared_by_the_right_pin() {
        let (_d, s) = with_user();
        let h = bearer_holder("j1");
        set_pin(&s, "u1", "4242", None, T0).expect("set");
        for i in 0..4 {
            assert!(
                matches!(
                    verify(&s, "u1", &h, "0000", T0 + i),
                    Err(StepUpError::WrongPin)
                ),
                "attempt {i}"
            );
        }
        // The fifth attempt is a rotation with a wrong current PIN: same bucket.
        assert!(matches!(
            set_pin(&s, "u1", "9999", Some("0000"), T0 + 4),
            Err(StepUpError::CurrentPinRequired)
        ));
        // Refused before the verify, even with the right PIN.
        assert!(matches!(
            verify(&s, "u1", &h, "4242", T0 + 5),
            Err(StepUpError::RateLimited(295))
        ));
        assert!(matches!(
            set_pin(&s, "u1", "9999", Some("4242"), T0 + 5),
            Err(StepUpError::RateLimited(295))
        ));
        // The window slides; a right PIN then clears the bucket.
        let later = T0 + PIN_LIMIT.window_secs + 1;
        verify(&s, "u1", &h, "4242", later).expect("after the window");
        for i in 0..4 {
            assert!(matches!(
                verify(&s, "u1", &h, "0000", later + i),
                Err(StepUpError::WrongPin)
            ));
        }
        verify(&s, "u1", &h, "4242", later + 4).expect("still five more");
    }

    #[test]
    fn rotation_needs_the_current_pin_and_ends_old_tokens() {
        let (_d, s) = with_user();
        let h = session_holder("sid");
        set_pin(&s, "u1", "4242", None, T0).expect("set");
        let old = verify(&s, "u1", &h, "4242", T0).expect("verify");
        assert!(matches!(
            set_pin(&s, "u1", "9999", None, T0),
            Err(StepUpError::CurrentPinRequired)
        ));
        set_pin(&s, "u1", "9999", Some("4242"), T0).expect("rotate");
        assert!(
            !live(&s, &h, &old.token, T0 + 1),
            "the old PIN's token died"
        );
        assert!(matches!(
            verify(&s, "u1", &h, "4242", T0 + 1),
            Err(StepUpError::WrongPin)
        ));
        verify(&s, "u1", &h, "9999", T0 + 2).expect("the new PIN");
        assert!(clear(&s, "u1").expect("clear"));
        assert!(!configured(&s.conn().expect("c"), "u1").expect("q"));
        assert!(matches!(
            set_pin(&s, "nobody", "4242", None, T0),
            Err(StepUpError::NotAUser(_))
        ));
    }
}
