//! The authorization endpoint's rules (`GET/POST /oauth/authorize`). Order
//! of checks (RFC 6749 §4.1.2.1): the client (a registration, or a fetched
//! client ID metadata document) and a registered redirect URI (exact, or a
//! loopback one on any port: [`redirect::matches`]) first — failures there
//! are [`Untrusted`], an error page, never a redirect (an unverified URI is
//! an open redirect) — then everything else goes back to the client with
//! `error`, `state` and `iss` ([`AuthorizeError::Redirect`]).

use serde::Deserialize;

use super::consent::{self, Authority};
use super::error::{ErrorCode, OAuthError};
use super::resource::{self, Target};
use super::{CODE_TTL_SECS, pkce, redirect};
use crate::secret::{random_token, sha256_hex};
use crate::store::{self, Store, StoreError, clients::Client};
use crate::tokens::{Issuers, scopes};

/// The authorization request's parameters (query on GET, hidden fields on
/// the consent POST).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Params {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub resource: Option<String>,
    /// OIDC-style `prompt`: `consent` always shows the consent page, `none`
    /// never shows a page (it fails instead).
    pub prompt: Option<String>,
}

impl Params {
    fn prompts(&self, what: &str) -> bool {
        self.prompt
            .as_deref()
            .unwrap_or_default()
            .split_whitespace()
            .any(|x| x == what)
    }
}

/// Why no redirect to the client can be trusted; the user is told on a page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Untrusted {
    #[error("The request has no `client_id`.")]
    NoClientId,
    #[error(
        "This app is not registered with the hub (or its registration expired). Ask it to connect again."
    )]
    Unregistered,
    #[error("The request has no `redirect_uri`.")]
    NoRedirectUri,
    #[error("The `redirect_uri` is not one this app registered.")]
    UnregisteredRedirect,
    /// The client ID metadata document could not be used.
    #[error("the client ID metadata document at `{client_id}` could not be used: {reason}")]
    Document { client_id: String, reason: String },
}

/// Where answers go: the validated redirect URI, with the client's `state`
/// and the hub's `iss` (RFC 9207).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Back {
    pub redirect_uri: String,
    pub state: Option<String>,
    pub iss: String,
}

impl Back {
    /// The redirect URI with `params`, then `state` and `iss`.
    pub fn url(&self, params: &[(&str, &str)]) -> String {
        let mut all: Vec<(&str, &str)> = params.to_vec();
        if let Some(s) = &self.state {
            all.push(("state", s));
        }
        all.push(("iss", &self.iss));
        redirect::with_params(&self.redirect_uri, &all)
    }
}

/// An authorization request that cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum AuthorizeError {
    #[error(transparent)]
    Untrusted(#[from] Untrusted),
    /// An RFC 6749 error sent back to the (validated) redirect URI.
    #[error("{error}")]
    Redirect { to: Back, error: OAuthError },
    /// A pending client, and a user who is not the owner.
    #[error("client `{client_id}` is waiting for the owner's approval")]
    NotApproved {
        name: Option<String>,
        client_id: String,
    },
    /// The consent POST came without a session.
    #[error("the session ended")]
    SignedOut,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A request that passed every check.
#[derive(Debug)]
pub struct Valid {
    pub client: Client,
    pub back: Back,
    /// Requested scopes after resource binding.
    pub scopes: Vec<String>,
    pub resource: Option<String>,
    pub target: Option<Target>,
    challenge: String,
}

impl Valid {
    fn refuse(&self, code: ErrorCode, description: &str) -> AuthorizeError {
        AuthorizeError::Redirect {
            to: self.back.clone(),
            error: OAuthError::new(code, description),
        }
    }
}

/// The signed-in user, as the rules see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub user_id: String,
    /// The hub's first user, who holds every scope.
    pub is_owner: bool,
}

/// What the browser is answered with, when the request is not refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Sign in first, then come back.
    SignIn,
    /// Show the consent page offering these scopes.
    Consent(Vec<String>),
    /// Redirect to this URL, carrying a fresh code.
    Code(String),
}

