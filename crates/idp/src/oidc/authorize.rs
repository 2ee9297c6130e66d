//! The authorization endpoint (RFC 6749 §4.1.1, OIDC Core §3.1.2). The client and the exact
//! redirect URI are checked first: until both are known to be right, errors are shown as a page
//! and never redirected (RFC 9700 §4.1). Everything else is checked after, and its errors go
//! back to the client with `state` and `iss` (RFC 9207). Only the code flow exists: implicit
//! and hybrid response types are refused.

use serde::{Deserialize, Serialize};

use super::client::{self, Client, GRANT_AUTHORIZATION_CODE};
use super::{code, consent};
use crate::domain::scope::ADMIN;
use crate::domain::{Language, RedirectUri, Scope};
use crate::error::Fault;
use crate::sessions::Stage;
use crate::state::IdpState;
use crate::storage::models::Session;

/// The parameters as they arrive (query or form body).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct AuthorizeParams {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub response_mode: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
    pub request: Option<String>,
    pub request_uri: Option<String>,
    pub acr_values: Option<String>,
    pub display: Option<String>,
    pub claims: Option<String>,
    pub claims_locales: Option<String>,
    pub id_token_hint: Option<String>,
    pub registration: Option<String>,
}

/// The longest value any authorization parameter may have. A request is parked in the database
/// until the person has logged in, so nothing unauthenticated may make it large.
pub const MAX_PARAMETER_BYTES: usize = 2048;
/// The longest a whole parked request may be (all its values together).
pub const MAX_REQUEST_BYTES: usize = 8192;

impl AuthorizeParams {
    /// Each parameter with its name, for the length rules.
    fn values(&self) -> [(&'static str, Option<&str>); 21] {
        [
            ("client_id", self.client_id.as_deref()),
            ("redirect_uri", self.redirect_uri.as_deref()),
            ("response_type", self.response_type.as_deref()),
            ("response_mode", self.response_mode.as_deref()),
            ("scope", self.scope.as_deref()),
            ("state", self.state.as_deref()),
            ("nonce", self.nonce.as_deref()),
            ("code_challenge", self.code_challenge.as_deref()),
            (
                "code_challenge_method",
                self.code_challenge_method.as_deref(),
            ),
            ("prompt", self.prompt.as_deref()),
            ("max_age", self.max_age.as_deref()),
            ("login_hint", self.login_hint.as_deref()),
            ("ui_locales", self.ui_locales.as_deref()),
            ("request", self.request.as_deref()),
            ("request_uri", self.request_uri.as_deref()),
            ("acr_values", self.acr_values.as_deref()),
            ("display", self.display.as_deref()),
            ("claims", self.claims.as_deref()),
            ("claims_locales", self.claims_locales.as_deref()),
            ("id_token_hint", self.id_token_hint.as_deref()),
            ("registration", self.registration.as_deref()),
        ]
    }

    /// The first parameter over [`MAX_PARAMETER_BYTES`], or a request over
    /// [`MAX_REQUEST_BYTES`] in all.
    fn oversized(&self) -> Option<String> {
        let values = self.values();
        if let Some((name, _)) = values
            .iter()
            .find(|(_, v)| v.is_some_and(|v| v.len() > MAX_PARAMETER_BYTES))
        {
            return Some(format!("{name} is longer than {MAX_PARAMETER_BYTES} bytes"));
        }
        let total: usize = values.iter().filter_map(|(_, v)| v.map(str::len)).sum();
        (total > MAX_REQUEST_BYTES)
            .then(|| format!("the request is longer than {MAX_REQUEST_BYTES} bytes in all"))
    }
}

/// `max_age` (OIDC Core §3.1.2.1): a non-negative number of seconds. Values beyond what an
/// i64 holds mean "any age" and are kept at the largest one.
fn parse_max_age(value: &str) -> Option<i64> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(value.parse::<i64>().unwrap_or(i64::MAX))
}

