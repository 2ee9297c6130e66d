//! RP-Initiated Logout 1.0: checking the logout request. An `id_token_hint` counts only when it
//! is an ID token we signed (it may have expired) for the client: not an access token
//! (`typ: at+jwt`), not a logout token (an `events` claim), and with the client in its `aud`.
//! Anything else is ignored and the person is asked to confirm. `post_logout_redirect_uri` must
//! exactly match one the client registered, or there is no redirect at all. [`decide`] holds
//! the policy: a bare link never logs anyone out.

use jsonwebtoken::Validation;
use serde::Deserialize;

use super::client;
use crate::domain::RedirectUri;
use crate::error::Fault;
use crate::state::IdpState;
use crate::storage::models::Session;

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
struct LogoutRequest {
    /// The person the hint names, when a valid hint came along.
    pub hinted_subject: Option<String>,
    pub redirect: Option<RedirectUri>,
    pub state: Option<String>,
}

/// What to do with a logout request.
#[derive(Debug)]
pub enum LogoutDecision {
    /// `post_logout_redirect_uri` is not registered for the client: refused, nothing ends.
    UnregisteredRedirect,
    /// Ask the person first (no hint that names them, and no confirmed form).
    Confirm,
    /// End the session (if there is one), then go to `redirect` with `state`, or show the
    /// logged-out page.
    LogOut { redirect: Option<String> },
}

/// The logout policy (RP-Initiated Logout 1.0 §2–3): the session ends at once for a valid
/// `id_token_hint` naming the person logged in here (or when nobody is), or after the person
/// confirmed on our page (`confirmed`: a posted form with a valid CSRF token).
pub async fn decide(
    state: &IdpState,
    params: &LogoutParams,
    session: Option<&Session>,
    confirmed: bool,
) -> Result<LogoutDecision, Fault> {
    let Some(request) = check(state, params).await? else {
        return Ok(LogoutDecision::UnregisteredRedirect);
    };
    let hint_matches = match (session, &request.hinted_subject) {
        (Some(s), Some(sub)) => &s.user_id == sub,
        (None, _) => true, // nothing to end here
        (Some(_), None) => false,
    };
    if !(hint_matches || confirmed) {
        return Ok(LogoutDecision::Confirm);
    }
    let redirect = request.redirect.map(|uri| match &request.state {
        Some(s) => uri.with_params(&[("state", s)]),
        None => uri.as_str().to_owned(),
    });
    Ok(LogoutDecision::LogOut { redirect })
}

/// The subject and client of `hint` if it is one of our ID tokens for `client_id` (or, without
/// one, for the single client its `aud` or `azp` names).
pub fn id_token_hint(
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

/// The request with its hint and return address checked; `None` when the return address is not
/// registered for the client.
async fn check(state: &IdpState, params: &LogoutParams) -> Result<Option<LogoutRequest>, Fault> {
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
        Some(id) => state.db.run(move |conn| client::find(conn, &id)).await?,
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
        (Some(uri), Some(client)) => match client.post_logout_redirect_uri(uri) {
            Some(registered) => Some(registered),
            None => return Ok(None),
        },
        _ => None,
    };
    Ok(Some(LogoutRequest {
        hinted_subject,
        redirect,
        state: params.state.clone(),
    }))
}
