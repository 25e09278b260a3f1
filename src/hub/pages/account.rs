//! `/account`: the signed-in user's own page — change password, two-factor
//! sign-in (enroll with a QR code and backup codes, or turn off), and the
//! tokens and app grants they hold, each with a revoke button.
//!
//! Every form carries the CSRF token and every POST starts with
//! [`csrf::check`]. Anything that takes the password (change it, start 2FA
//! enrollment, turn 2FA off) passes seed 001's change-password limit, 3 / 5
//! min per user; confirming an enrollment code has its own limit. A stolen
//! session alone cannot change the password or the second factor.
//!
//! A password change ends every session of the user (this browser gets a
//! fresh one), forgets their pending logins, and revokes the tokens they got
//! by signing in (OAuth), as upstream does; tokens minted at the CLI with
//! the operator token stay (see `store::account`).

use std::fmt::Write as _;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::{document, error_page, escape, html, see_other};
use crate::hub::error::ApiError;
use crate::hub::ratelimit::{self, Limit};
use crate::hub::session::{self, MaybeSession, SignedIn, with_cookie};
use crate::hub::{HubState, csrf};
use crate::identity::password::{self, Password};
use crate::identity::{backup_codes, totp};
use crate::store::{self, two_factor::TotpRow};

pub const PATH: &str = "/account";
/// Shortest new password accepted here (upstream's rule for users).
pub const MIN_PASSWORD: usize = 12;
/// Confirming an enrollment: 10 codes / 15 min per user (upstream's JSON
/// confirm limit; the code space is small, so it is limited like a login).
pub const ENROLL_CONFIRM: Limit = Limit {
    bucket: "totp_enroll_confirm",
    max: 10,
    window_secs: 15 * 60,
};

fn unavailable(e: impl std::fmt::Display) -> ApiError {
    ApiError::Unavailable(e.to_string())
}

