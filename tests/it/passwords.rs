//! Issue 9 item 12: one password rule (at least 12 characters) for `init`,
//! `auth set-password` and `/account`; a password `init` does not use is
//! reported, not silently dropped.

use super::two_factor::{Web, password_step};
use crate::support::hub::{Home, Hub, PASSWORD, run_with_stdin, stderr};

#[test]
fn init_and_set_password_refuse_a_password_account_would_refuse() {
    for args in [
        &["init", "--password-stdin"][..],
        &["auth", "set-password", "--password-stdin"][..],
    ] {
        let home = Home::empty();
        let o = run_with_stdin(home.cmd(args), "short\n");
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains(
                "the password has 5 characters; it needs at least 12; nothing was changed"
            ),
            "{args:?}: {err}"
        );
        assert!(!home.home().join("operator.token").exists(), "{args:?}");
    }
    // Eleven characters is still one short; twelve is enough.
    let home = Home::empty();
    let o = run_with_stdin(
        home.cmd(&["auth", "set-password", "--password-stdin"]),
        "elevenchars\n",
    );
    assert!(
        stderr(&o).contains("it needs at least 12"),
        "{}",
        stderr(&o)
    );
    let o = run_with_stdin(
        home.cmd(&["auth", "set-password", "--password-stdin"]),
        "twelve chars\n",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        !stderr(&o).contains('⚠'),
        "no warning for an accepted password: {}",
        stderr(&o)
    );
}

#[test]
fn account_applies_the_same_rule() {
    let home = Home::with_owner();
    let hub = Hub::start(&home);
    let mut web = Web::new(hub.addr);
    assert_eq!(password_step(&mut web, "/account").status, 303);
    let page = web.get("/account");
    assert!(
        page.body.contains("New password (at least 12 characters)"),
        "{}",
        page.body
    );
    let r = web.submit(
        "/account",
        "/account/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", "elevenchars"),
            ("new_password_again", "elevenchars"),
        ],
    );
    assert_eq!(r.status, 400, "{r:?}");
    assert!(
        r.body
            .contains("The new password must have at least 12 characters."),
        "{}",
        r.body
    );
}

#[test]
fn init_on_a_hub_with_an_owner_says_the_piped_password_was_not_used() {
    let home = Home::with_owner();
    let token_before = home.operator_token();
    let o = run_with_stdin(
        home.cmd(&["init", "--password-stdin"]),
        "a different password\n",
    );
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains(
            "⚠ the hub already has an owner `owner`; the password on stdin was not used.\n  \
             Change it with: parachute auth set-password --username owner --password-stdin"
        ),
        "{err}"
    );
    assert_eq!(home.operator_token(), token_before, "nothing rotated");
    // The old password still signs in.
    let hub = Hub::start(&home);
    let mut web = Web::new(hub.addr);
    assert_eq!(password_step(&mut web, "/account").location(), "/account");
}
