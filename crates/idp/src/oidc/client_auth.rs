//! Client authentication at the token, revocation and introspection endpoints (RFC 6749
//! §2.3.1): HTTP Basic (client_secret_basic), credentials in the form body (client_secret_post),
//! or none for public clients. A client must use the method it registered.

use base64::Engine;

use super::client::{self, AuthMethod, Client};
use super::error::{Challenge, OAuthError};
use super::form::FormParams;
use crate::state::IdpState;

/// Credentials sent with HTTP Basic (client_secret_basic).
#[derive(Debug, Clone)]
pub struct BasicCredentials {
    pub client_id: String,
    pub secret: String,
}

impl BasicCredentials {
    /// `Authorization: Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1), given
    /// the header's value; `None` for another scheme or no header.
    pub fn from_authorization(value: Option<&str>) -> Result<Option<Self>, OAuthError> {
        let Some(value) = value else {
            return Ok(None);
        };
        let Some(encoded) = value
            .strip_prefix("Basic ")
            .or_else(|| value.strip_prefix("basic "))
        else {
            return Ok(None);
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| OAuthError::invalid_client(Challenge::Basic))?;
        let (id, secret) = decoded
            .split_once(':')
            .ok_or_else(|| OAuthError::invalid_client(Challenge::Basic))?;
        let unescape = |s: &str| -> String {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        Ok(Some(Self {
            client_id: unescape(id),
            secret: unescape(secret),
        }))
    }
}

/// The client the request authenticated as.
pub async fn authenticate(
    state: &IdpState,
    basic: Option<BasicCredentials>,
    form: &FormParams,
) -> Result<Client, OAuthError> {
    let basic = basic.map(|b| (b.client_id, b.secret));
    let body_id = form.get("client_id");
    let body_secret = form.get("client_secret");
    let (client_id, secret, method) = match (basic, body_secret) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "use one client authentication method",
            ));
        }
        (Some((id, secret)), None) => {
            if body_id.is_some_and(|b| b != id) {
                return Err(OAuthError::invalid_client(Challenge::Basic));
            }
            (id, Some(secret), AuthMethod::ClientSecretBasic)
        }
        (None, Some(secret)) => {
            let id = body_id.ok_or_else(|| OAuthError::invalid_request("client_id is required"))?;
            (
                id.to_owned(),
                Some(secret.to_owned()),
                AuthMethod::ClientSecretPost,
            )
        }
        (None, None) => {
            let id = body_id.ok_or_else(|| OAuthError::invalid_client(Challenge::None))?;
            (id.to_owned(), None, AuthMethod::None)
        }
    };
    let challenge = if method == AuthMethod::ClientSecretBasic {
        Challenge::Basic
    } else {
        Challenge::None
    };
    let lookup = client_id.clone();
    let found = state
        .db
        .run(move |conn| client::find(conn, &lookup))
        .await?;
    let authenticated = found.filter(|client| {
        client.auth_method == method
            && match &secret {
                Some(secret) => client.secret_matches(secret),
                None => client.is_public(),
            }
    });
    authenticated.ok_or_else(|| {
        tracing::info!(client_id = %crate::telemetry::Untrusted(&client_id), method = method.as_str(), "client authentication failed");
        OAuthError::invalid_client(challenge)
    })
}
