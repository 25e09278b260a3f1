//! Issue 8 (RFC 8707 audiences, refresh reuse grace, introspection) and
//! issue 13's MCP resource side, against a real `parachute serve`: a token
//! bound to one vault's MCP endpoint works nowhere else in the hub; three
//! concurrent refreshes of one token share one successor; every Bearer 401
//! says where to get a token and which scope to ask for.

// Each test is one user story, told step by step (as in oauth.rs).
#![allow(clippy::many_single_char_names, clippy::too_many_lines)]

use std::net::SocketAddr;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::oauth::{
    Browser, REDIRECT, Server, VERIFIER, approved_tokens, approved_tokens_for, authorize_path,
    encode, param, request,
};
use crate::support::hub::{PASSWORD, Response, claims};

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Every `WWW-Authenticate` value of `r`, in order.
fn challenges(r: &Response) -> Vec<String> {
    r.headers
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.eq_ignore_ascii_case("www-authenticate"))
        .map(|(_, v)| v.trim().to_string())
        .collect()
}

fn prm(s: &Server) -> String {
    format!("{}/.well-known/oauth-protected-resource", s.iss())
}

#[test]
fn a_token_bound_to_a_vaults_mcp_endpoint_works_nowhere_else() {
    let s = Server::start();
    // The app asks for more than the vault: a surface push and a module
    // scope, with `resource=<hub>/vault/test/mcp`.
    let (id, t) = approved_tokens(
        &s,
        &json!({}),
        "vault:test:admin surface:foo:write scribe:transcribe",
    );
    assert_eq!(t["scope"], "vault:test:admin", "{t}");
    let access = t["access_token"].as_str().expect("access").to_string();
    let c = claims(&access);
    assert_eq!(
        (c["aud"].as_str(), c["scope"].as_str()),
        (Some("vault.test"), Some("vault:test:admin"))
    );

    // Not git: 401 with both challenges, the Bearer one with discovery and
    // the repository's scope.
    let auth = bearer(&access);
    let r = s.send(
        "GET",
        "/git/foo/info/refs?service=git-receive-pack",
        &[("Authorization", &auth)],
        None,
    );
    assert_eq!(r.status, 401, "{r:?}");
    assert!(r.body.contains("not for git"), "{r:?}");
    assert_eq!(
        challenges(&r),
        [
            "Basic realm=\"Parachute Surface Git\"".to_string(),
            format!(
                "Bearer resource_metadata=\"{}\", scope=\"surface:foo:write\"",
                prm(&s)
            ),
        ]
    );

    // Not the hub's APIs: minting, listing, revoking, introspecting.
    let refused = format!(
        "Bearer resource_metadata=\"{}\", error=\"invalid_token\", scope=\"parachute:host:auth\"",
        prm(&s)
    );
    let r = s.json(
        "/api/auth/mint-token",
        &json!({"scope": "vault:test:read"}),
        Some(&access),
    );
    assert_eq!(
        (r.status, challenges(&r)),
        (401, vec![refused.clone()]),
        "{r:?}"
    );
    assert_eq!(r.json()["error"], "invalid_token");
    let r = s.send("GET", "/api/auth/tokens", &[("Authorization", &auth)], None);
    assert_eq!(
        (r.status, challenges(&r)),
        (401, vec![refused.clone()]),
        "{r:?}"
    );
    let r = s.json(
        "/api/auth/revoke-token",
        &json!({"jti": c["jti"]}),
        Some(&access),
    );
    assert_eq!((r.status, challenges(&r)), (401, vec![refused]), "{r:?}");
    let r = s.form(
        "/oauth/introspect",
        &[("token", &access)],
        &[("Authorization", &auth)],
    );
    assert_eq!(r.status, 401, "{r:?}");

    // A refresh keeps to the resource too.
    let r = s.form(
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().expect("rt")),
            ("client_id", &id),
        ],
        &[],
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["scope"], "vault:test:admin");

    // The same grant without a resource is the hub's: a vault admin mints
    // that vault's tokens (capability attenuation).
    let (_id, t) = approved_tokens_for(&s, &json!({}), "vault:test:admin", "");
    let hub_token = t["access_token"].as_str().expect("access");
    let r = s.json(
        "/api/auth/mint-token",
        &json!({"scope": "vault:test:read"}),
        Some(hub_token),
    );
    assert_eq!(r.status, 200, "{r:?}");
    // A token with the right audience but not the scope is 403.
    let r = s.send(
        "GET",
        "/api/auth/tokens",
        &[("Authorization", &bearer(hub_token))],
        None,
    );
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(
        challenges(&r),
        ["Bearer error=\"insufficient_scope\", scope=\"parachute:host:auth\""]
    );
    // Minting beyond its authority is 403 with a scope hint too.
    let r = s.json(
        "/api/auth/mint-token",
        &json!({"scope": "scribe:transcribe"}),
        Some(hub_token),
    );
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.json()["error"], "insufficient_scope");
    assert_eq!(
        challenges(&r),
        ["Bearer error=\"insufficient_scope\", scope=\"parachute:host:auth\""]
    );
    // A surface token still pushes: git answers for the repository.
    let surface = s.home.mint(&["--scope", "surface:foo:write"]);
    let r = s.send(
        "GET",
        "/git/foo/info/refs?service=git-receive-pack",
        &[("Authorization", &bearer(&surface))],
        None,
    );
    assert_ne!(r.status, 401, "{r:?}");
}

