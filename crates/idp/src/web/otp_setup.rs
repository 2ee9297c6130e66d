//! GET/POST /otp/setup: "Mobiele authenticator instellen", and GET /welcome, the page shown
//! when the account is ready and no relying party is waiting.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::page::{Page, PageError};
use crate::error::AppError;
use crate::journeys::otp_setup::{self, Completion, OtpSetupError};
use crate::sessions::{self, Stage};
use crate::state::IdpState;
use crate::storage::models::Session;

#[derive(Deserialize)]
pub struct OtpSetupFormData {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    otp_code: String,
    #[serde(default)]
    device_name: String,
    #[serde(default)]
    logout_others: Option<String>,
}

/// The IdP session cookie: HttpOnly, SameSite=Lax (it must come along when a relying party
/// sends the browser to /authorize), Secure over https.
pub fn session_cookie(state: &IdpState, value: &str) -> Cookie<'static> {
    Cookie::build(state.settings.session.cookie_name.clone(), value.to_owned())
        .path("/")
        .http_only(true)
        .secure(state.settings.secure_cookies())
        .same_site(SameSite::Lax)
        .finish()
}

async fn session_in(
    req: &HttpRequest,
    state: &IdpState,
    page: &Page,
    stage: Stage,
) -> Result<Session, PageError> {
    let cookie = req
        .cookie(&state.settings.session.cookie_name)
        .map(|c| c.value().to_owned());
    match sessions::current(state, cookie)
        .await
        .map_err(|e| page.error(e))?
    {
        Some(session) if session.stage == stage.as_str() => Ok(session),
        _ => Err(page.error(AppError::SessionExpired)),
    }
}

pub async fn show(req: HttpRequest, state: web::Data<IdpState>) -> Result<HttpResponse, PageError> {
    let page = Page::new(&req, &state, None);
    let session = session_in(&req, &state, &page, Stage::OtpSetup).await?;
    render(
        &page,
        &state,
        &session,
        "",
        false,
        StatusCode::OK,
        Vec::new(),
    )
    .await
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<IdpState>,
    form: web::Form<OtpSetupFormData>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let page = Page::new(&req, &state, None);
    page.check_csrf(&req, &form.csrf_token)?;
    let session = session_in(&req, &state, &page, Stage::OtpSetup).await?;
    let logout_others = form.logout_others.is_some();
    let completion = Completion {
        code: form.otp_code,
        device_name: form.device_name.clone(),
        logout_others,
    };
    match otp_setup::complete(&state, &session, completion, super::client_info(&req)).await {
        Ok(_) => Ok(page.redirect("/welcome").finish()),
        Err(OtpSetupError::WrongCode) => {
            let errors = page.shown_errors([("otp_code", "otp_error_invalid")]);
            render(
                &page,
                &state,
                &session,
                &form.device_name,
                logout_others,
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
            )
            .await
        }
        Err(OtpSetupError::DeviceNameTooLong) => {
            let errors = page.shown_errors([("device_name", "device_name_error_too_long")]);
            render(
                &page,
                &state,
                &session,
                "",
                logout_others,
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
            )
            .await
        }
        Err(OtpSetupError::NotInSetup) => Err(page.error(AppError::SessionExpired)),
        Err(OtpSetupError::App(e)) => Err(page.error(e)),
    }
}

async fn render(
    page: &Page,
    state: &IdpState,
    session: &Session,
    device_name: &str,
    logout_others: bool,
    status: StatusCode,
    errors: Vec<super::page::ShownError>,
) -> Result<HttpResponse, PageError> {
    let view = otp_setup::begin(state, session)
        .await
        .map_err(|e| match e {
            OtpSetupError::App(e) => page.error(e),
            _ => page.error(AppError::SessionExpired),
        })?;
    let mut ctx = page.context(&page.text("otp_setup_title"));
    ctx.insert("qr_svg", &view.qr_svg);
    ctx.insert("manual_key", &view.manual_key);
    ctx.insert("device_name", device_name);
    ctx.insert("logout_others", &logout_others);
    ctx.insert("errors", &errors);
    ctx.insert("action", "/otp/setup");
    page.render(status, "pages/otp_setup.html", &ctx)
}

pub async fn welcome(
    req: HttpRequest,
    state: web::Data<IdpState>,
) -> Result<HttpResponse, PageError> {
    let page = Page::new(&req, &state, None);
    session_in(&req, &state, &page, Stage::Authenticated).await?;
    let portal = state.settings.branding.portal_url.clone();
    page.message(
        StatusCode::OK,
        "account_ready_title",
        &["account_ready_body"],
        Some((&portal, "account_ready_link")),
    )
}
