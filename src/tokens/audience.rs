//! Which resource a token is for (`aud`), inferred from its scopes; shared by
//! every minting path (CLI `mint-token`, later the OAuth token endpoint) so
//! they cannot disagree:
//!
//! 1. the first named vault scope `vault:<name>:<read|write|admin>` →
//!    `vault.<name>` (the more sensitive resource wins);
//! 2. else the namespace of the first scope that has one
//!    (`scribe:transcribe` → `scribe`, `parachute:host:admin` → `parachute`);
//! 3. else `hub`.

/// Verbs a named vault scope may carry.
pub const VAULT_VERBS: &[&str] = &["read", "write", "admin"];

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
    use super::infer;

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
