//! A real `parachute serve` on an ephemeral port (issue #3): health,
//! discovery, JWKS checked by an independent validator (`PyJWT`) across a key
//! rotation, bearer validation and revocation, socket activation and
//! shutdown.

use std::fs;
use std::time::{Duration, Instant};

use crate::support::hub::{
    Home, Hub, claims, free_port, http, pyjwt_available, pyjwt_verify, stderr, try_http, wait_for,
};

const ISSUER: &str = "http://127.0.0.1:1939";

#[test]
fn health_and_discovery_answer() {
    let h = Home::with_owner();
    fs::write(
        h.home().join("services.json"),
        r#"{"services":[{"name":"parachute-vault","port":1940,"paths":["/vault/default"],"health":"/vault/default/health","version":"0.9.0"},{"name":"parachute-scribe","port":1943,"paths":["/scribe"],"health":"/scribe/health","version":"0.2.0","displayName":"Scribe"}]}"#,
    )
    .expect("services.json");
    let hub = Hub::start(&h);
    let r = hub.get("/health", None);
    assert_eq!(r.status, 200, "{r:?}");
    let j = r.json();
    assert_eq!(j["status"], "ok");
    assert_eq!(j["service"], "parachute-hub");
    assert_eq!(j["version"], parachute::version::VERSION);
    assert_eq!(j["db"], "ok");
    assert_eq!(hub.get("/api/ready", None).json()["ready"], true);

    let d = hub.get("/.well-known/parachute.json", None);
    assert_eq!(d.header("access-control-allow-origin"), Some("*"));
    let d = d.json();
    assert_eq!(d["vaults"][0]["name"], "default");
    assert_eq!(d["vaults"][0]["url"], format!("{ISSUER}/vault/default"));
    assert_eq!(d["scribe"][0]["url"], format!("{ISSUER}/scribe"));
    let services = d["services"].as_array().expect("services");
    assert_eq!(services.len(), 2);
    assert_eq!(services[1]["displayName"], "Scribe");
}

