//! The scope catalog: every scope the hub knows, what it lets a client do
//! (shown on the consent page), its level and its risk. Scopes have the shape
//! `<service>[:<resource>]:<verb>`; the named per-vault forms
//! `vault:<name>:<verb>` reuse the unnamed `vault:<verb>` entry.
//!
//! Also the shape rules of seed 001: which scopes a public OAuth client may
//! request at all ([`is_requestable`]), the per-vault recognisers, and the
//! mint-time shape guard ([`is_well_formed_or_non_vault`]).

/// What a scope lets its holder do, coarsely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Read,
    Write,
    Admin,
}

/// How much harm a leaked token with this scope can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    Low,
    Elevated,
    High,
}

impl Risk {
    pub fn label(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Elevated => "elevated",
            Self::High => "high",
        }
    }
}

/// One catalog entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ScopeInfo {
    pub scope: &'static str,
    /// One sentence for the consent page.
    pub explanation: &'static str,
    pub level: Level,
    pub risk: Risk,
    /// The optional module that defines it (`None`: always available). Its
    /// scopes are advertised only while that module is registered.
    pub module: Option<&'static str>,
    /// Advertised in discovery (`scopes_supported`).
    pub advertised: bool,
}

const fn entry(
    scope: &'static str,
    explanation: &'static str,
    level: Level,
    risk: Risk,
    module: Option<&'static str>,
    advertised: bool,
) -> ScopeInfo {
    ScopeInfo {
        scope,
        explanation,
        level,
        risk,
        module,
        advertised,
    }
}

/// Every first-party scope. Other modules add theirs here (one line each).
pub const CATALOG: &[ScopeInfo] = &[
    entry(
        "vault:read",
        "Read the notes, tags and attachments in your vault.",
        Level::Read,
        Risk::Low,
        None,
        true,
    ),
    entry(
        "vault:write",
        "Create, edit and delete notes in your vault.",
        Level::Write,
        Risk::Low,
        None,
        true,
    ),
    entry(
        "vault:admin",
        "Administer your vault: its settings, its tokens and everything in it.",
        Level::Admin,
        Risk::Elevated,
        None,
        true,
    ),
    entry(
        "scribe:transcribe",
        "Send audio to Scribe to be transcribed.",
        Level::Write,
        Risk::Low,
        Some("scribe"),
        true,
    ),
    entry(
        "scribe:admin",
        "Administer Scribe: its provider and API keys.",
        Level::Admin,
        Risk::Elevated,
        Some("scribe"),
        false,
    ),
    // Hub-hosted git (`/git/<name>`, issue #5). Named forms
    // `surface:<name>:<verb>` are what the endpoint checks; they use these
    // entries (see `explain`).
    entry(
        "surface:read",
        "Clone and fetch a surface's source (its git repository on the hub).",
        Level::Read,
        Risk::Low,
        Some("surface"),
        true,
    ),
    entry(
        "surface:write",
        "Push to a surface's source (its git repository on the hub), which the surface host then builds.",
        Level::Write,
        Risk::Elevated,
        Some("surface"),
        true,
    ),
    entry(
        "hub:admin",
        "Administer the hub: users, clients and services.",
        Level::Admin,
        Risk::Elevated,
        None,
        false,
    ),
    entry(
        "parachute:host:admin",
        "Administer this machine's Parachute installation.",
        Level::Admin,
        Risk::Elevated,
        None,
        false,
    ),
    entry(
        "parachute:host:install",
        "Install modules on this machine.",
        Level::Admin,
        Risk::Elevated,
        None,
        false,
    ),
    entry(
        "parachute:host:start",
        "Start and stop services on this machine.",
        Level::Admin,
        Risk::Elevated,
        None,
        false,
    ),
    entry(
        "parachute:host:expose",
        "Expose this machine's services to the network.",
        Level::Admin,
        Risk::Elevated,
        None,
        false,
    ),
    entry(
        "parachute:host:auth",
        "Issue and revoke tokens on this hub.",
        Level::Admin,
        Risk::Elevated,
        None,
        false,
    ),
    entry(
        "parachute:host:vault",
        "Create and delete vaults on this machine.",
        Level::Admin,
        Risk::Elevated,
        None,
        false,
    ),
    entry(
        "account:self:read",
        "See your account: username, vaults and tokens.",
        Level::Read,
        Risk::Low,
        None,
        false,
    ),
    entry(
        "account:self:write",
        "Change your account and create vaults in it.",
        Level::Write,
        Risk::Elevated,
        None,
        false,
    ),
    entry(
        "account:self:admin",
        "Full control of your account, including deleting vaults and minting tokens.",
        Level::Admin,
        Risk::High,
        None,
        false,
    ),
];

/// Verbs a named vault scope may carry.
pub const VAULT_VERBS: &[&str] = &["read", "write", "admin"];

