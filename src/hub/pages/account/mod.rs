//! `/account`: the signed-in user's own page — change password, two-factor
//! sign-in (enroll with a QR code and backup codes, or turn off), and the
//! tokens and app grants they hold, each with a revoke button.
//!
//! Every form carries the CSRF token and every POST starts with `admit`
//! (CSRF, then the session). Anything that takes the password (change it,
//! start 2FA enrollment, turn 2FA off) passes seed 001's change-password
//! limit, 3 / 5 min per user; confirming an enrollment code has its own
//! limit. A stolen session alone cannot change the password or the second
//! factor.
//!
//! A password change ends every session of the user (this browser gets a
//! fresh one), forgets their pending logins, and revokes the tokens they got
//! by signing in (OAuth), as upstream does; tokens minted at the CLI with
//! the operator token stay (see `store::account`).

mod overview;
mod password;
mod tokens;
mod two_factor;

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::extract::check_csrf;
use super::kit::Notice;
use super::{PageError, see_other};
use crate::hub::ratelimit::{self, Limit};
use crate::hub::session::SignedIn;
use crate::hub::state::HubState;
use crate::identity::password::{self as pw, Password};

pub use overview::show;
pub use password::change_password;
pub use tokens::{revoke_grant, revoke_token, rotate_operator};
pub use two_factor::{ENROLL_CONFIRM, confirm, disable, enroll};

use overview::overview;

pub const PATH: &str = "/account";

/// The overview at `status` with `msg` as an error notice: how every
/// handler here turns a request down once the user is known.
fn refuse(
    state: &HubState,
    headers: &HeaderMap,
    me: &SignedIn,
    status: StatusCode,
    msg: impl Into<String>,
) -> Result<Response, PageError> {
    overview(state, headers, me, status, Some(Notice::err(msg)))
}

fn sign_in_first() -> Response {
    see_other(&format!("/login?next={PATH}"))
}

/// The checks every POST here starts with: CSRF, the session, and — for
/// password-bearing or code-guessing forms — counting the attempt against
/// `limit`. `Ok(Err(page))` is the answer instead (the sign-in redirect, or
/// the 429 overview); a CSRF failure is the 403 page.
fn admit(
    state: &HubState,
    headers: &HeaderMap,
    me: Option<SignedIn>,
    submitted: &str,
    limit: Option<Limit>,
) -> Result<Result<SignedIn, Response>, PageError> {
    check_csrf(state, headers, submitted, "Request refused")?;
    let Some(me) = me else {
        return Ok(Err(sign_in_first()));
    };
    let Some(which) = limit else {
        return Ok(Ok(me));
    };
    match ratelimit::check(state, which, &me.user.id, state.clock().now())? {
        Ok(()) => Ok(Ok(me)),
        Err(limited) => {
            let msg = format!(
                "Too many attempts. Try again in {} seconds.",
                limited.retry_after
            );
            let mut r = refuse(state, headers, &me, StatusCode::TOO_MANY_REQUESTS, msg)?;
            let (k, v) = limited.header();
            r.headers_mut().insert(k, v);
            Ok(Err(r))
        }
    }
}

/// `admit` under the change-password limit, then the password check for
/// forms whose only secret is the password; a wrong one is a 401 overview
/// saying `wrong`.
async fn admit_with_password(
    state: &HubState,
    headers: &HeaderMap,
    me: Option<SignedIn>,
    submitted: &str,
    typed: String,
    wrong: &str,
) -> Result<Result<SignedIn, Response>, PageError> {
    let me = match admit(
        state,
        headers,
        me,
        submitted,
        Some(ratelimit::CHANGE_PASSWORD),
    )? {
        Ok(me) => me,
        Err(r) => return Ok(Err(r)),
    };
    if !password_ok(&me, typed).await {
        return refuse(state, headers, &me, StatusCode::UNAUTHORIZED, wrong).map(Err);
    }
    Ok(Ok(me))
}

/// Whether `typed` is the user's password (argon2 off the async threads).
async fn password_ok(me: &SignedIn, typed: String) -> bool {
    typed.len() <= pw::MAX_LEN
        && pw::verify_off_thread(Password::new(typed), me.user.password_hash.clone()).await
}
