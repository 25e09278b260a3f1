//! Which resource a token is for (`aud`), inferred from its scopes; shared by
//! every minting path (CLI `mint-token`, later the OAuth token endpoint) so
//! they cannot disagree:
//!
//! 1. the first named vault scope `vault:<name>:<read|write|admin>` →
//!    `vault.<name>` (the more sensitive resource wins);
//! 2. else the namespace of the first scope that has one
//!    (`scribe:transcribe` → `scribe`, `parachute:host:admin` → `parachute`);
//! 3. else `hub`.
//!
//! The same file says which audiences each kind of hub endpoint takes
//! ([`judge`]), so a bearer's `aud` is checked everywhere the hub reads one
//! (issue 8, RFC 8707): a token is for one resource, not for whatever
//! endpoint it is shown to.

/// Verbs a named vault scope may carry.
pub const VAULT_VERBS: &[&str] = &["read", "write", "admin"];

/// The audiences the hub issues for its own use: the operator token,
/// inferred `hub:*` and `parachute:*` tokens, and account tokens.
pub const HUB: &[&str] = &["operator", "hub", "parachute", "account"];
/// The audience of `surface:*` tokens, which git takes.
pub const SURFACE: &str = "surface";

/// What an endpoint expects of a bearer's `aud`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// The hub's own APIs (`/api/auth/*`, introspection, admin
    /// registration): [`HUB`], or a vault's audience on a token that is
    /// not bound to a resource, because a vault admin mints and revokes that
    /// vault's tokens there (capability attenuation, seed 001).
    Hub,
    /// Smart HTTP git under `/git/`: [`SURFACE`] or [`HUB`].
    Git,
}

/// The verdict on one `aud`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    /// Accept only if the token's registry row names no RFC 8707 resource:
    /// a token issued for `/vault/<n>/mcp` is that endpoint's alone.
    AcceptUnbound,
    Refuse,
}

pub fn judge(expected: Expected, aud: &str) -> Verdict {
    if HUB.contains(&aud) || (expected == Expected::Git && aud == SURFACE) {
        return Verdict::Accept;
    }
    let vault = aud
        .strip_prefix("vault.")
        .is_some_and(super::scopes::is_vault_name);
    if expected == Expected::Hub && vault {
        Verdict::AcceptUnbound
    } else {
        Verdict::Refuse
    }
}

/// The audience a mint of `scopes` gets: the inferred one; an `asked`
/// audience that differs is refused with the one the scopes imply, so a
/// delegated mint (`/api/auth/mint-token`) cannot stamp an audience its
/// scopes are not for. The operator's CLI mint keeps seed 000's `--aud`
/// override: it runs with the store in hand.
pub fn resolve<S: AsRef<str>>(scopes: &[S], asked: Option<&str>) -> Result<String, Mismatch> {
    let aud = infer(scopes);
    match asked.filter(|a| !a.is_empty()) {
        Some(asked) if asked != aud => Err(Mismatch {
            asked: asked.to_string(),
            inferred: aud,
        }),
        _ => Ok(aud),
    }
}

/// An asked audience the scopes are not for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{asked}` does not match the scopes (they are for `{inferred}`)")]
pub struct Mismatch {
    pub asked: String,
    pub inferred: String,
}

pub fn infer<S: AsRef<str>>(scopes: &[S]) -> String {
    for s in scopes {
        let parts: Vec<&str> = s.as_ref().split(':').collect();
        if let ["vault", name, verb] = parts.as_slice()
            && !name.is_empty()
            && VAULT_VERBS.contains(verb)
        {
            return format!("vault.{name}");
        }
    }
    for s in scopes {
        if let Some((ns, _)) = s.as_ref().split_once(':')
            && !ns.is_empty()
        {
            return ns.to_string();
        }
    }
    "hub".to_string()
}

#[cfg(test)]
mod tests {
    use super::{Expected, Verdict, infer, judge, resolve};

    #[test]
    fn endpoints_take_their_own_audiences() {
        let cases: &[(Expected, &str, Verdict)] = &[
            (Expected::Hub, "operator", Verdict::Accept),
            (Expected::Hub, "parachute", Verdict::Accept),
            (Expected::Hub, "hub", Verdict::Accept),
            (Expected::Hub, "vault.work", Verdict::AcceptUnbound),
            (Expected::Hub, "surface", Verdict::Refuse),
            (Expected::Hub, "scribe", Verdict::Refuse),
            (Expected::Hub, "vault", Verdict::Refuse),
            (Expected::Hub, "vault./../x", Verdict::Refuse),
            (Expected::Hub, "custom-resource", Verdict::Refuse),
            (Expected::Git, "surface", Verdict::Accept),
            (Expected::Git, "hub", Verdict::Accept),
            (Expected::Git, "vault.work", Verdict::Refuse),
            (Expected::Git, "scribe", Verdict::Refuse),
        ];
        for (expected, aud, want) in cases {
            assert_eq!(judge(*expected, aud), *want, "{expected:?} {aud}");
        }
    }

    #[test]
    fn an_asked_audience_must_be_the_inferred_one() {
        assert_eq!(
            resolve(&["vault:work:read"], None).as_deref(),
            Ok("vault.work")
        );
        assert_eq!(
            resolve(&["vault:work:read"], Some("vault.work")).as_deref(),
            Ok("vault.work")
        );
        let e = resolve(&["vault:work:read"], Some("operator")).expect_err("refused");
        assert_eq!(
            e.to_string(),
            "`operator` does not match the scopes (they are for `vault.work`)"
        );
    }

    #[test]
    fn named_vault_scopes_bind_to_that_vault() {
        assert_eq!(infer(&["vault:work:read"]), "vault.work");
        assert_eq!(infer(&["vault:work:admin"]), "vault.work");
    }

    #[test]
    fn a_named_vault_wins_over_an_earlier_namespace() {
        assert_eq!(
            infer(&["scribe:transcribe", "vault:work:read"]),
            "vault.work"
        );
        assert_eq!(
            infer(&["vault:work:read", "scribe:transcribe"]),
            "vault.work"
        );
    }

    #[test]
    fn otherwise_the_first_namespace() {
        assert_eq!(infer(&["scribe:transcribe"]), "scribe");
        assert_eq!(infer(&["vault:read"]), "vault");
        assert_eq!(infer(&["vault:work:delete"]), "vault");
        assert_eq!(infer(&["vault::read"]), "vault");
        assert_eq!(infer(&["parachute:host:admin"]), "parachute");
        assert_eq!(infer(&["openid", "surface:x:read"]), "surface");
    }

    #[test]
    fn no_namespace_means_hub() {
        assert_eq!(infer(&["openid"]), "hub");
        assert_eq!(infer(&[":x"]), "hub");
        assert_eq!(infer::<&str>(&[]), "hub");
    }
}
