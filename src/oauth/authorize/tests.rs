//! The authorization endpoint's rules on a real store, at fixed times.

use super::*;
use crate::oauth::testkit::{Kit, ORIGIN, REDIRECT};

type Edit = fn(&mut Params);

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn params() -> Params {
    Params {
        response_type: Some("code".into()),
        client_id: Some("app".into()),
        redirect_uri: Some(REDIRECT.into()),
        scope: Some("vault:work:read".into()),
        state: Some("xyz".into()),
        code_challenge: Some(CHALLENGE.into()),
        code_challenge_method: Some("S256".into()),
        resource: None,
        prompt: None,
    }
}

fn owner(k: &Kit) -> Person {
    Person {
        user_id: k.user_id.clone(),
        is_owner: true,
    }
}

/// The error code a request is sent back with, and the `state` it carries.
fn redirected(r: Result<Valid, AuthorizeError>) -> (ErrorCode, String, Option<String>) {
    match r {
        Err(AuthorizeError::Redirect { to, error }) => {
            assert_eq!(to.iss, ORIGIN);
            assert_eq!(to.redirect_uri, REDIRECT);
            (error.code, error.description, to.state)
        }
        other => panic!("not a redirect: {other:?}"),
    }
}

#[test]
fn the_client_and_its_redirect_are_checked_first_and_never_redirected_to() {
    let k = Kit::new();
    let client = k.client("app", None, true);
    let mut none = params();
    none.client_id = None;
    assert!(matches!(
        client_id(&none),
        Err(AuthorizeError::Untrusted(Untrusted::NoClientId))
    ));
    assert!(matches!(
        registered(&k.store, "nobody", k.now),
        Err(AuthorizeError::Untrusted(Untrusted::Unregistered))
    ));
    let pending = k.client("pending", None, false);
    let later = k.now + crate::oauth::PENDING_CLIENT_TTL_SECS + 1;
    assert_eq!(
        registered(&k.store, "pending", k.now).expect("fresh"),
        pending
    );
    assert!(registered(&k.store, "pending", later).is_err(), "expired");
    let cases = [
        (None, Untrusted::NoRedirectUri),
        (
            Some("http://evil.example/cb"),
            Untrusted::UnregisteredRedirect,
        ),
    ];
    for (uri, want) in cases {
        let mut p = params();
        // Even a bad response type is not redirected to an unchecked URI.
        p.response_type = Some("token".into());
        p.redirect_uri = uri.map(Into::into);
        match validate(client.clone(), &p, &k.issuers) {
            Err(AuthorizeError::Untrusted(u)) => assert_eq!(u, want),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn everything_else_goes_back_to_the_client_with_state_and_iss() {
    let k = Kit::new();
    let client = k.client("app", None, true);
    let cases: &[(&str, Edit, ErrorCode, &str)] = &[
        (
            "response type",
            |p| p.response_type = Some("token".into()),
            ErrorCode::UnsupportedResponseType,
            "only response_type=code is supported",
        ),
        (
            "no pkce",
            |p| p.code_challenge = None,
            ErrorCode::InvalidRequest,
            "code_challenge is required (PKCE with S256)",
        ),
        (
            "plain pkce",
            |p| p.code_challenge_method = Some("plain".into()),
            ErrorCode::InvalidRequest,
            "",
        ),
        (
            "foreign resource",
            |p| p.resource = Some("https://elsewhere.example/mcp".into()),
            ErrorCode::InvalidTarget,
            "the `resource` is not one this hub issues tokens for",
        ),
        (
            "only oidc scopes",
            |p| p.scope = Some("openid offline_access".into()),
            ErrorCode::InvalidScope,
            "`scope` is required",
        ),
        (
            "unrequestable",
            |p| p.scope = Some("nonsense".into()),
            ErrorCode::InvalidScope,
            "scope `nonsense` cannot be requested",
        ),
    ];
    for (name, edit, code, description) in cases {
        let mut p = params();
        edit(&mut p);
        let (got, d, state) = redirected(validate(client.clone(), &p, &k.issuers));
        assert_eq!(got, *code, "{name}");
        if !description.is_empty() {
            assert_eq!(d, *description, "{name}");
        }
        assert_eq!(state.as_deref(), Some("xyz"), "{name}");
    }
    let v = validate(client, &params(), &k.issuers).expect("valid");
    assert_eq!(v.scopes, ["vault:work:read"]);
    assert_eq!(
        v.back.url(&[("code", "c")]),
        format!(
            "{REDIRECT}?code=c&state=xyz&iss={}",
            redirect::form_encode(ORIGIN)
        )
    );
}

#[test]
fn signing_in_consenting_and_skipping_consent_next_time() {
    let k = Kit::new();
    let v = validate(k.client("app", None, true), &params(), &k.issuers).expect("valid");
    let p = params();
    assert_eq!(
        request(&k.store, &v, &p, None, k.now).expect("step"),
        Step::SignIn
    );
    let mut silent = params();
    silent.prompt = Some("none".into());
    assert!(matches!(
        request(&k.store, &v, &silent, None, k.now),
        Err(AuthorizeError::Redirect { error, .. }) if error.code == ErrorCode::LoginRequired
    ));
    let who = owner(&k);
    assert_eq!(
        request(&k.store, &v, &p, Some(&who), k.now).expect("step"),
        Step::Consent(vec!["vault:work:read".into()])
    );
    assert!(matches!(
        request(&k.store, &v, &silent, Some(&who), k.now),
        Err(AuthorizeError::Redirect { error, .. }) if error.code == ErrorCode::ConsentRequired
    ));
    let denied = decide(&k.store, &v, Some(&who), &Choice::default(), k.now);
    assert!(
        matches!(denied, Err(AuthorizeError::Redirect { error, .. }) if error.code == ErrorCode::AccessDenied)
    );
    let approve = Choice {
        approve: true,
        ticked: vec!["vault:work:read".into()],
    };
    let url = decide(&k.store, &v, Some(&who), &approve, k.now).expect("code");
    assert!(url.starts_with(&format!("{REDIRECT}?code=")), "{url}");
    // Granted once: an approved client gets a code without the page.
    assert!(matches!(
        request(&k.store, &v, &p, Some(&who), k.now + 5).expect("step"),
        Step::Code(u) if u.starts_with(REDIRECT)
    ));
    let mut force = params();
    force.prompt = Some("consent".into());
    assert!(matches!(
        request(&k.store, &v, &force, Some(&who), k.now + 5).expect("step"),
        Step::Consent(_)
    ));
    assert!(matches!(
        decide(&k.store, &v, None, &approve, k.now),
        Err(AuthorizeError::SignedOut)
    ));
}

#[test]
fn a_pending_client_waits_for_the_owner_who_approves_it_by_consenting() {
    let k = Kit::new();
    k.client("app", None, false);
    let client = registered(&k.store, "app", k.now).expect("client");
    let v = validate(client, &params(), &k.issuers).expect("valid");
    let user = Person {
        user_id: k.user_id.clone(),
        is_owner: false,
    };
    assert!(matches!(
        request(&k.store, &v, &params(), Some(&user), k.now),
        Err(AuthorizeError::NotApproved { client_id, .. }) if client_id == "app"
    ));
    let approve = Choice {
        approve: true,
        ticked: vec!["vault:work:read".into()],
    };
    decide(&k.store, &v, Some(&owner(&k)), &approve, k.now).expect("code");
    assert!(
        registered(&k.store, "app", k.now)
            .expect("client")
            .approved()
    );
}
