//! The owner's side of OAuth clients and grants, shared by `parachute auth
//! *-client|*-grant` and the admin pages: which clients to show, approving
//! one, removing one (with its grants and tokens), withdrawing consent.
//! Each runs in the caller's transaction.

use rusqlite::Connection;

use crate::store::{self, clients::Client};

/// Registrations waiting for the owner (expired ones left out: the hub
/// reaps them).
pub fn pending(conn: &Connection, now: i64) -> rusqlite::Result<Vec<Client>> {
    Ok(store::clients::list(conn, Some(store::clients::PENDING))?
        .into_iter()
        .filter(|c| !super::client_expired(c, now))
        .collect())
}

/// Every client, approved or still pending.
pub fn registered(conn: &Connection, now: i64) -> rusqlite::Result<Vec<Client>> {
    Ok(store::clients::list(conn, None)?
        .into_iter()
        .filter(|c| c.approved() || !super::client_expired(c, now))
        .collect())
}

/// Approve `client_id`; `None` when there is no such (unexpired) client.
pub fn approve(conn: &Connection, client_id: &str, now: i64) -> rusqlite::Result<Option<Client>> {
    let Some(c) = store::clients::get(conn, client_id)?.filter(|c| !super::client_expired(c, now))
    else {
        return Ok(None);
    };
    store::clients::approve(conn, &c.client_id)?;
    Ok(Some(c))
}

/// Remove `client_id` with its grants, revoking its tokens; the number of
/// tokens revoked, `None` when there is no such client. Denying a pending
/// registration is this too.
pub fn remove(conn: &Connection, client_id: &str, now: i64) -> rusqlite::Result<Option<usize>> {
    if store::clients::get(conn, client_id)?.is_none() {
        return Ok(None);
    }
    let n = store::refresh::revoke_client(conn, client_id, now)?;
    store::clients::delete(conn, client_id)?;
    Ok(Some(n))
}

/// Withdraw every user's consent to `client_id` and revoke its tokens:
/// `(grants, tokens)` removed.
pub fn withdraw(conn: &Connection, client_id: &str, now: i64) -> rusqlite::Result<(usize, usize)> {
    let g = store::grants::delete_for_client(conn, client_id)?;
    let t = if g > 0 {
        store::refresh::revoke_client(conn, client_id, now)?
    } else {
        0
    };
    Ok((g, t))
}
