//! Extractors and checks of form pages whose failures are HTML pages
//! ([`PageError`]), not the text or JSON of the plain axum ones.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::PageError;
use crate::hub::csrf;
use crate::hub::session::{MaybeSession, SignedIn};
use crate::hub::state::HubState;

/// The CSRF check a form POST starts with; `title` names what is refused
/// ("Sign-in refused").
pub fn check_csrf(
    state: &HubState,
    headers: &HeaderMap,
    submitted: &str,
    title: &'static str,
) -> Result<(), PageError> {
    csrf::check(state, headers, submitted).map_err(|why| PageError::Csrf { title, why })
}

/// `axum::Form`, failing with an HTML page (same status) instead of text.
#[derive(Debug)]
pub struct PageForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for PageForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, PageError> {
        let axum::Form(v) = axum::Form::<T>::from_request(req, state).await?;
        Ok(Self(v))
    }
}

/// The request's session, if any; a store failure is an HTML page.
#[derive(Debug, Clone)]
pub struct PageSession(pub Option<SignedIn>);

impl FromRequestParts<HubState> for PageSession {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &HubState) -> Result<Self, PageError> {
        let MaybeSession(me) = MaybeSession::from_request_parts(parts, state).await?;
        Ok(Self(me))
    }
}
