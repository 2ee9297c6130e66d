//! What ties the pages together: the IdP session cookie, the cookie of a parked authorization
//! request, and finishing a login — back to the waiting client with a code, or a plain page.

use actix_web::HttpRequest;
use actix_web::HttpResponse;
use actix_web::cookie::Cookie;

use super::cookies;
use super::page::{Page, PageError};
use crate::error::Fault;
use crate::journeys::JourneyError;
use crate::journeys::login::Authenticated;
use crate::oidc::authorize::{self, Resumed};
use crate::sessions::{self, Stage, device};
use crate::state::IdpState;
use crate::storage::models::Session;

pub const AUTH_REQUEST_COOKIE: &str = "hcc_authreq";
/// Where a login that no client waits for goes afterwards, when not to the plain page.
pub const RETURN_COOKIE: &str = "hcc_return";

/// The IdP's own pages a login can come back to (a fixed list: never a URL from the request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Return {
    Account,
}

impl Return {
    fn value(self) -> &'static str {
        match self {
            Return::Account => "account",
        }
    }

    fn location(self) -> &'static str {
        match self {
            Return::Account => "/account",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        (value == Return::Account.value()).then_some(Return::Account)
    }
}

/// Remembers to come back to `to` after the login (for the length of a login).
pub fn return_cookie(state: &IdpState, to: Return) -> Cookie<'static> {
    cookies::build(&state.settings, RETURN_COOKIE, to.value().to_owned())
        .max_age(actix_web::cookie::time::Duration::minutes(
            state.settings.session.setup_lifetime_minutes,
        ))
        .finish()
}

fn return_to(req: &HttpRequest, state: &IdpState) -> Option<Return> {
    req.cookie(&state.settings.cookie_name(RETURN_COOKIE))
        .and_then(|c| Return::parse(c.value()))
}

/// The address whose password was just reset, so the login page that follows is filled in.
/// Sealed (the address is not readable from the cookie) and short-lived.
pub const RESET_EMAIL_COOKIE: &str = "hcc_reset_email";
const RESET_EMAIL_CONTEXT: &str = "reset-email/v1";
const RESET_EMAIL_MINUTES: i64 = 15;

pub fn reset_email_cookie(state: &IdpState, email: &str) -> Cookie<'static> {
    let sealed = state.keyring.seal(email.as_bytes(), RESET_EMAIL_CONTEXT);
    cookies::build(
        &state.settings,
        RESET_EMAIL_COOKIE,
        data_encoding::BASE64URL_NOPAD.encode(&sealed),
    )
    .max_age(actix_web::cookie::time::Duration::minutes(
        RESET_EMAIL_MINUTES,
    ))
    .finish()
}

/// The address from `reset_email_cookie`, if the browser has a valid one.
pub fn reset_email(req: &HttpRequest, state: &IdpState) -> Option<String> {
    let cookie = req.cookie(&state.settings.cookie_name(RESET_EMAIL_COOKIE))?;
    let sealed = data_encoding::BASE64URL_NOPAD
        .decode(cookie.value().as_bytes())
        .ok()?;
    let plain = state.keyring.open(&sealed, RESET_EMAIL_CONTEXT).ok()?;
    String::from_utf8(plain).ok()
}

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
fn add_login_cookies(
    req: &HttpRequest,
    state: &IdpState,
    response: &mut HttpResponse,
    signed_in: &Authenticated,
) -> Result<(), Fault> {
    let device = crate::journeys::login::device_cookie_after_login(
        state,
        device_cookie_value(req, state).as_deref(),
        &signed_in.email,
    );
    let days = state.settings.throttle.device_cookie_days;
    let cookies = [
        session_cookie(state, signed_in.session_token.expose()),
        cookies::build(&state.settings, device::COOKIE, device)
            .max_age(actix_web::cookie::time::Duration::days(days))
            .finish(),
    ];
    for cookie in &cookies {
        response
            .add_cookie(cookie)
            .map_err(|e| Fault::Internal(e.into()))?;
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
) -> Result<Option<Session>, Fault> {
    sessions::current(
        &state.db,
        &state.settings.session,
        state.now(),
        session_cookie_value(req, state),
    )
    .await
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
        _ => Err(page.error(JourneyError::SessionExpired)),
    }
}