/// A vault name: the `[a-zA-Z0-9_-]+` shape of `vault:<name>:<verb>`.
pub fn is_vault_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `vault:<name>:<read|write|admin>` → `(name, verb)`.
pub fn vault_scope(scope: &str) -> Option<(&str, &str)> {
    let mut it = scope.split(':');
    match (it.next(), it.next(), it.next(), it.next()) {
        (Some("vault"), Some(name), Some(verb), None)
            if is_vault_name(name) && VAULT_VERBS.contains(&verb) =>
        {
            Some((name, verb))
        }
        _ => None,
    }
}

/// The vault a per-vault scope names.
pub fn vault_scope_name(scope: &str) -> Option<&str> {
    vault_scope(scope).map(|(n, _)| n)
}

/// `vault:<name>:admin`.
pub fn is_vault_admin_scope(scope: &str) -> bool {
    vault_scope(scope).is_some_and(|(_, v)| v == "admin")
}

/// The catalog entry explaining `scope` (named vault scopes use the unnamed
/// entry for their verb); `None` for a scope the hub does not know.
pub fn explain(scope: &str) -> Option<&'static ScopeInfo> {
    if let Some(e) = CATALOG.iter().find(|e| e.scope == scope) {
        return Some(e);
    }
    if let Some(verb) = surface_scope_verb(scope) {
        return CATALOG
            .iter()
            .find(|e| e.scope.strip_prefix("surface:") == Some(verb));
    }
    let (_, verb) = vault_scope(scope)?;
    CATALOG
        .iter()
        .find(|e| e.scope.strip_prefix("vault:") == Some(verb))
}

/// `surface:<name>:<read|write>` → the verb (names as for vaults).
fn surface_scope_verb(scope: &str) -> Option<&str> {
    let mut it = scope.split(':');
    match (it.next(), it.next(), it.next(), it.next()) {
        (Some("surface"), Some(name), Some(verb @ ("read" | "write")), None)
            if is_vault_name(name) =>
        {
            Some(verb)
        }
        _ => None,
    }
}

/// Known to the hub (and so grantable at all).
pub fn is_known(scope: &str) -> bool {
    explain(scope).is_some()
}

/// Scopes no public OAuth client may request: the host operator scopes and
/// the hub/module admin scopes (case-insensitive, so `HUB:ADMIN` is refused
/// too). `vault:<name>:admin` stays requestable: the consent choke point caps
/// it to what the user holds.
pub fn is_non_requestable(scope: &str) -> bool {
    let s = scope.to_ascii_lowercase();
    s.starts_with("parachute:host:") || s == "hub:admin" || s == "scribe:admin"
}

/// Known and requestable through `/oauth/authorize`.
pub fn is_requestable(scope: &str) -> bool {
    is_known(scope) && !is_non_requestable(scope)
}

/// Admin-level: never granted without the consent screen.
pub fn is_admin(scope: &str) -> bool {
    explain(scope).is_none_or(|e| e.level == Level::Admin)
}

/// Elevated: a scope the catalog rates above low risk (the admin scopes
/// `*:admin`, `account:*:admin`, `hub:*`, the host scopes, pushes) or one
/// it does not know. Minting one needs step-up (issue 14), on the pages and
/// over the API alike.
pub fn is_elevated(scope: &str) -> bool {
    explain(scope).is_none_or(|e| e.risk > Risk::Low)
}

/// The mint-time shape guard of seed 001: a `vault`-prefixed scope
/// (case-insensitive) with three or more segments must be exactly
/// `vault:<name>:<read|write|admin>`; everything else passes (the unnamed
/// two-segment forms are out of its remit).
pub fn is_well_formed_or_non_vault(scope: &str) -> bool {
    let segments = scope.split(':').count();
    let first = scope.split(':').next().unwrap_or_default();
    if !first.eq_ignore_ascii_case("vault") || segments < 3 {
        return true;
    }
    vault_scope(scope).is_some()
}

/// `scopes_supported`: the advertised scopes whose module (if any) is among
/// `registered` (short names, e.g. `scribe`).
pub fn supported<S: AsRef<str>>(registered: &[S]) -> Vec<&'static str> {
    CATALOG
        .iter()
        .filter(|e| e.advertised)
        .filter(|e| {
            e.module
                .is_none_or(|m| registered.iter().any(|r| r.as_ref() == m))
        })
        .map(|e| e.scope)
        .collect()
}

