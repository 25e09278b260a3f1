//! `/login/2fa`: the second step of signing in. The password step left a
//! pending login, named by the `parachute_hub_pending_login` cookie
//! (Path=/login, 5 minutes); this page takes a code from the authenticator
//! app or a backup code and finishes the sign-in.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::{PENDING_COOKIE, clear_pending, finish};
use crate::hub::pages::PageError;
use crate::hub::pages::extract::{PageForm, check_csrf};
use crate::hub::pages::kit::{Notice, form_page, page};
use crate::hub::ratelimit::ClientIp;
use crate::hub::session::{self, with_cookie};
use crate::hub::state::HubState;
use crate::identity::login::{self, Refusal};

/// `templates/login/second_factor.html`.
#[derive(Template, WebTemplate)]
#[template(path = "login/second_factor.html")]
struct Form {
    csrf: String,
    notice: Option<Notice>,
}

/// `templates/login/expired.html`.
#[derive(Template, WebTemplate)]
#[template(path = "login/expired.html")]
struct Expired;

/// The form, with `error` on top at its status.
fn render(state: &HubState, headers: &HeaderMap, error: Option<&PageError>) -> Response {
    let status = error.map_or(StatusCode::OK, PageError::status);
    let r = form_page(state, headers, status, |csrf| Form {
        csrf,
        notice: error.map(|e| Notice::err(e.to_string())),
    });
    match error {
        Some(e) => e.decorate(r),
        None => r,
    }
}

/// Back to the password step, forgetting the pending cookie.
fn expired(state: &HubState) -> Response {
    let status = PageError::SignIn(Refusal::Expired).status();
    with_cookie(page(status, Expired), clear_pending(state))
}

/// `GET /login/2fa`.
pub async fn show(
    State(state): State<HubState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let now = state.clock().now();
    let live = match session::cookie(&headers, PENDING_COOKIE) {
        Some(id) => login::pending_is_live(state.store(), id, now)?,
        None => false,
    };
    Ok(if live {
        render(&state, &headers, None)
    } else {
        expired(&state)
    })
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(rename = "__csrf", default)]
    csrf: String,
}

/// `POST /login/2fa`: signed in, or the form again saying why not.
pub async fn submit(
    State(state): State<HubState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    PageForm(f): PageForm<CodeForm>,
) -> Result<Response, PageError> {
    check_csrf(&state, &headers, &f.csrf, "Sign-in refused")?;
    let Some(pending_id) = session::cookie(&headers, PENDING_COOKIE) else {
        return Ok(expired(&state));
    };
    let now = state.clock().now();
    match login::second_factor_step(state.store(), &ip, pending_id, &f.code, now)
        .map_err(PageError::from)
    {
        Ok(done) => finish(&state, &headers, &done.user_id, &done.next),
        Err(PageError::SignIn(Refusal::Expired)) => Ok(expired(&state)),
        Err(e @ PageError::SignIn(_)) => Ok(render(&state, &headers, Some(&e))),
        Err(e) => Err(e),
    }
}
