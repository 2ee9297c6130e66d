//! GET/POST /authorize: validates the request (oidc::authorize), answers at once from a live
//! session, or parks it and sends the person to the login page (or, for a third-party client
//! not allowed yet, to the consent page).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::flow;
use super::page::{Page, PageError};
use crate::oidc::authorize::{
    self, AuthorizationRequest, AuthorizeError, AuthorizeParams, ErrorRedirect, PageReason,
};
use crate::oidc::{code, consent};
use crate::sessions::{ClientInfo, Stage};
use crate::state::IdpState;

pub async fn get(
    req: HttpRequest,
    state: web::Data<IdpState>,
    params: web::Query<AuthorizeParams>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    authorize(req, state, params.into_inner(), client).await
}

pub async fn post(
    req: HttpRequest,
    state: web::Data<IdpState>,
    params: web::Form<AuthorizeParams>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    authorize(req, state, params.into_inner(), client).await
}

fn found(location: &str) -> HttpResponse {
    HttpResponse::Found()
        .insert_header(("Location", location.to_owned()))
        .finish()
}

async fn authorize(
    req: HttpRequest,
    state: web::Data<IdpState>,
    params: AuthorizeParams,
    from: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let hint = params
        .ui_locales
        .as_deref()
        .and_then(crate::domain::Language::from_ui_locales);
    let page = Page::new(&req, &state, hint);
    let (client, request) = match authorize::validate(&state, params).await {
        Ok(valid) => valid,
        Err(AuthorizeError::Page(reason)) => {
            let body = match reason {
                PageReason::MissingClient | PageReason::UnknownClient => {
                    "authorize_error_unknown_client"
                }
                PageReason::MissingRedirectUri | PageReason::UnregisteredRedirectUri => {
                    "authorize_error_redirect_uri"
                }
            };
            return page.message(
                StatusCode::BAD_REQUEST,
                "authorize_error_title",
                &[body],
                None,
            );
        }
        Err(AuthorizeError::Redirect(redirect)) => {
            return Ok(found(&redirect.location(&state.settings.issuer)));
        }
        Err(AuthorizeError::App(e)) => return Err(page.error(e)),
    };
    let now = state.now();
    let session = flow::current_session(&req, &state)
        .await
        .map_err(|e| page.error(e))?
        .filter(|s| s.stage == Stage::Authenticated);
    let fresh_enough = |auth_time: i64| {
        request
            .max_age
            .is_none_or(|max| auth_time.saturating_add(max) >= now)
    };
    let error_to_client = |error: &'static str, description: &str| {
        let redirect = ErrorRedirect {
            redirect_uri: request.redirect(),
            error,
            description: description.to_owned(),
            state: request.state.clone(),
        };
        found(&redirect.location(&state.settings.issuer))
    };
    match session {
        Some(session) if !request.prompt_login && fresh_enough(session.auth_time) => {
            let ask = consent::needed(&state, &client, &session.user_id, &request)
                .await
                .map_err(|e| page.error(e))?;
            if ask && request.prompt_none {
                return Ok(error_to_client(
                    "consent_required",
                    "the person has not allowed this client yet",
                ));
            }
            if ask {
                return park(&from, &state, &page, &request, "/consent".to_owned()).await;
            }
            let location = code::issue(&state, &request, &session, None)
                .await
                .map_err(|e| page.error(e))?
                .unwrap_or_else(|| request.redirect_uri.clone());
            Ok(found(&location))
        }
        _ if request.prompt_none => Ok(error_to_client(
            "login_required",
            "the person is not logged in",
        )),
        _ => {
            let mut location = "/login".to_owned();
            if let Some(lang) = request.language() {
                location.push_str(&format!("?lang={lang}"));
            }
            park(&from, &state, &page, &request, location).await
        }
    }
}

/// Parks the request (within the client address's hourly limit) and sends the browser to
/// `location` with the request's cookie.
async fn park(
    from: &ClientInfo,
    state: &IdpState,
    page: &Page,
    request: &AuthorizationRequest,
    location: String,
) -> Result<HttpResponse, PageError> {
    match code::park(state, request, from.ip_address.clone())
        .await
        .map_err(|e| page.error(e))?
    {
        code::Parked::Waiting(token) => Ok(page
            .redirect(&location)
            .cookie(flow::auth_request_cookie(state, token.expose()))
            .finish()),
        code::Parked::TooMany => {
            let mut response = page.message(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests_title",
                &["too_many_requests_body"],
                None,
            )?;
            response.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from_static("600"),
            );
            Ok(response)
        }
    }
}
