//! The token endpoint (RFC 6749 §3.2): one module per grant type, after client authentication
//! (`client_auth`). `web::oidc` answers with `Cache-Control: no-store` (§5.1).

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;

use serde::Serialize;

use super::claims::{AccessTokenClaims, IdTokenClaims, UserClaims, amr_list, at_hash, sid};
use super::client::Client;
use super::error::{OAuthError, OAuthErrorCode};
use super::form::FormParams;
use crate::domain::Scope;
use crate::domain::scope::OPENID;
use crate::state::IdpState;

/// Answers a token request of an authenticated client by its grant type.
pub async fn grant(
    state: &IdpState,
    client: &Client,
    form: &FormParams,
) -> Result<TokenResponse, OAuthError> {
    let (grant_type, answer) = match form.require("grant_type")? {
        "authorization_code" => (
            "authorization_code",
            authorization_code::exchange(state, client, form).await,
        ),
        "refresh_token" => (
            "refresh_token",
            refresh_token::exchange(state, client, form).await,
        ),
        "client_credentials" => (
            "client_credentials",
            client_credentials::exchange(state, client, form).await,
        ),
        other => (
            "unsupported",
            Err(OAuthError::new(
                OAuthErrorCode::UnsupportedGrantType,
                format!(
                    "grant type {} is not supported",
                    crate::telemetry::Untrusted(other)
                ),
            )),
        ),
    };
    let outcome = match &answer {
        Ok(_) => "ok",
        Err(e) => e.code.as_str(),
    };
    crate::metrics::grant(grant_type, outcome);
    answer
}

#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// The person's sign-in that tokens are issued for.
#[derive(Debug, Clone)]
pub struct Authentication {
    pub user_id: String,
    pub auth_time: i64,
    pub amr: String,
    pub session_id_hash: Option<String>,
}

/// What a grant's transaction decided: who, which scope, and the claims that scope releases.
pub struct Granted {
    pub auth: Authentication,
    pub scope: Scope,
    pub claims: UserClaims,
    pub nonce: Option<String>,
}

pub struct Minted {
    pub access_token: String,
    pub jti: String,
    pub id_token: Option<String>,
}

/// Signs the tokens with the person's claims for `scope` (read in the grant's own transaction)
/// and builds the response: the common end of the authorization_code and refresh_token grants.
pub fn respond(
    state: &IdpState,
    client: &Client,
    grant: Granted,
    refresh_token: Option<String>,
    jti: String,
) -> Result<TokenResponse, OAuthError> {
    let Granted {
        auth,
        scope,
        claims,
        nonce,
    } = grant;
    let (auth, scope) = (&auth, &scope);
    let minted = mint(state, client, auth, scope, claims, nonce, jti)?;
    let response = TokenResponse {
        access_token: minted.access_token,
        token_type: "Bearer",
        expires_in: state.settings.tokens.access_token_seconds,
        scope: scope.to_string(),
        refresh_token,
        id_token: minted.id_token,
    };
    Ok(response)
}

/// Signs the access token (RFC 9068) and, for the openid scope, the ID token.
pub fn mint(
    state: &IdpState,
    client: &Client,
    auth: &Authentication,
    scope: &Scope,
    user: UserClaims,
    nonce: Option<String>,
    jti: String,
) -> Result<Minted, OAuthError> {
    let now = state.now();
    let settings = &state.settings;
    let session_sid = auth.session_id_hash.as_deref().map(|h| sid(state, h));
    let access = AccessTokenClaims {
        iss: settings.issuer.clone(),
        sub: auth.user_id.clone(),
        aud: client.client_id.clone(),
        exp: now + settings.tokens.access_token_seconds,
        iat: now,
        jti: jti.clone(),
        client_id: client.client_id.clone(),
        scope: scope.to_string(),
        auth_time: Some(auth.auth_time),
        acr: Some(settings.oidc.acr.clone()),
        amr: Some(amr_list(&auth.amr)),
        sid: session_sid.clone(),
    };
    let access_token = state.keys.sign(Some("at+jwt"), &access)?;
    let id_token = if scope.contains(OPENID) {
        let claims = IdTokenClaims {
            iss: settings.issuer.clone(),
            sub: auth.user_id.clone(),
            aud: client.client_id.clone(),
            exp: now + settings.tokens.id_token_seconds,
            iat: now,
            auth_time: auth.auth_time,
            nonce,
            acr: settings.oidc.acr.clone(),
            amr: amr_list(&auth.amr),
            sid: session_sid,
            azp: client.client_id.clone(),
            at_hash: Some(at_hash(&access_token)),
            user,
        };
        Some(state.keys.sign(None, &claims)?)
    } else {
        None
    };
    Ok(Minted {
        access_token,
        jti,
        id_token,
    })
}
