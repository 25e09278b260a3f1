//! `GET /oauth/authorize` and the consent `POST`. Order of checks (RFC 6749
//! §4.1.2.1): the client (a registration, or a fetched client ID metadata
//! document) and a registered redirect URI (exact, or a loopback one on any
//! port: `oauth::redirect::matches`) first — failures there are an error
//! page, never a redirect (an unverified URI is an open redirect) —
//! then everything else redirects back with `error`, `state` and `iss`.
//! Without a session the browser goes to `/login` and comes back here.

use axum::Form;
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse as _, Response};
use serde::Deserialize;

use super::consent_page;
use crate::hub::csrf;
use crate::hub::error::ApiError;
use crate::hub::pages::{csrf_refusal, error_page, html, see_other};
use crate::hub::ratelimit::ClientIp;
use crate::hub::session::{MaybeSession, SignedIn, with_cookie};
use crate::hub::state::HubState;
use crate::oauth::consent::{self, Authority};
use crate::oauth::resource::{self, Target};
use crate::oauth::{CODE_TTL_SECS, cimd, pkce, redirect};
use crate::secret::{random_token, sha256_hex};
use crate::store::{self, clients::Client};
use crate::tokens::scopes;

/// The authorization request's parameters (query on GET, hidden fields on
/// the consent POST).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Params {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    resource: Option<String>,
    /// OIDC-style `prompt`: `consent` always shows the consent page, `none`
    /// never shows a page (it fails instead).
    prompt: Option<String>,
}

/// A request that passed every check.
#[derive(Debug)]
struct Valid {
    client: Client,
    redirect_uri: String,
    state: Option<String>,
    /// Requested scopes after resource binding.
    scopes: Vec<String>,
    resource: Option<String>,
    target: Option<Target>,
    challenge: String,
}

/// The redirect back to the client with `params` plus `state` and `iss`.
fn back(
    state: &HubState,
    redirect_uri: &str,
    client_state: Option<&str>,
    params: &[(&str, &str)],
) -> Response {
    let mut all: Vec<(&str, &str)> = params.to_vec();
    if let Some(s) = client_state {
        all.push(("state", s));
    }
    all.push(("iss", state.issuers().primary()));
    see_other(&redirect::with_params(redirect_uri, &all))
}

fn error_back(
    state: &HubState,
    uri: &str,
    client_state: Option<&str>,
    error: &str,
    description: &str,
) -> Response {
    back(
        state,
        uri,
        client_state,
        &[("error", error), ("error_description", description)],
    )
}

/// An RFC 6749 error sent back to the (already validated) redirect URI.
fn redirect_error(state: &HubState, v: &Valid, error: &str, description: &str) -> Response {
    error_back(
        state,
        &v.redirect_uri,
        v.state.as_deref(),
        error,
        description,
    )
}

/// The requested scopes the signed-in user holds; `invalid_scope` when none.
// As in `validate`: the error is the response to send.
#[allow(clippy::result_large_err)]
fn held_scopes(state: &HubState, v: &Valid, who: &SignedIn) -> Result<Vec<String>, Response> {
    let capped = consent::cap_to_authority(&v.scopes, &authority(who));
    if capped.is_empty() {
        return Err(redirect_error(
            state,
            v,
            "invalid_scope",
            "you do not hold any of the requested scopes",
        ));
    }
    Ok(capped)
}

fn bad_request(message: &str) -> Response {
    error_page(
        StatusCode::BAD_REQUEST,
        "This sign-in link is not valid",
        message,
    )
}

/// The client `client_id` names: a stored registration, or the client a
/// client ID metadata document URL describes (fetched when not cached).
// As in `validate`: the error is the response to send.
#[allow(clippy::result_large_err)]
async fn find_client(
    state: &HubState,
    client_id: &str,
    ip: &str,
    now: i64,
) -> Result<Client, Response> {
    if cimd::is_document_url(client_id) {
        return match super::cimd::client(state, client_id, ip, now).await {
            Ok(Ok(c)) => Ok(c),
            Ok(Err(e)) => Err(error_page(
                StatusCode::BAD_REQUEST,
                "This app could not be identified",
                &format!(
                    "The app identifies itself by the URL `{client_id}`, but the hub could not use what it found there: {e}."
                ),
            )),
            Err(e) => Err(e.into_response()),
        };
    }
    let conn = state
        .store()
        .conn()
        .map_err(|e| ApiError::Unavailable(e.to_string()).into_response())?;
    let client = store::clients::get(&conn, client_id)
        .map_err(|e| ApiError::internal(e).into_response())?
        .filter(|c| !crate::oauth::client_expired(c, now));
    client.ok_or_else(|| {
        bad_request(
            "This app is not registered with the hub (or its registration expired). Ask it to connect again.",
        )
    })
}

