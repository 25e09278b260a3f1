//! The OAuth rows of the token registry (`tokens`): one row per issued
//! access/refresh pair. The access JWT's `jti` is the row's `jti`, so
//! revoking the row kills both; the refresh token is kept as SHA-256 hex
//! only. Rows issued from one authorization code share a `family_id`;
//! rotation links a row to its successor through `rotated_to`.

use rusqlite::{Connection, OptionalExtension as _, Row};

/// How OAuth rows are tagged in the registry.
pub const CREATED_VIA: &str = "oauth";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthToken {
    pub jti: String,
    pub subject: String,
    pub user_id: Option<String>,
    pub client_id: String,
    pub scopes: String,
    pub audience: String,
    pub resource: Option<String>,
    pub family_id: String,
    pub created_at: i64,
    /// When the refresh token expires.
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub rotated_to: Option<String>,
}

const COLUMNS: &str = "jti, subject, user_id, client_id, scopes, audience, resource, family_id, created_at, expires_at, revoked_at, rotated_to";

fn from_row(r: &Row<'_>) -> rusqlite::Result<OAuthToken> {
    Ok(OAuthToken {
        jti: r.get(0)?,
        subject: r.get(1)?,
        user_id: r.get(2)?,
        client_id: r.get(3)?,
        scopes: r.get(4)?,
        audience: r.get(5)?,
        resource: r.get(6)?,
        family_id: r.get(7)?,
        created_at: r.get(8)?,
        expires_at: r.get(9)?,
        revoked_at: r.get(10)?,
        rotated_to: r.get(11)?,
    })
}

/// Record a new pair; `refresh_hash` is the SHA-256 hex of the refresh token.
pub fn insert(conn: &Connection, t: &OAuthToken, refresh_hash: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO tokens (jti, subject, user_id, client_id, scopes, audience, resource, family_id,
                             created_at, expires_at, revoked_at, rotated_to, refresh_token_hash, created_via)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, NULL, NULL, ?11, ?12)",
        rusqlite::params![
            t.jti,
            t.subject,
            t.user_id,
            t.client_id,
            t.scopes,
            t.audience,
            t.resource,
            t.family_id,
            t.created_at,
            t.expires_at,
            refresh_hash,
            CREATED_VIA
        ],
    )?;
    Ok(())
}

pub fn by_refresh_hash(conn: &Connection, hash: &str) -> rusqlite::Result<Option<OAuthToken>> {
    conn.query_row(
        &format!(
            "SELECT {COLUMNS} FROM tokens WHERE refresh_token_hash = ?1 AND family_id IS NOT NULL"
        ),
        [hash],
        from_row,
    )
    .optional()
}

pub fn by_jti(conn: &Connection, jti: &str) -> rusqlite::Result<Option<OAuthToken>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM tokens WHERE jti = ?1 AND family_id IS NOT NULL"),
        [jti],
        from_row,
    )
    .optional()
}

/// Retire `jti` in favour of `successor`; false when it was already
/// retired (a concurrent rotation won).
pub fn mark_rotated(
    conn: &Connection,
    jti: &str,
    successor: &str,
    now: i64,
) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "UPDATE tokens SET revoked_at = ?2, rotated_to = ?3 WHERE jti = ?1 AND revoked_at IS NULL",
        (jti, now, successor),
    )? == 1)
}

/// Revoke every live row of a family; how many.
pub fn revoke_family(conn: &Connection, family_id: &str, now: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE tokens SET revoked_at = ?2 WHERE family_id = ?1 AND revoked_at IS NULL",
        (family_id, now),
    )
}

/// Revoke every live token issued to a client; how many.
pub fn revoke_client(conn: &Connection, client_id: &str, now: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE tokens SET revoked_at = ?2 WHERE client_id = ?1 AND revoked_at IS NULL",
        (client_id, now),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::store;

    fn row(jti: &str, family: &str) -> OAuthToken {
        OAuthToken {
            jti: jti.into(),
            subject: "u".into(),
            user_id: None,
            client_id: "c".into(),
            scopes: "vault:w:read".into(),
            audience: "vault.w".into(),
            resource: None,
            family_id: family.into(),
            created_at: 1,
            expires_at: 1_000,
            revoked_at: None,
            rotated_to: None,
        }
    }

    #[test]
    fn rotation_links_rows_and_family_revocation_reaches_all() {
        let (_d, s) = store();
        let c = s.conn().expect("conn");
        insert(&c, &row("a", "f"), "ha").expect("a");
        insert(&c, &row("b", "f"), "hb").expect("b");
        insert(&c, &row("x", "g"), "hx").expect("x");
        assert!(mark_rotated(&c, "a", "b", 5).expect("rot"));
        assert!(!mark_rotated(&c, "a", "z", 6).expect("again"), "only once");
        let a = by_refresh_hash(&c, "ha").expect("q").expect("a");
        assert_eq!(
            (a.revoked_at, a.rotated_to.as_deref()),
            (Some(5), Some("b"))
        );
        assert_eq!(revoke_family(&c, "f", 7).expect("fam"), 1);
        assert!(crate::store::tokens::is_revoked(&c, "b").expect("q"));
        assert!(!crate::store::tokens::is_revoked(&c, "x").expect("q"));
        assert_eq!(revoke_client(&c, "c", 8).expect("client"), 1);
    }
}
