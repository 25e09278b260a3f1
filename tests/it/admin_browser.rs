//! Issue 14's browser flow: the owner at the admin pages in headless
//! Chromium (`tests/browser/admin.mjs`), against a real hub on the
//! harness's `systemd --user` with a module that logs a timestamped line
//! five times a second: sign in from `/` → the admin home lists the module
//! running → restart it from its page, a new PID → its live log view
//! appends a line printed after the page loaded → rotating the signing key
//! asks for the step-up PIN and goes through after it → the hub's own live
//! log asks for the PIN, then streams. Screenshots of every
//! page stay in `target/browser-artifacts/admin/`.
//!
//! Needs what `browser.rs` needs plus the systemd harness (run it under
//! `flock /tmp/systemd-tests.lock`); without them it says SKIP, unless
//! `PARACHUTE_REQUIRE_BROWSER=1`, which makes it fail instead.

use serde_json::json;

use super::browser::{artifacts, available, run_flow};
use super::log_stream::{install, serve};
use crate::support::cli::Parachute;
use crate::support::hub::{PASSWORD, SET_PASSWORD, path_str, set_password};
use crate::support::systemd;

#[test]
fn the_owner_restarts_a_module_watches_its_live_log_and_steps_up_in_a_real_browser() {
    if !available() {
        return;
    }
    let Some(mgr) = systemd::manager() else {
        assert!(
            std::env::var_os("PARACHUTE_REQUIRE_BROWSER").is_none(),
            "the admin browser flow needs the systemd harness: eval \"$(tests/support/systemd-harness.sh)\" (PARACHUTE_REQUIRE_BROWSER is set)"
        );
        eprintln!(
            "SKIP (admin browser): no systemd user manager; see tests/support/systemd-harness.sh"
        );
        return;
    };
    let _serial = systemd::lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let p = Parachute::new(mgr, tmp.path());
    set_password(p.cmd(SET_PASSWORD));
    install(&p, tmp.path(), "browsertick");
    let _u = p.uninstall_on_drop("browsertick");
    let hub = serve(&p);

    let dir = artifacts("admin");
    let out = run_flow(
        "admin.mjs",
        &json!({
            "baseUrl": format!("http://{}", hub.addr),
            "username": "owner",
            "password": PASSWORD,
            "service": "browsertick",
            "pin": "424242",
            "artifacts": path_str(&dir),
        }),
    );
    assert_ne!(out["pidBefore"], out["pidAfter"], "{out}");
    let live = out["liveLine"].as_str().unwrap_or_default();
    assert!(live.contains("tick "), "{out}");
    for name in [
        "21-login",
        "22-admin-home",
        "23-service",
        "24-restarted",
        "25-live-log",
        "26-security-pin-set",
        "27-step-up-prompt",
        "28-step-up-confirm",
        "29-rotated",
        "30-hub-live-log",
    ] {
        let file = dir.join(format!("{name}.png"));
        let png = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(png.starts_with(b"\x89PNG") && png.len() > 1000, "{name}");
    }
}
