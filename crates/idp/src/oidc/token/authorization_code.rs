//! grant_type=authorization_code (RFC 6749 §4.1.3, RFC 7636 §4.6). The code is single use: a
//! second use revokes what the first produced. Bound to the client, the redirect URI and the
//! PKCE challenge.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::{Authentication, Granted, TokenResponse, respond};
use crate::crypto::{OpaqueToken, constant_time_eq};
use crate::domain::Scope;
use crate::domain::scope::OFFLINE_ACCESS;
use crate::oidc::claims::Person;
use crate::oidc::client::{Client, GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN};
use crate::oidc::error::{OAuthError, OAuthErrorCode};
use crate::oidc::form::FormParams;
use crate::state::IdpState;
use crate::storage::audit::{self, AuditRecord};
use crate::storage::authorization;
use crate::storage::models::RefreshTokenRow;

/// RFC 7636 §4.1: 43–128 characters of [A-Z a-z 0-9 - . _ ~].
fn verifier_is_well_formed(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

enum Outcome {
    Issued {
        grant: Box<Granted>,
        refresh: Option<OpaqueToken>,
    },
    Refused(&'static str),
}

pub async fn exchange(
    state: &IdpState,
    client: &Client,
    form: &FormParams,
) -> Result<TokenResponse, OAuthError> {
    if !client.allows_grant(GRANT_AUTHORIZATION_CODE) {
        return Err(OAuthError::new(
            OAuthErrorCode::UnauthorizedClient,
            "this client may not use authorization_code",
        ));
    }
    let code = form.require("code")?;
    let redirect_uri = form.require("redirect_uri")?.to_owned();
    let verifier = form.get("code_verifier").map(str::to_owned);
    let code_hash = OpaqueToken::from_presented(code).hash();
    let now = state.now();
    let client_id = client.client_id.clone();
    let offline_allowed = client.allows_grant(GRANT_REFRESH_TOKEN);
    let refresh_lifetime = super::refresh_token::RefreshLifetime::of(&state.settings.tokens);
    // The access token's id is bound to the code in the same transaction that uses the code,
    // so a replay at any later moment revokes it.
    let jti = uuid::Uuid::new_v4().to_string();
    let code_jti = jti.clone();

    let outcome = state
        .db
        .transaction(move |conn| {
            let Some(row) = authorization::find_code(conn, &code_hash)? else {
                return Ok(Outcome::Refused("the code is unknown"));
            };
            if row.client_id != client_id {
                return Ok(Outcome::Refused("the code was issued to another client"));
            }
            if row.used_at.is_some() || !authorization::use_code(conn, &code_hash, &code_jti, now)?
            {
                // RFC 6749 §4.1.2: a code used twice revokes the tokens it produced.
                let revoked = authorization::revoke_by_code(conn, &code_hash, now)?;
                if let Some(jti) = &row.access_token_jti {
                    authorization::revoke_access_token(conn, jti, now + 86_400)?;
                }
                let mut record = AuditRecord::failure("code_replayed")
                    .user(&row.user_id)
                    .details(serde_json::json!({
                        "revoked_refresh_tokens": revoked,
                    }));
                record.client_id = Some(client_id.clone());
                audit::record(conn, record, now)?;
                return Ok(Outcome::Refused("the code was already used"));
            }
            if row.expires_at <= now {
                return Ok(Outcome::Refused("the code has expired"));
            }
            if row.redirect_uri != redirect_uri {
                return Ok(Outcome::Refused(
                    "redirect_uri does not match the authorization request",
                ));
            }
            match (&row.code_challenge, &verifier) {
                (Some(challenge), Some(verifier)) => {
                    if !verifier_is_well_formed(verifier)
                        || !constant_time_eq(s256(verifier).as_bytes(), challenge.as_bytes())
                    {
                        return Ok(Outcome::Refused(
                            "the code_verifier does not match the code_challenge",
                        ));
                    }
                }
                (Some(_), None) => return Ok(Outcome::Refused("code_verifier is required")),
                // A verifier for a request made without a challenge: a PKCE downgrade attempt.
                (None, Some(_)) => {
                    return Ok(Outcome::Refused("no code_challenge was sent for this code"));
                }
                (None, None) => {}
            }
            // A code issued just before a logout (or "log out other devices", or an administrator's
            // action) must not outlive the session it came from.
            if let Some(session) = &row.session_id_hash
                && crate::storage::sessions::find_live(conn, session, now)?.is_none()
            {
                return Ok(Outcome::Refused(
                    "the session that issued the code has ended",
                ));
            }
            let Some(person) =
                Person::load(conn, &row.user_id)?.filter(|p| p.user.status.may_receive_tokens())
            else {
                return Ok(Outcome::Refused("the account is not active"));
            };
            let scope = Scope::parse_stored(&row.scope);
            let refresh = if scope.contains(OFFLINE_ACCESS) && offline_allowed {
                let token = OpaqueToken::generate();
                authorization::insert_refresh(
                    conn,
                    &RefreshTokenRow {
                        token_hash: token.hash(),
                        family_id: uuid::Uuid::new_v4().to_string(),
                        client_id: client_id.clone(),
                        user_id: row.user_id.clone(),
                        session_id_hash: row.session_id_hash.clone(),
                        code_hash: Some(code_hash.clone()),
                        scope: row.scope.clone(),
                        auth_time: row.auth_time,
                        amr: row.amr.clone(),
                        created_at: now,
                        expires_at: refresh_lifetime.expires_at(now, row.auth_time),
                        rotated_at: None,
                        revoked_at: None,
                        // Already on the code row: ending the session finds it there.
                        access_token_jti: None,
                    },
                )?;
                Some(token)
            } else {
                None
            };
            Ok::<_, OAuthError>(Outcome::Issued {
                grant: Box::new(Granted {
                    auth: Authentication {
                        user_id: row.user_id,
                        auth_time: row.auth_time,
                        amr: row.amr,
                        session_id_hash: row.session_id_hash,
                    },
                    claims: person.claims(&scope),
                    scope,
                    nonce: row.nonce,
                }),
                refresh,
            })
        })
        .await?;
    let (grant, refresh) = match outcome {
        Outcome::Issued { grant, refresh } => (grant, refresh),
        Outcome::Refused(why) => return Err(OAuthError::invalid_grant(why)),
    };
    respond(
        state,
        client,
        *grant,
        refresh.map(|t| t.expose().to_owned()),
        jti,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(verifier_is_well_formed(verifier));
        assert_eq!(
            s256(verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(!verifier_is_well_formed("short"));
    }
}
