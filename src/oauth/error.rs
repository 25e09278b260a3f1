//! The one OAuth error of the domain: an RFC 6749 §5.2 error code with its
//! description, and the store fault that may stop a rule halfway. The hub
//! maps both to HTTP in one place (`hub::oauth::error`): the JSON body at
//! the token-side endpoints, the redirect back to the client at the
//! authorize endpoint.

use crate::store::StoreError;

/// The error codes the hub answers with (RFC 6749 §4.1.2.1 and §5.2,
/// RFC 7591 §3.2.2, RFC 8707 §2, RFC 6750 §3.1, OIDC `prompt=none`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnsupportedGrantType,
    InvalidScope,
    InvalidTarget,
    InsufficientScope,
    InvalidClientMetadata,
    InvalidRedirectUri,
    AccessDenied,
    UnsupportedResponseType,
    LoginRequired,
    ConsentRequired,
}

impl ErrorCode {
    /// The code as the protocol spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidTarget => "invalid_target",
            Self::InsufficientScope => "insufficient_scope",
            Self::InvalidClientMetadata => "invalid_client_metadata",
            Self::InvalidRedirectUri => "invalid_redirect_uri",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refusal the client is told about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: String,
    /// For `insufficient_scope`: the scope to ask for (the Bearer
    /// challenge's `scope`, RFC 6750 §3.1).
    pub scope: Option<&'static str>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            scope: None,
        }
    }

    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, d)
    }

    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidGrant, d)
    }

    pub fn invalid_client(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidClient, d)
    }

    pub fn invalid_scope(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidScope, d)
    }

    pub fn invalid_target(d: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidTarget, d)
    }

    /// `insufficient_scope`, naming `scope`, the one to ask for.
    pub fn insufficient_scope(scope: &'static str, d: impl Into<String>) -> Self {
        Self {
            scope: Some(scope),
            ..Self::new(ErrorCode::InsufficientScope, d)
        }
    }
}

/// A rule's outcome when it did not succeed: refused (told to the client),
/// or the store failed (a hub fault).
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error(transparent)]
    Refused(#[from] OAuthError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a step inside a write transaction yields: `Ok(Err(_))` is a
/// refusal whose side effects (a revoked family) are still committed;
/// `Err(_)` rolls the transaction back.
pub type Step<T> = Result<Result<T, OAuthError>, StoreError>;

/// Flatten a transaction's [`Step`] into a [`Failure`].
pub fn settle<T>(step: Step<T>) -> Result<T, Failure> {
    Ok(step??)
}
