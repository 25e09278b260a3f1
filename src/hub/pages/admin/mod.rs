//! `/admin`: the owner's pages over the same operations the CLI runs — the
//! hub and its services (`lifecycle::status`, `lifecycle::ops` through
//! `HubState::host`), tokens, OAuth clients and grants, and security
//! (sessions, signing keys). `/` lands here.
//!
//! Only the owner sees them (another user is sent to `/account`'s 403
//! page; no session, to `/login`). Every form carries the CSRF token and
//! every POST starts with [`admit`] (CSRF and Origin, then the owner's
//! session) and ends in a 303 back to its page (`?done=` from a fixed set,
//! so nothing from the query string is echoed).

mod clients;
mod format;
mod home;
mod live_log;
mod security;
mod services;
/// The step-up gate, shared with `/account`'s operator-token rotation.
pub(super) mod step_up;
mod tokens;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};

use super::extract::check_csrf;
use super::{PageError, error_page, see_other};
use crate::hub::session::SignedIn;
use crate::hub::state::HubState;

pub const PATH: &str = "/admin";

/// The routes of the admin pages (and `/`).
pub fn routes() -> Router<HubState> {
    Router::new()
        .route("/", get(home::landing))
        .route(PATH, get(home::show))
        .route("/admin/services/{svc}", get(services::show))
        .route(live_log::SCRIPT_PATH, get(live_log::script))
        .route("/admin/services/{svc}/{action}", post(services::act))
        .route("/admin/tokens", get(tokens::show))
        .route("/admin/tokens/revoke", post(tokens::revoke))
        .route("/admin/tokens/mint", post(tokens::mint))
        .route("/admin/clients", get(clients::show))
        .route("/admin/clients/approve", post(clients::approve))
        .route("/admin/clients/deny", post(clients::revoke))
        .route("/admin/clients/revoke", post(clients::revoke))
        .route("/admin/grants", get(clients::grants))
        .route("/admin/grants/revoke", post(clients::revoke_grant))
        .route("/admin/security", get(security::show))
        .route(
            "/admin/security/sign-out-everywhere",
            post(security::sign_out_everywhere),
        )
        .route("/admin/security/rotate-key", post(security::rotate_key))
        .route("/admin/security/pin", post(security::set_pin))
        .route("/admin/step-up", post(step_up::confirm))
}

/// Who is asking: the owner, or the answer to give instead.
enum Gate {
    Owner(SignedIn),
    Answer(Response),
}

/// The signed-in owner, or the answer instead: the sign-in redirect back
/// to `here`, or a 403 page for a user who is not the owner.
fn owner(me: Option<SignedIn>, here: &str) -> Gate {
    match me {
        None => Gate::Answer(see_other(&format!("/login?next={here}"))),
        Some(me) if me.is_owner => Gate::Owner(me),
        Some(_) => Gate::Answer(error_page(
            StatusCode::FORBIDDEN,
            "Owner only",
            "The admin pages are the hub owner's. Your own tokens and apps are on /account.",
        )),
    }
}

/// What every POST here starts with: CSRF (double-submit and Origin), then
/// the owner's session.
fn admit(
    state: &HubState,
    headers: &HeaderMap,
    me: Option<SignedIn>,
    submitted: &str,
    here: &str,
) -> Result<Gate, PageError> {
    check_csrf(state, headers, submitted, "Request refused")?;
    Ok(owner(me, here))
}

/// `?done=` keys a POST redirects with, and what the page then says.
fn done_message(key: &str) -> Option<&'static str> {
    Some(match key {
        "start" => "Started.",
        "restart" => "Restarted.",
        "stop" => "Stopped.",
        "enable" => "Enabled: it starts at login.",
        "disable" => "Disabled: it won't start at login.",
        "failed" => "That did not finish; the log below says why.",
        "revoked" => "Revoked.",
        "approved" => "Approved: the app can now ask for consent.",
        "removed" => "Removed, with its grants and tokens.",
        "signed-out" => "Every other session was signed out.",
        "pin" => "Step-up PIN saved.",
        "rotated" => "A new signing key is published and signs from now on.",
        _ => return None,
    })
}

#[derive(Debug, serde::Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

impl DoneQuery {
    fn notice(&self) -> Option<super::kit::Notice> {
        let key = self.done.as_deref()?;
        let text = done_message(key)?;
        Some(if key == "failed" {
            super::kit::Notice::err(text)
        } else {
            super::kit::Notice::ok(text)
        })
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct CsrfForm {
    #[serde(rename = "__csrf", default)]
    csrf: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_keys_are_a_fixed_set() {
        assert!(done_message("restart").is_some());
        assert!(done_message("<script>").is_none());
        let q = DoneQuery {
            done: Some("failed".into()),
        };
        assert!(q.notice().is_some_and(|n| n.error));
    }
}
