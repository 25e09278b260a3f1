//! `signing_keys`: the hub's JWT signing keys. One active key (no
//! `retired_at`, newest); retired keys stay published until the last token
//! they signed has expired (`last_exp`).

use rusqlite::{Connection, OptionalExtension as _};

/// The public half of a key, as JWKS and validation need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub kid: String,
    /// JWS `alg`, e.g. `RS256`.
    pub algorithm: String,
    /// RSA modulus and exponent, base64url without padding (JWK `n`, `e`).
    pub n: String,
    pub e: String,
    pub created_at: i64,
    pub retired_at: Option<i64>,
    pub last_exp: Option<i64>,
}

/// A full key row, private half included. `Debug` redacts the private key.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyRow {
    pub public: PublicKey,
    pub public_key_pem: String,
    pub private_key_pem: String,
}

impl std::fmt::Debug for KeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRow")
            .field("public", &self.public)
            .field("private_key_pem", &"<redacted>")
            .finish_non_exhaustive()
    }
}

const PUBLIC: &str = "kid, algorithm, jwk_n, jwk_e, created_at, retired_at, last_exp";

fn public_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PublicKey> {
    Ok(PublicKey {
        kid: r.get(0)?,
        algorithm: r.get(1)?,
        n: r.get(2)?,
        e: r.get(3)?,
        created_at: r.get(4)?,
        retired_at: r.get(5)?,
        last_exp: r.get(6)?,
    })
}

pub fn insert(conn: &Connection, key: &KeyRow) -> rusqlite::Result<()> {
    let p = &key.public;
    conn.execute(
        "INSERT INTO signing_keys
           (kid, algorithm, public_key_pem, private_key_pem, jwk_n, jwk_e, created_at, retired_at, last_exp)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        (
            &p.kid,
            &p.algorithm,
            &key.public_key_pem,
            &key.private_key_pem,
            &p.n,
            &p.e,
            p.created_at,
            p.retired_at,
            p.last_exp,
        ),
    )?;
    Ok(())
}

/// The key that signs: not retired, newest.
pub fn active(conn: &Connection) -> rusqlite::Result<Option<KeyRow>> {
    conn.query_row(
        &format!(
            "SELECT {PUBLIC}, public_key_pem, private_key_pem FROM signing_keys
             WHERE retired_at IS NULL ORDER BY created_at DESC, rowid DESC LIMIT 1"
        ),
        [],
        |r| {
            Ok(KeyRow {
                public: public_from_row(r)?,
                public_key_pem: r.get(7)?,
                private_key_pem: r.get(8)?,
            })
        },
    )
    .optional()
}

/// Keys published in JWKS and trusted for validation at `now`: the active
/// ones, and retired ones whose last signed token has not yet expired.
/// Newest first.
pub fn published(conn: &Connection, now: i64) -> rusqlite::Result<Vec<PublicKey>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {PUBLIC} FROM signing_keys
         WHERE retired_at IS NULL OR last_exp > ?1
         ORDER BY created_at DESC, rowid DESC"
    ))?;
    st.query_map([now], public_from_row)?.collect()
}

/// Retire every active key; returns how many.
pub fn retire_active(conn: &Connection, now: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE signing_keys SET retired_at = ?1 WHERE retired_at IS NULL",
        [now],
    )
}

/// Record that `kid` signed a token valid until `exp`.
pub fn note_signed(conn: &Connection, kid: &str, exp: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE signing_keys SET last_exp = max(coalesce(last_exp, 0), ?2) WHERE kid = ?1",
        (kid, exp),
    )?;
    Ok(())
}
