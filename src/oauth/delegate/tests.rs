//! Minting under attenuation, at fixed times.

use super::*;
use crate::oauth::testkit::{Kit, ORIGIN};

fn caller(scope: &str, exp: i64) -> Claims {
    Claims {
        iss: ORIGIN.into(),
        sub: "alice".into(),
        aud: "hub".into(),
        iat: 0,
        nbf: None,
        exp,
        jti: Some("parent-jti".into()),
        scope: scope.into(),
        client_id: "app".into(),
        vault_scope: Vec::new(),
    }
}

fn req(scope: &str) -> MintRequest {
    MintRequest {
        scope: scope.into(),
        ..MintRequest::default()
    }
}

fn vaults() -> Vec<String> {
    vec!["work".into()]
}

fn plan_at(k: &Kit, c: &Claims, r: Result<&MintRequest, String>) -> Result<Plan, OAuthError> {
    plan(&k.store, c, r, &vaults(), k.now).expect("store")
}

#[test]
fn the_authority_gate_comes_first_then_the_body_then_each_scope() {
    let k = Kit::new();
    let reader = caller("vault:work:read", k.now + 3600);
    let e = plan_at(&k, &reader, Err("not json".into())).expect_err("gate");
    assert_eq!(
        (e.code, e.scope),
        (ErrorCode::InsufficientScope, Some(AUTH_SCOPE))
    );
    let admin = caller("vault:work:admin", k.now + 3600);
    let cases: &[(&str, ErrorCode, &str)] = &[
        (
            "",
            ErrorCode::InvalidRequest,
            "`scope` must name at least one scope",
        ),
        (
            "vault:admin",
            ErrorCode::InvalidScope,
            "`vault:admin` must name its vault: `vault:<name>:admin`",
        ),
        (
            "vault:home:admin",
            ErrorCode::InvalidScope,
            "there is no vault `home` on this hub",
        ),
        (
            "hub:admin",
            ErrorCode::InsufficientScope,
            "this token may not grant: hub:admin",
        ),
    ];
    for (scope, code, description) in cases {
        let e = plan_at(&k, &admin, Ok(&req(scope))).expect_err(scope);
        assert_eq!(
            (e.code, e.description.as_str()),
            (*code, *description),
            "{scope}"
        );
    }
    let e = plan_at(&k, &admin, Err("missing field `scope`".into())).expect_err("body");
    assert_eq!(e.description, "missing field `scope`");
}

#[test]
fn a_child_never_outlives_its_parent_and_may_not_pick_its_subject() {
    let k = Kit::new();
    let admin = caller("vault:work:admin", k.now + 600);
    let p = plan_at(&k, &admin, Ok(&req("vault:work:read"))).expect("plan");
    assert_eq!(p.ttl_secs, 600, "capped at the parent's remaining life");
    assert_eq!((p.subject.as_str(), p.client_id.as_str()), ("alice", "app"));
    assert_eq!(p.audience, audience::infer(&["vault:work:read"]));
    let mut r = req("vault:work:read");
    r.subject = Some("bob".into());
    let e = plan_at(&k, &admin, Ok(&r)).expect_err("subject");
    assert_eq!(e.scope, Some(operator::MINT_SCOPE));
    for ttl in [MIN_TTL_SECS - 1, MAX_TTL_SECS + 1] {
        let mut r = req("vault:work:read");
        r.expires_in = Some(ttl);
        assert_eq!(
            plan_at(&k, &admin, Ok(&r)).expect_err("ttl").code,
            ErrorCode::InvalidRequest
        );
    }
    let dying = caller("vault:work:admin", k.now);
    assert_eq!(
        plan_at(&k, &dying, Ok(&req("vault:work:read")))
            .expect_err("dying")
            .description,
        "this token is about to expire"
    );
}

#[test]
fn an_issued_child_is_recorded_as_delegated_from_its_parent() {
    let k = Kit::new();
    let admin = caller("vault:work:admin", k.now + 600);
    let p = plan_at(&k, &admin, Ok(&req("vault:work:read"))).expect("plan");
    let minted = issue(&k.store, ORIGIN, &p, k.now)
        .expect("store")
        .expect("minted");
    assert_eq!(minted.claims.exp, k.now + 600);
    let conn = k.store.conn().expect("conn");
    let row = registry::get(&conn, minted.claims.jti.as_deref().expect("jti"))
        .expect("get")
        .expect("row");
    assert_eq!(row.created_via, DELEGATED);
    assert_eq!(row.parent_jti.as_deref(), Some("parent-jti"));
    assert_eq!(crate::clock::date(0), "1970-01-01T00:00:00Z");
}
