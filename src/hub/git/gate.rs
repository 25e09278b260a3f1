//! Who may do what with a repository: the git access rules. A request is
//! admitted on a token that is live for git (the hub validates it on its
//! clock) and carries the repository's scope for what the request does;
//! everything else is a [`GitError`] that says why. Nothing here touches a
//! file, so a probe without the right token creates nothing.

use super::error::GitError;
use super::path::{Access, scope};
use crate::tokens::{Claims, Reject};

/// `None` when `claims` allow `access` to `name`, else the scope it lacks.
/// Write needs `surface:<name>:write`; read takes `surface:<name>:read` or
/// `surface:<name>:write` (a writer may always fetch). Nothing broader
/// (host or admin scopes, unnamed `surface:*`) grants repository access.
pub fn missing_scope(claims: &Claims, name: &str, access: Access) -> Option<String> {
    let write = scope(name, Access::Write);
    let ok = match access {
        Access::Write => claims.has_scope(&write),
        Access::Read => claims.has_scope(&write) || claims.has_scope(&scope(name, Access::Read)),
    };
    (!ok).then(|| scope(name, access))
}

/// Admit a request for `access` to `name` on the `presented` token, given
/// what validating it for git said (`validate`, called only when there is
/// one): its claims, or why not. A token for another audience is told so
/// (the user picked the wrong token); other refusals are logged, not sent.
pub fn admit(
    presented: Option<&str>,
    validate: impl FnOnce(&str) -> Result<Claims, Reject>,
    name: &str,
    access: Access,
) -> Result<Claims, GitError> {
    let needed = scope(name, access);
    let refuse = |reason: String| GitError::Unauthorized {
        reason,
        scope: needed.clone(),
    };
    let token = presented.ok_or_else(|| refuse("a hub access token is required".into()))?;
    let claims = match validate(token) {
        Ok(c) if !c.sub.is_empty() => c,
        Ok(_) => return Err(refuse("the token has no subject".into())),
        Err(Reject::Audience(aud)) => {
            return Err(refuse(format!(
                "the token is for `{aud}`, not for git; use a token with `{needed}`"
            )));
        }
        Err(reason) => {
            tracing::debug!(repo = name, %reason, "git token refused");
            return Err(refuse("the token is invalid, expired or revoked".into()));
        }
    };
    if let Some(scope) = missing_scope(&claims, name, access) {
        tracing::debug!(
            repo = name,
            subject = claims.sub,
            scope,
            "git scope missing"
        );
        return Err(GitError::Forbidden(scope));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(scope: &str) -> Claims {
        Claims {
            iss: "http://127.0.0.1:1939".into(),
            sub: "u1".into(),
            aud: "surface".into(),
            iat: 0,
            nbf: None,
            exp: 1,
            jti: Some("j".into()),
            scope: scope.into(),
            client_id: "c".into(),
            vault_scope: Vec::new(),
        }
    }

    #[test]
    fn missing_scope_table() {
        use Access::{Read, Write};
        let cases: &[(&str, &str, Access, Option<&str>)] = &[
            ("write for write", "surface:foo:write", Write, None),
            ("write ⊇ read", "surface:foo:write", Read, None),
            ("read for read", "surface:foo:read", Read, None),
            (
                "read is not write",
                "surface:foo:read vault:default:read",
                Write,
                Some("surface:foo:write"),
            ),
            (
                "another repository",
                "surface:other:read",
                Read,
                Some("surface:foo:read"),
            ),
            (
                "unnamed surface scope",
                "surface:write",
                Write,
                Some("surface:foo:write"),
            ),
            (
                "host admin grants nothing",
                "parachute:host:admin hub:admin",
                Read,
                Some("surface:foo:read"),
            ),
            (
                "prefix is not a match",
                "surface:foo:writer",
                Write,
                Some("surface:foo:write"),
            ),
            ("no scopes", "", Read, Some("surface:foo:read")),
        ];
        for (what, scopes, access, want) in cases {
            assert_eq!(
                missing_scope(&claims(scopes), "foo", *access).as_deref(),
                *want,
                "{what}"
            );
        }
    }

    fn unauthorized(reason: &str, scope: &str) -> Result<Claims, GitError> {
        Err(GitError::Unauthorized {
            reason: reason.into(),
            scope: scope.into(),
        })
    }

    #[test]
    fn admit_table() {
        use Access::{Read, Write};
        let never = |_: &str| -> Result<Claims, Reject> { panic!("no token, no validation") };
        assert_eq!(
            admit(None, never, "foo", Read),
            unauthorized("a hub access token is required", "surface:foo:read")
        );
        let valid = |scope: &'static str| move |_: &str| Ok(claims(scope));
        assert_eq!(
            admit(Some("t"), valid("surface:foo:write"), "foo", Write),
            Ok(claims("surface:foo:write"))
        );
        assert_eq!(
            admit(Some("t"), valid("surface:foo:read"), "foo", Write),
            Err(GitError::Forbidden("surface:foo:write".into()))
        );
        let nobody = |_: &str| {
            Ok(Claims {
                sub: String::new(),
                ..claims("surface:foo:read")
            })
        };
        assert_eq!(
            admit(Some("t"), nobody, "foo", Read),
            unauthorized("the token has no subject", "surface:foo:read")
        );
        let vault = |_: &str| Err(Reject::Audience("vault.work".into()));
        assert_eq!(
            admit(Some("t"), vault, "foo", Read),
            unauthorized(
                "the token is for `vault.work`, not for git; use a token with `surface:foo:read`",
                "surface:foo:read"
            )
        );
        for reason in [Reject::Expired, Reject::Revoked, Reject::Signature] {
            assert_eq!(
                admit(Some("t"), |_: &str| Err(reason.clone()), "foo", Write),
                unauthorized(
                    "the token is invalid, expired or revoked",
                    "surface:foo:write"
                )
            );
        }
    }
}
