//! `clients`: OAuth clients from dynamic registration (RFC 7591) and from
//! client ID metadata documents (`document_expires_at` set). Secrets
//! are stored as SHA-256 hex only. A client is `pending` until the owner
//! approves it (on the consent page or with `parachute auth approve-client`).

use rusqlite::{Connection, OptionalExtension as _, Row};

pub const PENDING: &str = "pending";
pub const APPROVED: &str = "approved";

/// One client. `Debug` leaves the secret hash out.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub struct Client {
    pub client_id: String,
    #[serde(skip)]
    pub client_secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    pub scopes: String,
    pub client_name: Option<String>,
    pub registered_at: i64,
    pub status: String,
    pub token_endpoint_auth_method: String,
    /// The registered metadata as sent back to the client.
    #[serde(skip)]
    pub metadata: serde_json::Value,
    /// For a client ID metadata document: when the fetched copy goes stale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_expires_at: Option<i64>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.client_id)
            .field("client_name", &self.client_name)
            .field("status", &self.status)
            .field("redirect_uris", &self.redirect_uris)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub fn approved(&self) -> bool {
        self.status == APPROVED
    }

    /// Confidential: it has a secret and must authenticate at the token endpoint.
    pub fn confidential(&self) -> bool {
        self.client_secret_hash.is_some()
    }

    /// Still pending and registered before `cutoff` (the caller's TTL
    /// rule: `oauth::client_expired`).
    pub fn pending_before(&self, cutoff: i64) -> bool {
        !self.approved() && self.registered_at < cutoff
    }
}

const COLUMNS: &str = "client_id, client_secret_hash, redirect_uris, scopes, client_name, registered_at, status, token_endpoint_auth_method, metadata, document_expires_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Client> {
    let uris: String = r.get(2)?;
    let meta: String = r.get(8)?;
    Ok(Client {
        client_id: r.get(0)?,
        client_secret_hash: r.get(1)?,
        redirect_uris: serde_json::from_str(&uris).unwrap_or_default(),
        scopes: r.get(3)?,
        client_name: r.get(4)?,
        registered_at: r.get(5)?,
        status: r.get(6)?,
        token_endpoint_auth_method: r.get(7)?,
        metadata: serde_json::from_str(&meta).unwrap_or_default(),
        document_expires_at: r.get(9)?,
    })
}

pub fn insert(conn: &Connection, c: &Client) -> rusqlite::Result<()> {
    conn.execute(
        &format!(
            "INSERT INTO clients ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        ),
        rusqlite::params![
            c.client_id,
            c.client_secret_hash,
            serde_json::to_string(&c.redirect_uris).unwrap_or_default(),
            c.scopes,
            c.client_name,
            c.registered_at,
            c.status,
            c.token_endpoint_auth_method,
            c.metadata.to_string(),
            c.document_expires_at,
        ],
    )?;
    Ok(())
}

/// Store a freshly fetched client ID document's client: new, or its
/// document refreshed. Approval is kept; a pending client's clock restarts,
/// as a new registration's would.
pub fn upsert_document(conn: &Connection, c: &Client) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO clients (client_id, redirect_uris, scopes, client_name, registered_at, status, token_endpoint_auth_method, metadata, document_expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'none', ?7, ?8)
         ON CONFLICT(client_id) DO UPDATE SET redirect_uris = excluded.redirect_uris,
             scopes = excluded.scopes, client_name = excluded.client_name,
             metadata = excluded.metadata, document_expires_at = excluded.document_expires_at,
             registered_at = CASE WHEN status = 'pending' THEN excluded.registered_at ELSE registered_at END",
        rusqlite::params![
            c.client_id,
            serde_json::to_string(&c.redirect_uris).unwrap_or_default(),
            c.scopes,
            c.client_name,
            c.registered_at,
            c.status,
            c.metadata.to_string(),
            c.document_expires_at,
        ],
    )?;
    Ok(())
}

pub fn get(conn: &Connection, client_id: &str) -> rusqlite::Result<Option<Client>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM clients WHERE client_id = ?1"),
        [client_id],
        from_row,
    )
    .optional()
}

