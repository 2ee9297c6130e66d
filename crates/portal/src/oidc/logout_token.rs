//! OpenID Connect Back-Channel Logout 1.0 §2.6: the checks on a logout token before any session
//! ends — RS256 with a key of the IdP's key set (one re-fetch on an unknown `kid`), `typ`
//! `logout+jwt` when given, `iss`, `aud`, `iat`, `exp`, `jti`, the logout event, `sid` or `sub`,
//! and no `nonce`. A `jti` seen before is a replay (see `sessions::LogoutTokens`).

use std::collections::HashMap;

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;

use super::provider::{Discovered, Provider};

pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// Allowed difference between the IdP's clock and the portal's.
const LEEWAY: i64 = 60;

/// What a valid logout token asks: end the sessions of `sid`, or every session of `sub`.
#[derive(Debug, Clone)]
pub struct LogoutOrder {
    pub sub: Option<String>,
    pub sid: Option<String>,
    pub jti: String,
    pub exp: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum LogoutTokenError {
    #[error("the logout token is not acceptable: {0}")]
    Invalid(String),
    #[error("the IdP's keys are not available: {0}")]
    Unavailable(String),
}

#[derive(Debug, Deserialize)]
struct Claims {
    iat: i64,
    exp: Option<i64>,
    jti: Option<String>,
    sub: Option<String>,
    sid: Option<String>,
    events: Option<HashMap<String, serde_json::Value>>,
    nonce: Option<serde_json::Value>,
}

fn invalid(why: impl Into<String>) -> LogoutTokenError {
    LogoutTokenError::Invalid(why.into())
}

pub async fn verify(
    provider: &Provider,
    raw: &str,
    client_id: &str,
    now: i64,
) -> Result<LogoutOrder, LogoutTokenError> {
    let kid = decode_header(raw)
        .map_err(|e| invalid(format!("header: {e}")))?
        .kid
        .ok_or_else(|| invalid("no kid"))?;
    let mut discovered = provider
        .current()
        .await
        .map_err(|e| LogoutTokenError::Unavailable(e.to_string()))?;
    if !discovered.knows_key(&kid) {
        discovered = provider
            .refetch(&discovered)
            .await
            .map_err(|e| LogoutTokenError::Unavailable(e.to_string()))?;
    }
    check(&discovered, raw, &kid, client_id, now)
}

fn check(
    discovered: &Discovered,
    raw: &str,
    kid: &str,
    client_id: &str,
    now: i64,
) -> Result<LogoutOrder, LogoutTokenError> {
    let header = decode_header(raw).map_err(|e| invalid(format!("header: {e}")))?;
    if header.alg != Algorithm::RS256 {
        return Err(invalid(format!("algorithm {:?}", header.alg)));
    }
    if header.typ.as_deref().is_some_and(|t| t != "logout+jwt") {
        return Err(invalid("typ is not logout+jwt"));
    }
    let jwk = discovered
        .keys
        .find(kid)
        .ok_or_else(|| invalid("signed with a key that is not in the key set"))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| invalid(format!("key: {e}")))?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[discovered.issuer()]);
    validation.set_audience(&[client_id]);
    validation.set_required_spec_claims(&["iss", "aud"]);
    // Time is checked below against the portal's own clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    let claims = decode::<Claims>(raw, &key, &validation)
        .map_err(|e| invalid(e.to_string()))?
        .claims;
    if claims.iat > now + LEEWAY {
        return Err(invalid("issued in the future"));
    }
    let exp = claims.exp.ok_or_else(|| invalid("no exp"))?;
    if exp + LEEWAY < now {
        return Err(invalid("expired"));
    }
    let event = claims
        .events
        .as_ref()
        .and_then(|events| events.get(EVENT))
        .ok_or_else(|| invalid("no back-channel logout event"))?;
    if !event.is_object() {
        return Err(invalid("the event is not a JSON object"));
    }
    if claims.nonce.is_some() {
        return Err(invalid("a logout token carries no nonce"));
    }
    if claims.sid.is_none() && claims.sub.is_none() {
        return Err(invalid("neither sid nor sub"));
    }
    let jti = claims
        .jti
        .filter(|j| !j.is_empty())
        .ok_or_else(|| invalid("no jti"))?;
    Ok(LogoutOrder {
        sub: claims.sub,
        sid: claims.sid,
        jti,
        exp: exp + LEEWAY,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::{EVENT, LogoutTokenError, check};
    use crate::oidc::fixtures::{CLIENT_ID, ISSUER, KID, discovered, sign};

    const NOW: i64 = 1_800_000_000;

    fn claims() -> Value {
        json!({
            "iss": ISSUER,
            "aud": CLIENT_ID,
            "iat": NOW - 5,
            "exp": NOW + 115,
            "jti": "jti-1",
            "sub": "person-1",
            "sid": "sid-1",
            "events": { EVENT: {} },
        })
    }

    fn verdict(claims: &Value, typ: Option<&str>) -> Result<super::LogoutOrder, LogoutTokenError> {
        let raw = sign(claims, false, KID, typ);
        check(&discovered(), &raw, KID, CLIENT_ID, NOW)
    }

    fn refused(claims: &Value, why: &str) {
        match verdict(claims, Some("logout+jwt")) {
            Err(LogoutTokenError::Invalid(e)) => assert!(e.contains(why), "{why}: {e}"),
            other => panic!("{why}: {other:?}"),
        }
    }

    fn with(key: &str, value: Value) -> Value {
        let mut c = claims();
        c[key] = value;
        c
    }

    fn without(key: &str) -> Value {
        let mut c = claims();
        c.as_object_mut().unwrap().remove(key);
        c
    }

    #[test]
    fn a_valid_logout_token_names_the_session_and_person() {
        let order = verdict(&claims(), Some("logout+jwt")).unwrap();
        assert_eq!(order.sid.as_deref(), Some("sid-1"));
        assert_eq!(order.sub.as_deref(), Some("person-1"));
        assert_eq!(order.jti, "jti-1");
        assert!(
            verdict(&without("sid"), None).is_ok(),
            "sub alone is enough"
        );
    }

    #[test]
    fn a_token_of_another_type_is_refused() {
        assert!(matches!(
            verdict(&claims(), Some("JWT")),
            Err(LogoutTokenError::Invalid(e)) if e.contains("typ")
        ));
    }

    #[test]
    fn a_token_signed_by_a_stranger_is_refused() {
        let raw = sign(&claims(), true, KID, Some("logout+jwt"));
        assert!(check(&discovered(), &raw, KID, CLIENT_ID, NOW).is_err());
    }

    #[test]
    fn a_token_with_an_unknown_kid_is_refused() {
        let raw = sign(&claims(), false, "other", Some("logout+jwt"));
        assert!(check(&discovered(), &raw, "other", CLIENT_ID, NOW).is_err());
    }

    #[test]
    fn a_foreign_issuer_or_audience_is_refused() {
        refused(&with("iss", json!("https://evil.example")), "ssuer");
        refused(&with("aud", json!("another-client")), "udience");
    }

    #[test]
    fn an_expired_token_is_refused() {
        refused(&with("exp", json!(NOW - 61)), "expired");
        refused(&without("exp"), "exp");
    }

    #[test]
    fn a_token_from_the_future_is_refused() {
        refused(&with("iat", json!(NOW + 120)), "future");
    }

    #[test]
    fn a_token_without_the_logout_event_is_refused() {
        refused(&without("events"), "event");
        refused(&with("events", json!({ EVENT: "yes" })), "event");
        refused(
            &with("events", json!({ "http://example.com/other": {} })),
            "event",
        );
    }

    #[test]
    fn a_token_with_a_nonce_is_refused() {
        refused(&with("nonce", json!("n")), "nonce");
    }

    #[test]
    fn a_token_without_sid_and_sub_is_refused() {
        let mut c = without("sid");
        c.as_object_mut().unwrap().remove("sub");
        refused(&c, "neither");
    }

    #[test]
    fn a_token_without_jti_is_refused() {
        refused(&without("jti"), "jti");
    }
}