/// Validate `p`; `Err` is the response to send.
// The error *is* the response (a page or a redirect), built once here.
#[allow(clippy::result_large_err)]
async fn validate(state: &HubState, p: &Params, ip: &str, now: i64) -> Result<Valid, Response> {
    let Some(client_id) = p.client_id.as_deref().filter(|c| !c.is_empty()) else {
        return Err(bad_request("The request has no `client_id`."));
    };
    let client = find_client(state, client_id, ip, now).await?;
    let Some(uri) = p.redirect_uri.as_deref().filter(|u| !u.is_empty()) else {
        return Err(bad_request("The request has no `redirect_uri`."));
    };
    if !redirect::matches(&client.redirect_uris, uri) {
        return Err(bad_request(
            "The `redirect_uri` is not one this app registered.",
        ));
    }
    let st = p.state.as_deref();
    let fail = |e: &str, d: &str| Err(error_back(state, uri, st, e, d));
    if p.response_type.as_deref() != Some("code") {
        return fail(
            "unsupported_response_type",
            "only response_type=code is supported",
        );
    }
    if let Err(d) = pkce::check_challenge(
        p.code_challenge.as_deref(),
        p.code_challenge_method.as_deref(),
    ) {
        return fail("invalid_request", d);
    }
    let resource = p.resource.clone().filter(|r| !r.is_empty());
    let target = match resource.as_deref() {
        None => None,
        Some(r) => match resource::resolve(r, state.issuers().accepted()) {
            Some(t) => Some(t),
            None => {
                return fail(
                    "invalid_target",
                    "the `resource` is not one this hub issues tokens for",
                );
            }
        },
    };
    let mut requested = scopes::parse(p.scope.as_deref().unwrap_or_default());
    if requested.is_empty() {
        requested = scopes::parse(&client.scopes);
    }
    // OIDC-flavoured clients add these; refresh tokens are always issued and
    // there is no ID token, so they mean nothing here and are dropped.
    requested.retain(|s| s != "offline_access" && s != "openid");
    if requested.is_empty() {
        return fail("invalid_scope", "`scope` is required");
    }
    if let Some(s) = requested.iter().find(|s| !scopes::is_requestable(s)) {
        return fail("invalid_scope", &format!("scope `{s}` cannot be requested"));
    }
    let bound = resource::bind(&requested, target.as_ref());
    if bound.is_empty() {
        return fail(
            "invalid_scope",
            "none of the requested scopes apply to the `resource`",
        );
    }
    Ok(Valid {
        redirect_uri: uri.to_string(),
        state: p.state.clone(),
        scopes: bound,
        resource,
        target,
        challenge: p.code_challenge.clone().unwrap_or_default(),
        client,
    })
}

fn authority(who: &SignedIn) -> Authority {
    if who.is_owner {
        Authority::Owner
    } else {
        // Vault assignments for other users do not exist yet: they may only
        // delegate non-vault, non-admin scopes.
        Authority::User { vaults: Vec::new() }
    }
}

fn login_redirect(raw_query: Option<&str>) -> Response {
    let back = format!("/oauth/authorize?{}", raw_query.unwrap_or_default());
    see_other(&format!("/login?next={}", redirect::form_encode(&back)))
}