/// The display name a client registered, if it has one.
pub fn name(conn: &Connection, client_id: &str) -> rusqlite::Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT client_name FROM clients WHERE client_id = ?1",
            [client_id],
            |r| r.get(0),
        )
        .optional()?
        .flatten())
}

/// Clients with `status`, oldest first (`None`: all).
pub fn list(conn: &Connection, status: Option<&str>) -> rusqlite::Result<Vec<Client>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM clients WHERE ?1 IS NULL OR status = ?1 ORDER BY registered_at, rowid"
    ))?;
    st.query_map([status], from_row)?.collect()
}

/// Approve; whether such a client exists.
pub fn approve(conn: &Connection, client_id: &str) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "UPDATE clients SET status = 'approved' WHERE client_id = ?1",
        [client_id],
    )? == 1)
}

/// Delete a client (its codes and grants go with it); whether it existed.
pub fn delete(conn: &Connection, client_id: &str) -> rusqlite::Result<bool> {
    Ok(conn.execute("DELETE FROM clients WHERE client_id = ?1", [client_id])? == 1)
}

/// Forget pending registrations made before `cutoff`; how many.
pub fn reap_pending_before(conn: &Connection, cutoff: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM clients WHERE status = 'pending' AND registered_at < ?1",
        [cutoff],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::store;

    const CUTOFF: i64 = 3_600;

    fn client(id: &str, status: &str, at: i64) -> Client {
        Client {
            client_id: id.into(),
            client_secret_hash: Some("hash".into()),
            redirect_uris: vec!["http://127.0.0.1:1/cb".into()],
            scopes: String::new(),
            client_name: Some("x".into()),
            registered_at: at,
            status: status.into(),
            token_endpoint_auth_method: "client_secret_basic".into(),
            metadata: serde_json::json!({"client_id": id}),
            document_expires_at: None,
        }
    }

    #[test]
    fn pending_registrations_before_a_cutoff_go_unless_approved() {
        let (_d, s) = store();
        let c = s.conn().expect("conn");
        insert(&c, &client("old", PENDING, CUTOFF - 1)).expect("old");
        insert(&c, &client("new", PENDING, CUTOFF)).expect("new");
        insert(&c, &client("kept", APPROVED, 0)).expect("kept");
        let old = get(&c, "old").expect("q").expect("row");
        assert!(old.pending_before(CUTOFF) && !old.pending_before(CUTOFF - 1));
        let kept = get(&c, "kept").expect("q").expect("row");
        assert!(!kept.pending_before(10 * CUTOFF));
        assert_eq!(reap_pending_before(&c, CUTOFF).expect("reap"), 1);
        assert!(get(&c, "old").expect("q").is_none());
        assert_eq!(list(&c, Some(PENDING)).expect("list").len(), 1);
        assert!(approve(&c, "new").expect("approve"));
        assert!(get(&c, "new").expect("q").expect("row").approved());
        let round = get(&c, "kept").expect("q").expect("row");
        assert_eq!(round.redirect_uris, ["http://127.0.0.1:1/cb"]);
        assert!(round.confidential());
        assert!(
            !format!("{round:?}").contains("hash"),
            "Debug hides the secret hash"
        );
        assert!(delete(&c, "kept").expect("delete"));
    }

    #[test]
    fn a_refreshed_document_keeps_its_approval() {
        let (_d, s) = store();
        let c = s.conn().expect("conn");
        let url = "https://app.example/client.json";
        let mut doc = client(url, PENDING, 10);
        doc.client_secret_hash = None;
        doc.document_expires_at = Some(100);
        upsert_document(&c, &doc).expect("insert");
        assert!(approve(&c, url).expect("approve"));
        doc.client_name = Some("renamed".into());
        doc.document_expires_at = Some(200);
        upsert_document(&c, &doc).expect("refresh");
        let row = get(&c, url).expect("q").expect("row");
        assert!(row.approved(), "approval survives a refetch");
        assert_eq!(row.client_name.as_deref(), Some("renamed"));
        assert_eq!(row.document_expires_at, Some(200));
        assert!(!row.confidential());
    }
}
