//! The portal's one error type. `web::page` turns it into a page in the person's language (or a
//! redirect to the landing page when there is no session).

use crate::admin_api::ApiFailure;
use crate::oidc::OidcError;

#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    #[error("not logged in")]
    SignedOut,
    /// The IdP no longer accepts the session's tokens (refresh failed, account blocked…).
    #[error("the session ended: {0}")]
    SessionEnded(String),
    #[error("the form's CSRF token does not match")]
    Csrf,
    #[error(transparent)]
    Login(OidcError),
    #[error("not allowed")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("the IdP is not available: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<OidcError> for PortalError {
    fn from(e: OidcError) -> Self {
        match e {
            OidcError::Unavailable(why) => PortalError::Unavailable(why),
            OidcError::RefreshFailed(why) => PortalError::SessionEnded(why),
            other => PortalError::Login(other),
        }
    }
}

impl From<ApiFailure> for PortalError {
    fn from(e: ApiFailure) -> Self {
        match e {
            ApiFailure::Unauthorized => {
                PortalError::SessionEnded("the admin API refused the token".into())
            }
            ApiFailure::Forbidden(_) => PortalError::Forbidden,
            ApiFailure::NotFound => PortalError::NotFound,
            ApiFailure::Rejected(problem) => PortalError::BadRequest(problem.detail),
            ApiFailure::Unavailable(why) => PortalError::Unavailable(why),
        }
    }
}

impl From<tera::Error> for PortalError {
    fn from(e: tera::Error) -> Self {
        // The chain names the template and the missing value.
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            text.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        PortalError::Internal(text)
    }
}
