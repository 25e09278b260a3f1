//! `/git/<name>[.git]/<subpath>`: which repository, which git path, and
//! whether the request reads or writes. Decided from the raw request path and
//! the `service` query parameter alone, before anything touches the disk.
//!
//! Repository names are case-insensitive: `/git/FOO` and `/git/foo` are the
//! one repository `foo.git`, and the scope that guards it is
//! `surface:foo:<verb>`. The name is folded to lower case here, before the
//! scope check, so a case-insensitive filesystem (macOS APFS) can never let
//! `surface:FOO:write` reach `foo.git`, and a case-sensitive one never holds
//! two repositories that differ only in case (issue 8).

/// Longest repository name.
pub const MAX_NAME: usize = 64;

/// A well-formed, safe git route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitPath<'a> {
    /// The repository name, without a trailing `.git`, in lower case.
    pub name: String,
    /// The git path after the name: `info/refs`, `git-upload-pack`, ….
    pub subpath: &'a str,
}

/// What a request needs the token to allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

impl Access {
    pub fn verb(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }
}

/// A repository name: 1–64 of `a-z A-Z 0-9 _ -`, starting with a letter or
/// digit. No dots or slashes, so a name can never leave the git root.
pub fn is_repo_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_NAME
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')
}

/// Parse a raw (not percent-decoded) request path. `None` for anything that
/// is not a safe git route; callers answer 404 without saying which part was
/// wrong, so probes cannot learn which names exist.
pub fn parse(path: &str) -> Option<GitPath<'_>> {
    let rest = path.strip_prefix("/git/")?;
    let (raw, subpath) = rest.split_once('/')?;
    let name = raw.strip_suffix(".git").unwrap_or(raw);
    if !is_repo_name(name) || subpath.is_empty() {
        return None;
    }
    // Git's own paths (`info/refs`, `objects/pack/pack-<hex>.idx`, `HEAD`)
    // use only these characters; `..`, empty segments and percent escapes
    // never reach `http-backend`.
    let safe = |seg: &str| {
        !seg.is_empty()
            && seg != "."
            && seg != ".."
            && seg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    };
    subpath.split('/').all(safe).then(|| GitPath {
        name: name.to_ascii_lowercase(),
        subpath,
    })
}

/// The query names `service` more than once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DuplicateService;

/// The `service` parameter of a query string, read the way `git
/// http-backend` reads it: every name and value percent- and
/// `+`-decoded. Git keeps the last of several; the hub refuses a query that
/// names it twice, so the access it checks is always the one git acts on.
pub fn service(query: Option<&str>) -> Result<Option<String>, DuplicateService> {
    let mut found = None;
    for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if k == "service" && found.replace(v.into_owned()).is_some() {
            return Err(DuplicateService);
        }
    }
    Ok(found)
}

/// Write for receive-pack (push), read for upload-pack (fetch, clone) and
/// every other discovery or dumb-HTTP path. No pack is inspected.
pub fn required_access(subpath: &str, service: Option<&str>) -> Access {
    match (subpath, service) {
        ("git-receive-pack", _) | ("info/refs", Some("git-receive-pack")) => Access::Write,
        _ => Access::Read,
    }
}

