//! `sessions` and `pending_logins`: server-side sessions keyed by the
//! SHA-256 of the cookie value, and logins whose password checked out but
//! which still owe a second factor.

use rusqlite::{Connection, OptionalExtension as _};

use crate::secret::sha256_hex;

/// The user of a live session.
pub fn user_of(conn: &Connection, session_id: &str, now: i64) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT user_id FROM sessions WHERE id_hash = ?1 AND expires_at > ?2",
        (sha256_hex(session_id), now),
        |r| r.get(0),
    )
    .optional()
}

pub fn create(
    conn: &Connection,
    session_id: &str,
    user_id: &str,
    now: i64,
    ttl: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        (sha256_hex(session_id), user_id, now, now + ttl),
    )?;
    conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])?;
    Ok(())
}

pub fn delete(conn: &Connection, session_id: &str) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM sessions WHERE id_hash = ?1",
        [sha256_hex(session_id)],
    )?;
    Ok(())
}

/// End every session of a user (password change, user removal); how many.
pub fn delete_for_user(conn: &Connection, user_id: &str) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])
}

/// How many live sessions `user_id` has.
pub fn count_for_user(conn: &Connection, user_id: &str, now: i64) -> rusqlite::Result<usize> {
    let n: i64 = conn.query_row(
        "SELECT COUNT(*) FROM sessions WHERE user_id = ?1 AND expires_at > ?2",
        (user_id, now),
        |r| r.get(0),
    )?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// End every session of `user_id` but `keep` ("sign out everywhere else");
/// how many.
pub fn delete_others(conn: &Connection, user_id: &str, keep: &str) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM sessions WHERE user_id = ?1 AND id_hash != ?2",
        (user_id, sha256_hex(keep)),
    )
}

/// A login waiting on its second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLogin {
    pub user_id: String,
    /// Where to go once signed in (already checked safe).
    pub next: String,
    pub expires_at: i64,
}

pub fn create_pending(
    conn: &Connection,
    id: &str,
    user_id: &str,
    next: &str,
    now: i64,
    ttl: i64,
) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM pending_logins WHERE expires_at <= ?1", [now])?;
    conn.execute(
        "INSERT INTO pending_logins (id_hash, user_id, next, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        (sha256_hex(id), user_id, next, now, now + ttl),
    )?;
    Ok(())
}

/// The live pending login behind a cookie value.
pub fn pending(conn: &Connection, id: &str, now: i64) -> rusqlite::Result<Option<PendingLogin>> {
    conn.query_row(
        "SELECT user_id, next, expires_at FROM pending_logins WHERE id_hash = ?1 AND expires_at > ?2",
        (sha256_hex(id), now),
        |r| {
            Ok(PendingLogin {
                user_id: r.get(0)?,
                next: r.get(1)?,
                expires_at: r.get(2)?,
            })
        },
    )
    .optional()
}

pub fn delete_pending(conn: &Connection, id: &str) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM pending_logins WHERE id_hash = ?1",
        [sha256_hex(id)],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::store;
    use crate::store::users;

    #[test]
    fn sessions_live_until_expiry_and_are_keyed_by_hash() {
        let (_d, s) = store();
        let c = s.conn().expect("conn");
        let u = users::create(&c, "ada", "$argon2id$x", 1).expect("user");
        create(&c, "cookie-value", &u.id, 100, 50).expect("create");
        assert_eq!(
            user_of(&c, "cookie-value", 149).expect("q"),
            Some(u.id.clone())
        );
        assert_eq!(
            user_of(&c, "cookie-value", 150).expect("q"),
            None,
            "expired"
        );
        assert_eq!(user_of(&c, "other", 120).expect("q"), None);
        let stored: String = c
            .query_row("SELECT id_hash FROM sessions", [], |r| r.get(0))
            .expect("row");
        assert_ne!(stored, "cookie-value", "only the hash is stored");
        delete(&c, "cookie-value").expect("delete");
        assert_eq!(user_of(&c, "cookie-value", 120).expect("q"), None);
        create(&c, "a", &u.id, 100, 50).expect("a");
        create(&c, "b", &u.id, 100, 50).expect("b");
        assert_eq!(delete_for_user(&c, &u.id).expect("all"), 2);
    }

    #[test]
    fn signing_out_everywhere_else_keeps_this_session() {
        let (_d, s) = store();
        let c = s.conn().expect("conn");
        let u = users::create(&c, "ada", "$argon2id$x", 1).expect("user");
        for id in ["here", "laptop", "phone"] {
            create(&c, id, &u.id, 100, 50).expect("create");
        }
        assert_eq!(count_for_user(&c, &u.id, 120).expect("count"), 3);
        assert_eq!(delete_others(&c, &u.id, "here").expect("others"), 2);
        assert_eq!(user_of(&c, "here", 120).expect("q"), Some(u.id.clone()));
        assert_eq!(user_of(&c, "phone", 120).expect("q"), None);
        assert_eq!(count_for_user(&c, &u.id, 200).expect("count"), 0, "expired");
    }

    #[test]
    fn pending_logins_expire_and_are_single_use() {
        let (_d, s) = store();
        let c = s.conn().expect("conn");
        let u = users::create(&c, "ada", "$argon2id$x", 1).expect("user");
        create_pending(&c, "p", &u.id, "/account", 100, 300).expect("pending");
        let p = pending(&c, "p", 200).expect("q").expect("live");
        assert_eq!(
            (p.user_id.as_str(), p.next.as_str()),
            (u.id.as_str(), "/account")
        );
        assert_eq!(pending(&c, "p", 400).expect("q"), None, "expired");
        delete_pending(&c, "p").expect("delete");
        assert_eq!(pending(&c, "p", 200).expect("q"), None);
    }
}