/// Split a space-separated scope string, dropping duplicates, keeping order.
pub fn parse(scope: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in scope.split_whitespace() {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admin_scopes_are_elevated_and_the_everyday_ones_not() {
        for s in [
            "vault:work:admin",
            "scribe:admin",
            "account:self:admin",
            "hub:admin",
            "parachute:host:auth",
            "made:up",
        ] {
            assert!(is_elevated(s), "{s}");
        }
        for s in ["vault:work:read", "vault:work:write", "scribe:transcribe"] {
            assert!(!is_elevated(s), "{s}");
        }
    }

    #[test]
    fn every_scope_is_explained_with_a_level_and_risk() {
        let cases: &[(&str, Option<(Level, Risk)>)] = &[
            ("vault:read", Some((Level::Read, Risk::Low))),
            ("vault:work:read", Some((Level::Read, Risk::Low))),
            ("vault:work:write", Some((Level::Write, Risk::Low))),
            ("vault:work:admin", Some((Level::Admin, Risk::Elevated))),
            ("account:self:admin", Some((Level::Admin, Risk::High))),
            ("account:self:write", Some((Level::Write, Risk::Elevated))),
            ("scribe:transcribe", Some((Level::Write, Risk::Low))),
            ("parachute:host:auth", Some((Level::Admin, Risk::Elevated))),
            ("vault:work:delete", None),
            ("vault::read", None),
            ("made:up", None),
        ];
        for (scope, want) in cases {
            let got = explain(scope).map(|e| (e.level, e.risk));
            assert_eq!(got, *want, "{scope}");
        }
        assert!(CATALOG.iter().all(|e| !e.explanation.is_empty()));
    }

    #[test]
    fn requestability() {
        let cases: &[(&str, bool)] = &[
            ("vault:read", true),
            ("vault:work:admin", true),
            ("scribe:transcribe", true),
            ("hub:admin", false),
            ("HUB:ADMIN", false),
            ("scribe:admin", false),
            ("parachute:host:admin", false),
            ("Parachute:Host:Auth", false),
            ("unknown:scope", false),
        ];
        for (scope, want) in cases {
            assert_eq!(is_requestable(scope), *want, "{scope}");
        }
    }

    #[test]
    fn admin_and_unknown_scopes_are_admin_level() {
        assert!(is_admin("vault:work:admin"));
        assert!(is_admin("hub:admin"));
        assert!(is_admin("whatever:else"), "unknown fails closed");
        assert!(!is_admin("vault:work:write"));
        assert!(!is_admin("account:self:read"));
    }

    #[test]
    fn shape_guard_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("named read", "vault:work:read", true),
            ("named admin", "vault:work:admin", true),
            ("unnamed verb", "vault:read", true),
            ("bare vault", "vault", true),
            ("non-vault", "scribe:transcribe", true),
            ("host scope", "parachute:host:auth", true),
            ("uppercase verb", "vault:work:ADMIN", false),
            ("empty name", "vault::admin", false),
            ("extra segment", "vault:work:read:admin", false),
            ("uppercase resource", "VAULT:work:admin", false),
            ("unknown verb", "vault:work:delete", false),
            ("name with slash", "vault:a/b:read", false),
        ];
        for (name, scope, want) in cases {
            assert_eq!(is_well_formed_or_non_vault(scope), *want, "{name}: {scope}");
        }
    }

    #[test]
    fn vault_recognisers() {
        assert_eq!(vault_scope("vault:work:read"), Some(("work", "read")));
        assert_eq!(vault_scope_name("vault:w-1_x:admin"), Some("w-1_x"));
        assert_eq!(vault_scope_name("vault:read"), None);
        assert!(is_vault_admin_scope("vault:work:admin"));
        assert!(!is_vault_admin_scope("vault:admin"));
        assert!(!is_vault_admin_scope("vault:work:write"));
    }

    #[test]
    fn optional_module_scopes_are_listed_only_when_registered() {
        let none: &[&str] = &[];
        let without = supported(none);
        assert!(without.contains(&"vault:read"));
        assert!(!without.contains(&"scribe:transcribe"));
        assert!(
            !without.contains(&"hub:admin"),
            "non-requestable not advertised"
        );
        let with = supported(&["scribe"]);
        assert!(with.contains(&"scribe:transcribe"));
        assert!(!with.contains(&"scribe:admin"));
    }

    #[test]
    fn parse_dedups_in_order() {
        assert_eq!(parse(" a b  a c "), vec!["a", "b", "c"]);
        assert!(parse("").is_empty());
    }

    #[test]
    fn surface_scopes_are_explained_and_gated_on_the_module() {
        let cases: &[(&str, Option<(&str, Level)>)] = &[
            ("surface:read", Some(("surface:read", Level::Read))),
            ("surface:write", Some(("surface:write", Level::Write))),
            ("surface:site:read", Some(("surface:read", Level::Read))),
            (
                "surface:my-site_2:write",
                Some(("surface:write", Level::Write)),
            ),
            ("surface:site:admin", None),
            ("surface::read", None),
            ("surface:a/b:read", None),
            ("surface:site:read:x", None),
        ];
        for (scope, want) in cases {
            let got = explain(scope).map(|e| (e.scope, e.level));
            assert_eq!(got, *want, "{scope}");
        }
        assert!(is_requestable("surface:site:write"));
        let none: &[&str] = &[];
        assert!(!supported(none).contains(&"surface:read"));
        assert!(supported(&["surface"]).contains(&"surface:write"));
    }
}
