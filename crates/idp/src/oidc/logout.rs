//! RP-Initiated Logout 1.0: checking the logout request. An `id_token_hint` must be an ID
//! token we signed (it may have expired); `post_logout_redirect_uri` must exactly match one the
//! client registered, or there is no redirect at all.

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
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum AudClaim {
    One(String),
    Many(Vec<String>),
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
    #[error("the id_token_hint is not an ID token of this provider")]
    BadHint,
    #[error("client_id does not match the id_token_hint")]
    ClientMismatch,
    #[error("post_logout_redirect_uri is not registered for the client")]
    UnregisteredRedirect,
    #[error(transparent)]
    App(#[from] AppError),
}

pub async fn check(state: &IdpState, params: &LogoutParams) -> Result<LogoutRequest, LogoutError> {
    let mut hinted_subject = None;
    let mut client_id = params.client_id.clone().filter(|c| !c.is_empty());
    if let Some(hint) = params.id_token_hint.as_deref().filter(|h| !h.is_empty()) {
        let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_issuer(&[state.settings.issuer.as_str()]);
        validation.validate_aud = false;
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["iss", "sub", "aud"]);
        let claims: HintClaims = state
            .keys
            .verify(hint, &validation)
            .map_err(|_| LogoutError::BadHint)?;
        let audience = match claims.aud {
            AudClaim::One(a) => a,
            AudClaim::Many(mut v) if v.len() == 1 => v.remove(0),
            AudClaim::Many(_) => return Err(LogoutError::BadHint),
        };
        if client_id.as_ref().is_some_and(|c| *c != audience) {
            return Err(LogoutError::ClientMismatch);
        }
        client_id = Some(audience);
        hinted_subject = Some(claims.sub);
    }
    let client = match client_id {
        Some(id) => state
            .db
            .run(move |conn| client::find(conn, &id))
            .await
            .map_err(AppError::from)?,
        None => None,
    };
    let redirect = match params
        .post_logout_redirect_uri
        .as_deref()
        .filter(|u| !u.is_empty())
    {
        Some(uri) => Some(
            client
                .as_ref()
                .and_then(|c| c.post_logout_redirect_uri(uri))
                .ok_or(LogoutError::UnregisteredRedirect)?,
        ),
        None => None,
    };
    Ok(LogoutRequest {
        hinted_subject,
        client,
        redirect,
        state: params.state.clone(),
    })
}