fn when(secs: i64) -> String {
    jiff::Timestamp::from_second(secs).map_or_else(
        |_| secs.to_string(),
        |t| t.strftime("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

/// A message at the top of the page.
struct Notice {
    error: bool,
    text: String,
}

impl Notice {
    fn ok(text: &str) -> Self {
        Self {
            error: false,
            text: text.into(),
        }
    }
    fn err(text: impl Into<String>) -> Self {
        Self {
            error: true,
            text: text.into(),
        }
    }
}

/// `?done=` keys a successful POST redirects with (a fixed set: nothing
/// from the query string is echoed into the page).
fn done_message(key: &str) -> Option<&'static str> {
    Some(match key {
        "password" => {
            "Password changed. Every other session was signed out and apps must sign in again."
        }
        "2fa-off" => "Two-factor sign-in is off.",
        "2fa-on" => "Two-factor sign-in is on.",
        "token" => "Token revoked.",
        "grant" => "App access revoked.",
        _ => return None,
    })
}

fn hidden_csrf(value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        csrf::FIELD,
        escape(value)
    )
}

/// A page with the CSRF cookie set if the browser lacks one.
fn respond(
    state: &HubState,
    headers: &HeaderMap,
    status: StatusCode,
    build: impl FnOnce(&str) -> String,
) -> Response {
    let token = csrf::token(state, headers);
    let r = html(status, build(&token.value));
    match token.set_cookie {
        Some(c) => with_cookie(r, c),
        None => r,
    }
}

/// Everything the overview shows.
struct Overview {
    totp: Option<TotpRow>,
    backup_left: u32,
    tokens: Vec<store::tokens::TokenRow>,
    grants: Vec<store::grants::Grant>,
}

fn load(state: &HubState, user_id: &str, now: i64) -> Result<Overview, ApiError> {
    let conn = state.store().conn().map_err(unavailable)?;
    Ok(Overview {
        totp: store::two_factor::totp(&conn, user_id).map_err(ApiError::internal)?,
        backup_left: store::two_factor::backup_codes_left(&conn, user_id)
            .map_err(ApiError::internal)?,
        tokens: store::account::live_tokens(&conn, user_id, now).map_err(ApiError::internal)?,
        grants: store::account::grants(&conn, user_id).map_err(ApiError::internal)?,
    })
}

fn overview_body(me: &SignedIn, o: &Overview, csrf_value: &str, notice: Option<&Notice>) -> String {
    let c = hidden_csrf(csrf_value);
    let notice = notice.map_or_else(String::new, |n| {
        format!(
            "<p class=\"{}\" role=\"{}\">{}</p>",
            if n.error { "error" } else { "ok" },
            if n.error { "alert" } else { "status" },
            escape(&n.text)
        )
    });
    let password_field = |id: &str, label: &str, auto: &str| {
        format!(
            "<label for=\"{id}\">{label}</label><input type=\"password\" id=\"{id}\" name=\"{id}\" autocomplete=\"{auto}\" maxlength=\"{max}\" required>",
            max = password::MAX_LEN
        )
    };
    let two_factor = match &o.totp {
        Some(t) if t.enabled() => format!(
            "<p id=\"two-factor-status\">On since {since}. {left} of {total} backup codes left.</p>\
<form method=\"post\" action=\"/account/2fa/disable\">{c}{pw}<button type=\"submit\">Turn off two-factor sign-in</button></form>",
            since = escape(&when(t.enabled_at.unwrap_or(t.created_at))),
            left = o.backup_left,
            total = backup_codes::COUNT,
            pw = password_field("disable_password", "Password", "current-password"),
        ),
        other => format!(
            "<p id=\"two-factor-status\">Off.{pending} Signing in needs only your password.</p>\
<form method=\"post\" action=\"/account/2fa/enroll\">{c}{pw}<button type=\"submit\">Set up two-factor sign-in</button></form>",
            pending = if other.is_some() {
                " (A setup was started but not finished.)"
            } else {
                ""
            },
            pw = password_field("enroll_password", "Password", "current-password"),
        ),
    };
    let tokens = if o.tokens.is_empty() {
        "<p>No live tokens.</p>".to_string()
    } else {
        let rows = o.tokens.iter().fold(String::new(), |mut rows, t| {
                let _ = write!(
                    rows,
                    "<tr><td><code>{scopes}</code></td><td>{client}</td><td>{via}</td><td>{exp}</td>\
<td><form method=\"post\" action=\"/account/tokens/revoke\">{c}<input type=\"hidden\" name=\"jti\" value=\"{jti}\">\
<button type=\"submit\">Revoke</button></form></td></tr>",
                    scopes = escape(&t.scopes),
                    client = escape(&t.client_id),
                    via = escape(&t.created_via),
                    exp = escape(&when(t.expires_at)),
                    jti = escape(&t.jti),
                );
                rows
            });
        format!(
            "<table><thead><tr><th>Scopes</th><th>Client</th><th>Made by</th><th>Expires</th><th></th></tr></thead><tbody>{rows}</tbody></table>"
        )
    };
    let grants = if o.grants.is_empty() {
        "<p>No apps have access.</p>".to_string()
    } else {
        let rows = o.grants.iter().fold(String::new(), |mut rows, g| {
                let _ = write!(
                    rows,
                    "<tr><td>{name}</td><td><code>{scopes}</code></td><td>{at}</td>\
<td><form method=\"post\" action=\"/account/grants/revoke\">{c}<input type=\"hidden\" name=\"client_id\" value=\"{id}\">\
<button type=\"submit\">Revoke</button></form></td></tr>",
                    name = escape(g.client_name.as_deref().unwrap_or(&g.client_id)),
                    scopes = escape(&g.scopes),
                    at = escape(&when(g.granted_at)),
                    id = escape(&g.client_id),
                );
                rows
            });
        format!(
            "<table><thead><tr><th>App</th><th>Scopes</th><th>Since</th><th></th></tr></thead><tbody>{rows}</tbody></table>"
        )
    };
    document(
        "Your account",
        &format!(
            "<h1>Your account</h1>{notice}\
<p>Signed in as <strong id=\"username\">{user}</strong>{owner}.</p>\
<form method=\"post\" action=\"/logout\">{c}<button type=\"submit\">Sign out</button></form>\
<section id=\"two-factor\"><h2>Two-factor sign-in</h2>{two_factor}</section>\
<section id=\"password\"><h2>Change password</h2>\
<form method=\"post\" action=\"/account/password\">{c}{cur}{new}{again}\
<button type=\"submit\">Change password</button></form>\
<p>Changing it signs out every other session and revokes the tokens apps got by signing in as you.</p></section>\
<section id=\"grants\"><h2>Apps with access</h2>{grants}</section>\
<section id=\"tokens\"><h2>Tokens</h2>{tokens}</section>",
            user = escape(&me.user.username),
            owner = if me.is_owner { " (owner)" } else { "" },
            cur = password_field("current_password", "Current password", "current-password"),
            new = password_field(
                "new_password",
                &format!("New password (at least {MIN_PASSWORD} characters)"),
                "new-password"
            ),
            again = password_field("new_password_again", "New password again", "new-password"),
        ),
    )
}

/// The overview, with an optional notice, at `status`.
fn overview(
    state: &HubState,
    headers: &HeaderMap,
    me: &SignedIn,
    status: StatusCode,
    notice: Option<&Notice>,
) -> Result<Response, ApiError> {
    let o = load(state, &me.user.id, crate::tokens::now())?;
    Ok(respond(state, headers, status, |c| {
        overview_body(me, &o, c, notice)
    }))
}

fn sign_in_first() -> Response {
    see_other(&format!("/login?next={PATH}"))
}

#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

/// `GET /account`.
pub async fn show(
    State(state): State<HubState>,
    MaybeSession(me): MaybeSession,
    headers: HeaderMap,
    Query(q): Query<DoneQuery>,
) -> Result<Response, ApiError> {
    let Some(me) = me else {
        return Ok(sign_in_first());
    };
    let notice = q.done.as_deref().and_then(done_message).map(Notice::ok);
    overview(&state, &headers, &me, StatusCode::OK, notice.as_ref())
}

/// The CSRF and session checks every POST here starts with.
fn gate(
    state: &HubState,
    headers: &HeaderMap,
    me: Option<SignedIn>,
    submitted: &str,
) -> Result<SignedIn, Box<Response>> {
    if let Err(why) = csrf::check(state, headers, submitted) {
        return Err(Box::new(error_page(
            StatusCode::FORBIDDEN,
            "Request refused",
            why.message(),
        )));
    }
    me.ok_or_else(|| Box::new(sign_in_first()))
}

/// Count a password-bearing attempt; `Err` is the 429 page.
fn limit(
    state: &HubState,
    headers: &HeaderMap,
    me: &SignedIn,
    which: Limit,
) -> Result<Result<(), Response>, ApiError> {
    let now = crate::tokens::now();
    match ratelimit::check(state, which, &me.user.id, now)? {
        Ok(()) => Ok(Ok(())),
        Err(limited) => {
            let msg = format!(
                "Too many attempts. Try again in {} seconds.",
                limited.retry_after
            );
            let mut r = overview(
                state,
                headers,
                me,
                StatusCode::TOO_MANY_REQUESTS,
                Some(&Notice::err(msg)),
            )?;
            let (k, v) = limited.header();
            r.headers_mut().insert(k, v);
            Ok(Err(r))
        }
    }
}

/// Whether `typed` is the user's password (argon2 off the async threads).
async fn password_ok(me: &SignedIn, typed: String) -> bool {
    typed.len() <= password::MAX_LEN
        && password::verify_off_thread(Password::new(typed), me.user.password_hash.clone()).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_again: String,
    #[serde(rename = "__csrf", default)]
    csrf: String,
}

/// `POST /account/password`.
pub async fn change_password(
    State(state): State<HubState>,
    MaybeSession(me): MaybeSession,
    headers: HeaderMap,
    Form(f): Form<PasswordForm>,
) -> Result<Response, ApiError> {
    let me = match gate(&state, &headers, me, &f.csrf) {
        Ok(m) => m,
        Err(r) => return Ok(*r),
    };
    if let Err(r) = limit(&state, &headers, &me, ratelimit::CHANGE_PASSWORD)? {
        return Ok(r);
    }
    let bad = |status, msg: &str| overview(&state, &headers, &me, status, Some(&Notice::err(msg)));
    if f.new_password.len() > password::MAX_LEN || f.current_password.len() > password::MAX_LEN {
        return bad(StatusCode::PAYLOAD_TOO_LARGE, "That password is too long.");
    }
    if f.new_password.chars().count() < MIN_PASSWORD {
        return bad(
            StatusCode::BAD_REQUEST,
            &format!("The new password must have at least {MIN_PASSWORD} characters."),
        );
    }
    if f.new_password != f.new_password_again {
        return bad(StatusCode::BAD_REQUEST, "The two new passwords differ.");
    }
    if !password_ok(&me, f.current_password).await {
        tracing::info!(user_id = %me.user.id, "password change: wrong current password");
        return bad(
            StatusCode::UNAUTHORIZED,
            "The current password is not right.",
        );
    }
    let phc = password::hash_off_thread(Password::new(f.new_password))
        .await
        .map_err(ApiError::internal)?;
    let now = crate::tokens::now();
    let store = state.store();
    let revoked = store
        .write(|tx| {
            let sql = |e| store.err(e);
            store::users::set_password(tx, &me.user.id, &phc, now).map_err(sql)?;
            store::sessions::delete_for_user(tx, &me.user.id).map_err(sql)?;
            store::account::forget_pending_logins(tx, &me.user.id).map_err(sql)?;
            store::account::revoke_signed_in_tokens(tx, &me.user.id, now).map_err(sql)
        })
        .map_err(ApiError::internal)?;
    tracing::info!(user_id = %me.user.id, revoked, "password changed; sessions ended");
    // This browser stays signed in, on a new session.
    let cookie = session::start(&state, &me.user.id, None, now)?;
    Ok(with_cookie(see_other("/account?done=password"), cookie))
}

#[derive(Deserialize)]
pub struct PasswordOnlyForm {
    #[serde(default, alias = "enroll_password", alias = "disable_password")]
    password: String,
    #[serde(rename = "__csrf", default)]
    csrf: String,
}

fn setup_body(
    me: &SignedIn,
    secret: &totp::Secret,
    csrf_value: &str,
    error: Option<&str>,
) -> String {
    let uri = totp::otpauth_uri(secret, &me.user.username);
    let qr = totp::qr_svg(&uri).unwrap_or_default();
    let grouped = secret
        .to_base32()
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let error = error.map_or_else(String::new, |e| {
        format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e))
    });
    document(
        "Set up two-factor sign-in",
        &format!(
            "<h1>Set up two-factor sign-in</h1>{error}\
<p>1. Scan this code with your authenticator app (any TOTP app: 6 digits, every 30 seconds).</p>\
<div id=\"qr\" style=\"width:220px\">{qr}</div>\
<p>Or enter this key by hand: <code id=\"totp-secret\">{grouped}</code></p>\
<details><summary>Setup link</summary><p><code id=\"otpauth-uri\" style=\"word-break:break-all\">{uri}</code></p></details>\
<p>2. Type the code the app shows now. Two-factor sign-in is switched on only once this code checks out.</p>\
<form method=\"post\" action=\"/account/2fa/confirm\">{c}\
<label for=\"code\">Code</label><input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" \
autocomplete=\"one-time-code\" maxlength=\"12\" required autofocus>\
<button type=\"submit\">Turn on</button></form>\
<p><a href=\"{PATH}\">Cancel</a></p>",
            grouped = escape(&grouped),
            uri = escape(&uri),
            c = hidden_csrf(csrf_value),
        ),
    )
}

