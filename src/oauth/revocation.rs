//! Revoking registered tokens through the hub's API (seed 001): who may
//! revoke what, and the revocation itself. `parachute:host:auth` revokes
//! anything; any other minting authority revokes exactly what it could have
//! minted ([`attenuation::can_grant`] for every scope of the target). Also
//! the small rules the registry endpoints share: a row's status and the
//! window of the public revocation list. Everything takes `now`.

use super::attenuation;
use crate::store::tokens::{self as registry, Revoked, TokenRow};
use crate::store::{Store, StoreError};

/// The scope that governs the token registry (list and revoke anything).
pub const REGISTRY_SCOPE: &str = attenuation::MINT_HOST_AUTH_SCOPE;
/// Longest `jti` a request may name (ours are 22 characters).
pub const MAX_JTI_LEN: usize = 256;

/// Why a revocation was refused.
#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    /// The bearer could not have minted the token (or any token).
    #[error("revoking this token needs the `{REGISTRY_SCOPE}` scope")]
    NotAllowed,
    #[error("`jti` must be 1–{MAX_JTI_LEN} characters")]
    BadJti,
    #[error("no token has jti `{0}`")]
    Unknown(String),
    /// No connection to the store could be had.
    #[error("{0}")]
    Unavailable(StoreError),
    #[error("{0}")]
    Store(StoreError),
}

/// The entry gate, before the request is even read: does `held` carry any
/// authority to revoke?
pub fn may_revoke_any(held: &[&str]) -> bool {
    held.contains(&REGISTRY_SCOPE) || attenuation::has_minting_authority(held)
}

/// May a bearer holding `held` revoke a token carrying `target_scopes`
/// (space-separated)?
pub fn may_revoke(held: &[&str], target_scopes: &str) -> bool {
    held.contains(&REGISTRY_SCOPE)
        || target_scopes
            .split_whitespace()
            .all(|scope| attenuation::can_grant(held, scope))
}

/// Revoke `jti` for a bearer holding `held`, at `now`; the time it was
/// revoked (the first time, if it already was). A bearer without
/// [`REGISTRY_SCOPE`] learns of an unknown jti before being refused, as it
/// could have learnt by minting; one refused never changes a row.
pub fn revoke(store: &Store, held: &[&str], jti: &str, now: i64) -> Result<i64, RevokeError> {
    if !may_revoke_any(held) {
        return Err(RevokeError::NotAllowed);
    }
    if jti.is_empty() || jti.len() > MAX_JTI_LEN {
        return Err(RevokeError::BadJti);
    }
    if !held.contains(&REGISTRY_SCOPE) {
        let conn = store.conn().map_err(RevokeError::Unavailable)?;
        let target = registry::get(&conn, jti).map_err(|e| RevokeError::Store(store.err(e)))?;
        let target = target.ok_or_else(|| RevokeError::Unknown(jti.to_string()))?;
        if !may_revoke(held, &target.scopes) {
            return Err(RevokeError::NotAllowed);
        }
    }
    let outcome = store
        .write(|tx| registry::revoke(tx, jti, now).map_err(|e| store.err(e)))
        .map_err(RevokeError::Store)?;
    match outcome {
        Revoked::Now(at) | Revoked::Already(at) => Ok(at),
        Revoked::Unknown => Err(RevokeError::Unknown(jti.to_string())),
    }
}

/// What `GET /api/auth/tokens` says of a row at `now`.
pub fn status(row: &TokenRow, now: i64) -> &'static str {
    match (row.revoked_at, row.expires_at <= now) {
        (Some(_), _) => "revoked",
        (None, true) => "expired",
        (None, false) => "active",
    }
}

