//! Hub JWTs: the claims, signing, and the one validation every
//! bearer-gated endpoint uses. Plain functions that take `now`, so tests
//! control time; jsonwebtoken checks only the signature and algorithm here,
//! the time and issuer rules are ours.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Header, Validation};
use serde::{Deserialize, Serialize};

use super::keys::{Signer, Verifier};

/// Clock skew tolerated on `exp` and `nbf`, in seconds.
pub const LEEWAY_SECS: i64 = 30;

/// The claims of every token the hub issues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub iat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub exp: i64,
    /// Required by validation; `Option` so a token without one is rejected
    /// with that reason rather than as malformed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Space-separated scopes.
    pub scope: String,
    pub client_id: String,
    /// Vaults the token is pinned to; empty = not pinned. Resource servers
    /// from the module ecosystem expect the claim to be present.
    #[serde(default)]
    pub vault_scope: Vec<String>,
}

impl Claims {
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split_whitespace()
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|s| s == scope)
    }
}

/// A fresh `jti`: 16 random bytes, base64url.
pub fn new_jti() -> String {
    let mut b = [0u8; 16];
    // The system RNG failing is not something to recover from.
    aws_lc_rs::rand::fill(&mut b).expect("system random number generator");
    URL_SAFE_NO_PAD.encode(b)
}

/// Sign `claims` with `signer`; the header carries its `kid`.
pub fn sign(claims: &Claims, signer: &Signer) -> Result<String, jsonwebtoken::errors::Error> {
    let mut header = Header::new(signer.alg);
    header.kid = Some(signer.kid.clone());
    jsonwebtoken::encode(&header, claims, signer.key())
}

/// Why a bearer token was refused. Each reason is distinct so logs and
/// tests can tell them apart; clients only ever see `invalid_token`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reject {
    #[error("token is malformed")]
    Malformed,
    #[error("token has no `kid` or names a key the hub does not publish")]
    UnknownKey,
    #[error("token algorithm does not match its key")]
    Algorithm,
    #[error("token signature is invalid")]
    Signature,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token issuer `{0}` is not this hub")]
    Issuer(String),
    #[error("token has no `jti`")]
    MissingJti,
    #[error("token has been revoked")]
    Revoked,
    #[error("token audience `{0}` is not this resource")]
    Audience(String),
    /// The registry could not be read; fail closed.
    #[error("token registry unavailable: {0}")]
    Registry(String),
}

/// What a validation checks beyond the token itself.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    /// Issuers accepted (loopback origins + configured origins).
    pub issuers: &'a [String],
    /// The endpoint's audience, when it has one.
    pub audience: Option<&'a str>,
    pub now: i64,
}

/// Validate `token`: signature by `kid` with the algorithm pinned to that
/// key, `exp`/`nbf` with [`LEEWAY_SECS`], `iss` in the accepted set, `jti`
/// present and not revoked (`is_revoked` asks the registry), `aud` if
/// expected.
pub fn validate(
    token: &str,
    keys: &[Verifier],
    expect: Expect<'_>,
    is_revoked: impl FnOnce(&str) -> Result<bool, String>,
) -> Result<Claims, Reject> {
    let claims = verify_signature(token, keys)?;
    check_claims(&claims, expect, is_revoked)?;
    Ok(claims)
}

/// The cryptographic half of [`validate`]: the key named by `kid`, the
/// algorithm pinned to it, the signature. Its result depends only on the
/// token and the keys, so a caller may remember it (the hub does, per token
/// string) and run [`check_claims`] on every use.
pub fn verify_signature(token: &str, keys: &[Verifier]) -> Result<Claims, Reject> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| Reject::Malformed)?;
    let kid = header.kid.as_deref().ok_or(Reject::UnknownKey)?;
    let key = keys
        .iter()
        .find(|k| k.kid == kid)
        .ok_or(Reject::UnknownKey)?;
    if header.alg != key.alg {
        return Err(Reject::Algorithm);
    }
    let mut v = Validation::new(key.alg);
    // Time, issuer and audience are checked in `check_claims` against `now`.
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    jsonwebtoken::decode::<Claims>(token, &key.key, &v)
        .map(|d| d.claims)
        .map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::InvalidSignature => Reject::Signature,
                K::InvalidAlgorithm => Reject::Algorithm,
                _ => Reject::Malformed,
            }
        })
}