/// `POST /account/2fa/enroll`: check the password, start enrollment with a
/// fresh secret, show it.
pub async fn enroll(
    State(state): State<HubState>,
    MaybeSession(me): MaybeSession,
    headers: HeaderMap,
    Form(f): Form<PasswordOnlyForm>,
) -> Result<Response, ApiError> {
    let me = match gate(&state, &headers, me, &f.csrf) {
        Ok(m) => m,
        Err(r) => return Ok(*r),
    };
    if let Err(r) = limit(&state, &headers, &me, ratelimit::CHANGE_PASSWORD)? {
        return Ok(r);
    }
    if !password_ok(&me, f.password).await {
        return overview(
            &state,
            &headers,
            &me,
            StatusCode::UNAUTHORIZED,
            Some(&Notice::err("The password is not right.")),
        );
    }
    let secret = totp::Secret::generate();
    let now = crate::tokens::now();
    let store = state.store();
    let started = store
        .write(|tx| {
            store::two_factor::start_enrollment(tx, &me.user.id, &secret.to_base32(), now)
                .map_err(|e| store.err(e))
        })
        .map_err(ApiError::internal)?;
    if !started {
        return overview(
            &state,
            &headers,
            &me,
            StatusCode::CONFLICT,
            Some(&Notice::err(
                "Two-factor sign-in is already on. Turn it off first to move to a new app.",
            )),
        );
    }
    Ok(respond(&state, &headers, StatusCode::OK, |c| {
        setup_body(&me, &secret, c, None)
    }))
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(rename = "__csrf", default)]
    csrf: String,
}

