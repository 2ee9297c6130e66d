//! RP-Initiated Logout 1.0: checking the logout request. An `id_token_hint` counts only when it
//! is an ID token we signed (it may have expired) for the client: not an access token
//! (`typ: at+jwt`), not a logout token (an `events` claim), and with the client in its `aud`.
//! Anything else is ignored and the person is asked to confirm. `post_logout_redirect_uri` must
//! exactly match one the client registered, or there is no redirect at all.

use jsonwebtoken::Validation;
use serde::Deserialize;

use super::client::{self, Client};
use crate::domain::RedirectUri;
use crate::error::AppError;
use crate::state::IdpState;

#[derive(Debug, Default, Clone, Deserialize)]
pub struct LogoutParams {
    pub id_token_hint: Option<String>,
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub ui_locales: Option<String>,
    pub csrf_token: Option<String>,
}

#[derive(Debug, Deserialize)]
struct HintClaims {
    sub: String,
    aud: AudClaim,
    #[serde(default)]
    azp: Option<String>,
    /// Only logout tokens carry it (Back-Channel Logout 1.0 §2.4).
    #[serde(default)]
    events: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum AudClaim {
    One(String),
    Many(Vec<String>),
}

impl AudClaim {
    fn contains(&self, client_id: &str) -> bool {
        match self {
            AudClaim::One(a) => a == client_id,
            AudClaim::Many(v) => v.iter().any(|a| a == client_id),
        }
    }
}

/// A checked logout request.
#[derive(Debug)]
pub struct LogoutRequest {
    /// The person the hint names, when a valid hint came along.
    pub hinted_subject: Option<String>,
    pub client: Option<Client>,
    pub redirect: Option<RedirectUri>,
    pub state: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LogoutError {
    #[error("post_logout_redirect_uri is not registered for the client")]
    UnregisteredRedirect,
    #[error(transparent)]
    App(#[from] AppError),
}

/// The subject and client of `hint` if it is one of our ID tokens for `client_id` (or, without
/// one, for the single client its `aud` or `azp` names).
fn id_token_hint(
    state: &IdpState,
    hint: &str,
    client_id: Option<&str>,
) -> Option<(String, String)> {
    let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_issuer(&[state.settings.issuer.as_str()]);
    validation.validate_aud = false;
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["iss", "sub", "aud"]);
    let data = state
        .keys
        .verify_with_header::<HintClaims>(hint, &validation)
        .ok()?;
    let is_id_token = data
        .header
        .typ
        .as_deref()
        .is_none_or(|t| t.eq_ignore_ascii_case("JWT"))
        && data.claims.events.is_none();
    if !is_id_token {
        return None;
    }
    let claims = data.claims;
    let client = match (client_id, &claims.aud) {
        (Some(id), aud) => aud.contains(id).then(|| id.to_owned()),
        (None, AudClaim::One(a)) => Some(a.clone()),
        (None, AudClaim::Many(v)) => claims
            .azp
            .clone()
            .filter(|azp| v.contains(azp))
            .or_else(|| (v.len() == 1).then(|| v[0].clone())),
    }?;
    Some((claims.sub, client))
}

pub async fn check(state: &IdpState, params: &LogoutParams) -> Result<LogoutRequest, LogoutError> {
    let mut client_id = params.client_id.clone().filter(|c| !c.is_empty());
    let hint = params
        .id_token_hint
        .as_deref()
        .filter(|h| !h.is_empty())
        .and_then(|h| id_token_hint(state, h, client_id.as_deref()));
    let hinted_subject = hint.map(|(sub, client)| {
        client_id = Some(client);
        sub
    });
    let client = match client_id {
        Some(id) => state
            .db
            .run(move |conn| client::find(conn, &id))
            .await
            .map_err(AppError::from)?,
        None => None,
    };
    // A hint for a client that does not exist (any more) names nobody we answer for.
    let hinted_subject = hinted_subject.filter(|_| client.is_some());
    // A return address is followed only when it is registered for the client; with no client
    // known (no hint that counts, no client_id) there is nothing to check it against, and the
    // person simply stays on our page after logging out.
    let redirect = match (
        params
            .post_logout_redirect_uri
            .as_deref()
            .filter(|u| !u.is_empty()),
        &client,
    ) {
        (Some(uri), Some(client)) => Some(
            client
                .post_logout_redirect_uri(uri)
                .ok_or(LogoutError::UnregisteredRedirect)?,
        ),
        _ => None,
    };
    Ok(LogoutRequest {
        hinted_subject,
        client,
        redirect,
        state: params.state.clone(),
    })
}