fn not_approved(client: &Client) -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "App not yet approved",
        &format!(
            "{} asked to connect, but the hub's owner has not approved it yet. The owner can approve it by signing in and opening this link, or with: parachute auth approve-client {}",
            client.client_name.as_deref().unwrap_or("This app"),
            client.client_id
        ),
    )
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
) -> Result<Response, ApiError> {
    let now = crate::tokens::now();
    let v = match validate(&state, &p, &ip, now).await {
        Ok(v) => v,
        Err(r) => return Ok(r),
    };
    let prompt = p.prompt.as_deref().unwrap_or_default();
    let silent = prompt.split_whitespace().any(|x| x == "none");
    let Some(who) = session else {
        if silent {
            return Ok(redirect_error(
                &state,
                &v,
                "login_required",
                "the user is not signed in",
            ));
        }
        return Ok(login_redirect(raw.as_deref()));
    };
    if !v.client.approved() && !who.is_owner {
        return Ok(not_approved(&v.client));
    }
    let capped = match held_scopes(&state, &v, &who) {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let granted = {
        let conn = state
            .store()
            .conn()
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        consent::granted(&conn, &who.user.id, &v.client.client_id).map_err(ApiError::internal)?
    };
    let force = prompt.split_whitespace().any(|x| x == "consent");
    if !force && consent::may_skip(&capped, &granted, v.client.approved()) {
        return issue_code(&state, &v, &who, &capped, now);
    }
    if silent {
        return Ok(redirect_error(
            &state,
            &v,
            "consent_required",
            "the request needs the user's consent",
        ));
    }
    let token = csrf::token(&state, &headers);
    let r = html(
        StatusCode::OK,
        consent_page::render(&consent_page::Consent {
            issuer: state.issuers().primary(),
            client: &v.client,
            redirect_uri: &v.redirect_uri,
            vault: match &v.target {
                Some(Target::Vault(n)) => Some(n.as_str()),
                _ => None,
            },
            offered: &capped,
            fields: &fields(&p),
            csrf: &token.value,
        }),
    );
    // The consent POST redirects to the app: allow it under CSP form-action.
    let r = crate::hub::pages::allow_form_redirect_to(r, &v.redirect_uri);
    Ok(match token.set_cookie {
        Some(c) => with_cookie(r, c),
        None => r,
    })
}

/// The consent form: the request's parameters (hidden fields), the scopes
/// ticked (`grant`, one per checkbox), the decision and the CSRF token.
#[derive(Debug, Default)]
pub struct ConsentForm {
    params: Params,
    ticked: Vec<String>,
    decision: String,
    csrf: String,
}

impl ConsentForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut f = Self::default();
        let mut rest = serde_json::Map::new();
        for (k, v) in pairs {
            match k.as_str() {
                consent_page::TICKED => f.ticked.push(v),
                "decision" => f.decision = v,
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
) -> Result<Response, ApiError> {
    let f = ConsentForm::from_pairs(pairs);
    if let Some(r) = csrf_refusal(&state, &headers, &f.csrf, "Consent refused") {
        return Ok(r);
    }
    let now = crate::tokens::now();
    let v = match validate(&state, &f.params, &ip, now).await {
        Ok(v) => v,
        Err(r) => return Ok(r),
    };
    let Some(who) = session else {
        return Ok(error_page(
            StatusCode::UNAUTHORIZED,
            "Signed out",
            "Your session ended. Start connecting the app again.",
        ));
    };
    if f.decision != "approve" {
        return Ok(redirect_error(
            &state,
            &v,
            "access_denied",
            "the user denied the request",
        ));
    }
    if !v.client.approved() {
        if !who.is_owner {
            return Ok(not_approved(&v.client));
        }
        let db = state.store();
        db.write(|tx| store::clients::approve(tx, &v.client.client_id).map_err(|e| db.err(e)))
            .map_err(ApiError::internal)?;
        tracing::info!(
            client_id = v.client.client_id,
            "client approved on the consent page"
        );
    }
    let capped = match held_scopes(&state, &v, &who) {
        Ok(c) => c,
        Err(r) => return Ok(r),
    };
    let chosen = consent::chosen(&capped, &f.ticked);
    if chosen.is_empty() {
        return Ok(redirect_error(
            &state,
            &v,
            "access_denied",
            "the user granted none of the requested scopes",
        ));
    }
    issue_code(&state, &v, &who, &chosen, now)
}

/// Record the grant, store the code (hashed), redirect with it.
fn issue_code(
    state: &HubState,
    v: &Valid,
    who: &SignedIn,
    granted: &[String],
    now: i64,
) -> Result<Response, ApiError> {
    let code = random_token();
    let row = store::codes::Code {
        code_hash: sha256_hex(&code),
        client_id: v.client.client_id.clone(),
        user_id: who.user.id.clone(),
        redirect_uri: v.redirect_uri.clone(),
        scopes: granted.join(" "),
        resource: v.resource.clone(),
        code_challenge: v.challenge.clone(),
        code_challenge_method: "S256".into(),
        created_at: now,
        expires_at: now + CODE_TTL_SECS,
        used_at: None,
        family_id: None,
    };
    let db = state.store();
    db.write(|tx| {
        let sql = |e| db.err(e);
        consent::record(tx, &who.user.id, &v.client.client_id, granted, now).map_err(sql)?;
        store::codes::reap_expired_before(tx, crate::oauth::code_cutoff(now)).map_err(sql)?;
        store::codes::insert(tx, &row).map_err(sql)
    })
    .map_err(ApiError::internal)?;
    Ok(back(
        state,
        &v.redirect_uri,
        v.state.as_deref(),
        &[("code", &code)],
    ))
}
