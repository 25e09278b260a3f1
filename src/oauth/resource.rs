//! RFC 8707 resource binding (seed 001). A client connecting to one vault's
//! MCP endpoint sends `resource=<origin>/vault/<name>/mcp`; the hub then
//! narrows unnamed `vault:<verb>` scopes to `vault:<name>:<verb>`, locks the
//! flow to that vault, and stamps `aud=vault.<name>`. Such a token carries
//! only that vault's scopes (issue 8): everything else is dropped when the
//! request is bound ([`bind`]) and again when a token is issued or refreshed
//! ([`scopes_for`]), so a grant made before the rule, or a stored row, cannot
//! carry a `surface:` or `parachute:` scope to the vault's audience. Only
//! resources on the hub's own origins are recognised: a third party's URL
//! cannot drive the narrowing.

use crate::tokens::{audience, scopes};

/// What a `resource` parameter names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One vault: `/vault/<name>/mcp` or its PRM document.
    Vault(String),
    /// The hub-level MCP endpoint `/mcp`: any named vault scope.
    RootMcp,
}

/// Split `scheme://authority/path?query#frag` into origin and path (query
/// and fragment dropped).
fn split(url: &str) -> Option<(&str, &str)> {
    let (_, rest) = url.split_once("://")?;
    let origin_len = url.len() - rest.len() + rest.find('/').unwrap_or(rest.len());
    let origin = &url[..origin_len];
    let path = url[origin_len..]
        .split(['?', '#'])
        .next()
        .unwrap_or_default();
    Some((origin, if path.is_empty() { "/" } else { path }))
}

