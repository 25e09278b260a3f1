//! Loose ends of issues 14, 12 and 9 found on review: the operator-token
//! rotation is step-up guarded like every other mint of admin scopes, and
//! `disable` sticks across a re-install and a suite start.

use super::admin::{set_pin, through_step_up};
use super::init::Installed;
use super::lifecycle::{free_port, status_of, stderr, write_module};
use super::two_factor::{Web, password_step};
use crate::support::hub::{Home, Hub};
use crate::support::systemd;

const ROTATE: &str = "/account/tokens/rotate-operator";

fn signed_in(hub: &Hub) -> Web {
    let mut web = Web::new(hub.addr);
    let r = password_step(&mut web, "/account");
    assert_eq!((r.status, r.location()), (303, "/account"), "{r:?}");
    web
}

/// Issue 14: "The hub requires a fresh step-up … for: minting tokens with
/// admin scopes". Rotating the operator token mints one (`hub:admin` and
/// the rest), so a session and CSRF alone are not enough: the page asks
/// for the PIN, as the admin pages' dangerous forms do.
#[test]
fn rotating_the_operator_token_from_the_page_needs_step_up() {
    let home = Home::with_owner();
    let old = home.operator_token();
    let hub = Hub::start(&home);
    let mut web = signed_in(&hub);

    // No PIN yet: refused, with where to set one; nothing rotated.
    let r = web.submit("/account", ROTATE, &[]);
    assert_eq!(r.status, 403, "{r:?}");
    assert!(r.body.contains("id=\"step-up-setup\""), "{}", r.body);
    assert_eq!(home.operator_token(), old, "rotated without step-up");

    // A PIN, but a made-up step-up token: the PIN prompt, nothing rotated.
    set_pin(&mut web);
    let r = web.submit("/account", ROTATE, &[("step_up_token", "made-up")]);
    assert_eq!(r.status, 403, "{r:?}");
    assert!(r.body.contains("id=\"step-up-pin\""), "{}", r.body);
    assert!(
        r.body.contains("Rotate the operator token"),
        "the prompt names the action: {}",
        r.body
    );
    assert_eq!(home.operator_token(), old, "rotated with a forged token");

    // Through the PIN: rotated, the old token revoked, the new one valid.
    let r = through_step_up(&mut web, "/account", ROTATE, &[]);
    assert_eq!(
        (r.status, r.location()),
        (303, "/account?done=operator"),
        "{r:?}"
    );
    let new = home.operator_token();
    assert_ne!(new, old);
    assert!(home.validate(&new).is_ok(), "the new one validates");
    assert!(home.validate(&old).is_err(), "the old one is revoked");
}

/// The one line a start that leaves a disabled service alone says.
fn left_disabled(name: &str) -> String {
    format!("{name} is disabled; not started (parachute enable {name})")
}

/// Issue 9 item 10 keeps systemd's meaning: `disable` lasts until
/// `enable`. A re-install (like `daemon-reload`) does not enable it again
/// nor start it, and `parachute start` of the whole suite leaves it
/// stopped, saying so; naming it (`parachute start NAME`) still starts it.
#[test]
fn a_disabled_service_stays_disabled_through_a_reinstall_and_a_suite_start() {
    let _serial = systemd::lock();
    let Some(mgr) = systemd::manager() else {
        return;
    };
    let i = Installed::full(mgr);
    let p = &i.p;
    let tmp = tempfile::tempdir().expect("tmp");
    let name = "sysstaysoff";
    let wants = mgr
        .unit_dir()
        .join(format!("parachute.target.wants/parachute-{name}.service"));
    let dir = write_module(tmp.path(), name, free_port(), false);
    let dir = dir.to_str().expect("utf8");
    let _cleanup = p.uninstall_on_drop(name);
    let o = p.run(&["install", dir]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = p.run(&["disable", name]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!wants.exists());

    let o = p.run(&["install", dir]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains(&left_disabled(name)), "{err}");
    assert!(!wants.exists(), "re-install enabled it again: {err}");
    let s = status_of(p, name);
    assert_eq!(
        (s["enabled"].as_str(), s["state"].as_str()),
        (Some("disabled"), Some("inactive")),
        "after re-install: {s:#}"
    );

    let o = p.run(&["start"]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert_eq!(err.matches(&left_disabled(name)).count(), 1, "{err}");
    let s = status_of(p, name);
    assert_eq!(s["state"], "inactive", "the suite start started it: {s:#}");

    // Asked for by name, it starts (and stays disabled).
    let o = p.run(&["start", name]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = status_of(p, name);
    assert_eq!(
        (s["enabled"].as_str(), s["state"].as_str()),
        (Some("disabled"), Some("active")),
        "{s:#}"
    );
}
