//! `/account/2fa/*`: set up two-factor sign-in (enroll, then confirm the
//! first code) or turn it off.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::super::extract::{PageForm, PageSession};
use super::super::kit::{Notice, form_page, page};
use super::super::{PageError, read, see_other};
use super::{admit, admit_with_password, refuse};
use crate::hub::ratelimit::{self, Limit};
use crate::hub::session::SignedIn;
use crate::hub::state::HubState;
use crate::identity::{backup_codes, totp};
use crate::store::{self, StoreError};

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

/// `templates/account/setup.html`.
#[derive(Template, WebTemplate)]
#[template(path = "account/setup.html")]
struct Setup {
    csrf: String,
    notice: Option<Notice>,
    /// An SVG drawn by `totp::qr_svg`, inlined unescaped.
    qr: String,
    grouped: String,
    uri: String,
}

/// The setup page for `secret`, `error` on top.
fn setup(
    state: &HubState,
    headers: &HeaderMap,
    me: &SignedIn,
    secret: &totp::Secret,
    error: Option<(StatusCode, &str)>,
) -> Response {
    let uri = totp::otpauth_uri(secret, &me.user.username);
    let grouped = secret
        .to_base32()
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let status = error.map_or(StatusCode::OK, |(s, _)| s);
    form_page(state, headers, status, |csrf| Setup {
        csrf,
        notice: error.map(|(_, e)| Notice::err(e)),
        qr: totp::qr_svg(&uri).unwrap_or_default(),
        grouped,
        uri,
    })
}

/// `POST /account/2fa/enroll`: check the password, start enrollment with a
/// fresh secret, show it.
pub async fn enroll(
    State(state): State<HubState>,
    PageSession(me): PageSession,
    headers: HeaderMap,
    PageForm(f): PageForm<PasswordOnlyForm>,
) -> Result<Response, PageError> {
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
    let store = state.store();
    let now = state.clock().now();
    let started = store.write(|tx| {
        store::two_factor::start_enrollment(tx, &me.user.id, &secret.to_base32(), now)
            .map_err(|e| store.err(e))
    })?;
    if !started {
        return refuse(
            &state,
            &headers,
            &me,
            StatusCode::CONFLICT,
            "Two-factor sign-in is already on. Turn it off first to move to a new app.",
        );
    }
    Ok(setup(&state, &headers, &me, &secret, None))
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(rename = "__csrf", default)]
    csrf: String,
}

/// `templates/account/backup_codes.html`: shown once.
#[derive(Template, WebTemplate)]
#[template(path = "account/backup_codes.html")]
struct BackupCodes {
    codes: Vec<String>,
}

/// Switch TOTP on with `step` spent and `codes` as backup codes, if the
/// setup is still the one with `secret` (another tab may have restarted it).
fn switch_on(
    state: &HubState,
    me: &SignedIn,
    secret: &str,
    step: u64,
    codes: &[String],
    now: i64,
) -> Result<bool, StoreError> {
    let hashes: Vec<String> = codes.iter().filter_map(|c| backup_codes::hash(c)).collect();
    let store = state.store();
    store.write(|tx| {
        let sql = |e| store.err(e);
        let same = store::two_factor::totp(tx, &me.user.id)
            .map_err(sql)?
            .is_some_and(|r| r.secret == secret);
        if !same {
            return Ok(false);
        }
        store::two_factor::enable(tx, &me.user.id, step, &hashes, now).map_err(sql)
    })
}

/// `POST /account/2fa/confirm`: the first code from the app switches 2FA
/// on; the backup codes are shown once.
pub async fn confirm(
    State(state): State<HubState>,
    PageSession(me): PageSession,
    headers: HeaderMap,
    PageForm(f): PageForm<CodeForm>,
) -> Result<Response, PageError> {
    let me = match admit(&state, &headers, me, &f.csrf, Some(ENROLL_CONFIRM))? {
        Ok(me) => me,
        Err(r) => return Ok(r),
    };
    let row = read(&state, |conn, _| store::two_factor::totp(conn, &me.user.id))?;
    let Some(row) = row.filter(|r| !r.enabled()) else {
        let msg = "There is no setup to finish. Start it again below.";
        return refuse(&state, &headers, &me, StatusCode::CONFLICT, msg);
    };
    let secret = totp::Secret::from_base32(&row.secret)
        .ok_or_else(|| PageError::internal("stored TOTP secret is not base32"))?;
    let now = state.clock().now();
    let totp::Check::Accepted { step } = totp::verify(&secret, &f.code, now, None) else {
        let msg = "That code is not right. Check that the app's clock is right and type the code it shows now.";
        let error = Some((StatusCode::UNAUTHORIZED, msg));
        return Ok(setup(&state, &headers, &me, &secret, error));
    };
    let codes = backup_codes::generate();
    if !switch_on(&state, &me, &row.secret, step, &codes, now)? {
        let msg = "The setup changed meanwhile (another tab?). Start it again.";
        return refuse(&state, &headers, &me, StatusCode::CONFLICT, msg);
    }
    ratelimit::clear(&state, ENROLL_CONFIRM, &me.user.id)?;
    tracing::info!(user_id = %me.user.id, "two-factor sign-in turned on");
    Ok(page(StatusCode::OK, BackupCodes { codes }))
}

/// `POST /account/2fa/disable`: needs the password.
pub async fn disable(
    State(state): State<HubState>,
    PageSession(me): PageSession,
    headers: HeaderMap,
    PageForm(f): PageForm<PasswordOnlyForm>,
) -> Result<Response, PageError> {
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
    store.write(|tx| store::two_factor::disable(tx, &me.user.id).map_err(|e| store.err(e)))?;
    tracing::info!(user_id = %me.user.id, "two-factor sign-in turned off");
    Ok(see_other("/account?done=2fa-off"))
}
