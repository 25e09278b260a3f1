//! Numbered, append-only migrations. `schema_version` holds one row per
//! applied migration; everything pending is applied in one `BEGIN IMMEDIATE`
//! transaction, so a hub and a CLI opening the store together cannot both
//! apply it, and a failure leaves the previous schema intact. A database
//! from a newer parachute is refused and left as it is.
//!
//! A small runner rather than a crate: the migration crates for rusqlite track
//! `PRAGMA user_version`, and we want the applied-at record and the explicit
//! refusal message.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension as _, TransactionBehavior};

use super::{StoreError, sql_err};

/// `(version, what it adds, SQL)`. Never edit a shipped entry; add one.
const MIGRATIONS: &[(u32, &str, &str)] = &[
    (1, "users, signing keys, token registry, settings", V1),
    (2, "OAuth clients, codes, grants, sessions", V2),
    (
        3,
        "OAuth client metadata, code families, token resources, rate limits, pending logins",
        V3,
    ),
    (4, "TOTP secrets and backup codes", V4),
    (
        5,
        "token parents and labels; revoking a token revokes its children",
        V5,
    ),
    (
        6,
        "client ID metadata documents: when a fetched document expires",
        V6,
    ),
    (7, "step-up PINs and step-up tokens", V7),
];

/// The schema version this build writes.
pub const LATEST: u32 = MIGRATIONS[MIGRATIONS.len() - 1].0;

// Times are Unix seconds (INTEGER). Secrets (refresh tokens, codes, session
// ids, client secrets) are stored as SHA-256 hex only.
const V1: &str = "
CREATE TABLE users (
    id               TEXT PRIMARY KEY,
    username         TEXT NOT NULL UNIQUE,
    password_hash    TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    password_changed INTEGER NOT NULL DEFAULT 1,
    email            TEXT
) STRICT;

CREATE TABLE signing_keys (
    kid             TEXT PRIMARY KEY,
    algorithm       TEXT NOT NULL,
    public_key_pem  TEXT NOT NULL,
    private_key_pem TEXT NOT NULL,
    jwk_n           TEXT NOT NULL,
    jwk_e           TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    retired_at      INTEGER,
    -- latest `exp` of any token this key signed: a retired key is published
    -- and trusted until then.
    last_exp        INTEGER
) STRICT;

