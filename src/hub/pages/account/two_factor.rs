//! `/account/2fa/*`: set up two-factor sign-in (enroll, then confirm the
//! first code) or turn it off.

use std::fmt::Write as _;

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::super::{document, escape, html, see_other};
use super::{PATH, admit, admit_with_password, hidden_csrf, refuse, respond, unavailable};
use crate::hub::error::ApiError;
use crate::hub::ratelimit::{self, Limit};
use crate::hub::session::{MaybeSession, SignedIn};
use crate::hub::state::HubState;
use crate::identity::{backup_codes, totp};
use crate::store;

/// Confirming an enrollment: 10 codes / 15 min per user (upstream's JSON
/// confirm limit; the code space is small, so it is limited like a login).
pub const ENROLL_CONFIRM: Limit = Limit {
    bucket: "totp_enroll_confirm",
    max: 10,
    window_secs: 15 * 60,
};

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
    let me = match admit_with_password(
        &state,
        &headers,
        me,
        &f.csrf,
        f.password,
        "The password is not right.",
    )
    .await?
    {
        Ok(me) => me,
        Err(r) => return Ok(r),
    };
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
        return refuse(
            &state,
            &headers,
            &me,
            StatusCode::CONFLICT,
            "Two-factor sign-in is already on. Turn it off first to move to a new app.",
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
    let me = match admit(&state, &headers, me, &f.csrf, Some(ENROLL_CONFIRM))? {
        Ok(me) => me,
        Err(r) => return Ok(r),
    };
    let row = {
        let conn = state.store().conn().map_err(unavailable)?;
        store::two_factor::totp(&conn, &me.user.id).map_err(ApiError::internal)?
    };
    let Some(row) = row.filter(|r| !r.enabled()) else {
        return refuse(
            &state,
            &headers,
            &me,
            StatusCode::CONFLICT,
            "There is no setup to finish. Start it again below.",
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
        return refuse(
            &state,
            &headers,
            &me,
            StatusCode::CONFLICT,
            "The setup changed meanwhile (another tab?). Start it again.",
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
    let me = match admit_with_password(
        &state,
        &headers,
        me,
        &f.csrf,
        f.password,
        "The password is not right; two-factor sign-in is still on.",
    )
    .await?
    {
        Ok(me) => me,
        Err(r) => return Ok(r),
    };
    let store = state.store();
    store
        .write(|tx| store::two_factor::disable(tx, &me.user.id).map_err(|e| store.err(e)))
        .map_err(ApiError::internal)?;
    tracing::info!(user_id = %me.user.id, "two-factor sign-in turned off");
    Ok(see_other("/account?done=2fa-off"))
}
