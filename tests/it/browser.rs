//! A real browser through the whole people side of issue 4: headless
//! Chromium (Debian's `chromium`) driven by playwright-core
//! (`tests/browser/flow.mjs`) goes from an app's authorization link through
//! `/login`, `/login/2fa` and the consent page to the app's redirect URI on
//! loopback, then opens `/account`. This test sets the stage with the real
//! binary — a hub process, a client registered over HTTP and approved with
//! the CLI, TOTP enrolled for the owner — computes the TOTP code with the
//! library's algorithm, and afterwards redeems the code at `/oauth/token`.
//! Screenshots of each step stay in `target/browser-artifacts/`.
//!
//! Needs `node`, `/usr/bin/chromium` (or `$CHROMIUM`) and
//! `npm ci --prefix tests/browser`; without them it says SKIP, unless
//! `PARACHUTE_REQUIRE_BROWSER=1` (CI sets it), which makes it fail instead.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::two_factor::{Web, enroll_cli, now};
use crate::support::hub::{Home, Hub, PASSWORD, free_port, http, path_str, stderr};
use parachute::identity::totp;

const FLOW_TIMEOUT: Duration = Duration::from_secs(120);

fn rig() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// Where a flow's screenshots go, emptied first:
/// `<target>/browser-artifacts/<flow>/`.
pub(super) fn artifacts(flow: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
        PathBuf::from,
    );
    let dir = target.join("browser-artifacts").join(flow);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    dir
}

/// Whether everything the flow needs is here; says SKIP (or fails, when
/// required) naming what is missing and how to get it.
pub(super) fn available() -> bool {
    let mut missing = Vec::new();
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !node {
        missing.push("node (apt-get install nodejs npm)");
    }
    if !chromium().exists() {
        missing.push("/usr/bin/chromium (apt-get install chromium)");
    }
    if !rig().join("node_modules/playwright-core").exists() {
        missing.push("playwright-core (npm ci --prefix tests/browser)");
    }
    if missing.is_empty() {
        return true;
    }
    let msg = format!("browser test needs: {}", missing.join(", "));
    assert!(
        std::env::var_os("PARACHUTE_REQUIRE_BROWSER").is_none(),
        "{msg} (PARACHUTE_REQUIRE_BROWSER is set)"
    );
    let _ = std::io::Write::write_fmt(
        &mut std::io::stderr(),
        format_args!("SKIP (browser): {msg}\n"),
    );
    false
}

fn pkce() -> (String, String) {
    let mut raw = [0u8; 32];
    aws_lc_rs::rand::fill(&mut raw).expect("random");
    let verifier = URL_SAFE_NO_PAD.encode(raw);
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    (verifier, URL_SAFE_NO_PAD.encode(digest.as_ref()))
}

fn enc(s: &str) -> String {
    s.bytes().fold(String::new(), |mut o, b| {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            o.push(char::from(b));
        } else {
            let _ = write!(o, "%{b:02X}");
        }
        o
    })
}

/// Run `script` with `config` (written to a file) under a deadline; its
/// parsed stdout.
pub(super) fn run_flow(script: &str, config: &Value) -> Value {
    let tmp = crate::support::temp_dir();
    let file = tmp.path().join("config.json");
    std::fs::write(&file, config.to_string()).expect("config");
    let mut child = Command::new("node")
        .arg(rig().join(script))
        .arg(&file)
        .current_dir(rig())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn node");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > FLOW_TIMEOUT {
            let _ = child.kill();
            let o = child.wait_with_output().expect("output");
            panic!(
                "browser flow timed out after {FLOW_TIMEOUT:?}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let o = child.wait_with_output().expect("output");
    assert!(
        status.success(),
        "browser flow {script} failed (screenshots in {}):\n{}",
        config["artifacts"],
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "flow printed no JSON ({e}): {}",
            String::from_utf8_lossy(&o.stdout)
        )
    })
}

