//! Issue 11, end to end with real MCP software: an MCP server module built
//! on the official Python SDK (`tests/modules/mcp_vault/server.py`),
//! installed with `parachute install` behind a real hub, and the official
//! client SDKs (TypeScript and Python) given only `<hub>/vault/<name>/mcp`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::cli::Parachute;
use crate::support::hub::{
    Hub, PASSWORD, SET_PASSWORD, free_port, serve_with, set_password, stderr, wait_for,
};
use crate::support::{module, systemd};

const SERVER: &str = include_str!("../modules/mcp_vault/server.py");

fn rig() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// The interpreter that has the MCP SDK, by absolute path (the module's
/// unit does not search PATH); SKIP loudly, or fail under CI.
fn python_with_sdk(test: &str) -> Option<String> {
    let o = Command::new("python3")
        .args([
            "-c",
            "import mcp.server.mcpserver, uvicorn, jwt, httpx2, requests, sys; print(sys.executable)",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success());
    let node_sdk = rig()
        .join("node_modules/@modelcontextprotocol/sdk")
        .is_dir();
    match o {
        Some(o) if node_sdk => Some(String::from_utf8_lossy(&o.stdout).trim().to_string()),
        _ => {
            let what =
                "python3 with tests/clients/requirements.txt and `npm ci --prefix tests/clients`";
            assert!(std::env::var_os("CI").is_none(), "{test}: needs {what}");
            eprintln!("SKIP {test}: needs {what}");
            None
        }
    }
}

/// Install the MCP module as vault `vault` for the hub at `origin`.
fn install(p: &Parachute, root: &Path, python: &str, vault: &str, origin: &str) {
    let name = format!("vault-{vault}");
    let m = json!({
        "paths": [format!("/vault/{vault}")],
        "health": format!("/vault/{vault}/health"),
        "startCmd": [python, "server.py", vault, origin],
    });
    let dir = module::write(root, &name, &name, &m, &[("server.py", SERVER)]);
    module::install(p, &dir, &[]);
}

/// The hub on a port chosen up front (the module's issuer), with the owner.
fn hub(p: &Parachute, port: u16) -> Hub {
    set_password(p.cmd(SET_PASSWORD));
    let port = port.to_string();
    let origin = format!("http://127.0.0.1:{port}");
    let env = [("PORT", port.as_str()), ("PARACHUTE_HUB_ORIGIN", &origin)];
    serve_with(p.cmd(&["serve"]), &env)
}

/// Run the client flow `script` with `program` as the owner, given only
/// the MCP URL `mcp` (and the hub's origin); its JSON line.
fn client_flow(program: &str, script: &str, mcp: &str, origin: &str) -> Value {
    let o = Command::new(program)
        .arg(rig().join(script))
        .env("MCP_URL", mcp)
        .env("HUB", origin)
        .env("USERNAME", "owner")
        .env("PASSWORD", PASSWORD)
        .output()
        .expect(program);
    assert!(o.status.success(), "{script}:\n{}", stderr(&o));
    json_line(&o)
}

fn json_line(o: &std::process::Output) -> Value {
    let out = String::from_utf8_lossy(&o.stdout);
    let line = out.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {out}\n{}", stderr(o)))
}

fn http_get(url: &str) -> (u16, String, String) {
    let o = Command::new("curl")
        .args(["-s", "-i", "--max-time", "10", url])
        .output()
        .expect("curl");
    let raw = String::from_utf8_lossy(&o.stdout).replace("\r\n", "\n");
    let (head, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

#[test]
fn official_mcp_sdks_sign_in_and_call_tools_of_a_module_behind_the_hub() {
    let test = "official_mcp_sdks_sign_in_and_call_tools_of_a_module_behind_the_hub";
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let Some(python) = python_with_sdk(test) else {
        return;
    };
    let _serial = systemd::lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::new(mgr, tmp.path());
    let port = free_port();
    let origin = format!("http://127.0.0.1:{port}");
    let _u = p.uninstall_on_drop("vault-mcpe2e");
    install(&p, tmp.path(), &python, "mcpe2e", &origin);
    let _hub = hub(&p, port);
    let mcp = format!("{origin}/vault/mcpe2e/mcp");
    wait_for(
        Duration::from_secs(30),
        "the module through the hub",
        || http_get(&format!("{origin}/vault/mcpe2e/health")).0 == 200,
    );

    // The module's own 401 and its own RFC 9728 document, through the hub.
    let (status, head, _) = http_get(&mcp);
    assert_eq!(status, 401, "{head}");
    assert!(
        head.contains(&format!(
            "resource_metadata=\"{origin}/.well-known/oauth-protected-resource/vault/mcpe2e/mcp\""
        )),
        "{head}"
    );
    let (status, _, body) = http_get(&format!(
        "{origin}/vault/mcpe2e/.well-known/oauth-protected-resource"
    ));
    assert_eq!(status, 200, "{body}");
    let doc: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        doc["resource_name"],
        "mcp-vault mcpe2e (served by the module)"
    );

    // TypeScript SDK: discovery → DCR → consent → token → tools → refresh →
    // reuse of a rotated refresh token revokes, and the module refuses.
    let r = client_flow("node", "mcp-flow.mjs", &mcp, &origin);
    assert!(
        r["auth_url"]
            .as_str()
            .is_some_and(|u| u.starts_with(&format!("{origin}/oauth/authorize?"))),
        "{r}"
    );
    assert_eq!(r["callback_iss"], origin.as_str(), "{r}");
    assert_eq!(r["tools"], json!(["echo", "search_notes", "whoami"]), "{r}");
    assert_eq!(r["whoami"]["aud"], "vault.mcpe2e", "{r}");
    assert_eq!(r["echo"], "through the hub", "{r}");
    assert_eq!(r["refresh_result"], "AUTHORIZED", "{r}");
    assert_eq!(r["rotated"], true, "{r}");
    assert_eq!(r["reuse"]["status"], 400, "{r}");
    assert_ne!(r["revoked_connect"], "connected", "{r}");

    // Python SDK: the same flow, then a refresh before a call.
    let r = client_flow(&python, "mcp_vault_flow.py", &mcp, &origin);
    assert_eq!(r["authorizations"], 1, "{r}");
    assert_eq!(r["tools"], json!(["echo", "search_notes", "whoami"]), "{r}");
    assert_eq!(
        r["search_notes"],
        json!(["Parachute packing list", "Grocery"]),
        "{r}"
    );
    assert_eq!(r["whoami"]["aud"], "vault.mcpe2e", "{r}");
    assert_eq!(r["whoami"]["client_id"], r["client_id"], "{r}");
    assert_eq!(r["refreshed"], true, "{r}");
    assert_eq!(r["echo_after_refresh"], "after refresh", "{r}");
}
