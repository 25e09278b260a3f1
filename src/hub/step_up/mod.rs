//! Step-up (seed 004) at the hub: the guard dangerous actions call, and
//! (in `api`) the endpoints that set the PIN and trade it for a token.
//!
//! A dangerous action needs, *in addition* to its session or its bearer's
//! scope, a fresh step-up token of that same credential:
//!
//! ```ignore
//! // JSON APIs: the token travels in `X-Step-Up-Token`.
//! step_up::require(&state, &Holder::bearer(&bearer.0), step_up::presented(&headers))?;
//! // Pages: in the hidden field `step_up_token` of the form that needs it.
//! step_up::require(&state, &Holder::session(&me), step_up::presented_in_form(&form.step_up_token))?;
//! ```
//!
//! A refusal is [`StepUpRequired`]: 403 `step_up_required` with `reason`
//! `setup` (the user has no PIN yet) or `token` (missing, expired, or
//! another credential's), distinct from the 401 of a bad credential: a 401
//! means "sign in again", this means "enter your PIN".
//!
//! Guarded over HTTP: `POST /api/auth/mint-token` of an elevated scope
//! (`tokens::scopes::is_elevated`), on the admin pages rotating the
//! signing key, approving a client and minting an elevated token, and on
//! `/account` rotating the operator token (it mints admin scopes).
//!
//! **No bearer is exempt, the operator token included.** A bearer over
//! HTTP proves only possession, and possession is what leaks (a pasted
//! command, a log, an environment dump, a copy on another machine); the
//! PIN is the second factor exactly for that case, and an exemption for
//! the most powerful token would undo it. A script that holds the
//! operator token and wants an elevated mint over HTTP steps up like any
//! caller (`POST /api/step-up` with its own bearer and the PIN). The CLI
//! keeps working without a PIN because it does not go through HTTP: its
//! dangerous verbs (`auth mint-token`, `auth rotate-key`, `auth
//! approve-client`) act on `hub.db` directly, and whoever can open that
//! file holds the signing keys and the PIN's hash already, so asking them
//! for the PIN would be theatre, not a factor.

pub mod api;

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::hub::session::SignedIn;
use crate::hub::state::HubState;
use crate::identity::step_up as rules;
use crate::tokens::Claims;

/// The header a request carries its step-up token in.
pub const HEADER: &str = "x-step-up-token";
/// The hidden form field pages carry it in.
pub const FORM_FIELD: &str = "step_up_token";
/// Longest step-up token looked at (ours are 43 characters); anything
/// longer is refused without touching the store.
const MAX_TOKEN_LEN: usize = 128;

/// The credential a step-up belongs to: step-up is per session or per
/// bearer, never per user, so a token one browser earned does nothing for
/// another browser or a token of the same user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// A browser session: its id (the cookie's value) and its user.
    Session { session_id: String, user_id: String },
    /// A bearer token: its `jti` (empty when it has none, which can never
    /// step up) and its subject.
    Bearer { jti: String, sub: String },
}

impl Holder {
    /// The holder of a signed-in session.
    pub fn session(me: &SignedIn) -> Self {
        Self::Session {
            session_id: me.session_id.clone(),
            user_id: me.user.id.clone(),
        }
    }

    /// The holder of a validated bearer token.
    pub fn bearer(claims: &Claims) -> Self {
        Self::Bearer {
            jti: claims.jti.clone().unwrap_or_default(),
            sub: claims.sub.clone(),
        }
    }

    /// The user whose PIN this credential enters (and whose attempts count).
    pub fn subject(&self) -> &str {
        match self {
            Self::Session { user_id, .. } => user_id,
            Self::Bearer { sub, .. } => sub,
        }
    }

    /// `session` or `bearer`, for the log.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Session { .. } => "session",
            Self::Bearer { .. } => "bearer",
        }
    }

    /// How the store names the holder; `None` for a bearer without `jti`.
    pub(crate) fn key(&self) -> Option<String> {
        match self {
            Self::Session { session_id, .. } => Some(rules::session_holder(session_id)),
            Self::Bearer { jti, .. } if jti.is_empty() => None,
            Self::Bearer { jti, .. } => Some(rules::bearer_holder(jti)),
        }
    }
}

/// Why step-up is required.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The user has no PIN yet: set one first.
    Setup,
    /// No valid step-up token of this credential was presented.
    Token,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Setup => "setup",
            Self::Token => "token",
        }
    }

    /// What to tell the user (seed 004's words).
    pub fn message(self) -> &'static str {
        match self {
            Self::Setup => "set a step-up PIN before performing this action",
            Self::Token => "enter your step-up PIN to confirm this action",
        }
    }
}

/// A dangerous action refused for want of step-up: 403
/// `{"error":"step_up_required","reason":"setup"|"token",...}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}", .reason.message())]
pub struct StepUpRequired {
    pub reason: Reason,
}

impl IntoResponse for StepUpRequired {
    fn into_response(self) -> Response {
        let body = json!({
            "error": "step_up_required",
            "reason": self.reason.as_str(),
            "error_description": self.reason.message(),
        });
        let mut r = (StatusCode::FORBIDDEN, Json(body)).into_response();
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        r
    }
}

/// The step-up token of a request's `X-Step-Up-Token` header, if any.
pub fn presented(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(presented_in_form)
}

/// The step-up token of a form's [`FORM_FIELD`] (pages deserialize it
/// with `#[serde(default)] step_up_token: String`); `None` when empty.
pub fn presented_in_form(field: &str) -> Option<&str> {
    Some(field.trim()).filter(|t| !t.is_empty())
}

