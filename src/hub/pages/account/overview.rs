//! `GET /account`: the overview page every account handler answers with
//! (alone, or with a notice on top).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::super::extract::PageSession;
use super::super::kit::{Notice, form_page};
use super::super::{PageError, read};
use super::sign_in_first;
use crate::hub::session::SignedIn;
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

/// The two-factor section.
enum TwoFactor {
    On {
        since: String,
        left: u32,
    },
    /// `started`: an enrollment was begun and not finished.
    Off {
        started: bool,
    },
}

impl TwoFactor {
    fn new(totp: Option<&TotpRow>, backup_left: u32) -> Self {
        match totp {
            Some(t) if t.enabled() => Self::On {
                since: when(t.enabled_at.unwrap_or(t.created_at)),
                left: backup_left,
            },
            other => Self::Off {
                started: other.is_some(),
            },
        }
    }
}

/// One row of the tokens table; the CLI's own token is rotated, never
/// just revoked (see `tokens::rotate_operator`).
struct TokenItem {
    scopes: String,
    client_id: String,
    made_by: String,
    expires: String,
    jti: String,
    operator: bool,
}

/// One row of the apps table.
struct GrantItem {
    name: String,
    scopes: String,
    since: String,
    client_id: String,
}

/// `templates/account/overview.html`.
#[derive(Template, WebTemplate)]
#[template(path = "account/overview.html")]
struct Page<'a> {
    csrf: String,
    notice: Option<Notice>,
    username: &'a str,
    is_owner: bool,
    two_factor: TwoFactor,
    backup_total: usize,
    password_max: usize,
    new_password_label: String,
    grants: Vec<GrantItem>,
    tokens: Vec<TokenItem>,
}

/// Everything the overview shows but the CSRF token and the notice.
struct Facts {
    two_factor: TwoFactor,
    tokens: Vec<TokenItem>,
    grants: Vec<GrantItem>,
}

fn token_items(
    conn: &rusqlite::Connection,
    user_id: &str,
    now: i64,
) -> rusqlite::Result<Vec<TokenItem>> {
    let rows = store::account::live_tokens(conn, user_id, now)?;
    rows.into_iter()
        .map(|t| {
            Ok(TokenItem {
                made_by: crate::tokens::origin::describe(conn, &t)?,
                expires: when(t.expires_at),
                operator: t.created_via == operator::CREATED_VIA,
                scopes: t.scopes,
                client_id: t.client_id,
                jti: t.jti,
            })
        })
        .collect()
}

fn load(conn: &rusqlite::Connection, user_id: &str, now: i64) -> rusqlite::Result<Facts> {
    let totp = store::two_factor::totp(conn, user_id)?;
    let left = store::two_factor::backup_codes_left(conn, user_id)?;
    let grants = store::account::grants(conn, user_id)?
        .into_iter()
        .map(|g| GrantItem {
            name: g.client_name.clone().unwrap_or_else(|| g.client_id.clone()),
            since: when(g.granted_at),
            scopes: g.scopes,
            client_id: g.client_id,
        })
        .collect();
    Ok(Facts {
        two_factor: TwoFactor::new(totp.as_ref(), left),
        tokens: token_items(conn, user_id, now)?,
        grants,
    })
}

/// The overview, with an optional notice, at `status`.
pub(super) fn overview(
    state: &HubState,
    headers: &HeaderMap,
    me: &SignedIn,
    status: StatusCode,
    notice: Option<Notice>,
) -> Result<Response, PageError> {
    let facts = read(state, |conn, now| load(conn, &me.user.id, now))?;
    Ok(form_page(state, headers, status, |csrf| Page {
        csrf,
        notice,
        username: &me.user.username,
        is_owner: me.is_owner,
        two_factor: facts.two_factor,
        backup_total: backup_codes::COUNT,
        password_max: password::MAX_LEN,
        new_password_label: format!("New password (at least {} characters)", password::MIN_CHARS),
        grants: facts.grants,
        tokens: facts.tokens,
    }))
}

#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

/// `GET /account`.
pub async fn show(
    State(state): State<HubState>,
    PageSession(me): PageSession,
    headers: HeaderMap,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let Some(me) = me else {
        return Ok(sign_in_first());
    };
    let notice = q.done.as_deref().and_then(done_message).map(Notice::ok);
    overview(&state, &headers, &me, StatusCode::OK, notice)
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