/// A validated authorization request: what the code will be bound to once the person is in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt_login: bool,
    pub prompt_none: bool,
    /// `prompt=consent`: a third-party client's request is put to the person even when they
    /// granted it before.
    #[serde(default)]
    pub prompt_consent: bool,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
}

impl AuthorizationRequest {
    pub fn language(&self) -> Option<Language> {
        self.ui_locales
            .as_deref()
            .and_then(Language::from_ui_locales)
    }

    pub fn redirect(&self) -> RedirectUri {
        // Validated against the client's registration when the request was made.
        RedirectUri::parse_registered(&self.redirect_uri).unwrap_or_else(|_| unreachable_redirect())
    }
}

fn unreachable_redirect() -> RedirectUri {
    // Only reachable if a stored request was tampered with in the database.
    RedirectUri::parse("https://invalid.invalid/", false).unwrap_or_else(|_| unreachable!())
}

/// What to do with an authorization request (OIDC Core §3.1.2.1–3.1.2.6).
#[derive(Debug)]
pub enum Decision {
    /// The client or its redirect URI is not known: a page, never a redirect (RFC 9700 §4.1).
    Page(PageReason),
    /// An error for the client, at its verified redirect URI with `state` and `iss`.
    Refuse(ErrorRedirect),
    /// The live session answers: issue a code now.
    Issue(AuthorizationRequest, Session),
    /// Park the request; the person logs in first.
    Login(AuthorizationRequest),
    /// Park the request; the person is asked to allow the (third-party) client first.
    Consent(AuthorizationRequest),
}

/// Why `validate` stops (internal: `decide` turns it into a [`Decision`]).
enum Refused {
    Page(PageReason),
    Redirect(ErrorRedirect),
    Fault(Fault),
}

