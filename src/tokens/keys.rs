//! Signing keys: generation, identifiers, rotation, and the in-memory forms
//! used to sign and verify.
//!
//! RS256 over RSA-2048, generated with aws-lc-rs (fast even in debug builds,
//! where a pure-Rust RSA key generation takes many seconds) and used through
//! jsonwebtoken with its aws-lc-rs backend. `kid` is the base64url SHA-256
//! of the public key's `SubjectPublicKeyInfo` DER, so it names the key itself.
//! The private key is stored as PKCS#8 PEM in the 0600 store.

use std::fmt::Write as _;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair as _, RsaKeyPair, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use rusqlite::Connection;

use crate::store::keys::{self, KeyRow, PublicKey};

/// The algorithm new keys use.
pub const DEFAULT_ALG: &str = "RS256";

/// Why a key could not be made or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot generate an RSA key: {0}")]
    Generate(String),
    #[error("signing key `{kid}` is unusable: {problem}")]
    Unusable { kid: String, problem: String },
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
}

/// Make a fresh RS256 key row, created at `now` and not yet retired.
pub fn generate(now: i64) -> Result<KeyRow, KeyError> {
    let gen_err = |e: aws_lc_rs::error::Unspecified| KeyError::Generate(e.to_string());
    let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(gen_err)?;
    let private_der = pair.as_der().map_err(gen_err)?;
    let public = pair.public_key();
    let spki = public.as_der().map_err(gen_err)?;
    let parts = RsaPublicKeyComponents::<Vec<u8>>::from(public);
    Ok(KeyRow {
        public: PublicKey {
            kid: kid_of(spki.as_ref()),
            algorithm: DEFAULT_ALG.into(),
            n: URL_SAFE_NO_PAD.encode(&parts.n),
            e: URL_SAFE_NO_PAD.encode(&parts.e),
            created_at: now,
            retired_at: None,
            last_exp: None,
        },
        public_key_pem: pem("PUBLIC KEY", spki.as_ref()),
        private_key_pem: pem("PRIVATE KEY", private_der.as_ref()),
    })
}

/// `kid` for a public key: base64url(SHA-256(SPKI DER)).
pub fn kid_of(spki_der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        spki_der,
    ))
}

/// PEM armour, 64 columns.
fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    let _ = writeln!(out, "-----END {label}-----");
    out
}

/// The active key, made (and stored) first if there is none.
pub fn ensure_active(conn: &Connection, now: i64) -> Result<KeyRow, KeyError> {
    if let Some(k) = keys::active(conn)? {
        return Ok(k);
    }
    let key = generate(now)?;
    keys::insert(conn, &key)?;
    Ok(key)
}

/// Rotate: retire the active key and make a new one, in the caller's
/// transaction. The new key is in the table (so in JWKS) as soon as this
/// commits, before anything is signed with it; the retired key stays
/// published and trusted until the last token it signed expires.
pub fn rotate(conn: &Connection, fresh: &KeyRow) -> Result<usize, KeyError> {
    let retired = keys::retire_active(conn, fresh.public.created_at)?;
    keys::insert(conn, fresh)?;
    Ok(retired)
}

