//! GET/POST /logout: the end_session_endpoint. `oidc::logout::decide` says whether the session
//! ends at once, after a confirmation, or not at all; then back to the client's registered URI
//! with `state`, or a page.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::flow;
use super::page::{Page, PageError};
use crate::domain::Language;
use crate::journeys::logout;
use crate::oidc::logout::{self as rp_logout, LogoutDecision, LogoutParams};
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
    let session = flow::current_session(&req, &state)
        .await
        .map_err(|e| page.error(e))?;
    let confirmed = posted
        && page
            .check_csrf(&req, params.csrf_token.as_deref().unwrap_or_default())
            .is_ok();
    let decision = rp_logout::decide(&state, &params, session.as_ref(), confirmed)
        .await
        .map_err(|e| page.error(e))?;
    let redirect = match decision {
        LogoutDecision::UnregisteredRedirect => {
            return page.message(
                StatusCode::BAD_REQUEST,
                "logout_title",
                &["logout_error"],
                None,
            );
        }
        LogoutDecision::Confirm => return confirm_page(&page, &params),
        LogoutDecision::LogOut { redirect } => redirect,
    };
    if let Some(session) = &session {
        logout::logout(&state, &session.user_id, &session.id_hash)
            .await
            .map_err(|e| page.error(e))?;
    }
    let cookie = flow::expired(&state, &state.settings.session.cookie_name);
    match redirect {
        Some(location) => Ok(page.redirect(&location).cookie(cookie).finish()),
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