#[test]
fn jwks_verifies_minted_tokens_independently_across_a_rotation() {
    if !pyjwt_available("jwks_verifies_minted_tokens_independently_across_a_rotation") {
        return;
    }
    let h = Home::with_owner();
    let hub = Hub::start(&h);
    let jwks = format!("http://{}/.well-known/jwks.json", hub.addr);
    let before = h.mint(&["--scope", "scribe:transcribe"]);
    let c = pyjwt_verify(&jwks, &before, ISSUER, "scribe").expect("PyJWT accepts it");
    assert_eq!(c["scope"], "scribe:transcribe");

    let o = h.run(&["auth", "rotate-key"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let keys = hub.get("/.well-known/jwks.json", None).json();
    assert_eq!(keys["keys"].as_array().expect("keys").len(), 2, "{keys}");
    let after = h.mint(&["--scope", "vault:work:read"]);
    assert_ne!(
        claims_kid(&before),
        claims_kid(&after),
        "the new key signs after a rotation"
    );
    pyjwt_verify(&jwks, &after, ISSUER, "vault.work").expect("new key verifies");
    pyjwt_verify(&jwks, &before, ISSUER, "scribe").expect("retired key still verifies");
    // A wrong audience or issuer is refused by the independent validator too.
    assert!(pyjwt_verify(&jwks, &after, ISSUER, "scribe").is_err());
    assert!(pyjwt_verify(&jwks, &after, "http://evil.example", "vault.work").is_err());
    // And the hub itself accepts tokens from both keys.
    let admin = h.mint(&["--scope", "parachute:host:auth"]);
    assert_eq!(hub.get("/api/auth/tokens", Some(&admin)).status, 200);
}

fn claims_kid(token: &str) -> String {
    use base64::Engine as _;
    let header = token.split('.').next().expect("header");
    let v: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .expect("b64"),
    )
    .expect("json");
    v["kid"].as_str().expect("kid").to_string()
}

#[test]
fn a_revoked_jti_is_rejected_and_published() {
    let h = Home::with_owner();
    let hub = Hub::start(&h);
    let token = h.mint(&["--scope", "parachute:host:auth"]);
    let jti = claims(&token)["jti"].as_str().expect("jti").to_string();

    let r = hub.get("/api/auth/tokens", Some(&token));
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains(&jti));
    let r = hub.get("/api/auth/tokens", None);
    assert_eq!(r.status, 401);
    // Issue #4: Bearer 401s name the protected-resource metadata; issue
    // 13: and the scope to ask for.
    let prm = format!("{ISSUER}/.well-known/oauth-protected-resource");
    assert_eq!(
        r.header("www-authenticate"),
        Some(format!("Bearer resource_metadata=\"{prm}\", scope=\"parachute:host:auth\"").as_str())
    );
    // A token for the hub without the scope is 403; one for another
    // audience (scribe's) is not the hub's at all (issue 8).
    let scribe = h.mint(&["--scope", "scribe:transcribe"]);
    assert_eq!(hub.get("/api/auth/tokens", Some(&scribe)).status, 401);
    let narrow = h.mint(&["--scope", "hub:admin"]);
    let r = hub.get("/api/auth/tokens", Some(&narrow));
    assert_eq!(r.status, 403);
    assert!(
        r.header("www-authenticate")
            .unwrap_or("")
            .contains("insufficient_scope")
    );

    let o = h.run(&["auth", "revoke-token", &jti]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = hub.get("/api/auth/tokens", Some(&token));
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(r.json()["error"], "invalid_token");
    assert_eq!(
        r.header("www-authenticate"),
        Some(
            format!(
                "Bearer resource_metadata=\"{prm}\", error=\"invalid_token\", scope=\"parachute:host:auth\""
            )
            .as_str()
        )
    );
    let list = hub.get("/api/revocation-list", None).json();
    assert!(
        list["jtis"]
            .as_array()
            .expect("jtis")
            .iter()
            .any(|j| j == jti.as_str()),
        "{list}"
    );

    // Revocation over HTTP with the operator token works the same way.
    let victim = h.mint(&["--scope", "vault:work:read"]);
    let vjti = claims(&victim)["jti"].as_str().expect("jti").to_string();
    let r = http(
        hub.addr,
        "POST",
        "/api/auth/revoke-token",
        Some(&h.operator_token()),
        Some(&format!("{{\"jti\":\"{vjti}\"}}")),
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(h.validate(&victim), Err(parachute::tokens::Reject::Revoked));
}

#[test]
fn a_deleted_store_shows_in_health_and_is_not_recreated() {
    let h = Home::with_owner();
    let hub = Hub::start(&h);
    assert_eq!(hub.get("/health", None).status, 200);
    let db = h.home().join("hub.db");
    fs::remove_file(&db).expect("rm hub.db");
    let mut last = None;
    wait_for(
        Duration::from_secs(5),
        "/health to report the missing store",
        || {
            let r = hub.get("/health", None);
            let done = r.status == 503;
            last = Some(r);
            done
        },
    );
    let r = last.expect("response");
    assert_eq!(r.json()["db"], "missing", "{r:?}");
    assert!(!db.exists(), "not silently recreated");
}

#[test]
fn sigterm_drains_and_exits_zero() {
    let h = Home::with_owner();
    let mut hub = Hub::start(&h);
    assert_eq!(hub.get("/health", None).status, 200);
    let status = hub.terminate();
    assert_eq!(status.code(), Some(0), "exit status {status:?}");
    let log = hub.drain_log().join("\n");
    assert!(log.contains("reason=\"SIGTERM\""), "{log}");
    assert!(log.contains("stopped"), "{log}");
    // No secret in the log.
    assert!(!log.contains(&h.operator_token()), "{log}");
}

#[test]
fn a_second_hub_on_the_same_port_refuses_clearly() {
    let h = Home::with_owner();
    let hub = Hub::start(&h);
    let o = h
        .cmd(&["serve"])
        .env("PORT", hub.addr.port().to_string())
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("already listening"), "{}", stderr(&o));

    let other = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let o = h
        .cmd(&["serve"])
        .env("PORT", other.local_addr().expect("addr").port().to_string())
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("in use by another program"),
        "{}",
        stderr(&o)
    );
}

/// Socket activation without a manager: `systemd-socket-activate` passes
/// fd 3 the way a socket unit does. With `--idle-exit` the hub exits 0 once
/// no connection has been open for that long.
#[test]
fn socket_activated_hub_serves_fd3_and_idles_out() {
    let Some(tool) = which("systemd-socket-activate") else {
        eprintln!(
            "SKIP (socket_activated_hub_serves_fd3_and_idles_out): no systemd-socket-activate"
        );
        return;
    };
    let h = Home::with_owner();
    let addr = format!("127.0.0.1:{}", free_port());
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_parachute"));
    let sock: std::net::SocketAddr = addr.parse().expect("addr");
    // systemd-socket-activate starts the hub on the first connection, as a
    // socket unit does: that first request waits in the backlog meanwhile.
    let first = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match try_http(sock, "GET", "/health", None, None) {
                Ok(r) => return r,
                Err(e) => assert!(Instant::now() < deadline, "first request: {e}"),
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let mut hub = Hub::spawn(h.wrap(
        &tool,
        &[
            "-l",
            &addr,
            crate::support::hub::path_str(exe),
            "serve",
            "--idle-exit",
            "1",
        ],
    ));
    assert_eq!(hub.addr.to_string(), addr);
    let startup = hub.startup.join("\n");
    assert!(startup.contains("activated=true"), "{startup}");
    assert_eq!(first.join().expect("first request").status, 200);
    let started = Instant::now();
    let status = loop {
        if let Some(s) = hub.child.try_wait().expect("wait") {
            break s;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no idle exit");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    let log = hub.drain_log().join("\n");
    assert!(log.contains("reason=\"idle\""), "{log}");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "idled out too early"
    );
}

fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
