//! Step-up on the admin pages, without JavaScript. A dangerous action's
//! POST without a fresh step-up token of this session answers 403 with a
//! PIN form ([`gate`]) that carries the action and its fields; `POST
//! /admin/step-up` checks the PIN (`identity::step_up`: seed 004's rate
//! limit before argon2) and answers with the same form again, now holding
//! the step-up token in its hidden `step_up_token` field, for one click to
//! re-submit. Without a PIN yet, the refusal links to where it is set
//! (`/admin/security`). Only the dangerous actions below can be carried.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::super::extract::{PageForm, PageSession};
use super::super::kit::{Notice, form_page};
use super::super::{PageError, error_page};
use super::{Gate, admit};
use crate::hub::session::SignedIn;
use crate::hub::state::HubState;
use crate::hub::step_up::{self, FORM_FIELD, Holder, Reason};
use crate::identity::step_up::{self as rules, StepUpError};

/// The actions that need step-up, with the label of their button.
const DANGEROUS: &[(&str, &str)] = &[
    ("/admin/security/rotate-key", "Rotate the signing key"),
    ("/admin/clients/approve", "Approve the client"),
    ("/admin/tokens/mint", "Mint the token"),
    // It mints the operator token, with admin scopes (issue 14).
    (
        "/account/tokens/rotate-operator",
        "Rotate the operator token",
    ),
];

/// Fields never carried through the PIN form.
const NOT_CARRIED: &[&str] = &["__csrf", FORM_FIELD, "pin", "action"];

/// `templates/admin/step_up.html`.
#[derive(Template, WebTemplate)]
#[template(path = "admin/step_up.html")]
struct Page {
    csrf: String,
    notice: Option<Notice>,
    action: &'static str,
    label: &'static str,
    fields: Vec<(String, String)>,
    /// No PIN yet: the page says where to set one.
    setup: bool,
    /// The step-up token, once the PIN was right: the re-submit form.
    token: Option<String>,
}

fn carried(fields: &[(String, String)]) -> Vec<(String, String)> {
    fields
        .iter()
        .filter(|(k, _)| !NOT_CARRIED.contains(&k.as_str()))
        .cloned()
        .collect()
}

/// Let `action` proceed only with a fresh step-up token of `me`'s
/// session; `Some` is the 403 PIN page to answer with instead.
pub fn gate(
    state: &HubState,
    headers: &HeaderMap,
    me: &SignedIn,
    presented: &str,
    action: &'static str,
    fields: &[(String, String)],
) -> Option<Response> {
    let why = step_up::require(
        state,
        &Holder::session(me),
        step_up::presented_in_form(presented),
    )
    .err()?;
    let label = DANGEROUS
        .iter()
        .find(|(a, _)| *a == action)
        .map_or(action, |(_, l)| l);
    let notice = Notice::err(format!("Step-up required: {}.", why.reason.message()));
    Some(form_page(state, headers, StatusCode::FORBIDDEN, |csrf| {
        Page {
            csrf,
            notice: Some(notice),
            action,
            label,
            fields: carried(fields),
            setup: why.reason == Reason::Setup,
            token: None,
        }
    }))
}

/// Check `pin` for `me`'s session off the async threads.
async fn verify(
    state: &HubState,
    me: &SignedIn,
    pin: String,
) -> Result<rules::Minted, StepUpError> {
    let (state, user) = (state.clone(), me.user.id.clone());
    let holder = rules::session_holder(&me.session_id);
    let now = state.clock().now();
    tokio::task::spawn_blocking(move || rules::verify(state.store(), &user, &holder, &pin, now))
        .await
        .unwrap_or(Err(StepUpError::WrongPin))
}

const NOTHING: &str = "There is nothing to confirm with that form.";

/// The first value of the form field `k` (empty when absent).
fn first<'a>(pairs: &'a [(String, String)], k: &str) -> &'a str {
    pairs
        .iter()
        .find(|(n, _)| n == k)
        .map_or("", |(_, v)| v.as_str())
}

/// The page's status, notice and (on the right PIN) step-up token.
fn outcome(result: Result<rules::Minted, StepUpError>) -> (StatusCode, Notice, Option<String>) {
    match result {
        Ok(m) => (
            StatusCode::OK,
            Notice::ok("PIN accepted: confirm once more."),
            Some(m.token),
        ),
        Err(e) => {
            let (status, msg) = refusal(&e);
            (status, Notice::err(msg), None)
        }
    }
}

/// What a refused PIN comes to on the page.
fn refusal(e: &StepUpError) -> (StatusCode, String) {
    let status = match e {
        StepUpError::WrongPin | StepUpError::Format => StatusCode::UNAUTHORIZED,
        StepUpError::NotConfigured => StatusCode::CONFLICT,
        StepUpError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (status, format!("The PIN was not accepted: {e}."))
}

/// `POST /admin/step-up`: the PIN for the carried action; its form again,
/// with the step-up token (or the refusal on top).
pub async fn confirm(
    State(state): State<HubState>,
    PageSession(me): PageSession,
    headers: HeaderMap,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let field = |k: &str| first(&pairs, k);
    let me = match admit(&state, &headers, me, field("__csrf"), "/admin")? {
        Gate::Owner(me) => me,
        Gate::Answer(r) => return Ok(r),
    };
    let Some(&(action, label)) = DANGEROUS.iter().find(|(a, _)| *a == field("action")) else {
        return Ok(error_page(
            StatusCode::BAD_REQUEST,
            "Unknown action",
            NOTHING,
        ));
    };
    let result = verify(&state, &me, field("pin").to_string()).await;
    let retry = match &result {
        Err(StepUpError::RateLimited(secs)) => Some(*secs),
        _ => None,
    };
    let (status, notice, token) = outcome(result);
    let mut r = form_page(&state, &headers, status, |csrf| Page {
        csrf,
        notice: Some(notice),
        action,
        label,
        fields: carried(&pairs),
        setup: false,
        token,
    });
    if let Some(secs) = retry {
        r.headers_mut()
            .insert(axum::http::header::RETRY_AFTER, secs.into());
    }
    Ok(r)
}