/// The request's `client_id`.
pub fn client_id(p: &Params) -> Result<&str, AuthorizeError> {
    p.client_id
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or(AuthorizeError::Untrusted(Untrusted::NoClientId))
}

/// The stored, unexpired registration `client_id` names.
pub fn registered(store: &Store, client_id: &str, now: i64) -> Result<Client, AuthorizeError> {
    let conn = store.conn()?;
    store::clients::get(&conn, client_id)
        .map_err(|e| store.err(e))?
        .filter(|c| !crate::oauth::client_expired(c, now))
        .ok_or(AuthorizeError::Untrusted(Untrusted::Unregistered))
}

/// Validate `p`, a request from `client`.
pub fn validate(client: Client, p: &Params, issuers: &Issuers) -> Result<Valid, AuthorizeError> {
    let back = trusted_back(&client, p, issuers)?;
    let refuse = |code, d: &str| AuthorizeError::Redirect {
        to: back.clone(),
        error: OAuthError::new(code, d),
    };
    if p.response_type.as_deref() != Some("code") {
        return Err(refuse(
            ErrorCode::UnsupportedResponseType,
            "only response_type=code is supported",
        ));
    }
    pkce::check_challenge(
        p.code_challenge.as_deref(),
        p.code_challenge_method.as_deref(),
    )
    .map_err(|d| refuse(ErrorCode::InvalidRequest, d))?;
    let resource = p.resource.clone().filter(|r| !r.is_empty());
    let target = resource
        .as_deref()
        .map(|r| {
            resource::resolve(r, issuers.accepted()).ok_or_else(|| {
                refuse(
                    ErrorCode::InvalidTarget,
                    "the `resource` is not one this hub issues tokens for",
                )
            })
        })
        .transpose()?;
    let scopes =
        requested(p, &client, target.as_ref()).map_err(|d| refuse(ErrorCode::InvalidScope, &d))?;
    Ok(Valid {
        back,
        scopes,
        resource,
        target,
        challenge: p.code_challenge.clone().unwrap_or_default(),
        client,
    })
}

/// Where errors may be sent back: only a `redirect_uri` the client
/// registered. Until that is known, errors are shown, never redirected.
fn trusted_back(client: &Client, p: &Params, issuers: &Issuers) -> Result<Back, AuthorizeError> {
    let Some(uri) = p.redirect_uri.as_deref().filter(|u| !u.is_empty()) else {
        return Err(Untrusted::NoRedirectUri.into());
    };
    if !redirect::matches(&client.redirect_uris, uri) {
        return Err(Untrusted::UnregisteredRedirect.into());
    }
    Ok(Back {
        redirect_uri: uri.to_string(),
        state: p.state.clone(),
        iss: issuers.primary().to_string(),
    })
}

/// The scopes asked for (the client's registered ones when `scope` is
/// absent), bound to the resource; why not, when none can be asked.
fn requested(p: &Params, client: &Client, target: Option<&Target>) -> Result<Vec<String>, String> {
    let mut requested = scopes::parse(p.scope.as_deref().unwrap_or_default());
    if requested.is_empty() {
        requested = scopes::parse(&client.scopes);
    }
    // OIDC-flavoured clients add these; refresh tokens are always issued and
    // there is no ID token, so they mean nothing here and are dropped.
    requested.retain(|s| s != "offline_access" && s != "openid");
    if requested.is_empty() {
        return Err("`scope` is required".into());
    }
    if let Some(s) = requested.iter().find(|s| !scopes::is_requestable(s)) {
        return Err(format!("scope `{s}` cannot be requested"));
    }
    let bound = resource::bind(&requested, target);
    if bound.is_empty() {
        return Err("none of the requested scopes apply to the `resource`".into());
    }
    Ok(bound)
}

