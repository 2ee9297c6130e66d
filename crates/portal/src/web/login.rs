//! The landing page with the green **Inloggen** button, the way to the IdP and back
//! (`/login`, `/callback`), and the logout through the IdP's end_session endpoint (OIDC
//! RP-Initiated Logout 1.0 §2, with `id_token_hint` and `post_logout_redirect_uri`).

use actix_web::http::StatusCode;
use actix_web::web::{Data, Form, Query};
use actix_web::{HttpRequest, HttpResponse};

use super::page::{LOGIN_COOKIE, Page, PageError, SESSION_COOKIE};
use crate::error::PortalError;
use crate::oidc::OidcError;
use crate::oidc::login::{self, Callback};
use crate::state::PortalState;

/// The `state` the portal gives the IdP's logout, returned on the way back to the landing page.
const LOGGED_OUT: &str = "logged_out";

#[derive(Debug, serde::Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf_token: String,
}

#[derive(Debug, serde::Deserialize)]
pub struct LandingQuery {
    state: Option<String>,
    session: Option<String>,
}

pub async fn landing(
    req: HttpRequest,
    state: Data<PortalState>,
    query: Query<LandingQuery>,
) -> Result<HttpResponse, PageError> {
    let page = Page::new(&req, &state);
    let session = req
        .cookie(&state.settings.cookie_name(SESSION_COOKIE))
        .and_then(|c| state.sessions.find(c.value(), state.now()));
    if session.is_some() {
        return Ok(page.redirect("/dashboard").finish());
    }
    let notice = if query.state.as_deref() == Some(LOGGED_OUT) {
        Some(page.text("landing_logged_out"))
    } else if query.session.as_deref() == Some("ended") {
        Some(page.text("landing_session_ended"))
    } else {
        None
    };
    let mut ctx = page.context(&page.text("landing_title"));
    ctx.insert("notice", &notice);
    page.render(StatusCode::OK, "pages/landing.html", &ctx)
}

/// The green button: the authorization request, with what to check on the way back kept under
/// a login cookie of its own.
pub async fn start(
    req: HttpRequest,
    state: Data<PortalState>,
    form: Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let page = Page::new(&req, &state);
    page.check_csrf(&req, &form.csrf_token)?;
    let discovered = state.provider.current().await.map_err(|e| page.error(e))?;
    let now = state.now();
    let started = login::start(&discovered, &state.settings.idp.scope, page.lang, now);
    let cookie = state.sessions.begin_login(started.pending, now);
    let minutes = state.settings.session.login_minutes;
    Ok(page
        .redirect(&started.url)
        .cookie(
            page.cookie(LOGIN_COOKIE, cookie)
                .max_age(actix_web::cookie::time::Duration::minutes(minutes))
                .finish(),
        )
        .finish())
}

/// The redirect back from the IdP. Whatever is wrong with it, no session comes of it and the
/// login cookie is spent.
pub async fn callback(
    req: HttpRequest,
    state: Data<PortalState>,
    query: Query<Callback>,
) -> Result<HttpResponse, PageError> {
    let page = Page::new(&req, &state);
    let now = state.now();
    let pending = req
        .cookie(&state.settings.cookie_name(LOGIN_COOKIE))
        .and_then(|c| state.sessions.take_login(c.value(), now));
    let outcome = match pending {
        None => Err(OidcError::UnknownLogin),
        Some(pending) => {
            login::finish(
                &state.provider,
                &state.http,
                pending,
                query.into_inner(),
                now,
            )
            .await
        }
    };
    let signed_in = match outcome {
        Ok(signed_in) => signed_in,
        Err(e) => {
            tracing::warn!(error = %e, "login refused");
            let failed = page.error(e);
            let mut response = actix_web::ResponseError::error_response(&failed);
            let _ = response.add_cookie(&page.removal(LOGIN_COOKIE));
            return Ok(response);
        }
    };
    tracing::info!(sub = %signed_in.person.sub, "portal session started");
    let session = state.sessions.start(signed_in, now);
    Ok(page
        .redirect("/dashboard")
        .cookie(page.removal(LOGIN_COOKIE))
        .cookie(page.cookie(SESSION_COOKIE, session).finish())
        .finish())
}

/// **Uitloggen**: ends the portal session and sends the browser to the IdP to end its session
/// there too, and back to the landing page.
pub async fn logout(
    req: HttpRequest,
    state: Data<PortalState>,
    form: Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let page = Page::new(&req, &state);
    page.check_csrf(&req, &form.csrf_token)?;
    let ended = req
        .cookie(&state.settings.cookie_name(SESSION_COOKIE))
        .and_then(|c| state.sessions.end(c.value()));
    let Some(session) = ended else {
        return Ok(page.redirect("/").finish());
    };
    let id_token = session.data.lock().await.id_token.clone();
    let discovered = state.provider.current().await.map_err(|e| page.error(e))?;
    let Some(endpoint) = discovered.end_session_endpoint() else {
        return Ok(page
            .redirect(&format!("/?state={LOGGED_OUT}"))
            .cookie(page.removal(SESSION_COOKIE))
            .finish());
    };
    let mut url = url::Url::parse(endpoint).map_err(|e| {
        page.error(PortalError::Unavailable(format!(
            "end_session_endpoint: {e}"
        )))
    })?;
    url.query_pairs_mut()
        .append_pair("id_token_hint", &id_token)
        .append_pair(
            "post_logout_redirect_uri",
            &state.settings.post_logout_redirect_uri(),
        )
        .append_pair("client_id", &state.settings.idp.client_id)
        .append_pair("state", LOGGED_OUT)
        .append_pair("ui_locales", page.lang.code());
    Ok(page
        .redirect(url.as_str())
        .cookie(page.removal(SESSION_COOKIE))
        .finish())
}
