//! `/login`: the password form and its POST.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::{PENDING_COOKIE, SECOND_FACTOR_PATH, finish, sanitize_next};
use crate::hub::pages::extract::{PageForm, PageSession, check_csrf};
use crate::hub::pages::kit::{Notice, form_page};
use crate::hub::pages::{PageError, see_other};
use crate::hub::ratelimit::ClientIp;
use crate::hub::session::{self, with_cookie};
use crate::hub::state::HubState;
use crate::identity::login::{self, PENDING_TTL_SECS, PasswordStep};
use crate::identity::password::Password;

/// `templates/login/password.html`.
#[derive(Template, WebTemplate)]
#[template(path = "login/password.html")]
struct Form<'a> {
    csrf: String,
    next: &'a str,
    username: &'a str,
    notice: Option<Notice>,
}

/// The form at `status`, refilled with `username`, `error` on top.
fn render(
    state: &HubState,
    headers: &HeaderMap,
    next: &str,
    username: &str,
    error: Option<&PageError>,
) -> Response {
    let status = error.map_or(StatusCode::OK, PageError::status);
    let r = form_page(state, headers, status, |csrf| Form {
        csrf,
        next,
        username,
        notice: error.map(|e| Notice::err(e.to_string())),
    });
    match error {
        Some(e) => e.decorate(r),
        None => r,
    }
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// `GET /login`: the form (or straight on when already signed in).
pub async fn show(
    State(state): State<HubState>,
    PageSession(me): PageSession,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Response {
    let next = sanitize_next(q.next.as_deref());
    if me.is_some() {
        return see_other(&next);
    }
    render(&state, &headers, &next, "", None)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
    #[serde(rename = "__csrf", default)]
    csrf: String,
}

/// `POST /login`: signed in, on to the second step, or the form again
/// saying why not.
pub async fn submit(
    State(state): State<HubState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    PageForm(f): PageForm<LoginForm>,
) -> Result<Response, PageError> {
    check_csrf(&state, &headers, &f.csrf, "Sign-in refused")?;
    let next = sanitize_next(f.next.as_deref());
    let now = state.clock().now();
    let step = login::password_step(
        state.store(),
        &ip,
        &f.username,
        Password::new(f.password),
        &next,
        now,
    )
    .await;
    match step.map_err(PageError::from) {
        Ok(PasswordStep::Done { user_id }) => finish(&state, &headers, &user_id, &next),
        Ok(PasswordStep::SecondFactor { pending_id }) => Ok(to_second_factor(&state, &pending_id)),
        Err(e @ PageError::SignIn(_)) => {
            // The typed name is shown again only when it could be a name.
            let username = if f.username.len() > login::MAX_USERNAME_INPUT {
                String::new()
            } else {
                crate::identity::lockout::normalise(&f.username)
            };
            Ok(render(&state, &headers, &next, &username, Some(&e)))
        }
        Err(e) => Err(e),
    }
}

/// The pending login's cookie and the redirect to the second step.
fn to_second_factor(state: &HubState, pending_id: &str) -> Response {
    let cookie = session::set_cookie(
        PENDING_COOKIE,
        pending_id,
        PENDING_TTL_SECS,
        "/login",
        session::secure(state),
    );
    with_cookie(see_other(SECOND_FACTOR_PATH), cookie)
}