#[test]
fn every_bearer_401_names_the_metadata_and_a_scope() {
    let s = Server::start();
    let prm = prm(&s);
    let r = s.get("/api/auth/tokens");
    assert_eq!(r.status, 401);
    assert_eq!(
        challenges(&r),
        [format!(
            "Bearer resource_metadata=\"{prm}\", scope=\"parachute:host:auth\""
        )]
    );
    let r = s.send(
        "GET",
        "/api/auth/tokens",
        &[("Authorization", "Bearer not-a-token")],
        None,
    );
    assert_eq!(r.status, 401);
    assert_eq!(
        challenges(&r),
        [format!(
            "Bearer resource_metadata=\"{prm}\", error=\"invalid_token\", scope=\"parachute:host:auth\""
        )]
    );
    let r = s.send(
        "POST",
        "/oauth/introspect",
        &[("Authorization", "Bearer not-a-token")],
        Some(("application/x-www-form-urlencoded", "token=x")),
    );
    assert_eq!(r.status, 401);
    assert_eq!(
        challenges(&r),
        [format!(
            "Bearer resource_metadata=\"{prm}\", error=\"invalid_token\", scope=\"hub:admin\""
        )]
    );
    // Git: no token, then one the hub refuses.
    for auth in [None, Some("Bearer not-a-token")] {
        let h: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", *a)).collect();
        let r = s.send(
            "GET",
            "/git/notes/info/refs?service=git-upload-pack",
            &h,
            None,
        );
        assert_eq!(r.status, 401, "{r:?}");
        assert_eq!(
            challenges(&r),
            [
                "Basic realm=\"Parachute Surface Git\"".to_string(),
                format!("Bearer resource_metadata=\"{prm}\", scope=\"surface:notes:read\""),
            ]
        );
    }
    // Insufficient scope is 403 with the scope (a scribe token at git).
    let scribe = s.home.mint(&["--scope", "surface:other:read"]);
    let r = s.send(
        "GET",
        "/git/notes/info/refs?service=git-upload-pack",
        &[("Authorization", &bearer(&scribe))],
        None,
    );
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(
        challenges(&r),
        ["Bearer error=\"insufficient_scope\", scope=\"surface:notes:read\""]
    );
}

/// An authorization request: scope, parameters replaced, the error it
/// redirects back with.
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);

#[test]
fn every_authorization_response_names_the_issuer() {
    let s = Server::start();
    let iss = s.iss();
    let c = s.register(&json!({}));
    let id = c["client_id"].as_str().expect("id").to_string();
    assert!(
        s.home
            .run(&["auth", "approve-client", &id])
            .status
            .success()
    );
    let mut b = Browser::new(&s);
    assert_eq!(b.login("owner", PASSWORD).status, 303);
    let errors: &[Case<'_>] = &[
        (
            "vault:read",
            &[("response_type", "token")],
            "unsupported_response_type",
        ),
        ("vault:read", &[("code_challenge", "")], "invalid_request"),
        ("hub:admin", &[], "invalid_scope"),
        (
            "vault:read",
            &[("resource", "https://evil.example/mcp")],
            "invalid_target",
        ),
        ("vault:read", &[("prompt", "none")], "consent_required"),
    ];
    for (scope, extra, error) in errors {
        let r = b.get(&authorize_path(&s, &id, scope, extra));
        assert_eq!(r.status, 303, "{error}: {r:?}");
        let loc = r.header("location").expect("location");
        assert!(loc.starts_with(REDIRECT), "{error}: {loc}");
        assert_eq!(param(loc, "error").as_deref(), Some(*error), "{loc}");
        assert_eq!(param(loc, "iss").as_deref(), Some(iss.as_str()), "{loc}");
        assert_eq!(param(loc, "state").as_deref(), Some("st8"), "{loc}");
    }
    // The owner says no: access_denied, with iss.
    let page = b.get(&authorize_path(&s, &id, "vault:read", &[]));
    let r = b.submit(&page, "/oauth/authorize", &[("decision", "deny")]);
    let loc = r.header("location").expect("location");
    assert_eq!(
        param(loc, "error").as_deref(),
        Some("access_denied"),
        "{loc}"
    );
    assert_eq!(param(loc, "iss").as_deref(), Some(iss.as_str()), "{loc}");
    // And yes: the code, with iss.
    let page = b.get(&authorize_path(&s, &id, "vault:read", &[]));
    let r = b.submit(&page, "/oauth/authorize", &[("decision", "approve")]);
    let loc = r.header("location").expect("location");
    assert!(param(loc, "code").is_some(), "{loc}");
    assert_eq!(param(loc, "iss").as_deref(), Some(iss.as_str()), "{loc}");
}

