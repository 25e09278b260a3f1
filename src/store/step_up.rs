//! Step-up (migration v7): each user's step-up PIN as an argon2id PHC
//! string, and the step-up tokens entering it bought, kept as SHA-256 only
//! and bound to the credential (`holder`) that entered it. Persistence
//! only: callers pass `now`, hashes and expiries they decided
//! (`identity::step_up` decides them).

use rusqlite::{Connection, OptionalExtension as _};

use crate::secret::sha256_hex;

/// The user's PIN hash, if they set one.
pub fn pin_hash(conn: &Connection, user_id: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT pin_hash FROM step_up_pins WHERE user_id = ?1",
        [user_id],
        |r| r.get(0),
    )
    .optional()
}

/// Set or replace the user's PIN hash.
pub fn set_pin(conn: &Connection, user_id: &str, pin_hash: &str, now: i64) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO step_up_pins (user_id, pin_hash, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(user_id) DO UPDATE SET pin_hash = excluded.pin_hash, updated_at = excluded.updated_at",
        (user_id, pin_hash, now),
    )?;
    Ok(())
}

/// Forget the user's PIN and every step-up token it bought; whether there
/// was a PIN.
pub fn clear(conn: &Connection, user_id: &str) -> rusqlite::Result<bool> {
    revoke_tokens(conn, user_id)?;
    Ok(conn.execute("DELETE FROM step_up_pins WHERE user_id = ?1", [user_id])? > 0)
}

/// End every step-up token of the user (a new PIN, a cleared one).
pub fn revoke_tokens(conn: &Connection, user_id: &str) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM step_up_tokens WHERE user_id = ?1", [user_id])
}

/// Keep a new step-up token (by its hash) for `holder` until `expires_at`;
/// expired tokens of anyone are forgotten on the way.
pub fn insert_token(
    conn: &Connection,
    token: &str,
    holder: &str,
    user_id: &str,
    now: i64,
    expires_at: i64,
) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM step_up_tokens WHERE expires_at <= ?1", [now])?;
    conn.execute(
        "INSERT INTO step_up_tokens (token_hash, holder, user_id, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        (sha256_hex(token), holder, user_id, now, expires_at),
    )?;
    Ok(())
}

/// Is `token` a live step-up token of `holder` at `now`? The lookup is by
/// hash, so no comparison of the secret itself can leak its prefix.
pub fn token_live(
    conn: &Connection,
    token: &str,
    holder: &str,
    now: i64,
) -> rusqlite::Result<bool> {
    let found: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM step_up_tokens WHERE token_hash = ?1 AND holder = ?2 AND expires_at > ?3",
            (sha256_hex(token), holder, now),
            |r| r.get(0),
        )
        .optional()?;
    Ok(found.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::store;

    fn user(c: &Connection, id: &str) {
        c.execute(
            "INSERT INTO users (id, username, password_hash, created_at, updated_at)
             VALUES (?1, ?1, 'x', 0, 0)",
            [id],
        )
        .expect("user");
    }

    #[test]
    fn pins_are_per_user_and_replaced_in_place() {
        let (_d, s) = store();
        let c = s.conn().expect("conn");
        user(&c, "ada");
        user(&c, "bob");
        assert_eq!(pin_hash(&c, "ada").expect("q"), None);
        set_pin(&c, "ada", "$argon2id$one", 10).expect("set");
        set_pin(&c, "ada", "$argon2id$two", 20).expect("again");
        assert_eq!(
            pin_hash(&c, "ada").expect("q").as_deref(),
            Some("$argon2id$two")
        );
        assert_eq!(pin_hash(&c, "bob").expect("q"), None);
        assert!(clear(&c, "ada").expect("clear"));
        assert!(!clear(&c, "ada").expect("twice"));
        assert_eq!(pin_hash(&c, "ada").expect("q"), None);
    }

    #[test]
    fn tokens_are_hashed_bound_to_their_holder_and_expire() {
        let (_d, s) = store();
        let c = s.conn().expect("conn");
        user(&c, "ada");
        insert_token(&c, "secret-token", "bearer:j1", "ada", 100, 400).expect("insert");
        let stored: String = c
            .query_row("SELECT token_hash FROM step_up_tokens", [], |r| r.get(0))
            .expect("row");
        assert_eq!(stored, sha256_hex("secret-token"), "only the hash at rest");
        assert!(token_live(&c, "secret-token", "bearer:j1", 399).expect("q"));
        assert!(
            !token_live(&c, "secret-token", "bearer:j2", 399).expect("q"),
            "other holder"
        );
        assert!(
            !token_live(&c, "secret-token", "bearer:j1", 400).expect("q"),
            "expired"
        );
        assert!(!token_live(&c, "other", "bearer:j1", 399).expect("q"));
        // Expired rows go when the next one is made; live ones die with the PIN.
        insert_token(&c, "t2", "bearer:j1", "ada", 500, 800).expect("insert");
        let n: i64 = c
            .query_row("SELECT count(*) FROM step_up_tokens", [], |r| r.get(0))
            .expect("count");
        assert_eq!(n, 1);
        assert_eq!(revoke_tokens(&c, "ada").expect("revoke"), 1);
        assert!(!token_live(&c, "t2", "bearer:j1", 600).expect("q"));
    }
}