/// A key ready to sign. `Debug` shows only the kid.
pub struct Signer {
    pub kid: String,
    pub alg: Algorithm,
    key: EncodingKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl Signer {
    pub fn from_row(row: &KeyRow) -> Result<Self, KeyError> {
        let unusable = |problem: String| KeyError::Unusable {
            kid: row.public.kid.clone(),
            problem,
        };
        let alg = parse_alg(&row.public.algorithm).map_err(unusable)?;
        let key = EncodingKey::from_rsa_pem(row.private_key_pem.as_bytes())
            .map_err(|e| unusable(e.to_string()))?;
        Ok(Self {
            kid: row.public.kid.clone(),
            alg,
            key,
        })
    }

    pub fn key(&self) -> &EncodingKey {
        &self.key
    }
}

/// A key ready to verify, with the algorithm it is pinned to.
#[derive(Clone)]
pub struct Verifier {
    pub kid: String,
    pub alg: Algorithm,
    pub key: DecodingKey,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    pub fn from_public(p: &PublicKey) -> Result<Self, KeyError> {
        let unusable = |problem: String| KeyError::Unusable {
            kid: p.kid.clone(),
            problem,
        };
        Ok(Self {
            kid: p.kid.clone(),
            alg: parse_alg(&p.algorithm).map_err(unusable)?,
            key: DecodingKey::from_rsa_components(&p.n, &p.e)
                .map_err(|e| unusable(e.to_string()))?,
        })
    }
}

/// The verifiers for every key published at `now`.
pub fn verifiers(conn: &Connection, now: i64) -> Result<Vec<Verifier>, KeyError> {
    keys::published(conn, now)?
        .iter()
        .map(Verifier::from_public)
        .collect()
}

fn parse_alg(s: &str) -> Result<Algorithm, String> {
    match s {
        "RS256" => Ok(Algorithm::RS256),
        other => Err(format!("algorithm `{other}` is not supported")),
    }
}

/// JWKS (`/.well-known/jwks.json`) for the given public keys.
pub fn jwks(keys: &[PublicKey]) -> serde_json::Value {
    serde_json::json!({
        "keys": keys.iter().map(|k| serde_json::json!({
            "kty": "RSA",
            "kid": k.kid,
            "alg": k.algorithm,
            "use": "sig",
            "n": k.n,
            "e": k.e,
        })).collect::<Vec<_>>()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::store;

    #[test]
    fn a_generated_key_is_rs256_with_a_content_kid() {
        let k = generate(5).expect("gen");
        assert_eq!(k.public.algorithm, "RS256");
        assert_eq!(k.public.e, "AQAB");
        // 2048-bit modulus = 256 bytes = 342 base64url chars.
        assert_eq!(k.public.n.len(), 342);
        assert_eq!(k.public.kid.len(), 43);
        let spki = STANDARD
            .decode(
                k.public_key_pem
                    .lines()
                    .filter(|l| !l.starts_with("-----"))
                    .collect::<String>(),
            )
            .expect("pem body");
        assert_eq!(kid_of(&spki), k.public.kid);
        assert!(
            k.private_key_pem
                .starts_with("-----BEGIN PRIVATE KEY-----\n")
        );
        assert!(!format!("{k:?}").contains("BEGIN PRIVATE KEY"));
        Signer::from_row(&k).expect("signer");
        Verifier::from_public(&k.public).expect("verifier");
    }

    #[test]
    fn rotation_keeps_a_retired_key_until_its_last_token_expires() {
        let (_d, s) = store();
        let c = s.conn().expect("conn");
        let first = ensure_active(&c, 100).expect("first");
        assert_eq!(
            ensure_active(&c, 101).expect("same").public.kid,
            first.public.kid
        );
        keys::note_signed(&c, &first.public.kid, 5_000).expect("signed");
        keys::note_signed(&c, &first.public.kid, 4_000).expect("earlier exp keeps max");

        let second = generate(200).expect("gen");
        assert_eq!(rotate(&c, &second).expect("rotate"), 1);
        assert_eq!(
            keys::active(&c).expect("q").expect("active").public.kid,
            second.public.kid
        );
        let kids = |now| -> Vec<String> {
            keys::published(&c, now)
                .expect("published")
                .into_iter()
                .map(|k| k.kid)
                .collect()
        };
        // Both published (newest first) until the last token of the first expires …
        assert_eq!(
            kids(4_999),
            vec![second.public.kid.clone(), first.public.kid.clone()]
        );
        // … then only the new one; not a fixed 24 hours either way.
        assert_eq!(kids(5_000), vec![second.public.kid.clone()]);

        // A retired key that never signed anything leaves at once.
        let third = generate(300).expect("gen");
        rotate(&c, &third).expect("rotate");
        assert_eq!(
            kids(301),
            vec![third.public.kid.clone(), first.public.kid.clone()]
        );
        assert_eq!(kids(5_000), vec![third.public.kid.clone()]);
    }

    #[test]
    fn jwks_lists_public_parts_only() {
        let k = generate(1).expect("gen");
        let doc = jwks(std::slice::from_ref(&k.public));
        let key = &doc["keys"][0];
        assert_eq!(key["kty"], "RSA");
        assert_eq!(key["alg"], "RS256");
        assert_eq!(key["use"], "sig");
        assert_eq!(key["kid"], k.public.kid.as_str());
        assert!(key.get("d").is_none());
    }
}