/// The rest of [`validate`], for claims whose signature was verified: time,
/// issuer, `jti` and its revocation, audience.
pub fn check_claims(
    c: &Claims,
    expect: Expect<'_>,
    is_revoked: impl FnOnce(&str) -> Result<bool, String>,
) -> Result<(), Reject> {
    if c.exp + LEEWAY_SECS <= expect.now {
        return Err(Reject::Expired);
    }
    if c.nbf.is_some_and(|nbf| nbf - LEEWAY_SECS > expect.now) {
        return Err(Reject::NotYetValid);
    }
    if !expect.issuers.contains(&c.iss) {
        return Err(Reject::Issuer(c.iss.clone()));
    }
    let jti = c
        .jti
        .as_deref()
        .filter(|j| !j.is_empty())
        .ok_or(Reject::MissingJti)?;
    if is_revoked(jti).map_err(Reject::Registry)? {
        return Err(Reject::Revoked);
    }
    if let Some(aud) = expect.audience
        && c.aud != aud
    {
        return Err(Reject::Audience(c.aud.clone()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::keys::{self, Signer, Verifier};
    use std::sync::LazyLock;

    const ISS: &str = "http://127.0.0.1:1939";

    /// Key generation is the slow part; share one pair across tests.
    static KEYS: LazyLock<(Signer, Verifier, Signer, Verifier)> = LazyLock::new(|| {
        let a = keys::generate(0).expect("gen a");
        let b = keys::generate(0).expect("gen b");
        (
            Signer::from_row(&a).expect("signer a"),
            Verifier::from_public(&a.public).expect("verifier a"),
            Signer::from_row(&b).expect("signer b"),
            Verifier::from_public(&b.public).expect("verifier b"),
        )
    });

    fn claims() -> Claims {
        Claims {
            iss: ISS.into(),
            sub: "user-1".into(),
            aud: "scribe".into(),
            iat: 1_000,
            nbf: None,
            exp: 2_000,
            jti: Some("j1".into()),
            scope: "scribe:transcribe hub:admin".into(),
            client_id: "parachute-hub".into(),
            vault_scope: vec![],
        }
    }

    fn issuers() -> Vec<String> {
        vec![ISS.into(), "http://localhost:1939".into()]
    }

    fn check(token: &str, now: i64, aud: Option<&str>) -> Result<Claims, Reject> {
        let iss = issuers();
        validate(
            token,
            std::slice::from_ref(&KEYS.1),
            Expect {
                issuers: &iss,
                audience: aud,
                now,
            },
            |jti| Ok(jti == "revoked"),
        )
    }

    fn signed(c: &Claims) -> String {
        sign(c, &KEYS.0).expect("sign")
    }

    #[test]
    fn a_good_token_validates_and_round_trips() {
        let c = claims();
        let got = check(&signed(&c), 1_500, Some("scribe")).expect("valid");
        assert_eq!(got, c);
        assert!(got.has_scope("hub:admin") && !got.has_scope("hub"));
    }

    #[test]
    fn expiry_and_not_before_allow_small_leeway() {
        let t = signed(&claims());
        assert!(check(&t, 2_000 + LEEWAY_SECS - 1, None).is_ok());
        assert_eq!(check(&t, 2_000 + LEEWAY_SECS, None), Err(Reject::Expired));
        let mut c = claims();
        c.nbf = Some(1_200);
        let t = signed(&c);
        assert!(check(&t, 1_200 - LEEWAY_SECS, None).is_ok());
        assert_eq!(check(&t, 1_100, None), Err(Reject::NotYetValid));
    }

    #[test]
    fn a_foreign_issuer_is_rejected() {
        let mut c = claims();
        c.iss = "http://evil.example".into();
        assert_eq!(
            check(&signed(&c), 1_500, None),
            Err(Reject::Issuer("http://evil.example".into()))
        );
        c.iss = "http://localhost:1939".into();
        assert!(check(&signed(&c), 1_500, None).is_ok(), "loopback alias");
    }

    #[test]
    fn jti_must_be_present_and_not_revoked() {
        let mut c = claims();
        c.jti = None;
        assert_eq!(check(&signed(&c), 1_500, None), Err(Reject::MissingJti));
        c.jti = Some(String::new());
        assert_eq!(check(&signed(&c), 1_500, None), Err(Reject::MissingJti));
        c.jti = Some("revoked".into());
        assert_eq!(check(&signed(&c), 1_500, None), Err(Reject::Revoked));
        c.jti = Some("j2".into());
        let iss = issuers();
        let fails_closed = validate(
            &signed(&c),
            std::slice::from_ref(&KEYS.1),
            Expect {
                issuers: &iss,
                audience: None,
                now: 1_500,
            },
            |_| Err("disk I/O error".into()),
        );
        assert_eq!(fails_closed, Err(Reject::Registry("disk I/O error".into())));
    }

    #[test]
    fn audience_is_checked_only_where_the_endpoint_has_one() {
        let t = signed(&claims());
        assert!(check(&t, 1_500, None).is_ok());
        assert_eq!(
            check(&t, 1_500, Some("vault.work")),
            Err(Reject::Audience("scribe".into()))
        );
    }

    #[test]
    fn unknown_kid_wrong_key_and_tampering_are_rejected() {
        // Signed by key b, which is not among the verifiers.
        let t = sign(&claims(), &KEYS.2).expect("sign b");
        assert_eq!(check(&t, 1_500, None), Err(Reject::UnknownKey));
        // Signed by b but claiming a's kid.
        let mut forged = Signer::from_row(&keys::generate(0).expect("gen")).expect("s");
        forged.kid.clone_from(&KEYS.1.kid);
        let t = sign(&claims(), &forged).expect("sign");
        assert_eq!(check(&t, 1_500, None), Err(Reject::Signature));
        // A payload edited after signing.
        let good = signed(&claims());
        let mut parts: Vec<&str> = good.split('.').collect();
        let mut c = claims();
        c.scope = "parachute:host:admin".into();
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).expect("json"));
        parts[1] = &payload;
        assert_eq!(check(&parts.join("."), 1_500, None), Err(Reject::Signature));
        assert_eq!(check("not-a-jwt", 1_500, None), Err(Reject::Malformed));
    }

    #[test]
    fn the_algorithm_is_pinned_to_the_key() {
        // An HS256 token naming the RSA key's kid (the classic confusion attack).
        let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some(KEYS.1.kid.clone());
        let t = jsonwebtoken::encode(
            &header,
            &claims(),
            &jsonwebtoken::EncodingKey::from_secret(b"secret"),
        )
        .expect("hs256");
        assert_eq!(check(&t, 1_500, None), Err(Reject::Algorithm));
    }

    #[test]
    fn jtis_are_unique_and_url_safe() {
        let a = new_jti();
        assert_eq!(a.len(), 22);
        assert_ne!(a, new_jti());
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }
}
