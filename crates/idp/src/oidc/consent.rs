//! Consent (OIDC Core §3.1.2.4): before a client that is not one of HCC's own applications
//! receives anything about a person, the person is asked, on a page that shows what the client
//! registered about itself and the scopes in plain words. A grant is remembered per person and
//! client with its scope values, so a later request within them is answered at once;
//! `prompt=consent` always asks; `prompt=none` without a grant is `consent_required`. A grant
//! can be withdrawn, which also revokes that client's refresh tokens for the person.

use super::authorize::AuthorizationRequest;
use super::client::Client;
use crate::domain::Scope;
use crate::error::Fault;
use crate::state::IdpState;
use crate::storage::audit::{self, AuditRecord};
use crate::storage::{DbError, authorization, consents};

/// Whether the person must be asked before `client` gets an answer to `request`.
pub async fn needed(
    state: &IdpState,
    client: &Client,
    user_id: &str,
    request: &AuthorizationRequest,
) -> Result<bool, Fault> {
    if !client.needs_consent() {
        return Ok(false);
    }
    if request.prompt_consent {
        return Ok(true);
    }
    let (user, client_id) = (user_id.to_owned(), client.client_id.clone());
    let granted = state
        .db
        .run(move |conn| consents::find(conn, &user, &client_id))
        .await?;
    let requested = Scope::parse_stored(&request.scope);
    Ok(!granted.is_some_and(|g| requested.is_within(&Scope::parse_stored(&g.scope))))
}

/// The person allowed `request`: its scope joins what they granted the client before.
pub async fn grant(
    state: &IdpState,
    user_id: &str,
    request: &AuthorizationRequest,
    ip: Option<String>,
) -> Result<(), Fault> {
    let now = state.now();
    let (user, client_id) = (user_id.to_owned(), request.client_id.clone());
    let requested = Scope::parse_stored(&request.scope);
    state
        .db
        .transaction(move |conn| {
            let earlier = consents::find(conn, &user, &client_id)?
                .map(|g| Scope::parse_stored(&g.scope))
                .unwrap_or_default();
            let scope = earlier.union(&requested);
            consents::grant(conn, &user, &client_id, &scope.to_string(), now)?;
            let mut record = AuditRecord::success("consent_granted")
                .user(&user)
                .ip(ip.as_deref())
                .details(serde_json::json!({ "scope": scope.to_string() }));
            record.client_id = Some(client_id);
            audit::record(conn, record, now)
        })
        .await?;
    Ok(())
}

/// The person refused: nothing is stored but the audit event.
pub async fn denied(
    state: &IdpState,
    user_id: &str,
    request: &AuthorizationRequest,
    ip: Option<String>,
) -> Result<(), Fault> {
    let now = state.now();
    let mut record = AuditRecord::failure("consent_denied")
        .user(user_id)
        .ip(ip.as_deref())
        .details(serde_json::json!({ "scope": request.scope }));
    record.client_id = Some(request.client_id.clone());
    state
        .db
        .run(move |conn| audit::record(conn, record, now))
        .await?;
    Ok(())
}

/// Withdraws the person's grant to the client and revokes the refresh tokens it gave. False
/// when there was no grant.
pub async fn revoke(state: &IdpState, user_id: &str, client_id: &str) -> Result<bool, Fault> {
    let now = state.now();
    let (user, client) = (user_id.to_owned(), client_id.to_owned());
    Ok(state
        .db
        .transaction(move |conn| {
            if !consents::revoke(conn, &user, &client)? {
                return Ok::<_, DbError>(false);
            }
            let revoked = authorization::revoke_for_user_and_client(conn, &user, &client, now)?;
            let mut record = AuditRecord::success("consent_revoked")
                .user(&user)
                .details(serde_json::json!({ "revoked_refresh_tokens": revoked }));
            record.client_id = Some(client.clone());
            audit::record(conn, record, now)?;
            Ok(true)
        })
        .await?)
}