impl From<Fault> for Refused {
    fn from(e: Fault) -> Self {
        Refused::Fault(e)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageReason {
    MissingClient,
    UnknownClient,
    MissingRedirectUri,
    UnregisteredRedirectUri,
}

#[derive(Debug, Clone)]
pub struct ErrorRedirect {
    pub redirect_uri: RedirectUri,
    pub error: &'static str,
    pub description: String,
    pub state: Option<String>,
}

impl ErrorRedirect {
    pub fn location(&self, issuer: &str) -> String {
        let mut params = vec![
            ("error", self.error),
            ("error_description", self.description.as_str()),
        ];
        if let Some(state) = &self.state {
            params.push(("state", state));
        }
        params.push(("iss", issuer));
        self.redirect_uri.with_params(&params)
    }
}

/// Decides an authorization request: validated in the order RFC 9700 asks for, then answered
/// from the browser's authenticated session if there is one that is fresh enough (`max_age`,
/// `prompt=login`) and, for a third-party client, allowed; `prompt=none` never shows a page
/// (`login_required`, `consent_required`).
pub async fn decide(
    state: &IdpState,
    params: AuthorizeParams,
    session: Option<Session>,
) -> Result<Decision, Fault> {
    let (client, request) = match validate(state, params).await {
        Ok(valid) => valid,
        Err(Refused::Page(reason)) => return Ok(Decision::Page(reason)),
        Err(Refused::Redirect(redirect)) => return Ok(Decision::Refuse(redirect)),
        Err(Refused::Fault(e)) => return Err(e),
    };
    let now = state.now();
    let fresh_enough = |auth_time: i64| {
        request
            .max_age
            .is_none_or(|max| auth_time.saturating_add(max) >= now)
    };
    let session = session.filter(|s| {
        s.stage == Stage::Authenticated && !request.prompt_login && fresh_enough(s.auth_time)
    });
    let refuse = |error: &'static str, description: &str| {
        Decision::Refuse(ErrorRedirect {
            redirect_uri: request.redirect(),
            error,
            description: description.to_owned(),
            state: request.state.clone(),
        })
    };
    Ok(match session {
        Some(session) => {
            let ask = consent::needed(state, &client, &session.user_id, &request).await?;
            match (ask, request.prompt_none) {
                (false, _) => Decision::Issue(request, session),
                (true, true) => refuse(
                    "consent_required",
                    "the person has not allowed this client yet",
                ),
                (true, false) => Decision::Consent(request),
            }
        }
        None if request.prompt_none => refuse("login_required", "the person is not logged in"),
        None => Decision::Login(request),
    })
}

/// What answers a parked request once the person is authenticated.
#[derive(Debug)]
pub enum Resumed {
    /// Back to the client with a code (the parked request is consumed).
    Answered(String),
    /// The third-party client is to be allowed first.
    Consent,
    /// No request is waiting (any more).
    Nothing,
}

/// Resumes the request parked behind `cookie` for the authenticated `session`: after login,
/// after registration by invitation, after a password reset and the login that follows it.
pub async fn resume(
    state: &IdpState,
    cookie: Option<&str>,
    session: &Session,
) -> Result<Resumed, Fault> {
    let Some(cookie) = cookie else {
        return Ok(Resumed::Nothing);
    };
    let Some((client, request)) = code::parked_with_client(state, cookie).await? else {
        return Ok(Resumed::Nothing);
    };
    if consent::needed(state, &client, &session.user_id, &request).await? {
        return Ok(Resumed::Consent);
    }
    Ok(
        match code::issue(state, &request, session, Some(cookie)).await? {
            Some(location) => Resumed::Answered(location),
            None => Resumed::Nothing,
        },
    )
}

/// Validates the request in the order RFC 9700 asks for.
async fn validate(
    state: &IdpState,
    params: AuthorizeParams,
) -> Result<(Client, AuthorizationRequest), Refused> {
    let client_id = params
        .client_id
        .clone()
        .filter(|c| !c.is_empty())
        .ok_or(Refused::Page(PageReason::MissingClient))?;
    let lookup = client_id.clone();
    let client = state
        .db
        .run(move |conn| client::find(conn, &lookup))
        .await
        .map_err(Fault::from)?
        .ok_or(Refused::Page(PageReason::UnknownClient))?;
    let presented = params
        .redirect_uri
        .clone()
        .ok_or(Refused::Page(PageReason::MissingRedirectUri))?;
    let redirect_uri = client
        .redirect_uri(&presented)
        .ok_or(Refused::Page(PageReason::UnregisteredRedirectUri))?;

    // From here on the redirect URI is trusted: errors go back to the client. A `state` over
    // the limit is not echoed (the refusal says so).
    let echoed_state = params
        .state
        .clone()
        .filter(|s| s.len() <= MAX_PARAMETER_BYTES);
    let fail = |error: &'static str, description: &str| {
        Refused::Redirect(ErrorRedirect {
            redirect_uri: redirect_uri.clone(),
            error,
            description: description.to_owned(),
            state: echoed_state.clone(),
        })
    };
    if let Some(why) = params.oversized() {
        return Err(fail("invalid_request", &why));
    }
    if params.request.is_some() {
        return Err(fail(
            "request_not_supported",
            "request objects are not supported",
        ));
    }
    if params.request_uri.is_some() {
        return Err(fail(
            "request_uri_not_supported",
            "request_uri is not supported",
        ));
    }
    match params.response_type.as_deref() {
        Some("code") => {}
        None | Some("") => return Err(fail("invalid_request", "response_type is required")),
        Some(_) => {
            return Err(fail(
                "unsupported_response_type",
                "only the authorization code flow (response_type=code) is supported",
            ));
        }
    }
    if !client.allows_grant(GRANT_AUTHORIZATION_CODE) {
        return Err(fail(
            "unauthorized_client",
            "this client may not use the authorization code grant",
        ));
    }
    if let Some(mode) = params.response_mode.as_deref()
        && mode != "query"
    {
        return Err(fail(
            "invalid_request",
            "only response_mode=query is supported",
        ));
    }
    let requested_scope = params.scope.clone().unwrap_or_default();
    let scope = Scope::grant(&requested_scope, &client.scope);
    let scope = if client.first_party {
        scope
    } else {
        scope.without(ADMIN)
    };
    if !requested_scope.split(' ').any(|s| s == "openid") {
        return Err(fail("invalid_scope", "the openid scope is required"));
    }
    // PKCE (RFC 7636): S256 only; required for public clients.
    let (code_challenge, code_challenge_method) = match (
        params.code_challenge.clone(),
        params.code_challenge_method.as_deref(),
    ) {
        (Some(challenge), Some("S256") | None) => {
            let valid = challenge.len() == 43
                && challenge
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid {
                return Err(fail(
                    "invalid_request",
                    "code_challenge must be a base64url SHA-256 (43 characters)",
                ));
            }
            (Some(challenge), Some("S256".to_owned()))
        }
        (Some(_), Some(_)) => {
            return Err(fail(
                "invalid_request",
                "only code_challenge_method=S256 is supported",
            ));
        }
        (None, Some(_)) => {
            return Err(fail(
                "invalid_request",
                "code_challenge_method without code_challenge",
            ));
        }
        (None, None) => (None, None),
    };
    if client.is_public() && code_challenge.is_none() {
        return Err(fail(
            "invalid_request",
            "public clients must use PKCE (code_challenge with S256)",
        ));
    }
    let prompts: Vec<&str> = params
        .prompt
        .as_deref()
        .unwrap_or_default()
        .split(' ')
        .filter(|p| !p.is_empty())
        .collect();
    if let Some(unknown) = prompts
        .iter()
        .find(|p| !matches!(**p, "none" | "login" | "consent" | "select_account"))
    {
        return Err(fail(
            "invalid_request",
            &format!("unsupported prompt value {unknown}"),
        ));
    }
    let prompt_none = prompts.contains(&"none");
    if prompt_none && prompts.len() > 1 {
        return Err(fail(
            "invalid_request",
            "prompt=none cannot be combined with other values",
        ));
    }
    let max_age = match params.max_age.as_deref() {
        None | Some("") => None,
        Some(v) => Some(
            parse_max_age(v)
                .ok_or_else(|| fail("invalid_request", "max_age must be a non-negative integer"))?,
        ),
    };
    let present = |v: Option<String>| v.filter(|s| !s.is_empty());
    let request = AuthorizationRequest {
        client_id,
        redirect_uri: redirect_uri.as_str().to_owned(),
        scope: scope.to_string(),
        state: params.state.clone(),
        nonce: present(params.nonce.clone()),
        code_challenge,
        code_challenge_method,
        // OIDC Core §3.1.2.1 (errata set 2): max_age=0 is equivalent to prompt=login. Without
        // this a login made in the same second would count as fresh enough.
        prompt_login: prompts.contains(&"login") || max_age == Some(0),
        prompt_none,
        prompt_consent: prompts.contains(&"consent"),
        max_age,
        login_hint: present(params.login_hint.clone()),
        ui_locales: present(params.ui_locales.clone()),
    };
    Ok((client, request))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_a_non_negative_integer_that_saturates() {
        assert_eq!(parse_max_age("0"), Some(0));
        assert_eq!(parse_max_age("3600"), Some(3600));
        assert_eq!(parse_max_age("9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_max_age("99999999999999999999999"), Some(i64::MAX));
        for refused in ["-1", "+5", "1.5", "abc", " 7", ""] {
            assert_eq!(parse_max_age(refused), None, "{refused}");
        }
    }

    #[test]
    fn each_parameter_and_the_whole_request_are_bounded() {
        let long = "x".repeat(MAX_PARAMETER_BYTES + 1);
        let params = AuthorizeParams {
            acr_values: Some(long.clone()),
            ..Default::default()
        };
        assert!(params.oversized().unwrap().starts_with("acr_values"));
        let at_limit = "x".repeat(MAX_PARAMETER_BYTES);
        let params = AuthorizeParams {
            state: Some(at_limit.clone()),
            nonce: Some(at_limit.clone()),
            login_hint: Some(at_limit.clone()),
            ui_locales: Some(at_limit.clone()),
            ..Default::default()
        };
        assert!(params.oversized().is_none());
        let params = AuthorizeParams {
            scope: Some("openid".into()),
            ..params
        };
        assert!(params.oversized().unwrap().contains("in all"));
    }
}
