//! Real OAuth clients against a real `parachute serve` (issue #4): the MCP
//! TypeScript SDK's full headless flow (`tests/clients/mcp-flow.mjs`),
//! authlib as a second, confidential client (`tests/clients/authlib_flow.py`),
//! and tokens verified independently through the JWKS (`jose`, `PyJWT`).
//!
//! The rigs need `npm ci --prefix tests/clients` and
//! `pip install -r tests/clients/requirements.txt`; without them these tests
//! say SKIP, except under CI (`CI` set), where they fail.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use super::cimd::DocServer;
use super::oauth::{Server, VAULT_ROWS};
use crate::support::hub::{Home, Hub, PASSWORD, free_port, pyjwt_available, pyjwt_verify, stderr};

fn rig() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// Whether the rig is usable; SKIP loudly, or fail under CI.
fn available(test: &str, what: &str, ok: bool) -> bool {
    if ok {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: {what} is missing under CI"
    );
    eprintln!("SKIP ({test}): {what} is missing");
    false
}

fn json_line(o: &std::process::Output) -> Value {
    let out = String::from_utf8_lossy(&o.stdout);
    let line = out.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| {
        panic!(
            "no JSON from the client ({e}):\nstdout: {out}\nstderr: {}",
            stderr(o)
        )
    })
}

#[test]
fn mcp_typescript_sdk_headless_flow() {
    let Some((r, home, hub)) = typescript_flow("mcp_typescript_sdk_headless_flow", None) else {
        return;
    };
    assert_eq!(r["registration_requests"], 1, "DCR: {r}");
    assert_typescript_flow(&r, &home, &hub);
}

/// Issue 13: the SDK in CIMD mode (the hub advertises
/// `client_id_metadata_document_supported`): its `client_id` is its document's
/// URL, served over https by a local server with a test CA; the whole flow
/// runs without a registration request. The document lists a port-less
/// loopback redirect; the SDK listens on another port.
#[test]
fn mcp_typescript_sdk_cimd_flow() {
    let Some(docs) = DocServer::start("mcp_typescript_sdk_cimd_flow") else {
        return;
    };
    let url = docs.put(
        "mcp-sdk-test",
        &serde_json::json!({
            "client_id": "{origin}/mcp-sdk-test.json",
            "client_name": "mcp-sdk-test",
            "redirect_uris": ["http://127.0.0.1/callback"],
            "token_endpoint_auth_method": "none",
        }),
        "",
    );
    let Some((r, home, hub)) = typescript_flow("mcp_typescript_sdk_cimd_flow", Some((&docs, &url)))
    else {
        return;
    };
    assert_eq!(r["client_id"], url.as_str(), "{r}");
    assert_eq!(r["registration_requests"], 0, "no DCR call: {r}");
    assert_eq!(
        docs.requests(),
        ["/mcp-sdk-test.json"],
        "fetched once, then cached"
    );
    assert_typescript_flow(&r, &home, &hub);
}

/// Run `tests/clients/mcp-flow.mjs` against a fresh hub (in CIMD mode with
/// `documents`: the document server and the document's URL).
fn typescript_flow(
    test: &str,
    documents: Option<(&DocServer, &str)>,
) -> Option<(Value, Home, Hub)> {
    let node_ok = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let sdk = rig().join("node_modules/@modelcontextprotocol/sdk");
    if !available(
        test,
        "node with `npm ci --prefix tests/clients`",
        node_ok && sdk.is_dir(),
    ) {
        return None;
    }
    // The hub's public origin is a front on FRONT_PORT (the script's stand-in
    // vault plus a proxy to the hub), as behind an edge proxy.
    let home = Home::with_owner();
    std::fs::write(home.home().join("services.json"), VAULT_ROWS).expect("services.json");
    let front = free_port();
    let iss = format!("http://127.0.0.1:{front}");
    let mut cmd = home.cmd(&["serve"]);
    cmd.env("PORT", "0").env("PARACHUTE_HUB_ORIGIN", &iss);
    let mut node = Command::new("node");
    if let Some((docs, url)) = documents {
        cmd.envs(docs.env(true));
        node.env("CIMD_URL", url);
    }
    let hub = Hub::spawn(cmd);
    let o = node
        .arg(rig().join("mcp-flow.mjs"))
        .env("HUB", format!("http://{}", hub.addr))
        .env("FRONT_PORT", front.to_string())
        .env("USERNAME", "owner")
        .env("PASSWORD", PASSWORD)
        .output()
        .expect("run node");
    assert!(o.status.success(), "mcp-flow.mjs failed:\n{}", stderr(&o));
    Some((json_line(&o), home, hub))
}

