//! Logging in through the IdP (OIDC Core §3.1): the authorization request with PKCE S256
//! (RFC 7636), `state`, `nonce` and `ui_locales`; the callback's checks (state, RFC 9207 `iss`),
//! the code exchange and the ID token checks of §3.1.3.7 (signature against the JWKS with one
//! re-fetch on an unknown `kid`, `iss`, `aud`, `azp`, `exp`, `nonce`, `at_hash`); and refreshing
//! the access token (§12), whose new ID token must name the same person.

use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, CsrfToken, LanguageTag, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RefreshToken, RequestTokenError, Scope,
    SignatureVerificationError, TokenResponse,
};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::provider::{Discovered, Provider};
use super::{HccIdToken, HccTokenResponse, OidcError, OrganisationClaim};
use crate::domain::Language;

/// A login on its way through the IdP, kept server-side under the login cookie.
pub struct PendingLogin {
    state: SecretString,
    nonce: SecretString,
    verifier: SecretString,
    pub language: Language,
    pub started_at: i64,
}

/// The authorization request: where to send the browser, and what to keep until it is back.
pub struct Started {
    pub url: String,
    pub pending: PendingLogin,
}

pub fn start(discovered: &Discovered, scope: &str, language: Language, now: i64) -> Started {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = discovered.client.authorize_url(
        CoreAuthenticationFlow::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for name in scope.split_whitespace().filter(|s| *s != "openid") {
        request = request.add_scope(Scope::new(name.to_owned()));
    }
    let (url, state, nonce) = request
        .set_pkce_challenge(challenge)
        .add_ui_locale(LanguageTag::new(language.code().to_owned()))
        .url();
    Started {
        url: url.to_string(),
        pending: PendingLogin {
            state: state.secret().clone().into(),
            nonce: nonce.secret().clone().into(),
            verifier: verifier.secret().clone().into(),
            language,
            started_at: now,
        },
    }
}

/// The query of the redirect back from the IdP.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// Who logged in, as the verified ID token says.
#[derive(Debug, Clone)]
pub struct Person {
    pub sub: String,
    pub sid: Option<String>,
    pub name: String,
    pub email: String,
    pub organisation: Option<OrganisationClaim>,
    pub role: Option<String>,
}

/// The tokens a session holds.
pub struct Tokens {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    /// When the access token stops working (portal clock).
    pub access_expires_at: i64,
}

pub struct SignedIn {
    pub person: Person,
    /// The raw ID token, for `id_token_hint` at logout.
    pub id_token: String,
    pub tokens: Tokens,
}

/// The callback's checks, the code exchange and the ID token's checks.
pub async fn finish(
    provider: &Provider,
    http: &reqwest::Client,
    pending: PendingLogin,
    callback: Callback,
    now: i64,
) -> Result<SignedIn, OidcError> {
    let state = callback.state.as_deref().unwrap_or_default();
    let expected = pending.state.expose_secret().as_bytes();
    if !bool::from(state.as_bytes().ct_eq(expected)) {
        return Err(OidcError::Mismatch("state"));
    }
    let discovered = provider.current().await?;
    match callback.iss.as_deref() {
        Some(iss) if iss == discovered.issuer() => {}
        Some(_) => return Err(OidcError::Mismatch("iss")),
        None if discovered
            .metadata
            .additional_metadata()
            .authorization_response_iss_parameter_supported =>
        {
            return Err(OidcError::Mismatch("iss missing"));
        }
        None => {}
    }
    if let Some(error) = callback.error {
        return Err(OidcError::Refused(format!(
            "{error}: {}",
            callback.error_description.unwrap_or_default()
        )));
    }
    let code = callback.code.ok_or(OidcError::Mismatch("no code"))?;
    let response = discovered
        .client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(PkceCodeVerifier::new(
            pending.verifier.expose_secret().to_owned(),
        ))
        .request_async(http)
        .await
        .map_err(|e| OidcError::Refused(format!("code exchange: {e}")))?;
    let nonce = Nonce::new(pending.nonce.expose_secret().to_owned());
    signed_in(provider, discovered, &response, Expect::Nonce(&nonce), now).await
}

/// A new access token with the refresh token; the refreshed ID token must name `person`.
pub async fn refresh(
    provider: &Provider,
    http: &reqwest::Client,
    refresh_token: &SecretString,
    person: &Person,
    now: i64,
) -> Result<SignedIn, OidcError> {
    let discovered = provider.current().await?;
    let token = RefreshToken::new(refresh_token.expose_secret().to_owned());
    let response = discovered
        .client
        .exchange_refresh_token(&token)
        .request_async(http)
        .await
        .map_err(|e| match e {
            // The IdP said no (invalid_grant: revoked, expired, reused): the session is over.
            RequestTokenError::ServerResponse(answer) => {
                OidcError::RefreshFailed(answer.to_string())
            }
            // The IdP could not be asked: the session may well still be good.
            other => OidcError::Unavailable(format!("refresh: {other}")),
        })?;
    let mut refreshed = signed_in(
        provider,
        discovered,
        &response,
        Expect::Subject(person),
        now,
    )
    .await
    .map_err(|e| OidcError::RefreshFailed(e.to_string()))?;
    // Rotation: the IdP answers a new refresh token; without one the old one stays.
    if refreshed.tokens.refresh_token.is_none() {
        refreshed.tokens.refresh_token = Some(refresh_token.clone());
    }
    Ok(refreshed)
}

enum Expect<'a> {
    /// The login's nonce (the code exchange).
    Nonce(&'a Nonce),
    /// The same person (a refresh; OIDC Core §12.2).
    Subject(&'a Person),
}

async fn signed_in(
    provider: &Provider,
    discovered: std::sync::Arc<Discovered>,
    response: &HccTokenResponse,
    expect: Expect<'_>,
    now: i64,
) -> Result<SignedIn, OidcError> {
    let raw = response
        .id_token()
        .ok_or_else(|| OidcError::InvalidIdToken("no ID token in the token response".into()))?
        .to_string();
    let access_token = response.access_token().secret();
    let person = match verify(&discovered, &raw, access_token, &expect, now) {
        Err(VerifyError::UnknownKey) => {
            let fresh = provider.refetch(&discovered).await?;
            verify(&fresh, &raw, access_token, &expect, now)
        }
        other => other,
    }
    .map_err(|e| OidcError::InvalidIdToken(e.to_string()))?;
    let lifetime = response
        .expires_in()
        .map_or(300, |d| i64::try_from(d.as_secs()).unwrap_or(300));
    Ok(SignedIn {
        person,
        id_token: raw,
        tokens: Tokens {
            access_token: access_token.clone().into(),
            refresh_token: response.refresh_token().map(|t| t.secret().clone().into()),
            access_expires_at: now + lifetime,
        },
    })
}

#[derive(Debug, thiserror::Error)]
enum VerifyError {
    #[error("signed with a key that is not in the key set")]
    UnknownKey,
    #[error("{0}")]
    Claims(String),
}

/// The checks of OIDC Core §3.1.3.7 on a raw ID token, at `now` on the portal's clock.
fn verify(
    discovered: &Discovered,
    raw: &str,
    access_token: &str,
    expect: &Expect<'_>,
    now: i64,
) -> Result<Person, VerifyError> {
    let token = HccIdToken::from_str(raw).map_err(|e| VerifyError::Claims(e.to_string()))?;
    let at = DateTime::<Utc>::from_timestamp(now, 0).unwrap_or_default();
    let verifier = discovered
        .client
        .id_token_verifier()
        .set_time_fn(move || at)
        // The IdP's tokens name the portal alone as audience.
        .set_other_audience_verifier_fn(|_| false);
    let claims = match expect {
        Expect::Nonce(nonce) => token.claims(&verifier, *nonce),
        Expect::Subject(_) => token.claims(&verifier, |_: Option<&Nonce>| Ok(())),
    }
    .map_err(|e| match e {
        ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        ) => VerifyError::UnknownKey,
        other => VerifyError::Claims(other.to_string()),
    })?;
    if claims.authorized_party().map(|a| a.as_str()) != Some(discovered.client.client_id().as_str())
    {
        return Err(VerifyError::Claims("azp is not this client".into()));
    }
    if let Some(hash) = claims.access_token_hash() {
        let digest = Sha256::digest(access_token.as_bytes());
        if hash.as_str() != URL_SAFE_NO_PAD.encode(&digest[..16]) {
            return Err(VerifyError::Claims(
                "at_hash does not match the access token".into(),
            ));
        }
    }
    let extra = claims.additional_claims();
    let person = Person {
        sub: claims.subject().as_str().to_owned(),
        sid: extra.sid.clone(),
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_owned())
            .unwrap_or_default(),
        email: claims
            .email()
            .map(|e| e.as_str().to_owned())
            .unwrap_or_default(),
        organisation: extra.organisation.clone(),
        role: extra.role.clone(),
    };
    if let Expect::Subject(before) = expect
        && before.sub != person.sub
    {
        return Err(VerifyError::Claims(
            "the refreshed ID token names someone else".into(),
        ));
    }
    Ok(person)
}

#[cfg(test)]
mod tests;
