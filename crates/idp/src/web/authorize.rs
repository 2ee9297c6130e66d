//! GET/POST /authorize: `oidc::authorize::decide` says what to do — a page, an error for the
//! client, a code from the live session, or the request parked while the person logs in (or,
//! for a third-party client not allowed yet, gives consent).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::flow;
use super::page::{Page, PageError};
use crate::oidc::authorize::{self, AuthorizationRequest, AuthorizeParams, Decision, PageReason};
use crate::oidc::code;
use crate::sessions::ClientInfo;
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
    let session = flow::current_session(&req, &state)
        .await
        .map_err(|e| page.error(e))?;
    let decision = authorize::decide(&state, params, session)
        .await
        .map_err(|e| page.error(e))?;
    match decision {
        Decision::Page(reason) => {
            let body = match reason {
                PageReason::MissingClient | PageReason::UnknownClient => {
                    "authorize_error_unknown_client"
                }
                PageReason::MissingRedirectUri | PageReason::UnregisteredRedirectUri => {
                    "authorize_error_redirect_uri"
                }
            };
            page.message(
                StatusCode::BAD_REQUEST,
                "authorize_error_title",
                &[body],
                None,
            )
        }
        Decision::Refuse(redirect) => Ok(found(&redirect.location(&state.settings.issuer))),
        Decision::Issue(request, session) => {
            let location = code::issue(&state, &request, &session, None)
                .await
                .map_err(|e| page.error(e))?
                .unwrap_or_else(|| request.redirect_uri.clone());
            Ok(found(&location))
        }
        Decision::Consent(request) => {
            park(&from, &state, &page, &request, "/consent".to_owned()).await
        }
        Decision::Login(request) => {
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