fn backup_codes_body(codes: &[String]) -> String {
    let items = codes.iter().fold(String::new(), |mut items, c| {
        let _ = write!(items, "<li><code>{}</code></li>", escape(c));
        items
    });
    document(
        "Two-factor sign-in is on",
        &format!(
            "<h1>Two-factor sign-in is on</h1>\
<p>These are your backup codes. Each works once, in place of a code from the app, \
if you lose your phone. Keep them somewhere safe: <strong>they are not shown again</strong>.</p>\
<ul id=\"backup-codes\">{items}</ul>\
<p><a href=\"{PATH}?done=2fa-on\">I have saved them — back to my account</a></p>"
        ),
    )
}

/// `POST /account/2fa/confirm`: the first code from the app switches 2FA
/// on; the backup codes are shown once.
pub async fn confirm(
    State(state): State<HubState>,
    MaybeSession(me): MaybeSession,
    headers: HeaderMap,
    Form(f): Form<CodeForm>,
) -> Result<Response, ApiError> {
    let me = match gate(&state, &headers, me, &f.csrf) {
        Ok(m) => m,
        Err(r) => return Ok(*r),
    };
    if let Err(r) = limit(&state, &headers, &me, ENROLL_CONFIRM)? {
        return Ok(r);
    }
    let row = {
        let conn = state.store().conn().map_err(unavailable)?;
        store::two_factor::totp(&conn, &me.user.id).map_err(ApiError::internal)?
    };
    let Some(row) = row.filter(|r| !r.enabled()) else {
        return overview(
            &state,
            &headers,
            &me,
            StatusCode::CONFLICT,
            Some(&Notice::err(
                "There is no setup to finish. Start it again below.",
            )),
        );
    };
    let secret = totp::Secret::from_base32(&row.secret)
        .ok_or_else(|| ApiError::internal("stored TOTP secret is not base32"))?;
    let now = crate::tokens::now();
    let totp::Check::Accepted { step } = totp::verify(&secret, &f.code, now, None) else {
        return Ok(respond(&state, &headers, StatusCode::UNAUTHORIZED, |c| {
            setup_body(
                &me,
                &secret,
                c,
                Some(
                    "That code is not right. Check that the app's clock is right and type the code it shows now.",
                ),
            )
        }));
    };
    let codes = backup_codes::generate();
    let hashes: Vec<String> = codes.iter().filter_map(|c| backup_codes::hash(c)).collect();
    let store = state.store();
    let enabled = store
        .write(|tx| {
            let sql = |e| store.err(e);
            // Still the secret the code was checked against?
            let same = store::two_factor::totp(tx, &me.user.id)
                .map_err(sql)?
                .is_some_and(|r| r.secret == row.secret);
            if !same {
                return Ok(false);
            }
            store::two_factor::enable(tx, &me.user.id, step, &hashes, now).map_err(sql)
        })
        .map_err(ApiError::internal)?;
    if !enabled {
        return overview(
            &state,
            &headers,
            &me,
            StatusCode::CONFLICT,
            Some(&Notice::err(
                "The setup changed meanwhile (another tab?). Start it again.",
            )),
        );
    }
    ratelimit::clear(&state, ENROLL_CONFIRM, &me.user.id)?;
    tracing::info!(user_id = %me.user.id, "two-factor sign-in turned on");
    Ok(html(StatusCode::OK, backup_codes_body(&codes)))
}

