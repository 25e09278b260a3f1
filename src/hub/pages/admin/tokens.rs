//! `/admin/tokens`: every live token with where it came from and the token
//! that minted it, a revoke button each, and a form that mints one (scopes
//! picked from the catalog, a TTL in `mint-token`'s grammar). A minted
//! token is shown once, on the answer to the POST (never in a URL), and is
//! recorded in the registry as `admin_page`. The operator token is rotated
//! from /account, never revoked here (the CLI needs one).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::super::extract::{PageForm, PageSession};
use super::super::kit::{Notice, form_page};
use super::super::{PageError, error_page, read, see_other};
use super::format::when;
use super::{DoneQuery, Gate, admit, owner, step_up};
use crate::hub::session::SignedIn;
use crate::hub::state::HubState;
use crate::store::{self, tokens::Revoked};
use crate::tokens::{audience, mint, operator, origin, scopes, ttl};

const HERE: &str = "/admin/tokens";
const MINT: &str = "/admin/tokens/mint";
/// How the registry records a token minted here (`tokens::origin`).
pub const CREATED_VIA: &str = "admin_page";
/// Rows the list shows, newest first.
const LIST_MAX: usize = 500;

struct TokenItem {
    jti: String,
    scopes: String,
    subject: String,
    client_id: String,
    origin: String,
    parent: String,
    label: String,
    expires: String,
    operator: bool,
}

/// A scope the mint form offers.
struct ScopeChoice {
    scope: &'static str,
    explanation: &'static str,
    elevated: bool,
}

/// `templates/admin/tokens.html`.
#[derive(Template, WebTemplate)]
#[template(path = "admin/tokens.html")]
struct Page {
    csrf: String,
    notice: Option<Notice>,
    tokens: Vec<TokenItem>,
    choices: Vec<ScopeChoice>,
    default_ttl: &'static str,
    /// The token just minted, shown once.
    minted: Option<String>,
}

fn items(conn: &rusqlite::Connection, now: i64) -> rusqlite::Result<Vec<TokenItem>> {
    store::tokens::list(conn, true, now, Some(LIST_MAX))?
        .into_iter()
        .map(|t| {
            Ok(TokenItem {
                origin: origin::describe(conn, &t)?,
                parent: t.parent_jti.clone().unwrap_or_else(|| "-".into()),
                label: t.label.clone().unwrap_or_default(),
                expires: when(t.expires_at),
                operator: t.created_via == operator::CREATED_VIA,
                jti: t.jti,
                scopes: t.scopes,
                subject: t.subject,
                client_id: t.client_id,
            })
        })
        .collect()
}

fn choices() -> Vec<ScopeChoice> {
    scopes::CATALOG
        .iter()
        .map(|e| ScopeChoice {
            scope: e.scope,
            explanation: e.explanation,
            elevated: e.risk > scopes::Risk::Low,
        })
        .collect()
}

/// The page at `status`, with a notice and the token just minted.
fn render(
    state: &HubState,
    headers: &HeaderMap,
    status: StatusCode,
    notice: Option<Notice>,
    minted: Option<String>,
) -> Result<Response, PageError> {
    let tokens = read(state, items)?;
    Ok(form_page(state, headers, status, |csrf| Page {
        csrf,
        notice,
        tokens,
        choices: choices(),
        default_ttl: "90d",
        minted,
    }))
}

/// `GET /admin/tokens`.
pub async fn show(
    State(state): State<HubState>,
    PageSession(me): PageSession,
    headers: HeaderMap,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    if let Gate::Answer(r) = owner(me, HERE) {
        return Ok(r);
    }
    render(&state, &headers, StatusCode::OK, q.notice(), None)
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    jti: String,
    #[serde(rename = "__csrf", default)]
    csrf: String,
}

/// `POST /admin/tokens/revoke`: any live token but an operator token.
pub async fn revoke(
    State(state): State<HubState>,
    PageSession(me): PageSession,
    headers: HeaderMap,
    PageForm(f): PageForm<RevokeForm>,
) -> Result<Response, PageError> {
    if let Gate::Answer(r) = admit(&state, &headers, me, &f.csrf, HERE)? {
        return Ok(r);
    }
    let now = state.clock().now();
    let store = state.store();
    let done = store.write(|tx| {
        let row = store::tokens::get(tx, &f.jti).map_err(|e| store.err(e))?;
        if row
            .as_ref()
            .is_none_or(|t| t.created_via == operator::CREATED_VIA)
        {
            return Ok(None);
        }
        store::tokens::revoke(tx, &f.jti, now)
            .map(Some)
            .map_err(|e| store.err(e))
    })?;
    if let Some(Revoked::Now(_) | Revoked::Already(_)) = done {
        return Ok(see_other(&format!("{HERE}?done=revoked")));
    }
    let msg = "No token to revoke has that id (the operator token is rotated on /account).";
    Ok(error_page(StatusCode::NOT_FOUND, "No such token", msg))
}

