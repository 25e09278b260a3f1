//! `GET /account`: the overview page every account handler answers with
//! (alone, or with a notice on top).

use std::fmt::Write as _;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::super::{document, escape};
use super::{hidden_csrf, respond, sign_in_first, unavailable};
use crate::hub::error::ApiError;
use crate::hub::session::{MaybeSession, SignedIn};
use crate::hub::state::HubState;
use crate::identity::{backup_codes, password};
use crate::store::{self, two_factor::TotpRow};
use crate::tokens::operator;

fn when(secs: i64) -> String {
    jiff::Timestamp::from_second(secs).map_or_else(
        |_| secs.to_string(),
        |t| t.strftime("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

/// A message at the top of the page.
pub(super) struct Notice {
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
    pub(super) fn err(text: impl Into<String>) -> Self {
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
        "operator" => {
            "Operator token rotated: a new one is in operator.token and the old one is revoked."
        }
        "grant" => "App access revoked.",
        _ => return None,
    })
}

/// Everything the overview shows.
struct Overview {
    totp: Option<TotpRow>,
    backup_left: u32,
    tokens: Vec<store::tokens::TokenRow>,
    /// Each token's origin by jti (`tokens::origin::describe`).
    origins: std::collections::HashMap<String, String>,
    grants: Vec<store::grants::Grant>,
}

fn load(state: &HubState, user_id: &str, now: i64) -> Result<Overview, ApiError> {
    let conn = state.store().conn().map_err(unavailable)?;
    let tokens = store::account::live_tokens(&conn, user_id, now).map_err(ApiError::internal)?;
    let origins = tokens
        .iter()
        .map(|t| Ok((t.jti.clone(), crate::tokens::origin::describe(&conn, t)?)))
        .collect::<rusqlite::Result<_>>()
        .map_err(ApiError::internal)?;
    Ok(Overview {
        totp: store::two_factor::totp(&conn, user_id).map_err(ApiError::internal)?,
        backup_left: store::two_factor::backup_codes_left(&conn, user_id)
            .map_err(ApiError::internal)?,
        tokens,
        origins,
        grants: store::account::grants(&conn, user_id).map_err(ApiError::internal)?,
    })
}

/// The button of one token row: the CLI's own token is replaced, never
/// just revoked (see `tokens::rotate_operator`).
fn token_action(t: &store::tokens::TokenRow, c: &str) -> String {
    if t.created_via == operator::CREATED_VIA {
        format!(
            "<form method=\"post\" action=\"/account/tokens/rotate-operator\">{c}\
<button type=\"submit\">Rotate</button></form> <small>the CLI's operator token: a new one replaces it in operator.token</small>"
        )
    } else {
        format!(
            "<form method=\"post\" action=\"/account/tokens/revoke\">{c}<input type=\"hidden\" name=\"jti\" value=\"{jti}\">\
<button type=\"submit\">Revoke</button></form>",
            jti = escape(&t.jti),
        )
    }
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
                let action = token_action(t, &c);
                let _ = write!(
                    rows,
                    "<tr><td><code>{scopes}</code></td><td>{client}</td><td>{via}</td><td>{exp}</td><td>{action}</td></tr>",
                    scopes = escape(&t.scopes),
                    client = escape(&t.client_id),
                    via = escape(&o.origins.get(&t.jti).cloned().unwrap_or_default()),
                    exp = escape(&when(t.expires_at)),
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
                &format!("New password (at least {} characters)", password::MIN_CHARS),
                "new-password"
            ),
            again = password_field("new_password_again", "New password again", "new-password"),
        ),
    )
}

/// The overview, with an optional notice, at `status`.
pub(super) fn overview(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_keys_are_a_fixed_set() {
        assert!(done_message("password").is_some());
        assert!(done_message("<script>").is_none());
    }
}
