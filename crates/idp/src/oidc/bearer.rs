//! Checking an access token presented to us (userinfo, introspection, revocation): our
//! signature, our issuer, `typ: at+jwt` (RFC 9068 §4), not expired, not revoked, and for a
//! person's token the account still active.

use jsonwebtoken::{Algorithm, Validation};

use super::claims::AccessTokenClaims;
use crate::state::IdpState;
use crate::storage::{DbError, authorization, users};

pub fn validation(state: &IdpState) -> Validation {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[state.settings.issuer.as_str()]);
    validation.validate_aud = false;
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    validation
}

/// The claims of a usable access token, or `None` when it is not (for whatever reason: the
/// caller answers invalid_token or `active: false` alike).
pub async fn check(state: &IdpState, token: &str) -> Result<Option<AccessTokenClaims>, DbError> {
    let Ok(data) = state
        .keys
        .verify_with_header::<AccessTokenClaims>(token, &validation(state))
    else {
        return Ok(None);
    };
    if !data
        .header
        .typ
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("at+jwt"))
    {
        return Ok(None);
    }
    let claims = data.claims;
    let (jti, sub, client_id) = (
        claims.jti.clone(),
        claims.sub.clone(),
        claims.client_id.clone(),
    );
    let usable = state
        .db
        .run(move |conn| {
            if authorization::is_access_token_revoked(conn, &jti)? {
                return Ok::<_, DbError>(false);
            }
            if sub == client_id {
                return Ok(true); // client_credentials: no person behind it
            }
            Ok(users::find(conn, &sub)?.is_some_and(|u| u.status.may_receive_tokens()))
        })
        .await?;
    Ok(usable.then_some(claims))
}

/// The token of an `Authorization: Bearer …` header value (RFC 6750 §2.1).
pub fn from_authorization(value: Option<&str>) -> Option<String> {
    let (scheme, token) = value?.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}