/// Percent-decode a path segment; `None` for a malformed escape or non-UTF-8.
fn decode(segment: &str) -> Option<String> {
    let b = segment.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = segment.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn vault_name(segment: &str) -> Option<String> {
    decode(segment).filter(|n| scopes::is_vault_name(n))
}

/// What `resource` names, when it is one of ours. `bound_origins` are the
/// hub's own origins (the issuer and its loopback spellings).
pub fn resolve<S: AsRef<str>>(resource: &str, bound_origins: &[S]) -> Option<Target> {
    let (origin, path) = split(resource)?;
    if !bound_origins
        .iter()
        .any(|o| o.as_ref().trim_end_matches('/') == origin)
    {
        return None;
    }
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    let segs: Vec<&str> = path.split('/').skip(1).collect();
    match segs.as_slice() {
        ["vault", name, "mcp"]
        | ["vault", name, ".well-known", "oauth-protected-resource"]
        | [
            ".well-known",
            "oauth-protected-resource",
            "vault",
            name,
            "mcp",
        ] => vault_name(name).map(Target::Vault),
        ["mcp"] | [".well-known", "oauth-protected-resource", "mcp"] => Some(Target::RootMcp),
        _ => None,
    }
}

/// Bind `requested` to a vault: unnamed `vault:<verb>` becomes
/// `vault:<name>:<verb>`; this vault's named scopes stay; everything else —
/// another vault's scopes, other modules', the hub's — is dropped (the token
/// is for this vault alone). Idempotent.
pub fn narrow(requested: &[String], vault: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in requested {
        let bound = match s.split_once(':') {
            Some(("vault", verb)) if scopes::VAULT_VERBS.contains(&verb) => {
                format!("vault:{vault}:{verb}")
            }
            _ if scopes::vault_scope_name(s) == Some(vault) => s.clone(),
            _ => continue,
        };
        if !out.contains(&bound) {
            out.push(bound);
        }
    }
    out
}

/// Apply the binding of `target` to `requested` at `/oauth/authorize`.
/// `RootMcp` keeps only vault scopes.
pub fn bind(requested: &[String], target: Option<&Target>) -> Vec<String> {
    match target {
        Some(Target::Vault(name)) => narrow(requested, name),
        Some(Target::RootMcp) => requested
            .iter()
            .filter(|s| s.split(':').next() == Some("vault"))
            .cloned()
            .collect(),
        None => requested.to_vec(),
    }
}

/// At `/oauth/token` (both grants): what a token bound to `target` may
/// carry of `granted` — one vault's named scopes, or for the root `/mcp`
/// every named vault scope; all of `granted` without a resource.
pub fn scopes_for(granted: &[String], target: Option<&Target>) -> Vec<String> {
    granted
        .iter()
        .filter(|s| match target {
            Some(Target::Vault(name)) => scopes::vault_scope_name(s) == Some(name.as_str()),
            Some(Target::RootMcp) => scopes::vault_scope(s).is_some(),
            None => true,
        })
        .cloned()
        .collect()
}

/// At `/oauth/token`: may a token carrying `granted` be issued for
/// `resource`? `Ok(audience)` when it may; `Err` is `invalid_target`.
/// Without a resource the audience is inferred from the scopes (seed 000).
pub fn audience_for<S: AsRef<str>>(
    resource: Option<&str>,
    granted: &[String],
    bound_origins: &[S],
) -> Result<String, String> {
    let Some(resource) = resource.filter(|r| !r.is_empty()) else {
        return Ok(audience::infer(granted));
    };
    match resolve(resource, bound_origins) {
        Some(Target::Vault(name)) => {
            if granted
                .iter()
                .any(|s| scopes::vault_scope_name(s) == Some(name.as_str()))
            {
                Ok(format!("vault.{name}"))
            } else {
                Err(format!("the grant carries no scope for vault `{name}`"))
            }
        }
        Some(Target::RootMcp) => {
            if granted.iter().any(|s| scopes::vault_scope(s).is_some()) {
                Ok(audience::infer(granted))
            } else {
                Err("the grant carries no named vault scope".into())
            }
        }
        None => Err(format!(
            "`{resource}` is not a resource this hub issues tokens for"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUND: &[&str] = &["http://127.0.0.1:1939", "http://localhost:1939"];

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| (*x).to_string()).collect()
    }

    #[test]
    fn resolve_table() {
        let vault = |n: &str| Some(Target::Vault(n.into()));
        let cases: &[(&str, &str, Option<Target>)] = &[
            (
                "mcp endpoint",
                "http://127.0.0.1:1939/vault/work/mcp",
                vault("work"),
            ),
            (
                "trailing slash",
                "http://127.0.0.1:1939/vault/work/mcp/",
                vault("work"),
            ),
            (
                "query tolerated",
                "http://127.0.0.1:1939/vault/work/mcp?x=1",
                vault("work"),
            ),
            (
                "localhost alias",
                "http://localhost:1939/vault/work/mcp",
                vault("work"),
            ),
            (
                "prm document",
                "http://127.0.0.1:1939/vault/work/.well-known/oauth-protected-resource",
                vault("work"),
            ),
            (
                "path-inserted prm",
                "http://127.0.0.1:1939/.well-known/oauth-protected-resource/vault/work/mcp",
                vault("work"),
            ),
            (
                "encoded name",
                "http://127.0.0.1:1939/vault/w%2Dx/mcp",
                vault("w-x"),
            ),
            (
                "traversal name",
                "http://127.0.0.1:1939/vault/%2F..%2Fadmin/mcp",
                None,
            ),
            (
                "malformed escape",
                "http://127.0.0.1:1939/vault/%GG/mcp",
                None,
            ),
            ("off origin", "http://evil.example/vault/work/mcp", None),
            ("other port", "http://127.0.0.1:1940/vault/work/mcp", None),
            (
                "root mcp",
                "http://127.0.0.1:1939/mcp",
                Some(Target::RootMcp),
            ),
            (
                "root prm",
                "http://127.0.0.1:1939/.well-known/oauth-protected-resource/mcp",
                Some(Target::RootMcp),
            ),
            ("bare origin", "http://127.0.0.1:1939", None),
            (
                "vault without mcp",
                "http://127.0.0.1:1939/vault/work",
                None,
            ),
            ("not a url", "vault/work/mcp", None),
        ];
        for (name, r, want) in cases {
            assert_eq!(resolve(r, BOUND), *want, "{name}");
        }
    }

    #[test]
    fn narrow_table() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            (
                "unnamed verbs named",
                &["vault:read", "vault:write"],
                &["vault:work:read", "vault:work:write"],
            ),
            ("idempotent", &["vault:work:read"], &["vault:work:read"]),
            (
                "other vault dropped",
                &["vault:home:read", "vault:read"],
                &["vault:work:read"],
            ),
            (
                "non-vault dropped",
                &["scribe:transcribe", "vault:admin", "surface:x:write"],
                &["vault:work:admin"],
            ),
            (
                "duplicates collapse",
                &["vault:read", "vault:work:read"],
                &["vault:work:read"],
            ),
            ("unknown verb dropped", &["vault:delete"], &[]),
        ];
        for (name, input, want) in cases {
            assert_eq!(narrow(&v(input), "work"), v(want), "{name}");
        }
        assert_eq!(
            bind(
                &v(&["vault:work:read", "scribe:transcribe"]),
                Some(&Target::RootMcp)
            ),
            v(&["vault:work:read"])
        );
    }

    #[test]
    fn issued_tokens_carry_only_their_resource_scopes() {
        let granted = v(&[
            "vault:work:read",
            "surface:x:write",
            "vault:home:read",
            "parachute:host:auth",
        ]);
        let work = Target::Vault("work".into());
        assert_eq!(scopes_for(&granted, Some(&work)), v(&["vault:work:read"]));
        assert_eq!(
            scopes_for(&granted, Some(&Target::RootMcp)),
            v(&["vault:work:read", "vault:home:read"])
        );
        assert_eq!(scopes_for(&granted, None), granted);
    }

    #[test]
    fn token_endpoint_targets() {
        let granted = v(&["vault:work:read", "vault:work:write"]);
        let cases: &[(&str, Option<&str>, Result<&str, ()>)] = &[
            ("no resource infers", None, Ok("vault.work")),
            (
                "bound vault",
                Some("http://127.0.0.1:1939/vault/work/mcp"),
                Ok("vault.work"),
            ),
            (
                "other vault",
                Some("http://127.0.0.1:1939/vault/home/mcp"),
                Err(()),
            ),
            (
                "root mcp",
                Some("http://127.0.0.1:1939/mcp"),
                Ok("vault.work"),
            ),
            ("hub origin", Some("http://127.0.0.1:1939"), Err(())),
            (
                "foreign",
                Some("https://evil.example/vault/work/mcp"),
                Err(()),
            ),
        ];
        for (name, r, want) in cases {
            let got = audience_for(*r, &granted, BOUND);
            assert_eq!(got.as_deref().map_err(|_| ()), *want, "{name}");
        }
        assert!(
            audience_for(
                Some("http://127.0.0.1:1939/mcp"),
                &v(&["scribe:transcribe"]),
                BOUND
            )
            .is_err()
        );
    }
}
