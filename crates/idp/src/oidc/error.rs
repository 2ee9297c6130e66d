//! OAuth 2.0 errors as the RFCs define them: the code, the description, the HTTP status (400
//! for request errors, 401 with a `WWW-Authenticate` challenge for failed client or token
//! authentication, RFC 6749 §5.2, RFC 6750 §3) and the JSON body. `web::oidc` writes them.

use crate::error::Fault;

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
    /// RFC 6749 §4.1.2.1: the server cannot handle the request now (the database is
    /// unreachable); answered 503 with `Retry-After`.
    TemporarilyUnavailable,
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
            OAuthErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
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
    pub status: Option<u16>,
    /// For `server_error`: the fault behind it, for the log (never sent to the client).
    pub fault: Option<String>,
}

impl OAuthError {
    pub fn new(code: OAuthErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            challenge: Challenge::None,
            status: None,
            fault: None,
        }
    }

    /// RFC 9110 §15.5.14: the body is larger than the endpoint reads.
    pub fn too_large(limit: usize) -> Self {
        Self {
            status: Some(413),
            ..Self::invalid_request(format!(
                "the request body is larger than {} KiB",
                limit / 1024
            ))
        }
    }

    /// The body did not arrive in time (`server.request_body_timeout_seconds`): 408.
    pub fn too_slow() -> Self {
        Self {
            status: Some(408),
            ..Self::invalid_request("the request body was not sent in time")
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
        write!(f, "{}: {}", self.code.as_str(), self.description)?;
        if let Some(fault) = &self.fault {
            write!(f, " ({fault})")?;
        }
        Ok(())
    }
}

impl From<Fault> for OAuthError {
    fn from(e: Fault) -> Self {
        if e.is_unavailable() {
            return Self {
                fault: Some(e.to_string()),
                ..Self::new(
                    OAuthErrorCode::TemporarilyUnavailable,
                    "the server is temporarily unavailable; try again shortly",
                )
            };
        }
        Self {
            fault: Some(e.to_string()),
            ..Self::new(
                OAuthErrorCode::ServerError,
                "the server could not process the request",
            )
        }
    }
}

macro_rules! faults_are_server_errors {
    ($($source:ty),* $(,)?) => {$(
        impl From<$source> for OAuthError {
            fn from(e: $source) -> Self {
                Fault::from(e).into()
            }
        }
    )*};
}

faults_are_server_errors!(
    crate::storage::DbError,
    diesel::result::Error,
    crate::keys::KeyError
);

impl OAuthError {
    /// The HTTP status of the answer.
    pub fn http_status(&self) -> u16 {
        if let Some(status) = self.status {
            return status;
        }
        match self.code {
            OAuthErrorCode::InvalidClient | OAuthErrorCode::InvalidToken => 401,
            OAuthErrorCode::InsufficientScope => 403,
            OAuthErrorCode::ServerError => 500,
            OAuthErrorCode::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }

    /// The `WWW-Authenticate` challenge, if the answer carries one: RFC 6750 §3 for bearer
    /// tokens; for any other 401 HTTP Basic (RFC 6749 §5.2, whichever method the client tried;
    /// RFC 7235 §3.1: every 401 names a scheme).
    pub fn challenge(&self) -> Option<String> {
        match self.challenge {
            Challenge::Bearer => Some(format!(
                "Bearer realm=\"hcc-identity\", error=\"{}\", error_description=\"{}\"",
                self.code.as_str(),
                self.description.replace('"', "'")
            )),
            Challenge::BearerWithoutToken => Some("Bearer realm=\"hcc-identity\"".to_owned()),
            Challenge::Basic | Challenge::None if self.http_status() == 401 => {
                Some("Basic realm=\"hcc-identity\"".to_owned())
            }
            Challenge::Basic | Challenge::None => None,
        }
    }

    /// The JSON body: `error` and `error_description`.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({
            "error": self.code.as_str(),
            "error_description": self.description,
        })
    }
}
