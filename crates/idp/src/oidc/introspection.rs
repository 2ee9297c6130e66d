//! Token introspection (RFC 7662) for authenticated confidential clients (resource servers).
//! Anything not usable — unknown, expired, revoked, rotated, of a disabled account — is simply
//! `{"active": false}`.

use super::bearer;
use super::client::Client;
use super::error::{Challenge, OAuthError};
use super::form::FormParams;
use crate::crypto::OpaqueToken;
use crate::state::IdpState;
use crate::storage::{authorization, users};

/// The answer about `token` for `client` (RFC 7662 §2.2).
pub async fn introspect(
    state: &IdpState,
    client: &Client,
    form: &FormParams,
) -> Result<serde_json::Value, OAuthError> {
    if client.is_public() {
        return Err(OAuthError::invalid_client(Challenge::None));
    }
    let token = form.require("token")?;
    let hint = form.get("token_type_hint");
    let mut answer = serde_json::json!({ "active": false });
    let as_refresh = || async { refresh_token(state, &client.client_id, token).await };
    if hint == Some("refresh_token") {
        if let Some(found) = as_refresh().await? {
            answer = found;
        } else if let Some(found) = access_token(state, &client.client_id, token).await? {
            answer = found;
        }
    } else if let Some(found) = access_token(state, &client.client_id, token).await? {
        answer = found;
    } else if let Some(found) = as_refresh().await? {
        answer = found;
    }
    Ok(answer)
}

async fn access_token(
    state: &IdpState,
    caller: &str,
    token: &str,
) -> Result<Option<serde_json::Value>, OAuthError> {
    Ok(bearer::check(state, token)
        .await?
        // A client learns about its own tokens only (RFC 7662 §4).
        .filter(|c| c.client_id == caller || c.aud == caller)
        .map(|c| {
            serde_json::json!({
                "active": true,
                "token_type": "Bearer",
                "scope": c.scope,
                "client_id": c.client_id,
                "sub": c.sub,
                "aud": c.aud,
                "iss": c.iss,
                "exp": c.exp,
                "iat": c.iat,
                "jti": c.jti,
            })
        }))
}

async fn refresh_token(
    state: &IdpState,
    caller: &str,
    token: &str,
) -> Result<Option<serde_json::Value>, OAuthError> {
    let hash = OpaqueToken::from_presented(token).hash();
    let now = state.now();
    let issuer = state.settings.issuer.clone();
    let caller = caller.to_owned();
    state
        .db
        .run(move |conn| {
            let Some(row) = authorization::find_refresh(conn, &hash)? else {
                return Ok::<_, OAuthError>(None);
            };
            let usable = row.client_id == caller
                && row.rotated_at.is_none()
                && row.revoked_at.is_none()
                && row.expires_at > now;
            let active_user =
                users::find(conn, &row.user_id)?.is_some_and(|u| u.status.may_receive_tokens());
            Ok((usable && active_user).then(|| {
                serde_json::json!({
                    "active": true,
                    "token_type": "refresh_token",
                    "scope": row.scope,
                    "client_id": row.client_id,
                    "sub": row.user_id,
                    "iss": issuer,
                    "exp": row.expires_at,
                    "iat": row.created_at,
                })
            }))
        })
        .await
}
