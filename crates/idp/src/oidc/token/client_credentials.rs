//! grant_type=client_credentials (RFC 6749 §4.4): a service client acting for itself. Only
//! confidential clients; no ID token, no refresh token; `sub` is the client.

use super::TokenResponse;
use crate::domain::Scope;
use crate::domain::scope::{OFFLINE_ACCESS, OPENID};
use crate::oidc::claims::AccessTokenClaims;
use crate::oidc::client::{Client, GRANT_CLIENT_CREDENTIALS};
use crate::oidc::error::{OAuthError, OAuthErrorCode};
use crate::oidc::form::FormParams;
use crate::state::IdpState;

pub async fn exchange(
    state: &IdpState,
    client: &Client,
    form: &FormParams,
) -> Result<TokenResponse, OAuthError> {
    if client.is_public() || !client.allows_grant(GRANT_CLIENT_CREDENTIALS) {
        return Err(OAuthError::new(
            OAuthErrorCode::UnauthorizedClient,
            "this client may not use client_credentials",
        ));
    }
    let requested = form.get("scope").unwrap_or_default();
    // Scopes about a person mean nothing without one.
    let scope = Scope::grant(requested, &client.scope)
        .without(OPENID)
        .without(OFFLINE_ACCESS);
    let now = state.now();
    let lifetime = state.settings.tokens.client_credentials_seconds;
    let claims = AccessTokenClaims {
        iss: state.settings.issuer.clone(),
        sub: client.client_id.clone(),
        aud: client.client_id.clone(),
        exp: now + lifetime,
        iat: now,
        jti: uuid::Uuid::new_v4().to_string(),
        client_id: client.client_id.clone(),
        scope: scope.to_string(),
        auth_time: None,
        acr: None,
        amr: None,
        sid: None,
    };
    let access_token = state.keys.sign(Some("at+jwt"), &claims)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: lifetime,
        scope: scope.to_string(),
        refresh_token: None,
        id_token: None,
    })
}