/// What the mint form asked for, checked: the scopes and the lifetime.
struct MintRequest {
    scopes: Vec<String>,
    ttl_secs: i64,
}

impl MintRequest {
    /// Whether any scope is one the catalog marks elevated or high (the
    /// admin scopes): minting it needs step-up.
    fn elevated(&self) -> bool {
        self.scopes.iter().any(|s| scopes::is_elevated(s))
    }
}

/// The values of the form field `k`, in order.
fn field<'a>(pairs: &'a [(String, String)], k: &'a str) -> impl Iterator<Item = &'a str> {
    pairs
        .iter()
        .filter(move |(n, _)| n == k)
        .map(|(_, v)| v.as_str())
}

/// Read the mint form (`scope` repeated, `ttl`, the CSRF field).
fn mint_request(pairs: &[(String, String)]) -> Result<MintRequest, String> {
    let picked: Vec<String> = scopes::parse(&field(pairs, "scope").collect::<Vec<_>>().join(" "));
    if picked.is_empty() {
        return Err("Pick at least one scope.".into());
    }
    if let Some(bad) = picked.iter().find(|s| !scopes::is_known(s)) {
        return Err(format!("`{bad}` is not a scope the hub knows."));
    }
    let ttl = field(pairs, "ttl").next().unwrap_or_default().trim();
    let ttl_secs = if ttl.is_empty() {
        ttl::DEFAULT_SECS
    } else {
        ttl::parse(ttl)?
    };
    Ok(MintRequest {
        scopes: picked,
        ttl_secs,
    })
}

/// Mint `req` for the owner, recorded as made here.
fn mint_for(state: &HubState, me: &SignedIn, req: &MintRequest) -> Result<String, PageError> {
    let now = state.clock().now();
    let store = state.store();
    let issuer = state.issuers().primary().to_string();
    let aud = audience::infer(&req.scopes);
    let minted = store.write(|tx| {
        let m = mint::Mint {
            sub: &me.user.id,
            user_id: Some(&me.user.id),
            scopes: &req.scopes,
            audience: &aud,
            client_id: operator::CLIENT_ID,
            ttl_secs: req.ttl_secs,
            created_via: Some(CREATED_VIA),
            parent_jti: None,
            label: None,
        };
        mint::mint(tx, &issuer, &m, now).map_err(|e| store.other(e))
    })?;
    tracing::info!(jti = ?minted.claims.jti, scope = %minted.claims.scope, "token minted from /admin");
    Ok(minted.token)
}

/// `POST /admin/tokens/mint`: the token on the answer, once; elevated
/// scopes need step-up.
pub async fn mint(
    State(state): State<HubState>,
    PageSession(me): PageSession,
    headers: HeaderMap,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let csrf = field(&pairs, "__csrf").next().unwrap_or_default();
    let me = match admit(&state, &headers, me, csrf, HERE)? {
        Gate::Owner(me) => me,
        Gate::Answer(r) => return Ok(r),
    };
    let req = match mint_request(&pairs) {
        Ok(req) => req,
        Err(msg) => {
            return render(
                &state,
                &headers,
                StatusCode::BAD_REQUEST,
                Some(Notice::err(msg)),
                None,
            );
        }
    };
    let presented = field(&pairs, crate::hub::step_up::FORM_FIELD)
        .next()
        .unwrap_or_default();
    if req.elevated()
        && let Some(r) = step_up::gate(&state, &headers, &me, presented, MINT, &pairs)
    {
        return Ok(r);
    }
    let token = mint_for(&state, &me, &req)?;
    let notice = Notice::ok("Token minted. Copy it now: it is not shown again.");
    render(&state, &headers, StatusCode::OK, Some(notice), Some(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()
    }

    #[test]
    fn the_mint_form_takes_known_scopes_and_the_cli_ttl_grammar() {
        let r = mint_request(&pairs(&[
            ("scope", "vault:read"),
            ("scope", "vault:write"),
            ("ttl", "1h"),
        ]))
        .expect("ok");
        assert_eq!((r.scopes.len(), r.ttl_secs), (2, 3600));
        assert!(mint_request(&pairs(&[("ttl", "1h")])).is_err());
        assert!(mint_request(&pairs(&[("scope", "nope:x")])).is_err());
        assert!(mint_request(&pairs(&[("scope", "vault:read"), ("ttl", "9y")])).is_err());
        let d = mint_request(&pairs(&[("scope", "vault:read")])).expect("ok");
        assert_eq!(d.ttl_secs, ttl::DEFAULT_SECS);
    }
}
