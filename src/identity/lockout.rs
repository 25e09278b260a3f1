//! Sign-in lockout: the rate-limit buckets that guard one person's account,
//! keyed so that no attacker-chosen string is ever stored (a SHA-256 of the
//! normalised username), and the one way to clear them (`parachute auth
//! unlock <user>` and `parachute auth set-password`).

use rusqlite::Connection;

/// Password guesses at one account from anywhere (key: [`user_key`]).
pub const LOGIN_USER_BUCKET: &str = "login_user";
/// Password guesses at one account from one IP (key: `<user_key>|<ip>`).
pub const LOGIN_BUCKET: &str = "login";
/// Second-factor guesses at one account (key: its user id).
pub const TOTP_USER_BUCKET: &str = "totp_user";
/// Second-factor guesses from one IP (key: `<ip>|<user id>`).
pub const TOTP_BUCKET: &str = "totp";

/// How a typed username is compared: trimmed, ASCII-lowercased.
pub fn normalise(username: &str) -> String {
    username.trim().to_ascii_lowercase()
}

/// The bucket key of a username: the SHA-256 hex of its normal form.
pub fn user_key(username: &str) -> String {
    crate::secret::sha256_hex(&normalise(username))
}

/// The per IP + account key.
pub fn ip_user_key(ip: &str, username: &str) -> String {
    format!("{}|{ip}", user_key(username))
}

/// Forget every recorded sign-in attempt at `username` (and, when known,
/// the second-factor attempts of `user_id`); how many were forgotten.
pub fn unlock(conn: &Connection, username: &str, user_id: Option<&str>) -> rusqlite::Result<usize> {
    let key = user_key(username);
    // The key is hex, so it holds no LIKE wildcards.
    let mut n = conn.execute(
        "DELETE FROM rate_limit_hits WHERE (bucket = ?1 AND key = ?3) OR (bucket = ?2 AND key LIKE ?3 || '|%')",
        (LOGIN_USER_BUCKET, LOGIN_BUCKET, &key),
    )?;
    if let Some(id) = user_id {
        n += conn.execute(
            "DELETE FROM rate_limit_hits WHERE (bucket = ?1 AND key = ?3) OR (bucket = ?2 AND key LIKE '%|' || ?3)",
            (TOTP_USER_BUCKET, TOTP_BUCKET, id),
        )?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ratelimit::hit;
    use crate::store::test_support::store;

    #[test]
    fn unlock_clears_only_that_accounts_buckets() {
        let (_d, s) = store();
        let c = s.conn().expect("conn");
        hit(&c, LOGIN_USER_BUCKET, &user_key(" Ada "), 5, 900, 1)
            .expect("h")
            .expect("room");
        hit(&c, LOGIN_BUCKET, &ip_user_key("10.0.0.1", "ada"), 5, 900, 1)
            .expect("h")
            .expect("room");
        hit(&c, LOGIN_BUCKET, &ip_user_key("10.0.0.1", "bob"), 5, 900, 1)
            .expect("h")
            .expect("room");
        hit(&c, TOTP_BUCKET, "10.0.0.1|u-ada", 5, 900, 1)
            .expect("h")
            .expect("room");
        hit(&c, TOTP_USER_BUCKET, "u-ada", 5, 900, 1)
            .expect("h")
            .expect("room");
        hit(&c, "login_ip", "10.0.0.1", 5, 900, 1)
            .expect("h")
            .expect("room");
        assert_eq!(unlock(&c, "ADA", Some("u-ada")).expect("unlock"), 4);
        let left: i64 = c
            .query_row("SELECT count(*) FROM rate_limit_hits", [], |r| r.get(0))
            .expect("q");
        assert_eq!(left, 2, "bob's bucket and the per-IP ceiling stay");
        assert!(!user_key("ada").contains("ada"), "names are never stored");
    }
}
