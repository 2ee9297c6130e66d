//! Answering an authorization request: a pending request parked while the person logs in, and
//! the authorization code (RFC 6749 §4.1.2): single use, at most 60 seconds, bound to the
//! client, the redirect URI, the PKCE challenge and the session.

use super::authorize::AuthorizationRequest;
use super::client::Client;
use crate::crypto::OpaqueToken;
use crate::domain::Scope;
use crate::domain::scope::ADMIN;
use crate::error::Fault;
use crate::state::IdpState;
use crate::storage::models::{AuthorizationCodeRow, AuthorizationRequestRow, Session};
use crate::storage::{DbError, authorization};

/// How long a parked request waits for the person (covers registering by invitation).
pub const PENDING_REQUEST_SECONDS: i64 = 3600;

/// A request parked for the person to log in, or refused because the client address has
/// parked too many this hour.
#[derive(Debug)]
pub enum Parked {
    /// The value for the browser's cookie.
    Waiting(OpaqueToken),
    TooMany,
}

/// Parks the request, within the hourly limit of its client address
/// (`throttle.parked_requests_per_ip_per_hour`).
pub async fn park(
    state: &IdpState,
    request: &AuthorizationRequest,
    ip: Option<String>,
) -> Result<Parked, Fault> {
    let token = OpaqueToken::generate();
    let now = state.now();
    let row = AuthorizationRequestRow {
        id_hash: token.hash(),
        client_id: request.client_id.clone(),
        parameters: serde_json::to_string(request).map_err(|e| Fault::Internal(e.into()))?,
        created_at: now,
        expires_at: now + PENDING_REQUEST_SECONDS,
    };
    let settings = state.settings.throttle.clone();
    let parked = state
        .db
        .run(move |conn| {
            if !crate::throttle::allow_parked_request(conn, &settings, ip.as_deref(), now)? {
                return Ok::<_, DbError>(false);
            }
            authorization::insert_request(conn, &row)?;
            Ok(true)
        })
        .await?;
    Ok(if parked {
        Parked::Waiting(token)
    } else {
        Parked::TooMany
    })
}

/// The parked request behind a cookie value, if it is still waiting.
pub async fn parked(state: &IdpState, cookie: &str) -> Result<Option<AuthorizationRequest>, Fault> {
    let hash = OpaqueToken::from_presented(cookie).hash();
    let now = state.now();
    let row = state
        .db
        .run(move |conn| authorization::find_request(conn, &hash, now))
        .await?;
    Ok(row.and_then(|r| serde_json::from_str(&r.parameters).ok()))
}

/// Issues a code for an authenticated session and builds the redirect back to the client.
/// With `parked_cookie` the parked request is consumed in the same transaction.
pub async fn issue(
    state: &IdpState,
    request: &AuthorizationRequest,
    session: &Session,
    parked_cookie: Option<&str>,
) -> Result<Option<String>, Fault> {
    let code = OpaqueToken::generate();
    let now = state.now();
    let row = AuthorizationCodeRow {
        code_hash: code.hash(),
        client_id: request.client_id.clone(),
        user_id: session.user_id.clone(),
        session_id_hash: Some(session.id_hash.clone()),
        redirect_uri: request.redirect_uri.clone(),
        scope: request.scope.clone(),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        code_challenge_method: request.code_challenge_method.clone(),
        auth_time: session.auth_time,
        amr: session.amr.clone(),
        created_at: now,
        expires_at: now + state.settings.tokens.authorization_code_seconds,
        used_at: None,
        access_token_jti: None,
    };
    let parked_hash = parked_cookie.map(|c| OpaqueToken::from_presented(c).hash());
    let issued = state
        .db
        .transaction(move |conn| {
            if let Some(hash) = parked_hash
                && !authorization::take_request(conn, &hash)?
            {
                return Ok::<_, DbError>(false);
            }
            let mut row = row;
            row.scope = for_person(conn, &row.user_id, &row.scope)?;
            authorization::insert_code(conn, &row)?;
            Ok(true)
        })
        .await?;
    if !issued {
        return Ok(None);
    }
    let mut params = vec![("code", code.expose())];
    if let Some(s) = &request.state {
        params.push(("state", s));
    }
    let issuer = state.settings.issuer.clone();
    params.push(("iss", &issuer));
    Ok(Some(request.redirect().with_params(&params)))
}

/// Drops the parked request behind a cookie value (the person refused it); true if this call
/// removed it, so it is answered once.
pub async fn discard(state: &IdpState, cookie: &str) -> Result<bool, Fault> {
    let hash = OpaqueToken::from_presented(cookie).hash();
    Ok(state
        .db
        .run(move |conn| authorization::take_request(conn, &hash))
        .await?)
}

/// The request parked behind `cookie` and its client, if both still exist.
pub async fn parked_with_client(
    state: &IdpState,
    cookie: &str,
) -> Result<Option<(Client, AuthorizationRequest)>, Fault> {
    let Some(request) = parked(state, cookie).await? else {
        return Ok(None);
    };
    let client_id = request.client_id.clone();
    let client = state
        .db
        .run(move |conn| super::client::find(conn, &client_id))
        .await?;
    Ok(client.map(|c| (c, request)))
}

/// The scope values of a grant that this person may hold now: `admin` only for an active
/// superuser or HCC staff member. Applied when a code is issued and at every refresh.
pub fn for_person(
    conn: &mut crate::storage::DbConnection,
    user_id: &str,
    scope: &str,
) -> Result<String, DbError> {
    if !Scope::parse_stored(scope).contains(ADMIN) {
        return Ok(scope.to_owned());
    }
    Ok(match crate::storage::users::find(conn, user_id)? {
        Some(user) => scope_for(&user, scope),
        None => Scope::parse_stored(scope).without(ADMIN).to_string(),
    })
}

/// [`for_person`] for a person already loaded.
pub fn scope_for(user: &crate::storage::models::User, scope: &str) -> String {
    let scope = Scope::parse_stored(scope);
    if scope.contains(ADMIN) && !(user.role.may_administer() && user.status.may_receive_tokens()) {
        scope.without(ADMIN).to_string()
    } else {
        scope.to_string()
    }
}
