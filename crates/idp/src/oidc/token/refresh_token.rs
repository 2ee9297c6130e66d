//! grant_type=refresh_token (RFC 6749 §6). Refresh tokens are rotated on every use; presenting
//! a rotated (or revoked) one again is taken as theft and revokes the whole family (RFC 9700
//! §4.14.2).

use super::{Authentication, Granted, TokenResponse, respond};
use crate::crypto::OpaqueToken;
use crate::domain::Scope;
use crate::oidc::claims::Person;
use crate::oidc::client::{Client, GRANT_REFRESH_TOKEN};
use crate::oidc::error::{OAuthError, OAuthErrorCode};
use crate::oidc::form::FormParams;
use crate::state::IdpState;
use crate::storage::audit::{self, AuditRecord};
use crate::storage::authorization;
use crate::storage::models::RefreshTokenRow;

/// How long a refresh token lives: `tokens.refresh_token_days` from its rotation, and never
/// past `tokens.refresh_token_max_days` after the login that started its family (the family
/// keeps that login's `auth_time`), however often it is rotated.
#[derive(Debug, Clone, Copy)]
pub struct RefreshLifetime {
    sliding: i64,
    absolute: i64,
}

impl RefreshLifetime {
    pub fn of(tokens: &crate::config::TokenSettings) -> Self {
        Self {
            sliding: tokens.refresh_token_days.saturating_mul(86_400),
            absolute: tokens.refresh_token_max_days.saturating_mul(86_400),
        }
    }

    pub fn expires_at(self, now: i64, auth_time: i64) -> i64 {
        now.saturating_add(self.sliding)
            .min(auth_time.saturating_add(self.absolute))
    }
}

enum Outcome {
    Rotated {
        grant: Box<Granted>,
        token: OpaqueToken,
    },
    Refused(&'static str),
    InvalidScope,
}

pub async fn exchange(
    state: &IdpState,
    client: &Client,
    form: &FormParams,
) -> Result<TokenResponse, OAuthError> {
    if !client.allows_grant(GRANT_REFRESH_TOKEN) {
        return Err(OAuthError::new(
            OAuthErrorCode::UnauthorizedClient,
            "this client may not use refresh_token",
        ));
    }
    let presented = OpaqueToken::from_presented(form.require("refresh_token")?);
    let hash = presented.hash();
    let requested_scope = form.get("scope").map(str::to_owned);
    let client_id = client.client_id.clone();
    let now = state.now();
    let lifetime = RefreshLifetime::of(&state.settings.tokens);
    let jti = uuid::Uuid::new_v4().to_string();
    let access_jti = jti.clone();
    // Everything is checked before the token is rotated: a refusal changes nothing. Only a
    // token that was rotated already (or loses the race to rotate) counts as reused.
    let outcome = state
        .db
        .transaction(move |conn| {
            let Some(row) = authorization::find_refresh(conn, &hash)? else {
                return Ok(Outcome::Refused("the refresh token is unknown"));
            };
            if row.client_id != client_id {
                return Ok(Outcome::Refused(
                    "the refresh token was issued to another client",
                ));
            }
            if row.revoked_at.is_some() {
                return Ok(Outcome::Refused("the refresh token was revoked"));
            }
            let reused = |conn: &mut crate::storage::DbConnection| {
                let revoked = authorization::revoke_family(conn, &row.family_id, now)?;
                let mut record = AuditRecord::failure("refresh_token_reused")
                    .user(&row.user_id)
                    .details(serde_json::json!({ "family_id": row.family_id, "revoked": revoked }));
                record.client_id = Some(client_id.clone());
                audit::record(conn, record, now)?;
                Ok::<_, OAuthError>(Outcome::Refused("the refresh token was already used"))
            };
            if row.rotated_at.is_some() {
                return reused(conn);
            }
            if row.expires_at <= now {
                return Ok(Outcome::Refused("the refresh token has expired"));
            }
            let Some(person) =
                Person::load(conn, &row.user_id)?.filter(|p| p.user.status.may_receive_tokens())
            else {
                return Ok(Outcome::Refused("the account is not active"));
            };
            // A person who lost the superuser role since the login loses the admin scope, for
            // this family for good.
            let family_scope = crate::oidc::code::scope_for(&person.user, &row.scope);
            let granted = Scope::parse_stored(&family_scope);
            let scope = match &requested_scope {
                Some(requested) => match granted.narrow(requested) {
                    Some(narrowed) => narrowed,
                    None => return Ok(Outcome::InvalidScope),
                },
                None => granted,
            };
            if !authorization::rotate_refresh(conn, &hash, now)? {
                return reused(conn);
            }
            let token = OpaqueToken::generate();
            authorization::insert_refresh(
                conn,
                &RefreshTokenRow {
                    token_hash: token.hash(),
                    family_id: row.family_id.clone(),
                    client_id: client_id.clone(),
                    user_id: row.user_id.clone(),
                    session_id_hash: row.session_id_hash.clone(),
                    code_hash: row.code_hash.clone(),
                    // The family keeps its grant; a narrower request narrows this answer.
                    scope: family_scope,
                    auth_time: row.auth_time,
                    amr: row.amr.clone(),
                    created_at: now,
                    expires_at: lifetime.expires_at(now, row.auth_time),
                    rotated_at: None,
                    revoked_at: None,
                    access_token_jti: Some(access_jti),
                },
            )?;
            Ok::<_, OAuthError>(Outcome::Rotated {
                grant: Box::new(Granted {
                    auth: Authentication {
                        user_id: row.user_id,
                        auth_time: row.auth_time,
                        amr: row.amr,
                        session_id_hash: row.session_id_hash,
                    },
                    claims: person.claims(&scope),
                    scope,
                    nonce: None,
                }),
                token,
            })
        })
        .await?;
    let (grant, token) = match outcome {
        Outcome::Rotated { grant, token } => (grant, token),
        Outcome::Refused(why) => return Err(OAuthError::invalid_grant(why)),
        Outcome::InvalidScope => {
            return Err(OAuthError::new(
                OAuthErrorCode::InvalidScope,
                "the requested scope exceeds the original grant",
            ));
        }
    };
    respond(state, client, *grant, Some(token.expose().to_owned()), jti)
}
