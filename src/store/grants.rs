//! `grants`: what a user consented to per client, as the space-separated
//! scope list the caller decided (`oauth::consent::record` unions a new
//! consent into the old one).

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

/// The scopes `user_id` granted `client_id`, as stored (space-separated);
/// `None` when there is no grant.
pub fn scopes(
    conn: &Connection,
    user_id: &str,
    client_id: &str,
) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT scopes FROM grants WHERE user_id = ?1 AND client_id = ?2",
        (user_id, client_id),
        |r| r.get(0),
    )
    .optional()
}

/// Set the grant of `user_id` to `client_id` to exactly `scopes` (the
/// caller's decided list), granted at `now`.
pub fn put(
    conn: &Connection,
    user_id: &str,
    client_id: &str,
    scopes: &[String],
    now: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO grants (user_id, client_id, scopes, granted_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(user_id, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at",
        (user_id, client_id, scopes.join(" "), now),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::store;
    use crate::store::users;

    #[test]
    fn put_stores_exactly_the_decided_scopes() {
        let (_d, s) = store();
        let c = s.conn().expect("conn");
        let u = users::create(&c, "ada", "$argon2id$x", 1).expect("user");
        c.execute(
            "INSERT INTO clients (client_id, redirect_uris, registered_at, status)
             VALUES ('app', '[]', 1, 'approved')",
            [],
        )
        .expect("client");
        assert_eq!(scopes(&c, &u.id, "app").expect("q"), None);
        put(&c, &u.id, "app", &["a".into(), "b".into()], 10).expect("put");
        put(&c, &u.id, "app", &["c".into()], 20).expect("replace");
        assert_eq!(scopes(&c, &u.id, "app").expect("q").as_deref(), Some("c"));
        let g = list(&c).expect("list");
        assert_eq!((g.len(), g[0].granted_at), (1, 20));
        assert_eq!(delete_for_client(&c, "app").expect("delete"), 1);
    }
}
