//! The user manager itself, and lingering (without it, services stop at
//! logout and do not start at boot).

use super::{Env, Finding};
use crate::lifecycle::InitSystem;

pub async fn check(env: &Env<'_, impl InitSystem>) -> Vec<Finding> {
    let init = match &env.init {
        Ok(init) => init,
        Err(reason) => {
            return vec![Finding::fail(
                "user-manager",
                reason.clone(),
                "log in as this user directly (not su/sudo) or export XDG_RUNTIME_DIR=/run/user/$(id -u); without systemd run: parachute serve",
            )];
        }
    };
    let manager = Finding::pass(
        "user-manager",
        format!("systemd {} user manager reachable", env.manager_version),
    );
    let user = &env.user;
    let linger = match init.linger().await {
        Some(true) => Finding::pass(
            "linger",
            "lingering is on: services run without a login session",
        ),
        Some(false) => Finding::warn(
            "linger",
            "lingering is off: services stop at logout and do not start at boot",
            format!("loginctl enable-linger {user}"),
        ),
        None => Finding::warn(
            "linger",
            "cannot ask logind whether lingering is on",
            format!("loginctl show-user {user} --property=Linger"),
        ),
    };
    vec![manager, linger]
}
