//! The token endpoint's rules on a real store, at fixed times.

use super::*;
use crate::oauth::refresh::GRACE_SECS;
use crate::oauth::testkit::{Kit, REDIRECT};

// RFC 7636 appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn public(id: &str) -> Credentials {
    Credentials {
        client_id: Some(id.into()),
        ..Credentials::default()
    }
}

fn code_request(code: &str) -> TokenRequest {
    TokenRequest {
        grant_type: Some("authorization_code".into()),
        code: Some(code.into()),
        redirect_uri: Some(REDIRECT.into()),
        code_verifier: Some(VERIFIER.into()),
        ..TokenRequest::default()
    }
}

fn refresh_request(token: &str) -> TokenRequest {
    TokenRequest {
        grant_type: Some("refresh_token".into()),
        refresh_token: Some(token.into()),
        ..TokenRequest::default()
    }
}

struct Grants {
    kit: Kit,
    recent: Recent<Issued>,
}

impl Grants {
    fn new() -> Self {
        let kit = Kit::new();
        kit.client("app", None, true);
        kit.client("other", None, true);
        kit.code("the-code", "app", CHALLENGE, "hub:admin");
        Self {
            kit,
            recent: Recent::default(),
        }
    }

    fn exchange(&self, client: &str, req: &TokenRequest, now: i64) -> Result<Issued, OAuthError> {
        let cx = Context {
            store: &self.kit.store,
            issuers: &self.kit.issuers,
            recent: &self.recent,
        };
        match exchange(&cx, &public(client), req, now) {
            Ok(i) => Ok(i),
            Err(Failure::Refused(e)) => Err(e),
            Err(Failure::Store(e)) => panic!("store: {e}"),
        }
    }

    fn refused(&self, client: &str, req: &TokenRequest, now: i64) -> (ErrorCode, String) {
        let e = self.exchange(client, req, now).expect_err("refused");
        (e.code, e.description)
    }

    /// Is the row holding `refresh` revoked?
    fn revoked(&self, refresh: &str) -> bool {
        let conn = self.kit.store.conn().expect("conn");
        store::refresh::by_refresh_hash(&conn, &sha256_hex(refresh))
            .expect("row")
            .expect("known")
            .revoked_at
            .is_some()
    }
}

#[test]
fn a_code_is_exchanged_once_for_a_pair_carrying_its_scopes() {
    let g = Grants::new();
    let now = g.kit.now + 10;
    let issued = g
        .exchange("app", &code_request("the-code"), now)
        .expect("pair");
    assert_eq!(issued.scope, "hub:admin");
    assert!(!issued.access.is_empty() && !issued.refresh.is_empty());
    // Presented again, the code is refused and what it issued is revoked.
    assert_eq!(
        g.refused("app", &code_request("the-code"), now + 1),
        (
            ErrorCode::InvalidGrant,
            "the authorization code was already used; the tokens it issued are revoked".into()
        )
    );
    assert!(g.revoked(&issued.refresh));
}

#[test]
fn a_code_is_refused_for_the_wrong_verifier_redirect_client_or_time() {
    let g = Grants::new();
    let now = g.kit.now + 10;
    let mut wrong_verifier = code_request("the-code");
    wrong_verifier.code_verifier = Some("x".repeat(43));
    let mut wrong_redirect = code_request("the-code");
    wrong_redirect.redirect_uri = Some("http://127.0.0.1:5000/other".into());
    let mut no_code = code_request("");
    no_code.code = None;
    let cases: Vec<(&str, &str, TokenRequest, i64, ErrorCode, &str)> = vec![
        (
            "pkce",
            "app",
            wrong_verifier,
            now,
            ErrorCode::InvalidGrant,
            "`code_verifier` does not match the code challenge",
        ),
        (
            "redirect",
            "app",
            wrong_redirect,
            now,
            ErrorCode::InvalidGrant,
            "`redirect_uri` does not match the authorization request",
        ),
        (
            "another client",
            "other",
            code_request("the-code"),
            now,
            ErrorCode::InvalidGrant,
            "unknown authorization code",
        ),
        (
            "unknown",
            "app",
            code_request("nope"),
            now,
            ErrorCode::InvalidGrant,
            "unknown authorization code",
        ),
        (
            "missing",
            "app",
            no_code,
            now,
            ErrorCode::InvalidRequest,
            "`code` is required",
        ),
        (
            "expired",
            "app",
            code_request("the-code"),
            g.kit.now + crate::oauth::CODE_TTL_SECS,
            ErrorCode::InvalidGrant,
            "the authorization code has expired",
        ),
    ];
    for (name, client, req, at, code, description) in cases {
        assert_eq!(
            g.refused(client, &req, at),
            (code, description.to_string()),
            "{name}"
        );
    }
    // None of the refusals spent the code.
    assert!(g.exchange("app", &code_request("the-code"), now).is_ok());
}

