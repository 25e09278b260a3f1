//! The client row a client ID metadata document becomes ([`super::cimd`]
//! has the rules, the hub fetches): kept like any registered client, so
//! consent, grants, codes and tokens refer to it the same way.

use super::cimd::{self, Document};
use crate::store::{self, Store, StoreError, clients::Client};

/// What the store already knows about a document client.
#[derive(Debug, Clone)]
pub struct Known {
    /// The stored row, while its document is fresh.
    pub fresh: Option<Client>,
    /// The hosts whose documents the owner trusts without approval
    /// (`parachute auth trust-client-hosts`).
    pub trusted_hosts: Vec<String>,
}

/// The stored row for `client_id` if it is still fresh at `now`, and the
/// owner's trusted hosts.
pub fn known(store: &Store, client_id: &str, now: i64) -> Result<Known, StoreError> {
    let conn = store.conn()?;
    let sql = |e| store.err(e);
    let trusted_hosts = store::settings::get(&conn, store::settings::CIMD_TRUSTED_HOSTS)
        .map_err(sql)?
        .and_then(|j| serde_json::from_str::<Vec<String>>(&j).ok())
        .unwrap_or_default();
    // A pending copy past the pending TTL is about to be reaped: fetch it
    // again, as a fresh registration would be made.
    let fresh = store::clients::get(&conn, client_id)
        .map_err(sql)?
        .filter(|c| {
            c.document_expires_at.is_some_and(|t| t > now) && !crate::oauth::client_expired(c, now)
        });
    Ok(Known {
        fresh,
        trusted_hosts,
    })
}

/// Keep the document fetched from `url` as the client `client_id`, fresh
/// for `fresh_for` seconds: pending (the owner's approval gate, as for
/// DCR) unless the owner trusts the document's host.
pub fn keep(
    store: &Store,
    url: &reqwest::Url,
    client_id: &str,
    doc: Document,
    fresh_for: i64,
    known: &Known,
    now: i64,
) -> Result<Client, StoreError> {
    let row = Client {
        client_id: client_id.to_string(),
        client_secret_hash: None,
        redirect_uris: doc.redirect_uris,
        scopes: doc.scope,
        client_name: Some(doc.client_name),
        registered_at: now,
        status: store::clients::PENDING.to_string(),
        token_endpoint_auth_method: "none".into(),
        metadata: doc.metadata,
        document_expires_at: Some(now + fresh_for),
    };
    let trusted = cimd::trusted(url, &known.trusted_hosts);
    store
        .write(|tx| {
            let sql = |e| store.err(e);
            store::clients::upsert_document(tx, &row).map_err(sql)?;
            if trusted {
                store::clients::approve(tx, client_id).map_err(sql)?;
            }
            store::clients::get(tx, client_id).map_err(sql)
        })?
        .ok_or_else(|| store.other("client row vanished after its upsert"))
}
