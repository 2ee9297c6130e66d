//! Token revocation (RFC 7009). A client revokes its own tokens: a refresh token takes its
//! whole family with it; an access token goes on the revoked list until it would have expired.
//! The answer is 200 whether or not the token was known (§2.2).

use super::bearer;
use super::client::Client;
use super::error::OAuthError;
use super::form::FormParams;
use crate::crypto::OpaqueToken;
use crate::state::IdpState;
use crate::storage::audit::{self, AuditRecord};
use crate::storage::authorization;

pub async fn revoke(
    state: &IdpState,
    client: &Client,
    form: &FormParams,
) -> Result<(), OAuthError> {
    let token = form.require("token")?.to_owned();
    let now = state.now();

    let hash = OpaqueToken::from_presented(&token).hash();
    let client_id = client.client_id.clone();
    let revoked_refresh = state
        .db
        .run(move |conn| {
            let Some(row) = authorization::find_refresh(conn, &hash)? else {
                return Ok::<_, OAuthError>(false);
            };
            if row.client_id != client_id {
                return Ok(false);
            }
            authorization::revoke_family(conn, &row.family_id, now)?;
            let mut record = AuditRecord::success("token_revoked")
                .user(&row.user_id)
                .details(serde_json::json!({
                    "token_type": "refresh_token", "family_id": row.family_id,
                }));
            record.client_id = Some(client_id.clone());
            audit::record(conn, record, now)?;
            Ok(true)
        })
        .await?;
    if !revoked_refresh
        && let Some(claims) = bearer::check(state, &token).await?
        && claims.client_id == client.client_id
    {
        state
            .db
            .run(move |conn| {
                authorization::revoke_access_token(conn, &claims.jti, claims.exp)?;
                let mut record = AuditRecord::success("token_revoked").details(
                    serde_json::json!({ "token_type": "access_token", "jti": claims.jti }),
                );
                record.user_id = (claims.sub != claims.client_id).then(|| claims.sub.clone());
                record.client_id = Some(claims.client_id.clone());
                audit::record(conn, record, now)
            })
            .await?;
    }
    Ok(())
}