/// Let a dangerous action of `holder` proceed only with a fresh step-up
/// token of that same credential. Fails closed: a store fault is logged
/// and refused as `reason: token`.
pub fn require(
    state: &HubState,
    holder: &Holder,
    presented: Option<&str>,
) -> Result<(), StepUpRequired> {
    let refuse = |reason| Err(StepUpRequired { reason });
    let now = state.clock().now();
    let conn = match state.store().conn() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "step-up check: store unavailable");
            return refuse(Reason::Token);
        }
    };
    match rules::configured(&conn, holder.subject()) {
        Ok(true) => {}
        Ok(false) => return refuse(Reason::Setup),
        Err(e) => {
            tracing::error!(error = %e, "step-up check failed");
            return refuse(Reason::Token);
        }
    }
    let (Some(token), Some(key)) = (presented.filter(|t| t.len() <= MAX_TOKEN_LEN), holder.key())
    else {
        return refuse(Reason::Token);
    };
    match rules::check(&conn, &key, token, now) {
        Ok(true) => Ok(()),
        Ok(false) => refuse(Reason::Token),
        Err(e) => {
            tracing::error!(error = %e, "step-up check failed");
            refuse(Reason::Token)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::hub::test_support::state_with_clock;

    const T0: i64 = 1_800_000_000;

    fn state(dir: &std::path::Path) -> HubState {
        let s = state_with_clock(dir, Clock::fixed(T0));
        s.store()
            .conn()
            .expect("conn")
            .execute(
                "INSERT INTO users (id, username, password_hash, created_at, updated_at)
                 VALUES ('u1', 'ada', 'x', 0, 0)",
                [],
            )
            .expect("user");
        s
    }

    fn bearer(jti: &str) -> Holder {
        Holder::Bearer {
            jti: jti.into(),
            sub: "u1".into(),
        }
    }

    fn session(id: &str) -> Holder {
        Holder::Session {
            session_id: id.into(),
            user_id: "u1".into(),
        }
    }

    fn refused(r: Result<(), StepUpRequired>) -> Option<Reason> {
        r.err().map(|e| e.reason)
    }

    #[test]
    fn setup_then_token_then_through_for_its_own_credential_only() {
        let dir = tempfile::tempdir().expect("tmp");
        let s = state(dir.path());
        let me = bearer("j1");
        assert_eq!(refused(require(&s, &me, Some("x"))), Some(Reason::Setup));
        rules::set_pin(s.store(), "u1", "4242", None, T0).expect("set");
        assert_eq!(refused(require(&s, &me, None)), Some(Reason::Token));
        let m = rules::verify(s.store(), "u1", &me.key().expect("key"), "4242", T0).expect("pin");
        assert_eq!(require(&s, &me, Some(&m.token)), Ok(()));
        assert_eq!(require(&s, &me, Some(&m.token)), Ok(()), "reusable");
        assert_eq!(
            refused(require(&s, &me, Some("forged"))),
            Some(Reason::Token)
        );
        assert_eq!(
            refused(require(&s, &bearer("j2"), Some(&m.token))),
            Some(Reason::Token),
            "another bearer of the same user"
        );
        assert_eq!(
            refused(require(&s, &session("j1"), Some(&m.token))),
            Some(Reason::Token),
            "a session"
        );
        assert_eq!(
            refused(require(&s, &bearer(""), Some(&m.token))),
            Some(Reason::Token),
            "a bearer without jti"
        );
        s.clock().advance(rules::TOKEN_TTL_SECS);
        assert_eq!(
            refused(require(&s, &me, Some(&m.token))),
            Some(Reason::Token),
            "expired"
        );
    }

    #[test]
    fn sessions_are_holders_too() {
        let dir = tempfile::tempdir().expect("tmp");
        let s = state(dir.path());
        rules::set_pin(s.store(), "u1", "4242", None, T0).expect("set");
        let me = session("sid-1");
        let m = rules::verify(s.store(), "u1", &me.key().expect("key"), "4242", T0).expect("pin");
        assert_eq!(require(&s, &me, presented_in_form(&m.token)), Ok(()));
        assert_eq!(
            refused(require(&s, &session("sid-2"), Some(&m.token))),
            Some(Reason::Token)
        );
    }

    #[tokio::test]
    async fn the_refusal_is_a_403_distinct_from_401() {
        for (reason, word) in [(Reason::Setup, "setup"), (Reason::Token, "token")] {
            let r = StepUpRequired { reason }.into_response();
            assert_eq!(r.status(), StatusCode::FORBIDDEN);
            assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
            let b = axum::body::to_bytes(r.into_body(), 4096)
                .await
                .expect("body");
            let v: serde_json::Value = serde_json::from_slice(&b).expect("json");
            assert_eq!(v["error"], "step_up_required");
            assert_eq!(v["reason"], word);
            assert_eq!(v["error_description"], reason.message());
        }
    }

    #[test]
    fn the_token_is_read_from_its_header_or_form_field() {
        let mut h = HeaderMap::new();
        assert_eq!(presented(&h), None);
        h.insert(HEADER, HeaderValue::from_static(""));
        assert_eq!(presented(&h), None);
        h.insert("X-Step-Up-Token", HeaderValue::from_static(" abc "));
        assert_eq!(presented(&h), Some("abc"));
        assert_eq!(presented_in_form(""), None);
        assert_eq!(presented_in_form("t"), Some("t"));
    }
}
