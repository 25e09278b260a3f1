//! Second factors (migration v4): a user's TOTP secret and the last step
//! accepted from it, and their backup codes (SHA-256 only). Judging a typed
//! code is `identity::two_factor`'s; the store spends a step or a backup
//! code with one conditional `UPDATE`, so of two racing requests exactly one
//! wins. (Pending logins, between password and code, are `sessions`'.)
//!
//! The TOTP secret is stored as base32 in the clear, in the 0600 `hub.db`:
//! the same file holds the JWT signing key in the clear, so anyone able to
//! read it can mint tokens outright, and encrypting the secret with a key kept
//! beside it would add a way to lock every user out without raising that bar.

use rusqlite::{Connection, OptionalExtension as _};

/// A user's TOTP row. `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpRow {
    pub user_id: String,
    /// Base32, unpadded.
    pub secret: String,
    pub created_at: i64,
    /// `None` while enrollment awaits its first code.
    pub enabled_at: Option<i64>,
    /// The last step a code was accepted for; codes for it or earlier are refused.
    pub last_step: Option<u64>,
}

impl std::fmt::Debug for TotpRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpRow")
            .field("user_id", &self.user_id)
            .field("secret", &"<redacted>")
            .field("created_at", &self.created_at)
            .field("enabled_at", &self.enabled_at)
            .field("last_step", &self.last_step)
            .finish()
    }
}

impl TotpRow {
    pub fn enabled(&self) -> bool {
        self.enabled_at.is_some()
    }
}

fn step_to_sql(step: u64) -> i64 {
    i64::try_from(step).unwrap_or(i64::MAX)
}

pub fn totp(conn: &Connection, user_id: &str) -> rusqlite::Result<Option<TotpRow>> {
    conn.query_row(
        "SELECT user_id, secret, created_at, enabled_at, last_step FROM totp WHERE user_id = ?1",
        [user_id],
        |r| {
            Ok(TotpRow {
                user_id: r.get(0)?,
                secret: r.get(1)?,
                created_at: r.get(2)?,
                enabled_at: r.get(3)?,
                last_step: r
                    .get::<_, Option<i64>>(4)?
                    .and_then(|s| u64::try_from(s).ok()),
            })
        },
    )
    .optional()
}

/// Whether the user has TOTP switched on.
pub fn enabled(conn: &Connection, user_id: &str) -> rusqlite::Result<bool> {
    Ok(totp(conn, user_id)?.is_some_and(|t| t.enabled()))
}

/// Begin (or restart) enrollment with `secret`; refused (`false`) when TOTP
/// is already on — replacing a live secret must go through disable.
pub fn start_enrollment(
    conn: &Connection,
    user_id: &str,
    secret: &str,
    now: i64,
) -> rusqlite::Result<bool> {
    let n = conn.execute(
        "INSERT INTO totp (user_id, secret, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(user_id) DO UPDATE SET secret = excluded.secret,
             created_at = excluded.created_at, last_step = NULL
         WHERE totp.enabled_at IS NULL",
        (user_id, secret, now),
    )?;
    Ok(n == 1)
}

/// Switch on a pending enrollment whose first code was good for `step`, with
/// a fresh set of backup code hashes. `false` if there was nothing pending.
pub fn enable(
    conn: &Connection,
    user_id: &str,
    step: u64,
    backup_hashes: &[String],
    now: i64,
) -> rusqlite::Result<bool> {
    let n = conn.execute(
        "UPDATE totp SET enabled_at = ?2, last_step = ?3
         WHERE user_id = ?1 AND enabled_at IS NULL",
        (user_id, now, step_to_sql(step)),
    )?;
    if n != 1 {
        return Ok(false);
    }
    replace_backup_codes(conn, user_id, backup_hashes, now)?;
    Ok(true)
}

/// Remove TOTP and backup codes; `true` if there was anything to remove.
pub fn disable(conn: &Connection, user_id: &str) -> rusqlite::Result<bool> {
    conn.execute("DELETE FROM backup_codes WHERE user_id = ?1", [user_id])?;
    Ok(conn.execute("DELETE FROM totp WHERE user_id = ?1", [user_id])? == 1)
}

/// Record `step` as used, only if it is later than the last one: of two
/// requests racing with the same code, exactly one gets `true`.
pub fn accept_step(conn: &Connection, user_id: &str, step: u64) -> rusqlite::Result<bool> {
    let n = conn.execute(
        "UPDATE totp SET last_step = ?2
         WHERE user_id = ?1 AND enabled_at IS NOT NULL
           AND (last_step IS NULL OR last_step < ?2)",
        (user_id, step_to_sql(step)),
    )?;
    Ok(n == 1)
}