/// `POST /account/2fa/disable`: needs the password.
pub async fn disable(
    State(state): State<HubState>,
    MaybeSession(me): MaybeSession,
    headers: HeaderMap,
    Form(f): Form<PasswordOnlyForm>,
) -> Result<Response, ApiError> {
    let me = match gate(&state, &headers, me, &f.csrf) {
        Ok(m) => m,
        Err(r) => return Ok(*r),
    };
    if let Err(r) = limit(&state, &headers, &me, ratelimit::CHANGE_PASSWORD)? {
        return Ok(r);
    }
    if !password_ok(&me, f.password).await {
        return overview(
            &state,
            &headers,
            &me,
            StatusCode::UNAUTHORIZED,
            Some(&Notice::err(
                "The password is not right; two-factor sign-in is still on.",
            )),
        );
    }
    let store = state.store();
    store
        .write(|tx| store::two_factor::disable(tx, &me.user.id).map_err(|e| store.err(e)))
        .map_err(ApiError::internal)?;
    tracing::info!(user_id = %me.user.id, "two-factor sign-in turned off");
    Ok(see_other("/account?done=2fa-off"))
}

#[derive(Deserialize)]
pub struct RevokeTokenForm {
    #[serde(default)]
    jti: String,
    #[serde(rename = "__csrf", default)]
    csrf: String,
}

