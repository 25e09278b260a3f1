//! `auth_codes`: authorization codes, stored as SHA-256 hex, single use
//! (their lifetime is the caller's: `oauth::CODE_TTL_SECS`).

use rusqlite::{Connection, OptionalExtension as _, Row};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    pub code_hash: String,
    pub client_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    /// Space-separated.
    pub scopes: String,
    pub resource: Option<String>,
    pub code_challenge: String,
    pub code_challenge_method: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    /// The token family the code was exchanged for.
    pub family_id: Option<String>,
}

const COLUMNS: &str = "code_hash, client_id, user_id, redirect_uri, scopes, resource, code_challenge, code_challenge_method, created_at, expires_at, used_at, family_id";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Code> {
    Ok(Code {
        code_hash: r.get(0)?,
        client_id: r.get(1)?,
        user_id: r.get(2)?,
        redirect_uri: r.get(3)?,
        scopes: r.get(4)?,
        resource: r.get(5)?,
        code_challenge: r.get(6)?,
        code_challenge_method: r.get(7)?,
        created_at: r.get(8)?,
        expires_at: r.get(9)?,
        used_at: r.get(10)?,
        family_id: r.get(11)?,
    })
}

pub fn insert(conn: &Connection, c: &Code) -> rusqlite::Result<()> {
    conn.execute(
        &format!("INSERT INTO auth_codes ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"),
        rusqlite::params![
            c.code_hash,
            c.client_id,
            c.user_id,
            c.redirect_uri,
            c.scopes,
            c.resource,
            c.code_challenge,
            c.code_challenge_method,
            c.created_at,
            c.expires_at,
            c.used_at,
            c.family_id
        ],
    )?;
    Ok(())
}

pub fn get(conn: &Connection, code_hash: &str) -> rusqlite::Result<Option<Code>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM auth_codes WHERE code_hash = ?1"),
        [code_hash],
        from_row,
    )
    .optional()
}

/// Mark used by the exchange that issued `family_id`; false when another
/// exchange got there first.
pub fn mark_used(
    conn: &Connection,
    code_hash: &str,
    family_id: &str,
    now: i64,
) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "UPDATE auth_codes SET used_at = ?2, family_id = ?3 WHERE code_hash = ?1 AND used_at IS NULL",
        (code_hash, now, family_id),
    )? == 1)
}

/// Drop codes that expired before `cutoff` (the caller's rule:
/// `oauth::code_cutoff`); how many.
pub fn reap_expired_before(conn: &Connection, cutoff: i64) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM auth_codes WHERE expires_at < ?1", [cutoff])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::store;
    use crate::store::users;

    fn code(hash: &str, user_id: &str, expires_at: i64) -> Code {
        Code {
            code_hash: hash.into(),
            client_id: "app".into(),
            user_id: user_id.into(),
            redirect_uri: "http://127.0.0.1:1/cb".into(),
            scopes: "vault:read".into(),
            resource: None,
            code_challenge: "c".into(),
            code_challenge_method: "S256".into(),
            created_at: 0,
            expires_at,
            used_at: None,
            family_id: None,
        }
    }

    #[test]
    fn codes_are_single_use_and_reaped_before_the_cutoff() {
        let (_d, s) = store();
        let c = s.conn().expect("conn");
        let u = users::create(&c, "ada", "$argon2id$x", 1).expect("user");
        c.execute(
            "INSERT INTO clients (client_id, redirect_uris, registered_at, status)
             VALUES ('app', '[]', 1, 'approved')",
            [],
        )
        .expect("client");
        insert(&c, &code("old", &u.id, 99)).expect("old");
        insert(&c, &code("edge", &u.id, 100)).expect("edge");
        assert!(mark_used(&c, "edge", "f1", 50).expect("use"));
        assert!(
            !mark_used(&c, "edge", "f2", 51).expect("reuse"),
            "single use"
        );
        assert_eq!(reap_expired_before(&c, 100).expect("reap"), 1);
        assert!(get(&c, "old").expect("q").is_none());
        let kept = get(&c, "edge").expect("q").expect("row");
        assert_eq!(
            (kept.used_at, kept.family_id.as_deref()),
            (Some(50), Some("f1"))
        );
    }
}