fn assert_typescript_flow(r: &Value, home: &Home, hub: &Hub) {
    let iss = r["auth_url"]
        .as_str()
        .and_then(|u| u.split_once("/oauth/authorize?"))
        .map(|(origin, _)| origin.to_string())
        .unwrap_or_default();
    // 401 → PRM → metadata → DCR happened inside the SDK; then consent.
    assert!(iss.starts_with("http://127.0.0.1:"), "{r}");
    assert_eq!(r["consent_mentions_risk"], true);
    assert_eq!(
        r["consent_mentions_new_app"], true,
        "approved by the owner on the consent page"
    );
    assert_eq!(
        r["consent_scopes"],
        serde_json::json!(["vault:test:read", "vault:test:write"])
    );
    assert_eq!(r["callback_iss"], iss);
    assert_eq!(r["state_ok"], true);
    assert_eq!(r["token_type"], "Bearer");
    assert_eq!(r["expires_in"], 900);
    assert_eq!(r["tools"], serde_json::json!(["whoami"]));
    assert_eq!(r["whoami"]["aud"], "vault.test");
    assert_eq!(r["whoami"]["sub"], home.owner_id());
    assert_eq!(r["refresh_result"], "AUTHORIZED");
    assert_eq!(r["rotated"], true);
    assert_eq!(r["reuse"]["status"], 400);
    assert_eq!(r["reuse"]["body"]["error"], "invalid_grant");
    assert_eq!(
        r["successor_after_reuse"]["body"]["error"], "invalid_grant",
        "the family is revoked"
    );
    assert_ne!(r["revoked_connect"], "connected");
    assert!(
        r["vault_rejections"]
            .as_array()
            .is_some_and(|v| v.contains(&"revoked".into())),
        "{r}"
    );

    // Independently through the JWKS: PyJWT accepts the signature, issuer
    // and audience; the hub refuses the (revoked) token as a bearer.
    let token = r["first_access_token"].as_str().expect("token");
    if pyjwt_available("mcp_typescript_sdk_headless_flow") {
        let jwks = format!("http://{}/.well-known/jwks.json", hub.addr);
        let c =
            pyjwt_verify(&jwks, token, &iss, "vault.test").expect("PyJWT verifies the SDK's token");
        assert_eq!(c["scope"], "vault:test:read vault:test:write");
    }
    let second = r["second_access_token"].as_str().expect("token");
    for t in [token, second] {
        assert_eq!(
            hub.get("/api/auth/tokens", Some(t)).status,
            401,
            "revoked everywhere"
        );
    }
}

/// Issue 13: the official MCP Python SDK (`mcp.client.auth`) in DCR mode.
#[test]
fn mcp_python_sdk_dcr_flow() {
    let Some((r, home)) = python_flow("mcp_python_sdk_dcr_flow", None) else {
        return;
    };
    assert_eq!(r["registration_requests"], 1, "{r}");
    let id = r["client_id"].as_str().unwrap_or_default();
    assert!(!id.starts_with("https://"), "{r}");
    assert_eq!(r["consent_shows_document_host"], false, "{r}");
    assert_python_flow(&r, &home, id);
}

