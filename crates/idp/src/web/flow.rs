//! What ties the pages together: the IdP session cookie, the cookie of a parked authorization
//! request, and finishing a login — back to the waiting client with a code, or a plain page.

use actix_web::HttpRequest;
use actix_web::HttpResponse;
use actix_web::cookie::Cookie;

use super::cookies;
use super::page::{Page, PageError};
use crate::crypto::OpaqueToken;
use crate::error::AppError;
use crate::oidc::authorize::AuthorizationRequest;
use crate::oidc::client::{self, Client};
use crate::oidc::{code, consent};
use crate::sessions::{self, Stage, device};
use crate::state::IdpState;
use crate::storage::models::Session;

pub const AUTH_REQUEST_COOKIE: &str = "hcc_authreq";

/// The IdP session cookie (see `cookies`).
pub fn session_cookie(state: &IdpState, value: &str) -> Cookie<'static> {
    cookies::build(
        &state.settings,
        &state.settings.session.cookie_name,
        value.to_owned(),
    )
    .finish()
}

/// A cookie that removes `base` (named and flagged as it was set).
pub fn expired(state: &IdpState, base: &str) -> Cookie<'static> {
    cookies::removal(&state.settings, base)
}

pub fn auth_request_cookie(state: &IdpState, value: &str) -> Cookie<'static> {
    cookies::build(&state.settings, AUTH_REQUEST_COOKIE, value.to_owned()).finish()
}

/// After a completed login: the session cookie under its new id, and the device cookie with
/// this account's entry renewed (see `sessions::device`).
pub fn add_login_cookies(
    req: &HttpRequest,
    state: &IdpState,
    response: &mut HttpResponse,
    session_token: &OpaqueToken,
    email: &str,
) -> Result<(), AppError> {
    let device = crate::journeys::login::device_cookie_after_login(
        state,
        device_cookie_value(req, state).as_deref(),
        email,
    );
    let days = state.settings.throttle.device_cookie_days;
    let cookies = [
        session_cookie(state, session_token.expose()),
        cookies::build(&state.settings, device::COOKIE, device)
            .max_age(actix_web::cookie::time::Duration::days(days))
            .finish(),
    ];
    for cookie in &cookies {
        response
            .add_cookie(cookie)
            .map_err(|e| AppError::Internal(e.into()))?;
    }
    Ok(())
}

/// The browser's device cookie, if it has one.
pub fn device_cookie_value(req: &HttpRequest, state: &IdpState) -> Option<String> {
    req.cookie(&state.settings.cookie_name(device::COOKIE))
        .map(|c| c.value().to_owned())
}

pub fn session_cookie_value(req: &HttpRequest, state: &IdpState) -> Option<String> {
    req.cookie(
        &state
            .settings
            .cookie_name(&state.settings.session.cookie_name),
    )
    .map(|c| c.value().to_owned())
}

pub async fn current_session(
    req: &HttpRequest,
    state: &IdpState,
) -> Result<Option<Session>, AppError> {
    sessions::current(state, session_cookie_value(req, state)).await
}

/// The session, if it is at `stage`; otherwise the "session expired" page.
pub async fn session_in(
    req: &HttpRequest,
    state: &IdpState,
    page: &Page,
    stage: Stage,
) -> Result<Session, PageError> {
    match current_session(req, state)
        .await
        .map_err(|e| page.error(e))?
    {
        Some(session) if session.stage == stage => Ok(session),
        _ => Err(page.error(AppError::SessionExpired)),
    }
}

/// The browser's parked-request cookie, if it has one.
pub fn auth_request_cookie_value(req: &HttpRequest, state: &IdpState) -> Option<String> {
    req.cookie(&state.settings.cookie_name(AUTH_REQUEST_COOKIE))
        .map(|c| c.value().to_owned())
}

/// The request parked behind `cookie` and its client, if both still exist.
pub async fn parked_with_client(
    state: &IdpState,
    cookie: &str,
) -> Result<Option<(Client, AuthorizationRequest)>, AppError> {
    let Some(request) = code::parked(state, cookie).await? else {
        return Ok(None);
    };
    let client_id = request.client_id.clone();
    let client = state
        .db
        .run(move |conn| client::find(conn, &client_id))
        .await?;
    Ok(client.map(|c| (c, request)))
}

/// Where a finished login lands when no client is waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landing {
    /// "U bent ingelogd".
    LoggedIn,
    /// "Uw account is klaar": the end of the onboarding journey.
    AccountReady,
}

/// The person is authenticated: answer the parked authorization request with a code, or,
/// when no client is waiting, show that the login worked.
pub async fn finish(
    req: &HttpRequest,
    state: &IdpState,
    page: &Page,
    session: &Session,
    landing: Landing,
) -> Result<HttpResponse, PageError> {
    if let Some(parked_cookie) = auth_request_cookie_value(req, state)
        && let Some((client, request)) = parked_with_client(state, &parked_cookie)
            .await
            .map_err(|e| page.error(e))?
    {
        if consent::needed(state, &client, &session.user_id, &request)
            .await
            .map_err(|e| page.error(e))?
        {
            return Ok(page.redirect("/consent").finish());
        }
        if let Some(location) = code::issue(state, &request, session, Some(&parked_cookie))
            .await
            .map_err(|e| page.error(e))?
        {
            return Ok(page
                .redirect(&location)
                .cookie(expired(state, AUTH_REQUEST_COOKIE))
                .finish());
        }
    }
    Ok(page
        .redirect(match landing {
            Landing::LoggedIn => "/welcome",
            Landing::AccountReady => "/welcome?account=ready",
        })
        .finish())
}
