//! `grants`: what a user consented to per client (scopes unioned over
//! consents). A covered, non-admin request skips the consent screen.

use rusqlite::{Connection, OptionalExtension as _};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Grant {
    pub user_id: String,
    pub username: String,
    pub client_id: String,
    pub client_name: Option<String>,
    pub scopes: String,
    pub granted_at: i64,
}

/// The scopes `user_id` granted `client_id`.
pub fn scopes(conn: &Connection, user_id: &str, client_id: &str) -> rusqlite::Result<Vec<String>> {
    let s: Option<String> = conn
        .query_row(
            "SELECT scopes FROM grants WHERE user_id = ?1 AND client_id = ?2",
            (user_id, client_id),
            |r| r.get(0),
        )
        .optional()?;
    Ok(s.map(|s| crate::tokens::scopes::parse(&s))
        .unwrap_or_default())
}

/// Record a consent: the stored scopes become the union.
pub fn record(
    conn: &Connection,
    user_id: &str,
    client_id: &str,
    granted: &[String],
    now: i64,
) -> rusqlite::Result<()> {
    let all = crate::oauth::consent::union(&scopes(conn, user_id, client_id)?, granted);
    conn.execute(
        "INSERT INTO grants (user_id, client_id, scopes, granted_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(user_id, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at",
        (user_id, client_id, all.join(" "), now),
    )?;
    Ok(())
}

/// Every grant, newest first.
pub fn list(conn: &Connection) -> rusqlite::Result<Vec<Grant>> {
    let mut st = conn.prepare_cached(
        "SELECT g.user_id, u.username, g.client_id, c.client_name, g.scopes, g.granted_at
         FROM grants g JOIN users u ON u.id = g.user_id JOIN clients c ON c.client_id = g.client_id
         ORDER BY g.granted_at DESC, g.rowid DESC",
    )?;
    st.query_map([], |r| {
        Ok(Grant {
            user_id: r.get(0)?,
            username: r.get(1)?,
            client_id: r.get(2)?,
            client_name: r.get(3)?,
            scopes: r.get(4)?,
            granted_at: r.get(5)?,
        })
    })?
    .collect()
}

/// Remove every grant to `client_id`; how many.
pub fn delete_for_client(conn: &Connection, client_id: &str) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM grants WHERE client_id = ?1", [client_id])
}