/// `GET /oauth/authorize` once the request is valid: sign in, skip consent
/// when an approved client already holds the scopes, or ask.
pub fn request(
    store: &Store,
    v: &Valid,
    p: &Params,
    who: Option<&Person>,
    now: i64,
) -> Result<Step, AuthorizeError> {
    let silent = p.prompts("none");
    let Some(who) = who else {
        if silent {
            return Err(v.refuse(ErrorCode::LoginRequired, "the user is not signed in"));
        }
        return Ok(Step::SignIn);
    };
    if !v.client.approved() && !who.is_owner {
        return Err(not_approved(&v.client));
    }
    let capped = held_scopes(v, who)?;
    let granted = {
        let conn = store.conn()?;
        crate::oauth::consent::granted(&conn, &who.user_id, &v.client.client_id)
            .map_err(|e| store.err(e))?
    };
    if !p.prompts("consent") && consent::may_skip(&capped, &granted, v.client.approved()) {
        return issue_code(store, v, who, &capped, now).map(Step::Code);
    }
    if silent {
        return Err(v.refuse(
            ErrorCode::ConsentRequired,
            "the request needs the user's consent",
        ));
    }
    Ok(Step::Consent(capped))
}

/// The consent page's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Choice {
    pub approve: bool,
    /// The scopes ticked.
    pub ticked: Vec<String>,
}

/// `POST /oauth/authorize`: the consent decision. An owner approving a
/// pending client approves the client too. The answer is the redirect URL
/// carrying the code.
pub fn decide(
    store: &Store,
    v: &Valid,
    who: Option<&Person>,
    choice: &Choice,
    now: i64,
) -> Result<String, AuthorizeError> {
    let who = who.ok_or(AuthorizeError::SignedOut)?;
    if !choice.approve {
        return Err(v.refuse(ErrorCode::AccessDenied, "the user denied the request"));
    }
    if !v.client.approved() {
        if !who.is_owner {
            return Err(not_approved(&v.client));
        }
        store.write(|tx| {
            store::clients::approve(tx, &v.client.client_id).map_err(|e| store.err(e))
        })?;
        tracing::info!(
            client_id = v.client.client_id,
            "client approved on the consent page"
        );
    }
    let chosen = consent::chosen(&held_scopes(v, who)?, &choice.ticked);
    if chosen.is_empty() {
        return Err(v.refuse(
            ErrorCode::AccessDenied,
            "the user granted none of the requested scopes",
        ));
    }
    issue_code(store, v, who, &chosen, now)
}

fn not_approved(client: &Client) -> AuthorizeError {
    AuthorizeError::NotApproved {
        name: client.client_name.clone(),
        client_id: client.client_id.clone(),
    }
}

fn authority(who: &Person) -> Authority {
    if who.is_owner {
        Authority::Owner
    } else {
        // Vault assignments for other users do not exist yet: they may only
        // delegate non-vault, non-admin scopes.
        Authority::User { vaults: Vec::new() }
    }
}

/// The requested scopes the user holds; `invalid_scope` when none.
fn held_scopes(v: &Valid, who: &Person) -> Result<Vec<String>, AuthorizeError> {
    let capped = consent::cap_to_authority(&v.scopes, &authority(who));
    if capped.is_empty() {
        return Err(v.refuse(
            ErrorCode::InvalidScope,
            "you do not hold any of the requested scopes",
        ));
    }
    Ok(capped)
}

/// Record the grant, store the code (hashed); the redirect URL carries it.
fn issue_code(
    store: &Store,
    v: &Valid,
    who: &Person,
    granted: &[String],
    now: i64,
) -> Result<String, AuthorizeError> {
    let code = random_token();
    let row = store::codes::Code {
        code_hash: sha256_hex(&code),
        client_id: v.client.client_id.clone(),
        user_id: who.user_id.clone(),
        redirect_uri: v.back.redirect_uri.clone(),
        scopes: granted.join(" "),
        resource: v.resource.clone(),
        code_challenge: v.challenge.clone(),
        code_challenge_method: "S256".into(),
        created_at: now,
        expires_at: now + CODE_TTL_SECS,
        used_at: None,
        family_id: None,
    };
    store.write(|tx| {
        let sql = |e| store.err(e);
        crate::oauth::consent::record(tx, &who.user_id, &v.client.client_id, granted, now)
            .map_err(sql)?;
        store::codes::reap_expired_before(tx, crate::oauth::code_cutoff(now)).map_err(sql)?;
        store::codes::insert(tx, &row).map_err(sql)
    })?;
    Ok(v.back.url(&[("code", &code)]))
}

#[cfg(test)]
mod tests;