/// Issue 13: the official MCP Python SDK in CIMD mode: no registration
/// request, the document URL is the `client_id`.
#[test]
fn mcp_python_sdk_cimd_flow() {
    let Some(docs) = DocServer::start("mcp_python_sdk_cimd_flow") else {
        return;
    };
    let url = docs.put(
        "mcp-python-sdk-test",
        &serde_json::json!({
            "client_id": "{origin}/mcp-python-sdk-test.json",
            "client_name": "mcp-python-sdk-test",
            "redirect_uris": ["http://127.0.0.1/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        }),
        "",
    );
    let Some((r, home)) = python_flow("mcp_python_sdk_cimd_flow", Some((&docs, &url))) else {
        return;
    };
    assert_eq!(r["registration_requests"], 0, "no DCR call: {r}");
    assert_eq!(r["client_id"], url.as_str(), "{r}");
    assert_eq!(r["consent_shows_document_host"], true, "{r}");
    assert_python_flow(&r, &home, &url);
}

fn assert_python_flow(r: &Value, home: &Home, client_id: &str) {
    assert_eq!(r["consent_mentions_new_app"], true, "{r}");
    assert_eq!(r["token_requests"], 1, "{r}");
    assert_eq!(r["resource_status"], 200, "{r}");
    assert_eq!(r["whoami"]["aud"], "vault.test", "{r}");
    assert_eq!(r["whoami"]["sub"], home.owner_id(), "{r}");
    assert_eq!(r["whoami"]["client_id"], client_id, "{r}");
    assert_eq!(r["scope"], "vault:test:read vault:test:write", "{r}");
}

/// Run `tests/clients/mcp_python_flow.py` against a fresh hub (in CIMD
/// mode with `documents`: the document server and the document's URL).
fn python_flow(test: &str, documents: Option<(&DocServer, &str)>) -> Option<(Value, Home)> {
    let ok = Command::new("python3")
        .args(["-c", "import mcp.client.auth, httpx2, jwt, requests"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !available(
        test,
        "python3 with the MCP SDK (pip install -r tests/clients/requirements.txt)",
        ok,
    ) {
        return None;
    }
    let home = Home::with_owner();
    std::fs::write(home.home().join("services.json"), VAULT_ROWS).expect("services.json");
    let front = free_port();
    let mut cmd = home.cmd(&["serve"]);
    cmd.env("PORT", "0")
        .env("PARACHUTE_HUB_ORIGIN", format!("http://127.0.0.1:{front}"));
    let mut py = Command::new("python3");
    if let Some((docs, url)) = documents {
        cmd.envs(docs.env(true));
        py.env("CIMD_URL", url);
    }
    let hub = Hub::spawn(cmd);
    let o = py
        .arg(rig().join("mcp_python_flow.py"))
        .env("HUB", format!("http://{}", hub.addr))
        .env("FRONT_PORT", front.to_string())
        .env("USERNAME", "owner")
        .env("PASSWORD", PASSWORD)
        .output()
        .expect("run python3");
    assert!(
        o.status.success(),
        "mcp_python_flow.py failed:\n{}",
        stderr(&o)
    );
    Some((json_line(&o), home))
}

#[test]
fn authlib_confidential_client_flow() {
    let ok = Command::new("python3")
        .args(["-c", "import authlib, requests, jwt"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !available(
        "authlib_confidential_client_flow",
        "python3 with authlib, requests and PyJWT (pip install -r tests/clients/requirements.txt)",
        ok,
    ) {
        return;
    }
    let s = Server::start();
    let o = s
        .home
        .wrap(
            std::path::Path::new("python3"),
            &[rig().join("authlib_flow.py").to_str().expect("utf-8")],
        )
        .env("ISS", s.iss())
        .env("PARACHUTE_BIN", env!("CARGO_BIN_EXE_parachute"))
        .env("USERNAME", "owner")
        .env("PASSWORD", PASSWORD)
        .env("OPERATOR_TOKEN", s.home.operator_token())
        .output()
        .expect("run python3");
    assert!(
        o.status.success(),
        "authlib_flow.py failed:\n{}",
        stderr(&o)
    );
    let r = json_line(&o);
    assert_eq!(r["registered_status"], "pending");
    assert_eq!(
        r["echoed_redirect_uris"],
        serde_json::json!([super::oauth::REDIRECT])
    );
    assert_eq!(
        (
            r["pending_token_status"].clone(),
            r["pending_token_error"].clone()
        ),
        (401.into(), "invalid_client".into())
    );
    assert_eq!(r["first_consent_shown"], true);
    assert_eq!(
        r["second_consent_shown"], false,
        "a covered, non-admin request skips consent"
    );
    assert_eq!(
        r["scope"], "vault:test:read",
        "`vault:read` narrowed by the resource"
    );
    assert_eq!(r["aud"], "vault.test");
    assert_eq!(r["client_id_claim_ok"], true);
    assert_eq!(r["refresh_rotated"], true);
    assert_eq!(
        r["wrong_secret"],
        serde_json::json!([401, "invalid_client"])
    );
    assert_eq!(r["revoke_status"], 200);
    assert_eq!(
        r["refresh_after_revoke"],
        serde_json::json!([400, "invalid_grant"])
    );
    assert_eq!(
        r["introspect_revoked"],
        serde_json::json!({"active": false})
    );
    assert_eq!(r["introspect_live"], true);
    assert_eq!(r["revoked_as_bearer"][0], 401);
}

/// Issue 9 item 15: `auth list-clients` shows every registered client,
/// approved or pending, where `pending-clients` shows only the waiting ones.
#[test]
fn list_clients_shows_approved_and_pending_clients() {
    let s = Server::start();
    let o = s.home.run(&["auth", "list-clients"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stderr(&o), "no OAuth clients have registered yet\n");

    let waiting = s.register(&serde_json::json!({"client_name": "waiting-app"}));
    let approved = s.register(&serde_json::json!({"client_name": "trusted-app"}));
    let id = approved["client_id"].as_str().expect("id");
    let o = s.home.run(&["auth", "approve-client", id]);
    assert!(o.status.success(), "{}", stderr(&o));

    let o = s.home.run(&["auth", "list-clients"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let table = String::from_utf8_lossy(&o.stdout).into_owned();
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("CLIENT ID"), "{table}");
    assert!(lines[0].contains("STATUS"), "{table}");
    let row = |needle: &str| {
        lines
            .iter()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle} in {table}"))
            .to_string()
    };
    assert!(row("trusted-app").contains(" approved "), "{table}");
    assert!(row("trusted-app").starts_with(id), "{table}");
    assert!(row("waiting-app").contains(" pending "), "{table}");
    assert_eq!(lines.len(), 3, "{table}");

    let o = s.home.run(&["auth", "list-clients", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let statuses: Vec<(&str, &str)> = doc
        .as_array()
        .expect("array")
        .iter()
        .map(|c| {
            (
                c["client_id"].as_str().unwrap_or_default(),
                c["status"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert!(statuses.contains(&(id, "approved")), "{doc}");
    assert!(
        statuses.contains(&(waiting["client_id"].as_str().expect("id"), "pending")),
        "{doc}"
    );
    assert!(!doc.to_string().contains("client_secret"), "{doc}");
}