/// Replace the user's backup codes with these hashes.
pub fn replace_backup_codes(
    conn: &Connection,
    user_id: &str,
    hashes: &[String],
    now: i64,
) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM backup_codes WHERE user_id = ?1", [user_id])?;
    let mut st = conn.prepare_cached(
        "INSERT OR IGNORE INTO backup_codes (user_id, code_hash, created_at) VALUES (?1, ?2, ?3)",
    )?;
    for h in hashes {
        st.execute((user_id, h, now))?;
    }
    Ok(())
}

/// Spend the backup code with this hash; `true` only the first time.
pub fn use_backup_code(
    conn: &Connection,
    user_id: &str,
    hash: &str,
    now: i64,
) -> rusqlite::Result<bool> {
    let n = conn.execute(
        "UPDATE backup_codes SET used_at = ?3
         WHERE user_id = ?1 AND code_hash = ?2 AND used_at IS NULL",
        (user_id, hash, now),
    )?;
    Ok(n == 1)
}

/// Unused backup codes.
pub fn backup_codes_left(conn: &Connection, user_id: &str) -> rusqlite::Result<u32> {
    conn.query_row(
        "SELECT count(*) FROM backup_codes WHERE user_id = ?1 AND used_at IS NULL",
        [user_id],
        |r| r.get(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::store;
    use crate::store::users;

    #[test]
    fn enrollment_enable_replay_and_disable() {
        let (_d, s) = store();
        let c = s.conn().expect("conn");
        let u = users::create(&c, "ada", "$argon2id$x", 1).expect("user");
        assert!(!enabled(&c, &u.id).expect("q"));
        assert!(start_enrollment(&c, &u.id, "SECRETONE", 10).expect("start"));
        assert!(start_enrollment(&c, &u.id, "SECRETTWO", 11).expect("restart"));
        let row = totp(&c, &u.id).expect("q").expect("row");
        assert_eq!((row.secret.as_str(), row.enabled_at), ("SECRETTWO", None));
        assert!(!format!("{row:?}").contains("SECRETTWO"));
        assert!(!accept_step(&c, &u.id, 5).expect("q"), "not enabled yet");

        let hashes: Vec<String> = (0..3).map(|i| format!("h{i}")).collect();
        assert!(enable(&c, &u.id, 100, &hashes, 20).expect("enable"));
        assert!(!enable(&c, &u.id, 101, &hashes, 21).expect("twice"));
        assert!(!start_enrollment(&c, &u.id, "SECRETTHREE", 30).expect("live"));
        assert_eq!(
            totp(&c, &u.id).expect("q").expect("row").secret,
            "SECRETTWO"
        );

        assert!(
            !accept_step(&c, &u.id, 100).expect("q"),
            "the enrolling step"
        );
        assert!(accept_step(&c, &u.id, 101).expect("q"));
        assert!(!accept_step(&c, &u.id, 101).expect("q"), "same step twice");
        assert!(!accept_step(&c, &u.id, 99).expect("q"), "an older step");

        assert_eq!(backup_codes_left(&c, &u.id).expect("q"), 3);
        assert!(use_backup_code(&c, &u.id, "h1", 40).expect("q"));
        assert!(
            !use_backup_code(&c, &u.id, "h1", 41).expect("q"),
            "single use"
        );
        assert!(!use_backup_code(&c, &u.id, "nope", 41).expect("q"));
        assert_eq!(backup_codes_left(&c, &u.id).expect("q"), 2);

        assert!(disable(&c, &u.id).expect("disable"));
        assert!(!disable(&c, &u.id).expect("again"));
        assert_eq!(backup_codes_left(&c, &u.id).expect("q"), 0);
        assert!(totp(&c, &u.id).expect("q").is_none());
    }

    #[test]
    fn deleting_a_user_removes_their_factors() {
        let (_d, s) = store();
        let c = s.conn().expect("conn");
        let u = users::create(&c, "ada", "$argon2id$x", 1).expect("user");
        start_enrollment(&c, &u.id, "S", 1).expect("start");
        enable(&c, &u.id, 1, &["h".into()], 2).expect("enable");
        c.execute("DELETE FROM users WHERE id = ?1", [&u.id])
            .expect("delete");
        assert!(totp(&c, &u.id).expect("q").is_none());
        assert_eq!(backup_codes_left(&c, &u.id).expect("q"), 0);
    }
}