CREATE TABLE tokens (
    jti                TEXT PRIMARY KEY,
    subject            TEXT NOT NULL,
    user_id            TEXT REFERENCES users(id) ON DELETE SET NULL,
    client_id          TEXT NOT NULL,
    scopes             TEXT NOT NULL,
    audience           TEXT NOT NULL,
    created_via        TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL,
    revoked_at         INTEGER,
    refresh_token_hash TEXT UNIQUE,
    family_id          TEXT,
    rotated_to         TEXT
) STRICT;
CREATE INDEX tokens_user ON tokens(user_id);
CREATE INDEX tokens_subject ON tokens(subject);
CREATE INDEX tokens_client ON tokens(client_id);
CREATE INDEX tokens_family ON tokens(family_id) WHERE family_id IS NOT NULL;
CREATE INDEX tokens_revoked ON tokens(revoked_at, expires_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE hub_settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
";

const V2: &str = "
CREATE TABLE clients (
    client_id          TEXT PRIMARY KEY,
    client_secret_hash TEXT,
    redirect_uris      TEXT NOT NULL,
    scopes             TEXT NOT NULL DEFAULT '',
    client_name        TEXT,
    registered_at      INTEGER NOT NULL,
    status             TEXT NOT NULL DEFAULT 'pending',
    same_hub           INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE auth_codes (
    code_hash             TEXT PRIMARY KEY,
    client_id             TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    user_id               TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    redirect_uri          TEXT NOT NULL,
    scopes                TEXT NOT NULL,
    resource              TEXT,
    code_challenge        TEXT NOT NULL,
    code_challenge_method TEXT NOT NULL,
    created_at            INTEGER NOT NULL,
    expires_at            INTEGER NOT NULL,
    used_at               INTEGER
) STRICT;

CREATE TABLE grants (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    scopes     TEXT NOT NULL,
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id)
) STRICT;

CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_user ON sessions(user_id);
";

// OAuth server (issue 4): a client's auth method and registered metadata; the
// token family an authorization code issued (reuse of the code revokes it);
// the RFC 8707 resource a token family is bound to; rate-limit hits (kept in
// the store so limits survive the hub's idle exit); logins waiting on a
// second factor.
const V3: &str = "
ALTER TABLE clients ADD COLUMN token_endpoint_auth_method TEXT NOT NULL DEFAULT 'none';
ALTER TABLE clients ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE auth_codes ADD COLUMN family_id TEXT;
ALTER TABLE tokens ADD COLUMN resource TEXT;

CREATE TABLE rate_limit_hits (
    bucket TEXT NOT NULL,
    key    TEXT NOT NULL,
    at     INTEGER NOT NULL
) STRICT;
CREATE INDEX rate_limit_hits_key ON rate_limit_hits(bucket, key, at);
CREATE INDEX rate_limit_hits_at ON rate_limit_hits(at);

CREATE TABLE pending_logins (
    id_hash    TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    next       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
";

// Second factors (issue 4, people side): one TOTP secret per user (pending
// until its first code is checked; `last_step` refuses a code twice) and the
// SHA-256 of each backup code (see `identity::backup_codes` for why not argon2).
const V4: &str = "
CREATE TABLE totp (
    user_id    TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    enabled_at INTEGER,
    last_step  INTEGER
) STRICT;

CREATE TABLE backup_codes (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER,
    PRIMARY KEY (user_id, code_hash)
) STRICT;
";

// Delegated minting (issue 8): a token minted by another token records its
// parent, and revoking a row revokes its descendants (every revocation path —
// the API, `/account`, a grant, a client, a password change, a rotation — is
// an UPDATE of `revoked_at`, so one trigger covers them all). The operator
// token is rotated, not compromised, so its CLI mints outlive it. `label` is
// the operator's note from `mint-token --label`.
const V5: &str = "
ALTER TABLE tokens ADD COLUMN parent_jti TEXT;
ALTER TABLE tokens ADD COLUMN label TEXT;
CREATE INDEX tokens_parent ON tokens(parent_jti) WHERE parent_jti IS NOT NULL;

CREATE TRIGGER tokens_revoke_children
AFTER UPDATE OF revoked_at ON tokens
WHEN NEW.revoked_at IS NOT NULL AND OLD.revoked_at IS NULL AND NEW.created_via != 'operator'
BEGIN
    UPDATE tokens SET revoked_at = NEW.revoked_at
    WHERE revoked_at IS NULL AND jti IN (
        WITH RECURSIVE d(j) AS (
            SELECT jti FROM tokens WHERE parent_jti = NEW.jti
            UNION SELECT t.jti FROM tokens t JOIN d ON t.parent_jti = d.j
        )
        SELECT j FROM d
    );
END;
";

// Client ID Metadata Documents (issue 13): a client whose id is an https URL
// is stored like a registered one, with the time its fetched document stops
// being fresh (NULL for clients from dynamic registration).
const V6: &str = "
ALTER TABLE clients ADD COLUMN document_expires_at INTEGER;
";

// Step-up (issue 14, seed 004): one argon2id PIN per user, and the step-up
// tokens a PIN bought (SHA-256 only), each bound to the credential that
// entered the PIN (`holder`: a session's id hash or a bearer's jti), so a
// token is worth nothing to another session or bearer of the same user.
const V7: &str = "
CREATE TABLE step_up_pins (
    user_id    TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    pin_hash   TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE step_up_tokens (
    token_hash TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX step_up_tokens_user ON step_up_tokens(user_id);
CREATE INDEX step_up_tokens_expiry ON step_up_tokens(expires_at);
";

/// Bring the schema up to [`LATEST`].
pub fn run(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let e = |source| sql_err(path, source);
    // Fast path for every open after the first: no write lock needed.
    if current(conn).map_err(e)? == Some(LATEST) {
        return Ok(());
    }
    let now = crate::clock::now();
    let tx =
        rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate).map_err(e)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version    INTEGER PRIMARY KEY,
             applied_at INTEGER NOT NULL
         ) STRICT;",
    )
    .map_err(e)?;
    // Re-read under the lock: another process may have migrated meanwhile.
    let found = current(&tx).map_err(e)?.unwrap_or(0);
    if found > LATEST {
        return Err(StoreError::SchemaTooNew {
            path: path.to_path_buf(),
            found,
            known: LATEST,
        });
    }
    for (version, what, sql) in MIGRATIONS.iter().filter(|(v, _, _)| *v > found) {
        tracing::info!(version, what, "applying store migration");
        tx.execute_batch(sql).map_err(e)?;
        tx.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)",
            (version, now),
        )
        .map_err(e)?;
    }
    tx.commit().map_err(e)
}

/// The newest applied version; `None` before the first migration.
fn current(conn: &Connection) -> rusqlite::Result<Option<u32>> {
    let exists: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if exists.is_none() {
        return Ok(None);
    }
    conn.query_row("SELECT max(version) FROM schema_version", [], |r| r.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn versions_are_numbered_from_one_without_gaps() {
        for (i, (v, _, _)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(*v as usize, i + 1);
        }
    }

    #[test]
    fn migrating_twice_is_a_no_op() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("hub.db");
        drop(Store::open(&path).expect("first"));
        let store = Store::open(&path).expect("second");
        let conn = store.conn().expect("conn");
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM schema_version", [], |r| r.get(0))
            .expect("count");
        assert_eq!(rows, i64::from(LATEST));
    }

    #[test]
    fn a_newer_schema_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("hub.db");
        {
            let store = Store::open(&path).expect("open");
            let conn = store.conn().expect("conn");
            conn.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?1, 0)",
                [LATEST + 7],
            )
            .expect("insert");
        }
        let err = Store::open(&path).expect_err("refused");
        let msg = err.to_string();
        assert!(
            matches!(err, StoreError::SchemaTooNew { found, .. } if found == LATEST + 7),
            "{msg}"
        );
        assert!(msg.contains("Upgrade parachute"), "{msg}");
        // Untouched: the future row is still there and nothing was added.
        let conn = Connection::open(&path).expect("raw open");
        let max: u32 = conn
            .query_row("SELECT max(version) FROM schema_version", [], |r| r.get(0))
            .expect("q");
        assert_eq!(max, LATEST + 7);
    }
}