fn refresh(s: &Server, client_id: &str, rt: &str) -> Response {
    refresh_at(s.hub.addr, client_id, rt)
}

/// A refresh grant on a fresh connection to `addr`.
fn refresh_at(addr: SocketAddr, client_id: &str, rt: &str) -> Response {
    let body = encode(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", rt),
        ("client_id", client_id),
    ]);
    request(
        addr,
        "POST",
        "/oauth/token",
        &[],
        Some(("application/x-www-form-urlencoded", &body)),
    )
}

#[test]
fn concurrent_refreshes_share_one_successor_within_the_grace() {
    let s = Server::start();
    let (id, t) = approved_tokens(&s, &json!({}), "vault:read");
    let rt = t["refresh_token"].as_str().expect("rt").to_string();
    // Three threads of one client refresh the same token at once, over
    // their own connections.
    let gate = Arc::new(Barrier::new(3));
    let started = Instant::now();
    let addr = s.hub.addr;
    let answers: Vec<Response> = (0..3)
        .map(|_| {
            let (gate, id, rt) = (Arc::clone(&gate), id.clone(), rt.clone());
            std::thread::spawn(move || {
                gate.wait();
                refresh_at(addr, &id, &rt)
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "too slow for the grace"
    );
    for r in &answers {
        assert_eq!(r.status, 200, "{r:?}");
    }
    let bodies: Vec<Value> = answers.iter().map(Response::json).collect();
    for b in &bodies[1..] {
        assert_eq!(b["refresh_token"], bodies[0]["refresh_token"], "{bodies:?}");
        assert_eq!(b["access_token"], bodies[0]["access_token"], "{bodies:?}");
    }
    // The family lives: the successor refreshes, its access token is live.
    let next = bodies[0]["refresh_token"].as_str().expect("rt").to_string();
    let op = bearer(&s.home.operator_token());
    let live = |token: &str| {
        let r = s.form(
            "/oauth/introspect",
            &[("token", token)],
            &[("Authorization", &op)],
        );
        r.json()["active"] == true
    };
    assert!(live(bodies[0]["access_token"].as_str().expect("at")));
    let r = refresh(&s, &id, &next);
    assert_eq!(r.status, 200, "{r:?}");
    let newest = r.json()["refresh_token"].as_str().expect("rt").to_string();

    // Outside the window a reuse still revokes the family.
    std::thread::sleep(Duration::from_millis(4_500));
    let r = refresh(&s, &id, &next);
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(r.json()["error"], "invalid_grant");
    assert!(
        !live(&newest),
        "the family survived a reuse after the grace"
    );
    assert_eq!(refresh(&s, &id, &newest).status, 400);
}

#[test]
fn introspection_does_not_answer_a_public_client_naming_itself() {
    let s = Server::start();
    let (id, t) = approved_tokens(&s, &json!({}), "vault:test:read");
    let access = t["access_token"].as_str().expect("access");
    let refresh_token = t["refresh_token"].as_str().expect("rt");
    for token in [access, refresh_token] {
        let r = s.form(
            "/oauth/introspect",
            &[("token", token), ("client_id", &id)],
            &[],
        );
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json(), json!({"active": false}), "public client {id}");
    }
    // A confidential client proves itself with its secret and sees its own.
    let c = s.register(&json!({"token_endpoint_auth_method": "client_secret_post"}));
    let cid = c["client_id"].as_str().expect("id").to_string();
    let secret = c["client_secret"].as_str().expect("secret").to_string();
    assert!(
        s.home
            .run(&["auth", "approve-client", &cid])
            .status
            .success()
    );
    let mut b = Browser::new(&s);
    assert_eq!(b.login("owner", PASSWORD).status, 303);
    let page = b.get(&authorize_path(&s, &cid, "vault:test:read", &[]));
    let r = b.submit(&page, "/oauth/authorize", &[("decision", "approve")]);
    let code = param(r.header("location").expect("location"), "code").expect("code");
    let res = format!("{}/vault/test/mcp", s.iss());
    let r = s.form(
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &cid),
            ("client_secret", &secret),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("resource", &res),
        ],
        &[],
    );
    assert_eq!(r.status, 200, "{r:?}");
    let own = r.json()["access_token"].as_str().expect("at").to_string();
    let ask = |fields: &[(&str, &str)]| s.form("/oauth/introspect", fields, &[]).json();
    let with_secret = ask(&[
        ("token", &own),
        ("client_id", &cid),
        ("client_secret", &secret),
    ]);
    assert_eq!(with_secret["active"], true, "{with_secret}");
    // Without its secret it is anyone.
    assert_eq!(
        ask(&[("token", &own), ("client_id", &cid)]),
        json!({"active": false})
    );
}
