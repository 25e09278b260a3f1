//! Revocation and introspection on a real store, at fixed times.

use super::*;
use crate::oauth::error::ErrorCode;
use crate::oauth::grant::{self, Context, TokenRequest};
use crate::oauth::refresh::{Issued, Recent};
use crate::oauth::testkit::{Kit, ORIGIN, REDIRECT};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn creds(id: &str, secret: Option<&str>) -> Credentials {
    Credentials {
        client_id: Some(id.into()),
        secret: secret.map(Into::into),
        ..Credentials::default()
    }
}

/// A kit with a confidential client `conf` (secret `s`), a public `pub`,
/// and a pair issued to `conf`.
fn issued() -> (Kit, Issued) {
    let k = Kit::new();
    k.client("conf", Some("s"), true);
    k.client("pub", None, true);
    k.code("c", "conf", CHALLENGE, "hub:admin");
    let recent = Recent::default();
    let cx = Context {
        store: &k.store,
        issuers: &k.issuers,
        recent: &recent,
    };
    let req = TokenRequest {
        grant_type: Some("authorization_code".into()),
        code: Some("c".into()),
        redirect_uri: Some(REDIRECT.into()),
        code_verifier: Some(VERIFIER.into()),
        ..TokenRequest::default()
    };
    let pair = grant::exchange(&cx, &creds("conf", Some("s")), &req, k.now).expect("pair");
    (k, pair)
}

fn seen(k: &Kit, asker: &Asker, token: &str, now: i64) -> Introspection {
    introspect(&k.store, asker, token, None, now).expect("store")
}

#[test]
fn a_refresh_token_is_seen_by_admins_and_its_own_confidential_client_only() {
    let (k, pair) = issued();
    let asker = |c: Credentials| Asker::of(&k.store, None, &c, k.now).expect("store");
    let own = asker(creds("conf", Some("s")));
    assert_eq!(own, Asker::Client("conf".into()));
    assert_eq!(
        asker(creds("pub", None)),
        Asker::Nobody,
        "public clients see nothing"
    );
    assert_eq!(asker(creds("conf", Some("wrong"))), Asker::Nobody);
    match seen(&k, &own, &pair.refresh, k.now) {
        Introspection::Refresh(r) => assert_eq!(r.client_id, "conf"),
        other => panic!("{other:?}"),
    }
    let body = seen(&k, &Asker::Admin, &pair.refresh, k.now).json(ORIGIN);
    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "refresh_token");
    assert_eq!(body["iss"], ORIGIN);
    assert_eq!(
        seen(&k, &Asker::Client("pub".into()), &pair.refresh, k.now),
        Introspection::Inactive
    );
    assert_eq!(
        seen(&k, &Asker::Admin, "unknown", k.now),
        Introspection::Inactive
    );
    let expired = k.now + crate::oauth::REFRESH_TTL_SECS;
    assert_eq!(
        seen(&k, &Asker::Admin, &pair.refresh, expired),
        Introspection::Inactive
    );
    assert_eq!(
        Introspection::Inactive.json(ORIGIN),
        serde_json::json!({"active": false})
    );
}

#[test]
fn a_bearer_asks_as_admin_only_with_an_introspection_scope() {
    let (k, _) = issued();
    let mut claims = Claims {
        iss: ORIGIN.into(),
        sub: "s".into(),
        aud: "hub".into(),
        iat: 0,
        nbf: None,
        exp: k.now + 60,
        jti: None,
        scope: "hub:admin".into(),
        client_id: "x".into(),
        vault_scope: Vec::new(),
    };
    let none = Credentials::default();
    assert_eq!(
        Asker::of(&k.store, Some(&claims), &none, k.now).expect("store"),
        Asker::Admin
    );
    claims.scope = "vault:work:read".into();
    assert_eq!(
        Asker::of(&k.store, Some(&claims), &none, k.now).expect("store"),
        Asker::Nobody
    );
    // An access token is judged by its claims' client.
    claims.client_id = "conf".into();
    let asker = Asker::Client("conf".into());
    assert!(matches!(
        introspect(&k.store, &asker, "jwt", Some(claims.clone()), k.now).expect("store"),
        Introspection::Access(_)
    ));
    claims.client_id = "other".into();
    assert_eq!(
        introspect(&k.store, &asker, "jwt", Some(claims), k.now).expect("store"),
        Introspection::Inactive
    );
}

#[test]
fn revoking_a_refresh_token_revokes_its_family_only_for_its_own_client() {
    let (k, pair) = issued();
    let now = k.now + 1;
    // Another client's revocation is ignored (RFC 7009 §2.2: still 200).
    revoke(
        &k.store,
        &creds("pub", None),
        Some(&pair.refresh),
        None,
        now,
    )
    .expect("ignored");
    assert!(matches!(
        seen(&k, &Asker::Admin, &pair.refresh, now),
        Introspection::Refresh(_)
    ));
    revoke(
        &k.store,
        &creds("conf", Some("s")),
        Some(&pair.refresh),
        None,
        now,
    )
    .expect("revoked");
    assert_eq!(
        seen(&k, &Asker::Admin, &pair.refresh, now),
        Introspection::Inactive
    );
    match revoke(&k.store, &creds("conf", Some("s")), None, None, now) {
        Err(Failure::Refused(e)) => assert_eq!(
            (e.code, e.description.as_str()),
            (ErrorCode::InvalidRequest, "`token` is required")
        ),
        other => panic!("{other:?}"),
    }
    match revoke(&k.store, &creds("conf", Some("bad")), Some("x"), None, now) {
        Err(Failure::Refused(e)) => assert_eq!(e.code, ErrorCode::InvalidClient),
        other => panic!("{other:?}"),
    }
}