#[test]
fn login_two_factor_consent_and_redirect_in_a_real_browser() {
    if !available() {
        return;
    }
    let home = Home::with_owner();
    let (secret, _backups) = enroll_cli(&home, "owner");
    // The enrolling code's step is spent; the next step's code is accepted
    // from now until two steps on, ample for the flow below.
    let code = totp::code_for_step(&secret, totp::step_at(now()) + 1);
    let hub = Hub::start(&home);

    // The app registers (RFC 7591) and the owner approves it at the CLI.
    let port = free_port();
    let redirect_uri = format!("http://127.0.0.1:{port}/callback");
    let reg = http(
        hub.addr,
        "POST",
        "/oauth/register",
        None,
        Some(
            &json!({
                "redirect_uris": [redirect_uri],
                "client_name": "Browser Test App",
                "token_endpoint_auth_method": "none",
            })
            .to_string(),
        ),
    );
    assert_eq!(reg.status, 201, "{reg:?}");
    let client_id = reg.json()["client_id"]
        .as_str()
        .expect("client_id")
        .to_string();
    let o = home.run(&["auth", "approve-client", &client_id]);
    assert!(o.status.success(), "approve-client: {}", stderr(&o));

    let (verifier, challenge) = pkce();
    let state = "xyz-browser-state";
    let scope = "scribe:transcribe vault:work:read";
    let authorize = format!(
        "http://{}/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&scope={}&state={state}&code_challenge={challenge}&code_challenge_method=S256",
        hub.addr,
        enc(&client_id),
        enc(&redirect_uri),
        enc(scope),
    );
    let dir = artifacts("authorize");
    let out = run_flow(
        "flow.mjs",
        &json!({
            "authorizeUrl": authorize,
            "accountUrl": format!("http://{}/account", hub.addr),
            "username": "owner",
            "password": PASSWORD,
            "totpCode": code,
            "redirectPort": port,
            "redirectPath": "/callback",
            "artifacts": path_str(&dir),
        }),
    );
    let cb = &out["callback"];
    assert_eq!(cb["state"], state, "{out}");
    assert_eq!(cb["iss"], "http://127.0.0.1:1939", "{out}");
    let shots = out["screenshots"].as_array().expect("screenshots");
    for name in [
        "01-login",
        "02-two-factor",
        "03-consent",
        "04-redirected",
        "05-account",
    ] {
        let file = dir.join(format!("{name}.png"));
        let png = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(png.starts_with(b"\x89PNG") && png.len() > 1000, "{name}");
        assert!(shots.iter().any(|s| s.as_str() == Some(path_str(&file))));
    }

    // The app redeems its code: the browser's sign-in produced a real token.
    let mut app = Web::new(hub.addr);
    app.origin = None;
    let r = app.post(
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", cb["code"].as_str().expect("code")),
            ("redirect_uri", &redirect_uri),
            ("client_id", &client_id),
            ("code_verifier", &verifier),
        ],
    );
    assert_eq!(r.status, 200, "{r:?}");
    let tok: Value = serde_json::from_str(&r.body).expect("json");
    let access = tok["access_token"].as_str().expect("access_token");
    let claims = home.validate(access).expect("a valid hub token");
    assert_eq!(claims.sub, home.owner_id());
    let scopes = tok["scope"].as_str().expect("scope");
    assert!(scopes.contains("scribe:transcribe"), "{scopes}");
}

#[test]
fn enrolling_two_factor_on_the_account_page_in_a_real_browser() {
    if !available() {
        return;
    }
    let home = Home::with_owner();
    let hub = Hub::start(&home);
    let dir = artifacts("enroll");
    let out = run_flow(
        "enroll.mjs",
        &json!({
            "baseUrl": format!("http://{}", hub.addr),
            "username": "owner",
            "password": PASSWORD,
            "artifacts": path_str(&dir),
        }),
    );
    for name in [
        "11-account-2fa-off",
        "12-enroll-qr",
        "13-backup-codes",
        "14-account-2fa-on",
    ] {
        assert!(dir.join(format!("{name}.png")).exists(), "{name}");
    }
    let st = super::two_factor::status(&home, "owner");
    assert_eq!(
        (st["status"].as_str(), st["backup_codes_left"].as_u64()),
        (Some("on"), Some(10))
    );
    // The key the browser read is the one stored, and a backup code shown
    // there signs in at the second step.
    let secret = totp::Secret::from_base32(out["secret"].as_str().expect("secret")).expect("b32");
    let backup = out["backupCodes"][0].as_str().expect("code");
    let mut web = Web::new(hub.addr);
    let r = super::two_factor::password_step(&mut web, "/account");
    assert_eq!(r.location(), "/login/2fa");
    let r = super::two_factor::code_step(&mut web, backup);
    assert_eq!(r.status, 303, "{r:?}");
    assert_eq!(
        super::two_factor::status(&home, "owner")["backup_codes_left"],
        9
    );
    // And the stored secret computes the same codes (node's HMAC agreed).
    let s = parachute::store::Store::open(&home.home().join("hub.db")).expect("store");
    let conn = s.conn().expect("conn");
    let owner = parachute::store::users::owner(&conn)
        .expect("q")
        .expect("owner");
    let row = parachute::store::two_factor::totp(&conn, &owner.id)
        .expect("q")
        .expect("row");
    assert_eq!(totp::Secret::from_base32(&row.secret), Some(secret));
}
