//! GET/POST /logout: the end_session_endpoint. With a valid `id_token_hint` for the person
//! logged in here, the session ends at once; otherwise the person confirms first (a bare link
//! must not log anyone out). Then back to the client's registered URI with `state`, or a page.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::flow;
use super::page::{Page, PageError};
use crate::domain::Language;
use crate::journeys::logout;
use crate::oidc::logout::{self as rp_logout, LogoutError, LogoutParams};
use crate::state::IdpState;

pub async fn get(
    req: HttpRequest,
    state: web::Data<IdpState>,
    params: web::Query<LogoutParams>,
) -> Result<HttpResponse, PageError> {
    handle(req, state, params.into_inner(), false).await
}

pub async fn post(
    req: HttpRequest,
    state: web::Data<IdpState>,
    params: web::Form<LogoutParams>,
) -> Result<HttpResponse, PageError> {
    handle(req, state, params.into_inner(), true).await
}

async fn handle(
    req: HttpRequest,
    state: web::Data<IdpState>,
    params: LogoutParams,
    posted: bool,
) -> Result<HttpResponse, PageError> {
    let hint = params
        .ui_locales
        .as_deref()
        .and_then(Language::from_ui_locales);
    let page = Page::new(&req, &state, hint);
    let request = match rp_logout::check(&state, &params).await {
        Ok(request) => request,
        Err(LogoutError::App(e)) => return Err(page.error(e)),
        Err(_) => {
            return page.message(
                StatusCode::BAD_REQUEST,
                "logout_title",
                &["logout_error"],
                None,
            );
        }
    };
    let session = flow::current_session(&req, &state)
        .await
        .map_err(|e| page.error(e))?;
    let confirmed = posted
        && page
            .check_csrf(&req, params.csrf_token.as_deref().unwrap_or_default())
            .is_ok();
    let hint_matches = match (&session, &request.hinted_subject) {
        (Some(s), Some(sub)) => &s.user_id == sub,
        (None, _) => true, // nothing to end here
        (Some(_), None) => false,
    };
    if !(hint_matches || confirmed) {
        return confirm_page(&page, &params);
    }
    if let Some(session) = &session {
        logout::logout(&state, &session.user_id, &session.id_hash)
            .await
            .map_err(|e| page.error(e))?;
    }
    let cookie = flow::expired(&state, &state.settings.session.cookie_name);
    match request.redirect {
        Some(uri) => {
            let location = match &request.state {
                Some(s) => uri.with_params(&[("state", s)]),
                None => uri.as_str().to_owned(),
            };
            Ok(page.redirect(&location).cookie(cookie).finish())
        }
        None => {
            let mut response = page.message(
                StatusCode::OK,
                "logged_out_title",
                &["logged_out_body"],
                Some(("/login", "to_login")),
            )?;
            let _ = response.add_cookie(&cookie);
            Ok(response)
        }
    }
}

fn confirm_page(page: &Page, params: &LogoutParams) -> Result<HttpResponse, PageError> {
    let hidden: Vec<(&str, &str)> = [
        ("id_token_hint", params.id_token_hint.as_deref()),
        ("client_id", params.client_id.as_deref()),
        (
            "post_logout_redirect_uri",
            params.post_logout_redirect_uri.as_deref(),
        ),
        ("state", params.state.as_deref()),
        ("ui_locales", params.ui_locales.as_deref()),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect();
    let mut ctx = page.context(&page.text("logout_title"));
    ctx.insert("hidden", &hidden);
    page.render(StatusCode::OK, "pages/logout.html", &ctx)
}
