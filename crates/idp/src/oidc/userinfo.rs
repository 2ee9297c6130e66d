//! The UserInfo endpoint (OIDC Core §5.3): GET or POST with a bearer access token (in the
//! header, or for POST in the form body, RFC 6750 §2.2), answering the claims its scope releases.

use super::bearer;
use super::claims::load_user_claims;
use super::error::{OAuthError, OAuthErrorCode};
use super::form::FormParams;
use crate::domain::Scope;
use crate::domain::scope::OPENID;
use crate::state::IdpState;

/// The access token of a userinfo request: from the `Authorization` header or, for POST, the
/// form body (RFC 6750 §2.2), but not both.
pub fn presented_token(
    authorization: Option<&str>,
    form: Option<&FormParams>,
) -> Result<Option<String>, OAuthError> {
    let header = bearer::from_authorization(authorization);
    let in_body = form.and_then(|f| f.get("access_token")).map(str::to_owned);
    if header.is_some() && in_body.is_some() {
        return Err(OAuthError::invalid_request("send the access token once"));
    }
    Ok(header.or(in_body))
}

/// The claims the token's scope releases, with `sub`.
pub async fn claims(
    state: &IdpState,
    token: Option<String>,
) -> Result<serde_json::Value, OAuthError> {
    let token = token.ok_or_else(OAuthError::missing_token)?;
    let claims = bearer::check(state, &token).await?.ok_or_else(|| {
        OAuthError::invalid_token("the access token is invalid, expired or revoked")
    })?;
    let scope = Scope::parse_stored(&claims.scope);
    if !scope.contains(OPENID) || claims.sub == claims.client_id {
        let mut e = OAuthError::new(
            OAuthErrorCode::InsufficientScope,
            "the openid scope is required",
        );
        e.challenge = super::error::Challenge::Bearer;
        return Err(e);
    }
    let sub = claims.sub.clone();
    let user = state
        .db
        .run(move |conn| load_user_claims(conn, &sub, &scope))
        .await?
        .ok_or_else(|| OAuthError::invalid_token("the account no longer exists"))?;
    let mut body = serde_json::to_value(&user.1).unwrap_or_else(|_| serde_json::json!({}));
    if let Some(map) = body.as_object_mut() {
        map.insert("sub".to_owned(), serde_json::Value::String(claims.sub));
    }
    Ok(body)
}