/// The scope that grants `access` to `name`.
pub fn scope(name: &str, access: Access) -> String {
    format!("surface:{name}:{}", access.verb())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (what, path, expected `(name, subpath)`)
    type PathCase<'a> = (&'a str, &'a str, Option<(&'a str, &'a str)>);

    #[test]
    fn parse_table() {
        let long = format!("/git/{}/info/refs", "a".repeat(MAX_NAME));
        let too_long = format!("/git/{}/info/refs", "a".repeat(MAX_NAME + 1));
        let cases: &[PathCase<'_>] = &[
            (
                "name and subpath",
                "/git/gitcoin-brain/info/refs",
                Some(("gitcoin-brain", "info/refs")),
            ),
            (
                "trailing .git is stripped",
                "/git/foo.git/git-receive-pack",
                Some(("foo", "git-receive-pack")),
            ),
            (
                "pack file",
                "/git/foo/objects/pack/pack-0a1b.pack",
                Some(("foo", "objects/pack/pack-0a1b.pack")),
            ),
            ("underscore", "/git/a_b/HEAD", Some(("a_b", "HEAD"))),
            (
                "upper case folds to lower",
                "/git/FOO.git/git-receive-pack",
                Some(("foo", "git-receive-pack")),
            ),
            (
                "mixed case folds",
                "/git/GitCoin/HEAD",
                Some(("gitcoin", "HEAD")),
            ),
            ("64 characters", &long, Some((&long[5..69], "info/refs"))),
            ("65 characters", &too_long, None),
            ("not under /git", "/surface/foo", None),
            ("bare /git/<name>", "/git/foo", None),
            ("bare /git/<name>/", "/git/foo/", None),
            ("traversal as the name", "/git/../etc/info/refs", None),
            ("dots as the name", "/git/.../info/refs", None),
            ("empty name", "/git//info/refs", None),
            ("only .git", "/git/.git/info/refs", None),
            ("double .git", "/git/foo.git.git/info/refs", None),
            (
                "traversal in the subpath",
                "/git/foo/../../etc/passwd",
                None,
            ),
            ("dot segment", "/git/foo/./HEAD", None),
            ("empty segment", "/git/foo/info//refs", None),
            ("trailing slash", "/git/foo/info/refs/", None),
            ("percent-encoded dots", "/git/foo/%2e%2e/x", None),
            ("illegal character", "/git/a@b/info/refs", None),
            ("leading dash", "/git/-x/info/refs", None),
            ("leading underscore", "/git/_x/info/refs", None),
            ("space", "/git/a b/info/refs", None),
        ];
        for (what, path, want) in cases {
            let got = parse(path);
            let got = got.as_ref().map(|p| (p.name.as_str(), p.subpath));
            assert_eq!(got, *want, "{what}: {path}");
        }
    }

    #[test]
    fn required_access_table() {
        let cases: &[(&str, &str, Option<&str>, Access)] = &[
            ("receive-pack POST", "git-receive-pack", None, Access::Write),
            (
                "receive-pack discovery",
                "info/refs",
                Some("git-receive-pack"),
                Access::Write,
            ),
            ("upload-pack POST", "git-upload-pack", None, Access::Read),
            (
                "upload-pack discovery",
                "info/refs",
                Some("git-upload-pack"),
                Access::Read,
            ),
            ("dumb info/refs", "info/refs", None, Access::Read),
            ("HEAD", "HEAD", None, Access::Read),
            ("dumb packs list", "objects/info/packs", None, Access::Read),
            (
                "service param elsewhere is ignored",
                "HEAD",
                Some("git-receive-pack"),
                Access::Read,
            ),
        ];
        for (what, sub, svc, want) in cases {
            assert_eq!(required_access(sub, *svc), *want, "{what}");
        }
    }

    #[test]
    fn service_parameter() {
        type Case<'a> = (Option<&'a str>, Result<Option<&'a str>, DuplicateService>);
        let cases: &[Case<'_>] = &[
            (Some("service=git-upload-pack"), Ok(Some("git-upload-pack"))),
            (
                Some("a=1&service=git-receive-pack"),
                Ok(Some("git-receive-pack")),
            ),
            (
                Some("service=git-receive%2Dpack"),
                Ok(Some("git-receive-pack")),
            ),
            (
                Some("%73ervice=git-receive-pack"),
                Ok(Some("git-receive-pack")),
            ),
            (
                Some("service=git-upload-pack&service=git-receive-pack"),
                Err(DuplicateService),
            ),
            (
                Some("service=git-upload-pack&%73ervice=git-receive-pack"),
                Err(DuplicateService),
            ),
            (Some("services=x"), Ok(None)),
            (Some(""), Ok(None)),
            (None, Ok(None)),
        ];
        for (q, want) in cases {
            let got = service(*q);
            assert_eq!(
                got.as_ref().map(Option::as_deref),
                want.as_ref().map(|w| *w),
                "{q:?}"
            );
        }
    }

    #[test]
    fn scopes_name_the_repository_and_verb() {
        assert_eq!(scope("foo", Access::Write), "surface:foo:write");
        assert_eq!(scope("foo", Access::Read), "surface:foo:read");
    }
}
