//! `GET /oauth/authorize` and the consent `POST`: extract the request and
//! the session, find the client (fetching a client ID metadata document
//! when `client_id` is a URL), and let `crate::oauth::authorize` decide.
//! Without a session the browser goes to `/login` and comes back here.

use axum::Form;
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse as _, Response};

use super::consent_page;
use super::error::Failure;
use crate::hub::csrf;
use crate::hub::pages::{csrf_refusal, html, see_other};
use crate::hub::ratelimit::ClientIp;
use crate::hub::session::{MaybeSession, SignedIn, with_cookie};
use crate::hub::state::HubState;
use crate::oauth::authorize::{self, Choice, Params, Person, Step, Untrusted, Valid};
use crate::oauth::resource::Target;
use crate::oauth::{cimd, redirect};
use crate::store::clients::Client;

/// The client `p` names — a stored registration, or the client a client ID
/// metadata document URL describes (fetched when not cached) — and the
/// request validated against it.
async fn valid(state: &HubState, p: &Params, ip: &str, now: i64) -> Result<Valid, Failure> {
    let client_id = authorize::client_id(p)?;
    let client = if cimd::is_document_url(client_id) {
        document_client(state, client_id, ip, now).await?
    } else {
        authorize::registered(state.store(), client_id, now)?
    };
    Ok(authorize::validate(client, p, state.issuers())?)
}

async fn document_client(
    state: &HubState,
    client_id: &str,
    ip: &str,
    now: i64,
) -> Result<Client, Failure> {
    super::cimd::client(state, client_id, ip, now)
        .await?
        .map_err(|e| {
            Untrusted::Document {
                client_id: client_id.to_string(),
                reason: e.to_string(),
            }
            .into()
        })
}

fn person(s: &SignedIn) -> Person {
    Person {
        user_id: s.user.id.clone(),
        is_owner: s.is_owner,
    }
}

fn login_redirect(raw_query: Option<&str>) -> Response {
    let back = format!("/oauth/authorize?{}", raw_query.unwrap_or_default());
    see_other(&format!("/login?next={}", redirect::form_encode(&back)))
}

/// The request's parameters, carried through the consent form.
fn fields(p: &Params) -> Vec<(&'static str, Option<&str>)> {
    vec![
        ("response_type", p.response_type.as_deref()),
        ("client_id", p.client_id.as_deref()),
        ("redirect_uri", p.redirect_uri.as_deref()),
        ("scope", p.scope.as_deref()),
        ("state", p.state.as_deref()),
        ("code_challenge", p.code_challenge.as_deref()),
        ("code_challenge_method", p.code_challenge_method.as_deref()),
        ("resource", p.resource.as_deref()),
    ]
}

/// `GET /oauth/authorize`.
pub async fn show(
    State(state): State<HubState>,
    MaybeSession(session): MaybeSession,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    Query(p): Query<Params>,
) -> Result<Response, Failure> {
    let now = state.clock().now();
    let v = valid(&state, &p, &ip, now).await?;
    let who = session.as_ref().map(person);
    Ok(
        match authorize::request(state.store(), &v, &p, who.as_ref(), now)? {
            Step::SignIn => login_redirect(raw.as_deref()),
            Step::Code(url) => see_other(&url),
            Step::Consent(offered) => consent(&state, &headers, &v, &p, &offered),
        },
    )
}

/// The consent page offering `offered`, with its CSRF token.
fn consent(
    state: &HubState,
    headers: &HeaderMap,
    v: &Valid,
    p: &Params,
    offered: &[String],
) -> Response {
    let token = csrf::token(state, headers);
    let r = html(
        StatusCode::OK,
        consent_page::render(&consent_page::Consent {
            issuer: state.issuers().primary(),
            client: &v.client,
            redirect_uri: &v.back.redirect_uri,
            vault: match &v.target {
                Some(Target::Vault(n)) => Some(n.as_str()),
                _ => None,
            },
            offered,
            fields: &fields(p),
            csrf: &token.value,
        }),
    );
    // The consent POST redirects to the app: allow it under CSP form-action.
    let r = crate::hub::pages::allow_form_redirect_to(r, &v.back.redirect_uri);
    match token.set_cookie {
        Some(c) => with_cookie(r, c),
        None => r,
    }
}

/// The consent form: the request's parameters (hidden fields), the scopes
/// ticked (`grant`, one per checkbox), the decision and the CSRF token.
#[derive(Debug, Default)]
pub struct ConsentForm {
    params: Params,
    choice: Choice,
    csrf: String,
}

impl ConsentForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut f = Self::default();
        let mut rest = serde_json::Map::new();
        for (k, v) in pairs {
            match k.as_str() {
                consent_page::TICKED => f.choice.ticked.push(v),
                "decision" => f.choice.approve = v == "approve",
                csrf::FIELD => f.csrf = v,
                _ => {
                    rest.insert(k, v.into());
                }
            }
        }
        // Every member of `Params` is an optional string, so any object of
        // strings deserializes; an unknown field is ignored.
        f.params = serde_json::from_value(rest.into()).unwrap_or_default();
        f
    }
}

/// `POST /oauth/authorize`: the consent decision.
pub async fn decide(
    State(state): State<HubState>,
    MaybeSession(session): MaybeSession,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    let f = ConsentForm::from_pairs(pairs);
    if let Some(r) = csrf_refusal(&state, &headers, &f.csrf, "Consent refused") {
        return Ok(r);
    }
    let now = state.clock().now();
    let v = valid(&state, &f.params, &ip, now).await?;
    let who = session.as_ref().map(person);
    let url = authorize::decide(state.store(), &v, who.as_ref(), &f.choice, now)?;
    Ok(see_other(&url).into_response())
}