/// A posted form or script call: its page (language, errors), the CSRF check of the token it
/// carries, and the session, which must be at `stage`.
pub async fn posted(
    req: &HttpRequest,
    state: &IdpState,
    csrf_token: &str,
    stage: Stage,
) -> Result<(Page, Session), PageError> {
    let page = Page::new(req, state, None);
    page.check_csrf(req, csrf_token)?;
    let session = session_in(req, state, &page, stage).await?;
    Ok((page, session))
}

/// The browser's parked-request cookie, if it has one.
pub fn auth_request_cookie_value(req: &HttpRequest, state: &IdpState) -> Option<String> {
    req.cookie(&state.settings.cookie_name(AUTH_REQUEST_COOKIE))
        .map(|c| c.value().to_owned())
}

/// Where a finished login lands when no client is waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landing {
    /// "U bent ingelogd".
    LoggedIn,
    /// "Uw account is klaar": the end of the onboarding journey.
    AccountReady,
}

/// The person has just authenticated (`signed_in`): the login cookies are set, and the parked
/// authorization request is answered (`oidc::authorize::resume`) — with a code, or first on the
/// consent page — or, when no client is waiting, the page says that the login worked.
pub async fn finish(
    req: &HttpRequest,
    state: &IdpState,
    page: &Page,
    signed_in: &Authenticated,
    landing: Landing,
) -> Result<HttpResponse, PageError> {
    let parked = auth_request_cookie_value(req, state);
    let resumed = authorize::resume(state, parked.as_deref(), &signed_in.session)
        .await
        .map_err(|e| page.error(e))?;
    let mut response = match resumed {
        Resumed::Answered(location) => page
            .redirect(&location)
            .cookie(expired(state, AUTH_REQUEST_COOKIE))
            .finish(),
        Resumed::Consent => page.redirect("/consent").finish(),
        Resumed::Nothing => match (return_to(req, state), landing) {
            (Some(to), _) => page
                .redirect(to.location())
                .cookie(expired(state, RETURN_COOKIE))
                .finish(),
            (None, Landing::LoggedIn) => page.redirect("/welcome").finish(),
            (None, Landing::AccountReady) => page.redirect("/welcome?account=ready").finish(),
        },
    };
    add_login_cookies(req, state, &mut response, signed_in).map_err(|e| page.error(e))?;
    Ok(response)
}

/// The person has just authenticated but is asked something first (after a recovery code: to
/// set up a new authenticator): the login cookies are set and the browser goes to `location`;
/// the waiting client is answered afterwards (`/account/continue`).
pub fn finish_at(
    req: &HttpRequest,
    state: &IdpState,
    page: &Page,
    signed_in: &Authenticated,
    location: &str,
) -> Result<HttpResponse, PageError> {
    let mut response = page.redirect(location).finish();
    add_login_cookies(req, state, &mut response, signed_in).map_err(|e| page.error(e))?;
    Ok(response)
}

/// A redirect as the answer to a script's request (`fetch` follows redirects itself): the
/// same cookies, and `{"location"}` for the page to go to.
pub fn as_json(redirect: HttpResponse) -> HttpResponse {
    let location = redirect
        .headers()
        .get(actix_web::http::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .unwrap_or("/")
        .to_owned();
    let mut answer = HttpResponse::Ok().json(serde_json::json!({ "location": location }));
    for cookie in redirect.cookies() {
        // Cookies parsed from a response are well-formed; adding one cannot fail.
        let _ = answer.add_cookie(&cookie);
    }
    answer
}