#[test]
fn grant_types_are_checked_after_the_client() {
    let g = Grants::new();
    let mut other = code_request("the-code");
    other.grant_type = Some("password".into());
    assert_eq!(
        g.refused("app", &other, g.kit.now).0,
        ErrorCode::UnsupportedGrantType
    );
    other.grant_type = None;
    assert_eq!(
        g.refused("app", &other, g.kit.now).0,
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        g.refused("nobody", &other, g.kit.now).0,
        ErrorCode::InvalidClient
    );
}

#[test]
fn a_refresh_rotates_and_a_reuse_within_the_grace_gets_the_same_answer() {
    let g = Grants::new();
    let t0 = g.kit.now + 10;
    let first = g
        .exchange("app", &code_request("the-code"), t0)
        .expect("pair");
    let second = g
        .exchange("app", &refresh_request(&first.refresh), t0 + 60)
        .expect("rotated");
    assert_ne!(second.refresh, first.refresh);
    assert_eq!(second.scope, "hub:admin");
    // The same client racing itself, within the grace: the same answer.
    let again = g
        .exchange(
            "app",
            &refresh_request(&first.refresh),
            t0 + 60 + GRACE_SECS,
        )
        .expect("replayed");
    assert_eq!(again, second);
    assert!(!g.revoked(&second.refresh), "the family stays live");
    // Another client presenting it is refused without revoking anything.
    assert_eq!(
        g.refused("other", &refresh_request(&second.refresh), t0 + 61)
            .1,
        "the refresh token was issued to another client"
    );
    assert!(!g.revoked(&second.refresh));
}

#[test]
fn a_reuse_after_the_grace_revokes_the_family() {
    let g = Grants::new();
    let t0 = g.kit.now + 10;
    let first = g
        .exchange("app", &code_request("the-code"), t0)
        .expect("pair");
    let second = g
        .exchange("app", &refresh_request(&first.refresh), t0 + 60)
        .expect("rotated");
    assert_eq!(
        g.refused(
            "app",
            &refresh_request(&first.refresh),
            t0 + 61 + GRACE_SECS
        ),
        (
            ErrorCode::InvalidGrant,
            "the refresh token was already used; every token of this grant is revoked".into()
        )
    );
    assert!(g.revoked(&second.refresh));
    assert_eq!(
        g.refused(
            "app",
            &refresh_request(&second.refresh),
            t0 + 62 + GRACE_SECS
        )
        .1,
        "the refresh token has been revoked"
    );
}

#[test]
fn a_reuse_within_the_grace_after_a_restart_is_refused_not_revoked() {
    let g = Grants::new();
    let t0 = g.kit.now + 10;
    let first = g
        .exchange("app", &code_request("the-code"), t0)
        .expect("pair");
    let second = g
        .exchange("app", &refresh_request(&first.refresh), t0 + 60)
        .expect("rotated");
    // A new hub process remembers nothing.
    let restarted = Grants {
        kit: g.kit,
        recent: Recent::default(),
    };
    assert_eq!(
        restarted
            .refused("app", &refresh_request(&first.refresh), t0 + 61)
            .1,
        "the refresh token was just rotated; use the refresh token that rotation returned"
    );
    assert!(!restarted.revoked(&second.refresh));
}

#[test]
fn a_refresh_may_narrow_its_scopes_but_never_widen_them() {
    let g = Grants::new();
    let t0 = g.kit.now + 10;
    let first = g
        .exchange("app", &code_request("the-code"), t0)
        .expect("pair");
    let mut wider = refresh_request(&first.refresh);
    wider.scope = Some("hub:admin parachute:host:admin".into());
    assert_eq!(
        g.refused("app", &wider, t0 + 1),
        (
            ErrorCode::InvalidScope,
            "a refresh may only narrow the granted scopes".into()
        )
    );
    // Refused before rotating: the token still works.
    assert!(
        g.exchange("app", &refresh_request(&first.refresh), t0 + 2)
            .is_ok()
    );
}

#[test]
fn the_refresh_family_names_the_rate_limit_key() {
    let g = Grants::new();
    let first = g
        .exchange("app", &code_request("the-code"), g.kit.now)
        .expect("pair");
    let family = refresh_family(&g.kit.store, &refresh_request(&first.refresh)).expect("store");
    assert!(family.is_some_and(|f| !f.is_empty()));
    assert_eq!(
        refresh_family(&g.kit.store, &refresh_request("unknown")).expect("store"),
        None
    );
    assert_eq!(
        refresh_family(&g.kit.store, &code_request("the-code")).expect("store"),
        None
    );
}
