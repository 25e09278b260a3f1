//! Capability attenuation (seed 001), shared by `POST /api/auth/mint-token`
//! and `POST /api/auth/revoke-token`: a bearer may mint — and so revoke —
//! only tokens whose every scope is within its own authority.

use crate::tokens::scopes;

/// Rule 1: mints any requestable scope.
pub const MINT_HOST_AUTH_SCOPE: &str = "parachute:host:auth";
/// Rule 2: attenuates box-wide administration to one vault's admin.
pub const MINT_HOST_ADMIN_SCOPE: &str = "parachute:host:admin";

fn holds<S: AsRef<str>>(bearer: &[S], scope: &str) -> bool {
    bearer.iter().any(|b| b.as_ref() == scope)
}

/// Could a bearer holding `bearer` mint a token carrying `requested`?
///
/// 1. `requested` is requestable and the bearer has `parachute:host:auth`;
/// 2. `requested` is `vault:<N>:admin` and the bearer has `parachute:host:admin`;
/// 3. `requested` is `vault:<N>:<verb>` and the bearer has `vault:<N>:admin`.
pub fn can_grant<S: AsRef<str>>(bearer: &[S], requested: &str) -> bool {
    if !scopes::is_non_requestable(requested) && holds(bearer, MINT_HOST_AUTH_SCOPE) {
        return true;
    }
    if scopes::is_vault_admin_scope(requested) && holds(bearer, MINT_HOST_ADMIN_SCOPE) {
        return true;
    }
    if let Some(vault) = scopes::vault_scope_name(requested)
        && holds(bearer, &format!("vault:{vault}:admin"))
    {
        return true;
    }
    false
}

/// Does the bearer hold any minting authority at all (the entry gate)?
pub fn has_minting_authority<S: AsRef<str>>(bearer: &[S]) -> bool {
    holds(bearer, MINT_HOST_AUTH_SCOPE)
        || holds(bearer, MINT_HOST_ADMIN_SCOPE)
        || bearer
            .iter()
            .any(|s| scopes::is_vault_admin_scope(s.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn can_grant_table() {
        let auth: &[&str] = &["parachute:host:auth"];
        let admin: &[&str] = &["parachute:host:admin"];
        let work_admin: &[&str] = &["vault:work:admin"];
        let reader: &[&str] = &["vault:work:read"];
        let cases: &[(&str, &[&str], &str, bool)] = &[
            ("host:auth mints requestable", auth, "vault:work:read", true),
            (
                "host:auth mints named vault admin",
                auth,
                "vault:work:admin",
                true,
            ),
            ("host:auth mints scribe", auth, "scribe:transcribe", true),
            (
                "host:auth cannot mint host:admin",
                auth,
                "parachute:host:admin",
                false,
            ),
            ("host:auth cannot mint hub:admin", auth, "hub:admin", false),
            (
                "host:admin mints one vault's admin",
                admin,
                "vault:work:admin",
                true,
            ),
            (
                "host:admin alone cannot mint read",
                admin,
                "vault:work:read",
                false,
            ),
            (
                "host:admin cannot mint itself",
                admin,
                "parachute:host:admin",
                false,
            ),
            (
                "vault admin mints same-vault read",
                work_admin,
                "vault:work:read",
                true,
            ),
            (
                "vault admin mints same-vault admin",
                work_admin,
                "vault:work:admin",
                true,
            ),
            (
                "vault admin cannot cross vaults",
                work_admin,
                "vault:home:read",
                false,
            ),
            (
                "vault admin cannot mint host scopes",
                work_admin,
                "parachute:host:auth",
                false,
            ),
            (
                "vault admin cannot mint unnamed verbs",
                work_admin,
                "vault:read",
                false,
            ),
            ("reader mints nothing", reader, "vault:work:read", false),
        ];
        for (name, bearer, requested, want) in cases {
            assert_eq!(can_grant(bearer, requested), *want, "{name}");
        }
    }

    #[test]
    fn minting_authority_table() {
        let cases: &[(&str, &[&str], bool)] = &[
            ("host:auth", &["parachute:host:auth"], true),
            ("host:admin", &["parachute:host:admin"], true),
            ("a vault admin", &["vault:x:admin", "vault:y:read"], true),
            ("read only", &["vault:x:read"], false),
            ("unnamed vault admin", &["vault:admin"], false),
            ("nothing", &[], false),
        ];
        for (name, bearer, want) in cases {
            assert_eq!(has_minting_authority(bearer), *want, "{name}");
        }
    }
}
