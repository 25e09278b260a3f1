//! The one error of the HTML surface. A browser is answered with a page,
//! never JSON: [`PageError::status`] is the one place an HTML failure gets
//! its status code, and its `IntoResponse` the one place it becomes a page
//! (5xx logged with their cause and shown generically). Pages that show
//! their form again with the message on top (sign-in) use the same
//! `status` and `Display`.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::kit::page;
use crate::hub::csrf;
use crate::hub::error::ApiError;
use crate::identity::login::{LoginError, Refusal};
use crate::store::StoreError;

/// A page that only says what went wrong.
#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub title: &'a str,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// A form POST failed the CSRF double-submit or Origin check; `title`
    /// names what was refused ("Sign-in refused").
    #[error("{}", why.message())]
    Csrf {
        title: &'static str,
        why: csrf::Refused,
    },
    /// The body is not the form the page sent: too large (413), not a form
    /// (415), or unreadable (400/422).
    #[error("The form could not be read: {0}")]
    Form(#[from] FormRejection),
    /// A sign-in attempt was turned down (`identity::login`).
    #[error(transparent)]
    SignIn(#[from] Refusal),
    /// The store cannot be used.
    #[error(
        "The hub's store is unavailable. Try again shortly; if it stays so, run `parachute doctor`."
    )]
    Unavailable(String),
    /// Anything else; logged with its cause.
    #[error("Something went wrong inside the hub; see its log (`parachute logs hub`).")]
    Internal(String),
}

impl PageError {
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::Internal(e.to_string())
    }

    /// The store could not even be reached (no connection).
    pub fn unavailable(e: impl std::fmt::Display) -> Self {
        Self::Unavailable(e.to_string())
    }

    /// The status code of each failure.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Csrf { .. } => StatusCode::FORBIDDEN,
            Self::Form(r) => r.status(),
            Self::SignIn(r) => match r {
                Refusal::UsernameTooLong => StatusCode::BAD_REQUEST,
                Refusal::PasswordTooLong => StatusCode::PAYLOAD_TOO_LARGE,
                Refusal::TooManyPasswords { .. } | Refusal::TooManyCodes { .. } => {
                    StatusCode::TOO_MANY_REQUESTS
                }
                Refusal::WrongPassword
                | Refusal::CodeReplayed
                | Refusal::WrongCode
                | Refusal::Expired => StatusCode::UNAUTHORIZED,
            },
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Self::Csrf { title, .. } => title,
            Self::Form(_) => "Form not accepted",
            Self::SignIn(Refusal::Expired) => "Sign-in expired",
            Self::SignIn(_) => "Sign-in refused",
            Self::Unavailable(_) => "Hub unavailable",
            Self::Internal(_) => "Something went wrong",
        }
    }

    /// Add what the failure implies to a page answering it: `Retry-After`
    /// for a rate limit.
    pub fn decorate(&self, mut r: Response) -> Response {
        if let Self::SignIn(why) = self
            && let Some(secs) = why.retry_after()
        {
            r.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        *r.status_mut() = self.status();
        r
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match &self {
            Self::Unavailable(fault) => tracing::error!(%fault, "store unavailable"),
            Self::Internal(cause) => tracing::error!(%cause, "internal error"),
            _ => {}
        }
        let body = ErrorPage {
            title: self.title(),
            message: self.to_string(),
        };
        self.decorate(page(self.status(), body))
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Unavailable(fault) | ApiError::Busy(fault) => Self::Unavailable(fault),
            ApiError::Internal(cause) => Self::Internal(cause),
            other => Self::Internal(format!("{other:?}")),
        }
    }
}

/// A busy store is the "try again shortly" page (503), any other fault
/// the hub's own (500): [`ApiError`]'s rule.
impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        ApiError::from(e).into()
    }
}

/// The same for a query's own error.
impl From<rusqlite::Error> for PageError {
    fn from(e: rusqlite::Error) -> Self {
        ApiError::from(e).into()
    }
}

impl From<LoginError> for PageError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::Refused(why) => Self::SignIn(why),
            LoginError::Store(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_is_an_html_page_with_its_status() {
        let cases = [
            (
                PageError::Csrf {
                    title: "Sign-in refused",
                    why: csrf::Refused::Token,
                },
                403,
            ),
            (PageError::SignIn(Refusal::UsernameTooLong), 400),
            (PageError::SignIn(Refusal::PasswordTooLong), 413),
            (PageError::SignIn(Refusal::WrongPassword), 401),
            (PageError::Unavailable("gone".into()), 503),
            (PageError::internal("boom"), 500),
        ];
        for (e, status) in cases {
            let r = e.into_response();
            assert_eq!(r.status().as_u16(), status);
            let ct = r.headers()["content-type"].to_str().expect("ascii");
            assert!(ct.starts_with("text/html"), "{ct}");
            assert_eq!(r.headers()["x-frame-options"], "DENY");
        }
        let limited = PageError::SignIn(Refusal::TooManyCodes { retry_after: 42 }).into_response();
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(limited.headers()["retry-after"], "42");
    }

    #[test]
    fn error_pages_escape_their_message() {
        let r = ErrorPage {
            title: "T",
            message: "<b>&</b>".into(),
        }
        .render()
        .expect("render");
        assert!(
            r.contains("<p class=\"error\">&lt;b&gt;&amp;&lt;/b&gt;</p>"),
            "{r}"
        );
        assert!(r.contains("<title>T · Parachute</title>"));
    }
}
