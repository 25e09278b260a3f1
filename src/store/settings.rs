//! `hub_settings`: small key/value settings the hub keeps across restarts.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension as _};

/// The TCP port the hub listens on (`parachute init --port N`), so two
/// users on one machine each run their own hub.
pub const HUB_PORT: &str = "hub_port";

/// Hosts whose client ID metadata documents the owner trusts: an app with
/// such a document is approved when first seen (a JSON array of host names;
/// see `parachute auth trust-client-hosts`).
pub const CIMD_TRUSTED_HOSTS: &str = "cimd_trusted_hosts";

/// The configured hub port in the store at `db`, read without migrating or
/// creating anything: `None` when there is no store or no setting.
pub fn hub_port(db: &Path) -> Option<u16> {
    if !db.is_file() {
        return None;
    }
    let conn = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .ok()?;
    get(&conn, HUB_PORT).ok()??.parse().ok()
}

pub fn get(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT value FROM hub_settings WHERE key = ?1",
        [key],
        |r| r.get(0),
    )
    .optional()
}

pub fn set(conn: &Connection, key: &str, value: &str, now: i64) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO hub_settings (key, value, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        (key, value, now),
    )?;
    Ok(())
}