/// `POST /account/tokens/revoke`: only the user's own live tokens.
pub async fn revoke_token(
    State(state): State<HubState>,
    MaybeSession(me): MaybeSession,
    headers: HeaderMap,
    Form(f): Form<RevokeTokenForm>,
) -> Result<Response, ApiError> {
    let me = match gate(&state, &headers, me, &f.csrf) {
        Ok(m) => m,
        Err(r) => return Ok(*r),
    };
    let now = crate::tokens::now();
    let store = state.store();
    let done = store
        .write(|tx| {
            store::account::revoke_token(tx, &me.user.id, &f.jti, now).map_err(|e| store.err(e))
        })
        .map_err(ApiError::internal)?;
    if !done {
        return overview(
            &state,
            &headers,
            &me,
            StatusCode::NOT_FOUND,
            Some(&Notice::err("That token is not one of your live tokens.")),
        );
    }
    Ok(see_other("/account?done=token"))
}

#[derive(Deserialize)]
pub struct RevokeGrantForm {
    #[serde(default)]
    client_id: String,
    #[serde(rename = "__csrf", default)]
    csrf: String,
}

/// `POST /account/grants/revoke`: withdraw consent and the app's tokens.
pub async fn revoke_grant(
    State(state): State<HubState>,
    MaybeSession(me): MaybeSession,
    headers: HeaderMap,
    Form(f): Form<RevokeGrantForm>,
) -> Result<Response, ApiError> {
    let me = match gate(&state, &headers, me, &f.csrf) {
        Ok(m) => m,
        Err(r) => return Ok(*r),
    };
    let now = crate::tokens::now();
    let store = state.store();
    let done = store
        .write(|tx| {
            store::account::revoke_grant(tx, &me.user.id, &f.client_id, now)
                .map_err(|e| store.err(e))
        })
        .map_err(ApiError::internal)?;
    match done {
        None => overview(
            &state,
            &headers,
            &me,
            StatusCode::NOT_FOUND,
            Some(&Notice::err("That app has no access to revoke.")),
        ),
        Some(tokens) => {
            tracing::info!(user_id = %me.user.id, client_id = %f.client_id, tokens, "grant revoked");
            Ok(see_other("/account?done=grant"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_keys_are_a_fixed_set() {
        assert!(done_message("password").is_some());
        assert!(done_message("<script>").is_none());
    }
}
