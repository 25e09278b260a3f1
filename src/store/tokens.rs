//! `tokens`: the registry of issued tokens. A row never holds the token
//! itself; refresh tokens (added by the OAuth issue) only as SHA-256.

use rusqlite::{Connection, OptionalExtension as _, Row};

/// One registered token.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenRow {
    pub jti: String,
    pub subject: String,
    pub user_id: Option<String>,
    pub client_id: String,
    /// Space-separated, as in the JWT `scope` claim.
    pub scopes: String,
    pub audience: String,
    /// How it was made: `operator`, `cli_mint`, `oauth`, …
    pub created_via: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    /// The token that minted this one (delegated minting); revoking that
    /// one revokes this one (migration 5's trigger).
    pub parent_jti: Option<String>,
    /// The operator's note (`mint-token --label`).
    pub label: Option<String>,
}

/// The `created_via` of operator tokens: the store's own queries single
/// them out (`account::revoke_operator_tokens`).
pub const VIA_OPERATOR: &str = "operator";

/// The columns [`from_row`] reads, in its order.
pub(super) const COLUMNS: &str = "jti, subject, user_id, client_id, scopes, audience, created_via, created_at, expires_at, revoked_at, parent_jti, label";

pub(super) fn from_row(r: &Row<'_>) -> rusqlite::Result<TokenRow> {
    Ok(TokenRow {
        jti: r.get(0)?,
        subject: r.get(1)?,
        user_id: r.get(2)?,
        client_id: r.get(3)?,
        scopes: r.get(4)?,
        audience: r.get(5)?,
        created_via: r.get(6)?,
        created_at: r.get(7)?,
        expires_at: r.get(8)?,
        revoked_at: r.get(9)?,
        parent_jti: r.get(10)?,
        label: r.get(11)?,
    })
}

pub fn insert(conn: &Connection, t: &TokenRow) -> rusqlite::Result<()> {
    conn.execute(
        &format!("INSERT INTO tokens ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"),
        rusqlite::params![
            t.jti,
            t.subject,
            t.user_id,
            t.client_id,
            t.scopes,
            t.audience,
            t.created_via,
            t.created_at,
            t.expires_at,
            t.revoked_at,
            t.parent_jti,
            t.label
        ],
    )?;
    Ok(())
}

pub fn get(conn: &Connection, jti: &str) -> rusqlite::Result<Option<TokenRow>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM tokens WHERE jti = ?1"),
        [jti],
        from_row,
    )
    .optional()
}

/// Whether `jti` is revoked. A token with no row (short-lived, unregistered)
/// is not.
pub fn is_revoked(conn: &Connection, jti: &str) -> rusqlite::Result<bool> {
    let mut st = conn.prepare_cached("SELECT revoked_at IS NOT NULL FROM tokens WHERE jti = ?1")?;
    Ok(st
        .query_row([jti], |r| r.get::<_, bool>(0))
        .optional()?
        .unwrap_or(false))
}

/// The RFC 8707 resource a token was issued for, if any (`None` also for
/// an unknown jti).
pub fn resource(conn: &Connection, jti: &str) -> rusqlite::Result<Option<String>> {
    let mut st = conn.prepare_cached("SELECT resource FROM tokens WHERE jti = ?1")?;
    Ok(st
        .query_row([jti], |r| r.get::<_, Option<String>>(0))
        .optional()?
        .flatten())
}

/// The outcome of [`revoke`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// Revoked now, at this time.
    Now(i64),
    /// It already was, at this time; nothing changed.
    Already(i64),
    /// No token has that jti.
    Unknown,
}

/// Revoke `jti` (idempotent).
pub fn revoke(conn: &Connection, jti: &str, now: i64) -> rusqlite::Result<Revoked> {
    let n = conn.execute(
        "UPDATE tokens SET revoked_at = ?2 WHERE jti = ?1 AND revoked_at IS NULL",
        (jti, now),
    )?;
    if n == 1 {
        return Ok(Revoked::Now(now));
    }
    Ok(match get(conn, jti)?.and_then(|t| t.revoked_at) {
        Some(at) => Revoked::Already(at),
        None => Revoked::Unknown,
    })
}