/// How long after revocation a jti stays on the public list: as long as an
/// access token it names could still pass validation (its lifetime plus
/// validation's leeway).
pub fn list_window_secs() -> i64 {
    super::ACCESS_TTL_SECS + crate::tokens::jwt::LEEWAY_SECS
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn row(jti: &str, scopes: &str, expires_at: i64) -> TokenRow {
        TokenRow {
            jti: jti.into(),
            subject: "u1".into(),
            user_id: None,
            client_id: "c".into(),
            scopes: scopes.into(),
            audience: "hub".into(),
            created_via: "cli_mint".into(),
            created_at: NOW - 60,
            expires_at,
            revoked_at: None,
            parent_jti: None,
            label: None,
        }
    }

    fn store_with(dir: &std::path::Path, rows: &[TokenRow]) -> Store {
        let store = Store::open(&dir.join("hub.db")).expect("store");
        store
            .write(|tx| {
                for r in rows {
                    registry::insert(tx, r).map_err(|e| store.err(e))?;
                }
                Ok(())
            })
            .expect("rows");
        store
    }

    fn revoked_at(store: &Store, jti: &str) -> Option<i64> {
        let conn = store.conn().expect("conn");
        registry::get(&conn, jti)
            .expect("get")
            .and_then(|r| r.revoked_at)
    }

    #[test]
    fn who_may_revoke_what() {
        let auth: &[&str] = &[REGISTRY_SCOPE];
        let vault_admin: &[&str] = &["vault:work:admin"];
        let reader: &[&str] = &["vault:work:read"];
        assert!(may_revoke_any(auth) && may_revoke_any(vault_admin));
        assert!(!may_revoke_any(reader) && !may_revoke_any(&[]));
        assert!(may_revoke(auth, "parachute:host:admin hub:admin"));
        assert!(may_revoke(vault_admin, "vault:work:read vault:work:write"));
        assert!(!may_revoke(vault_admin, "vault:work:read vault:home:read"));
        assert!(!may_revoke(vault_admin, "parachute:host:auth"));
    }

    #[test]
    fn revoking_is_idempotent_and_keeps_the_first_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store_with(dir.path(), &[row("j1", "vault:work:read", NOW + 900)]);
        let auth: &[&str] = &[REGISTRY_SCOPE];
        assert_eq!(revoke(&store, auth, "j1", NOW).expect("first"), NOW);
        assert_eq!(revoke(&store, auth, "j1", NOW + 5).expect("again"), NOW);
        assert_eq!(revoked_at(&store, "j1"), Some(NOW));
        assert!(matches!(
            revoke(&store, auth, "nope", NOW),
            Err(RevokeError::Unknown(j)) if j == "nope"
        ));
    }

    #[test]
    fn an_attenuated_bearer_revokes_only_what_it_could_mint() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store_with(
            dir.path(),
            &[
                row("mine", "vault:work:read", NOW + 900),
                row("theirs", "vault:home:read", NOW + 900),
            ],
        );
        let admin: &[&str] = &["vault:work:admin"];
        assert!(matches!(
            revoke(&store, admin, "theirs", NOW),
            Err(RevokeError::NotAllowed)
        ));
        assert_eq!(
            revoked_at(&store, "theirs"),
            None,
            "a refusal changes nothing"
        );
        assert_eq!(revoke(&store, admin, "mine", NOW).expect("own"), NOW);
        assert!(matches!(
            revoke(&store, admin, "ghost", NOW),
            Err(RevokeError::Unknown(_))
        ));
        assert!(matches!(
            revoke(&store, &["vault:work:read"], "mine", NOW),
            Err(RevokeError::NotAllowed)
        ));
    }

    #[test]
    fn a_jti_is_bounded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store_with(dir.path(), &[]);
        let auth: &[&str] = &[REGISTRY_SCOPE];
        assert!(matches!(
            revoke(&store, auth, "", NOW),
            Err(RevokeError::BadJti)
        ));
        let long = "x".repeat(MAX_JTI_LEN + 1);
        assert!(matches!(
            revoke(&store, auth, &long, NOW),
            Err(RevokeError::BadJti)
        ));
    }

    #[test]
    fn status_follows_revocation_then_expiry_on_the_given_clock() {
        let mut r = row("j", "", NOW + 10);
        assert_eq!(status(&r, NOW), "active");
        assert_eq!(status(&r, NOW + 10), "expired");
        r.revoked_at = Some(NOW);
        assert_eq!(status(&r, NOW), "revoked");
    }
}
