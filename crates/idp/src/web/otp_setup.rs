//! GET/POST /otp/setup: "Mobiele authenticator instellen", and GET /welcome, the page shown
//! when the account is ready and no relying party is waiting.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::flow;
use super::page::{Page, PageError};
use crate::journeys::JourneyError;
use crate::journeys::otp_setup::{self, Completion};
use crate::sessions::ClientInfo;
use crate::sessions::Stage;
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

pub async fn show(req: HttpRequest, state: web::Data<IdpState>) -> Result<HttpResponse, PageError> {
    let page = Page::new(&req, &state, None);
    let session = flow::session_in(&req, &state, &page, Stage::OtpSetup).await?;
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
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let page = Page::new(&req, &state, None);
    page.check_csrf(&req, &form.csrf_token)?;
    let session = flow::session_in(&req, &state, &page, Stage::OtpSetup).await?;
    let logout_others = form.logout_others.is_some();
    let completion = Completion {
        code: form.otp_code,
        device_name: form.device_name.clone(),
        logout_others,
    };
    match otp_setup::complete(&state, &session, completion, client).await {
        Ok(completed) => {
            flow::finish(
                &req,
                &state,
                &page,
                &completed.signed_in,
                flow::Landing::AccountReady,
            )
            .await
        }
        Err(JourneyError::WrongCode) => {
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
        Err(JourneyError::Form(errors)) => {
            let errors = page.field_errors(&errors);
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
        Err(other) => Err(page.error(other)),
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
        .map_err(|e| page.error(e))?;
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
    flow::session_in(&req, &state, &page, Stage::Authenticated).await?;
    let portal = state.settings.branding.portal_url.clone();
    let (title, body) = if page.query("account").as_deref() == Some("ready") {
        ("account_ready_title", "account_ready_body")
    } else {
        ("logged_in_title", "logged_in_body")
    };
    page.message_with_links(
        StatusCode::OK,
        title,
        &[body],
        &[
            (&portal, "account_ready_link"),
            ("/account", "account_link"),
        ],
    )
}