/// Rows newest first, at most `limit` (`None`: all); `active_only` leaves
/// out revoked and expired ones.
pub fn list(
    conn: &Connection,
    active_only: bool,
    now: i64,
    limit: Option<usize>,
) -> rusqlite::Result<Vec<TokenRow>> {
    let filter = if active_only {
        "WHERE revoked_at IS NULL AND expires_at > ?1"
    } else {
        "WHERE ?1 IS NOT NULL"
    };
    let limit = limit.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM tokens {filter} ORDER BY created_at DESC, rowid DESC LIMIT ?2"
    ))?;
    st.query_map((now, limit), from_row)?.collect()
}

/// jtis that are revoked and whose token could still be presented: what
/// resource servers must reject beyond the signature and `exp` checks. An
/// OAuth row's jti is its access token's, which lives `oauth_access_secs`
/// (its row lives as long as the refresh token): a rotated row leaves the
/// list when its access token has expired, not 30 days later.
pub fn revocation_list(
    conn: &Connection,
    now: i64,
    oauth_access_secs: i64,
) -> rusqlite::Result<Vec<String>> {
    let mut st = conn.prepare_cached(
        "SELECT jti FROM tokens WHERE revoked_at IS NOT NULL AND expires_at > ?1
           AND (family_id IS NULL OR created_at + ?2 > ?1)
         ORDER BY revoked_at, jti",
    )?;
    st.query_map((now, oauth_access_secs), |r| r.get(0))?
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::store;

    fn row(jti: &str, exp: i64) -> TokenRow {
        TokenRow {
            jti: jti.into(),
            subject: "u1".into(),
            user_id: None,
            client_id: "parachute-hub".into(),
            scopes: "scribe:transcribe".into(),
            audience: "scribe".into(),
            created_via: "cli_mint".into(),
            created_at: 100,
            expires_at: exp,
            revoked_at: None,
            parent_jti: None,
            label: None,
        }
    }

    #[test]
    fn revoke_is_idempotent_and_the_list_holds_only_unexpired_revocations() {
        let (_d, s) = store();
        let c = s.conn().expect("conn");
        insert(&c, &row("a", 1000)).expect("a");
        insert(&c, &row("b", 150)).expect("b");
        insert(&c, &row("c", 1000)).expect("c");
        assert_eq!(revoke(&c, "a", 120).expect("r"), Revoked::Now(120));
        assert_eq!(revoke(&c, "a", 130).expect("r"), Revoked::Already(120));
        assert_eq!(revoke(&c, "b", 120).expect("r"), Revoked::Now(120));
        assert_eq!(revoke(&c, "zzz", 120).expect("r"), Revoked::Unknown);
        assert!(is_revoked(&c, "a").expect("q"));
        assert!(!is_revoked(&c, "c").expect("q"));
        assert!(!is_revoked(&c, "unregistered").expect("q"));
        assert_eq!(revocation_list(&c, 140, 60).expect("l"), vec!["a", "b"]);
        assert_eq!(revocation_list(&c, 200, 60).expect("l"), vec!["a"]);
        // A revoked OAuth row leaves the list with its access token.
        c.execute("UPDATE tokens SET family_id = 'f' WHERE jti = 'a'", [])
            .expect("oauth row");
        assert_eq!(revocation_list(&c, 150, 60).expect("l"), vec!["a"]);
        assert!(revocation_list(&c, 160, 60).expect("l").is_empty());
        assert_eq!(list(&c, true, 200, None).expect("l").len(), 1);
        assert_eq!(list(&c, false, 200, None).expect("l").len(), 3);
        assert_eq!(list(&c, false, 200, Some(2)).expect("l").len(), 2);
    }
}
