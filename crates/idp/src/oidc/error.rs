//! OAuth 2.0 error responses as the RFCs define them: JSON `error` / `error_description`,
//! 400 for request errors, 401 with `WWW-Authenticate` for failed client or token authentication.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    InvalidToken,
    InsufficientScope,
    InvalidRedirectUri,
    InvalidClientMetadata,
    ServerError,
}

impl OAuthErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthErrorCode::InvalidRequest => "invalid_request",
            OAuthErrorCode::InvalidClient => "invalid_client",
            OAuthErrorCode::InvalidGrant => "invalid_grant",
            OAuthErrorCode::UnauthorizedClient => "unauthorized_client",
            OAuthErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            OAuthErrorCode::InvalidScope => "invalid_scope",
            OAuthErrorCode::InvalidToken => "invalid_token",
            OAuthErrorCode::InsufficientScope => "insufficient_scope",
            OAuthErrorCode::InvalidRedirectUri => "invalid_redirect_uri",
            OAuthErrorCode::InvalidClientMetadata => "invalid_client_metadata",
            OAuthErrorCode::ServerError => "server_error",
        }
    }
}

/// How the caller authenticated (or failed to): decides the `WWW-Authenticate` challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    None,
    /// RFC 6749 §5.2: a failed HTTP Basic client authentication answers with a Basic challenge.
    Basic,
    /// RFC 6750 §3: bearer token errors.
    Bearer,
    /// RFC 6750 §3.1: a request that carried no token at all gets the challenge without an
    /// error code.
    BearerWithoutToken,
}

#[derive(Debug, Clone)]
pub struct OAuthError {
    pub code: OAuthErrorCode,
    pub description: String,
    pub challenge: Challenge,
    /// A status other than the code's own (413 for a body over the limit).
    pub status: Option<StatusCode>,
}

impl OAuthError {
    pub fn new(code: OAuthErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            challenge: Challenge::None,
            status: None,
        }
    }

    /// RFC 9110 §15.5.14: the body is larger than the endpoint reads.
    pub fn too_large(limit: usize) -> Self {
        Self {
            status: Some(StatusCode::PAYLOAD_TOO_LARGE),
            ..Self::invalid_request(format!(
                "the request body is larger than {} KiB",
                limit / 1024
            ))
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(OAuthErrorCode::InvalidRequest, description)
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(OAuthErrorCode::InvalidGrant, description)
    }

    pub fn invalid_client(challenge: Challenge) -> Self {
        Self {
            challenge,
            ..Self::new(
                OAuthErrorCode::InvalidClient,
                "client authentication failed",
            )
        }
    }

    pub fn missing_token() -> Self {
        Self {
            challenge: Challenge::BearerWithoutToken,
            ..Self::new(OAuthErrorCode::InvalidToken, "an access token is required")
        }
    }

    pub fn invalid_token(description: impl Into<String>) -> Self {
        Self {
            challenge: Challenge::Bearer,
            ..Self::new(OAuthErrorCode::InvalidToken, description)
        }
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

impl From<AppError> for OAuthError {
    fn from(e: AppError) -> Self {
        tracing::error!(error = %e, "protocol endpoint failed");
        Self::new(
            OAuthErrorCode::ServerError,
            "the server could not process the request",
        )
    }
}

impl From<crate::storage::DbError> for OAuthError {
    fn from(e: crate::storage::DbError) -> Self {
        AppError::from(e).into()
    }
}

impl From<diesel::result::Error> for OAuthError {
    fn from(e: diesel::result::Error) -> Self {
        AppError::from(e).into()
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        if let Some(status) = self.status {
            return status;
        }
        match (self.code, self.challenge) {
            (OAuthErrorCode::InvalidClient, Challenge::Basic) => StatusCode::UNAUTHORIZED,
            (OAuthErrorCode::InvalidClient, _) => StatusCode::UNAUTHORIZED,
            (OAuthErrorCode::InvalidToken, _) => StatusCode::UNAUTHORIZED,
            (OAuthErrorCode::InsufficientScope, _) => StatusCode::FORBIDDEN,
            (OAuthErrorCode::ServerError, _) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response
            .insert_header(("Cache-Control", "no-store"))
            .insert_header(("Pragma", "no-cache"));
        match self.challenge {
            Challenge::Bearer => {
                response.insert_header((
                    "WWW-Authenticate",
                    format!(
                        "Bearer realm=\"hcc-identity\", error=\"{}\", error_description=\"{}\"",
                        self.code.as_str(),
                        self.description.replace('"', "'")
                    ),
                ));
            }
            Challenge::BearerWithoutToken => {
                response.insert_header(("WWW-Authenticate", "Bearer realm=\"hcc-identity\""));
            }
            // Every 401 names a scheme (RFC 7235 §3.1); a failed client authentication offers
            // HTTP Basic (RFC 6749 §5.2), whichever method the client tried.
            Challenge::Basic | Challenge::None
                if self.status_code() == StatusCode::UNAUTHORIZED =>
            {
                response.insert_header(("WWW-Authenticate", "Basic realm=\"hcc-identity\""));
            }
            Challenge::Basic | Challenge::None => {}
        }
        response.json(serde_json::json!({
            "error": self.code.as_str(),
            "error_description": self.description,
        }))
    }
}
