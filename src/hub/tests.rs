//! The router driven in-process with `oneshot`: real store, real keys, real
//! tokens; no sockets.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt as _;

use super::*;
use crate::hub::state::KEY_RELOAD_EVERY;
use crate::tokens::{self, Reject, keys, mint, operator};

use crate::hub::test_support::ORIGIN;

struct Fixture {
    _dir: tempfile::TempDir,
    state: HubState,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tmp");
    let state = crate::hub::test_support::state_in(dir.path());
    Fixture { _dir: dir, state }
}

impl Fixture {
    fn mint(&self, scopes: &[&str], registered: bool) -> tokens::mint::Minted {
        let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_string()).collect();
        let store = self.state.store();
        store
            .write(|tx| {
                mint::mint(
                    tx,
                    ORIGIN,
                    &mint::Mint {
                        sub: "u1",
                        user_id: None,
                        scopes: &scopes,
                        audience: "hub",
                        client_id: operator::CLIENT_ID,
                        ttl_secs: 3600,
                        created_via: registered.then_some("cli_mint"),
                        parent_jti: None,
                        label: None,
                    },
                    self.state.clock().now(),
                )
                .map_err(|e| store.other(e))
            })
            .expect("mint")
    }

    async fn call(&self, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
        let res = router(self.state.clone())
            .oneshot(req)
            .await
            .expect("infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .expect("body");
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, headers, json)
    }

    async fn get(
        &self,
        uri: &str,
        bearer: Option<&str>,
    ) -> (StatusCode, axum::http::HeaderMap, Value) {
        let mut b = Request::get(uri);
        if let Some(t) = bearer {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        self.call(b.body(Body::empty()).expect("req")).await
    }

    async fn revoke(&self, bearer: &str, body: &str) -> (StatusCode, axum::http::HeaderMap, Value) {
        let req = Request::post("/api/auth/revoke-token")
            .header(header::AUTHORIZATION, format!("Bearer {bearer}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("req");
        self.call(req).await
    }
}

#[tokio::test]
async fn health_reports_ok_with_the_version() {
    let f = fixture();
    let (status, headers, body) = f.get("/health", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["service"], "parachute-hub");
    assert_eq!(body["version"], crate::version::VERSION);
    assert_eq!(body["db"], "ok");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    let (status, _, body) = f.get("/api/ready", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["ready"], true);
}

#[tokio::test]
async fn a_deleted_store_is_a_503_naming_the_fault_and_is_not_recreated() {
    let f = fixture();
    let db = f.state.paths().hub_db();
    std::fs::remove_file(&db).expect("rm");
    let (status, _, body) = f.get("/health", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["db"], "missing");
    assert_eq!(body["service"], "parachute-hub");
    let (status, _, _) = f.get("/api/ready", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(!db.exists(), "the hub must not silently create a new store");
}

#[tokio::test]
async fn jwks_publishes_the_active_key_cross_origin() {
    let f = fixture();
    let (status, headers, body) = f.get("/.well-known/jwks.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    let keys = body["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["alg"], "RS256");
    let pre = Request::options("/.well-known/jwks.json")
        .body(Body::empty())
        .expect("req");
    let (status, headers, _) = f.call(pre).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
}

#[tokio::test]
async fn bearer_endpoints_need_a_valid_token_with_the_scope() {
    let f = fixture();
    let (status, headers, body) = f.get("/api/auth/tokens", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Issue #4: every Bearer 401 names the protected-resource metadata.
    assert_eq!(
        headers[header::WWW_AUTHENTICATE],
        "Bearer resource_metadata=\"http://127.0.0.1:1939/.well-known/oauth-protected-resource\", scope=\"parachute:host:auth\""
    );
    assert_eq!(body["error"], "invalid_request");

    let (status, headers, body) = f.get("/api/auth/tokens", Some("garbage")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        headers[header::WWW_AUTHENTICATE],
        "Bearer resource_metadata=\"http://127.0.0.1:1939/.well-known/oauth-protected-resource\", error=\"invalid_token\", scope=\"parachute:host:auth\""
    );
    assert_eq!(body["error"], "invalid_token");

    let narrow = f.mint(&["scribe:transcribe"], true);
    let (status, headers, body) = f.get("/api/auth/tokens", Some(&narrow.token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        headers[header::WWW_AUTHENTICATE],
        "Bearer error=\"insufficient_scope\", scope=\"parachute:host:auth\""
    );
    assert_eq!(body["error"], "insufficient_scope");

    let admin = f.mint(operator::SCOPES, true);
    let (status, _, body) = f.get("/api/auth/tokens", Some(&admin.token)).await;
    assert_eq!(status, StatusCode::OK);
    let listed = body["tokens"].as_array().expect("tokens");
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["status"], "active");
}

#[tokio::test]
async fn revoked_tokens_are_refused_and_listed_until_they_expire() {
    let f = fixture();
    let admin = f.mint(operator::SCOPES, true);
    let victim = f.mint(&["vault:work:read"], true);
    let victim_jti = victim.claims.jti.clone().expect("jti");
    // Validated once (its signature is now remembered) …
    assert!(f.state.live(&victim.token).is_ok());

    let (status, _, body) = f
        .revoke(&admin.token, &format!("{{\"jti\":\"{victim_jti}\"}}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let first_at = body["revoked_at"].clone();
    // Idempotent: same answer, same time.
    let (status, _, body) = f
        .revoke(&admin.token, &format!("{{\"jti\":\"{victim_jti}\"}}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["revoked_at"], first_at);
    let (status, _, _) = f.revoke(&admin.token, "{\"jti\":\"nope\"}").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, body) = f.revoke(&admin.token, "{\"jt\":1}").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");

    // … and still refused once revoked.
    assert_eq!(f.state.live(&victim.token), Err(Reject::Revoked));
    let (status, headers, body) = f.get("/api/revocation-list", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=60");
    assert_eq!(body["jtis"], serde_json::json!([victim_jti]));
    let (_, _, alias) = f.get("/.well-known/parachute-revocation.json", None).await;
    assert_eq!(alias["jtis"], body["jtis"]);
}

#[tokio::test]
async fn a_rotation_by_another_process_is_picked_up() {
    let f = fixture();
    let before = f.mint(operator::SCOPES, true);
    let store = f.state.store();
    let fresh = keys::generate(crate::clock::now()).expect("gen");
    store
        .write(|tx| keys::rotate(tx, &fresh).map_err(|e| store.other(e)))
        .expect("rotate");
    let after = f.mint(operator::SCOPES, true);
    // At once: the hub just started, and no unknown kid was seen before.
    assert!(f.state.live(&after.token).is_ok(), "new key trusted");
    assert!(f.state.live(&before.token).is_ok(), "old key still trusted");
    let (_, _, body) = f.get("/.well-known/jwks.json", None).await;
    assert_eq!(body["keys"].as_array().expect("keys").len(), 2);

    // Reloads stay throttled: a second rotation within the interval is
    // trusted once the interval has passed, not per request.
    let third = keys::generate(crate::clock::now()).expect("gen");
    store
        .write(|tx| keys::rotate(tx, &third).map_err(|e| store.other(e)))
        .expect("rotate");
    let newest = f.mint(operator::SCOPES, true);
    assert_eq!(f.state.live(&newest.token), Err(Reject::UnknownKey));
    tokio::time::sleep(KEY_RELOAD_EVERY + std::time::Duration::from_millis(50)).await;
    assert!(f.state.live(&newest.token).is_ok(), "newest key trusted");
}

#[tokio::test]
async fn discovery_lists_registered_services() {
    let f = fixture();
    std::fs::write(
        f.state.paths().services_json(),
        r#"{"services":[{"name":"parachute-vault","port":1940,"paths":["/vault/default"],"health":"/health","version":"0.4.0"},{"name":"broken"}]}"#,
    )
    .expect("services.json");
    let (status, headers, body) = f.get("/.well-known/parachute.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    assert_eq!(body["vaults"][0]["name"], "default");
    assert_eq!(
        body["vaults"][0]["url"],
        "http://127.0.0.1:1939/vault/default"
    );
    assert_eq!(body["services"].as_array().expect("services").len(), 1);
}

#[tokio::test]
async fn unknown_paths_are_a_json_404() {
    let f = fixture();
    let (status, _, body) = f.get("/nope", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not_found");
}

/// Issue 10: the registry endpoints answer on the hub's clock (state), not
/// the system's: a token past its `exp` on that clock is `expired`, and the
/// revocation list is dated by it.
#[tokio::test]
async fn the_token_registry_answers_on_the_hub_clock() {
    const T: i64 = 1_900_000_000;
    let dir = tempfile::tempdir().expect("tmp");
    let clock = crate::clock::Clock::fixed(T);
    let state = crate::hub::test_support::state_with_clock(dir.path(), clock.clone());
    let f = Fixture { _dir: dir, state };
    let early = f.mint(&["vault:work:read"], true);
    clock.advance(1800);
    let admin = f.mint(&["parachute:host:auth"], true);
    clock.advance(1801);

    let (status, _, body) = f.get("/api/auth/tokens", Some(&admin.token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let status_of = |jti: &str| {
        body["tokens"]
            .as_array()
            .and_then(|ts| ts.iter().find(|t| t["jti"] == jti))
            .map(|t| t["status"].clone())
    };
    assert_eq!(
        status_of(early.claims.jti.as_deref().unwrap_or_default()),
        Some("expired".into()),
        "{body}"
    );
    assert_eq!(
        status_of(admin.claims.jti.as_deref().unwrap_or_default()),
        Some("active".into()),
        "{body}"
    );

    let (status, _, body) = f.get("/api/revocation-list", None).await;
    assert_eq!(status, StatusCode::OK);
    let at = jiff::Timestamp::from_second(T + 3601)
        .expect("time")
        .to_string();
    assert_eq!(body["generated_at"], at.as_str(), "{body}");
}

/// Another writer holds the store past the busy timeout: the client is
/// told to come back (503, `Retry-After`), not that the hub broke (500).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_store_is_a_503_with_retry_after_not_a_500() {
    let f = fixture();
    let other = rusqlite::Connection::open(f.state.paths().hub_db()).expect("open");
    other
        .execute_batch("BEGIN IMMEDIATE")
        .expect("hold the write lock");
    let req = Request::post("/oauth/register")
        .header(header::CONTENT_TYPE, "application/json")
        .extension(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            [127, 0, 0, 1],
            40000,
        ))))
        .body(Body::from(
            r#"{"redirect_uris":["http://127.0.0.1:9999/cb"],"client_name":"x"}"#,
        ))
        .expect("req");
    let (status, headers, body) = f.call(req).await;
    other.execute_batch("ROLLBACK").expect("release");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "db_unavailable");
    assert_eq!(
        headers[header::RETRY_AFTER],
        crate::hub::error::BUSY_RETRY_AFTER_SECS.to_string()
    );
}
