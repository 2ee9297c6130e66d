//! GET/POST /login (E-mailadres, Wachtwoord) and GET/POST /login/otp (Authenticatiecode): the
//! IdP's login pages of manual §2.2.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::SecretString;
use serde::Deserialize;

use super::flow;
use super::page::{FORM, Page, PageError, ShownError};
use crate::domain::Language;
use crate::journeys::JourneyError;
use crate::journeys::login;
use crate::journeys::second_factor::Presented;
use crate::oidc::code;
use crate::sessions::ClientInfo;
use crate::sessions::Stage;
use crate::state::IdpState;

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

#[derive(Deserialize)]
pub struct OtpForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    otp_code: String,
}

/// The parked request's language and login hint, if a client is waiting.
async fn parked_hints(req: &HttpRequest, state: &IdpState) -> (Option<Language>, Option<String>) {
    let Some(cookie) = flow::auth_request_cookie_value(req, state) else {
        return (None, None);
    };
    // Only hints: without them the page is shown in the browser's language, empty.
    match code::parked(state, &cookie).await {
        Ok(Some(request)) => (request.language(), request.login_hint.clone()),
        _ => (None, None),
    }
}

fn render_login(
    page: &Page,
    email: &str,
    status: StatusCode,
    errors: Vec<ShownError>,
) -> Result<HttpResponse, PageError> {
    let mut ctx = page.context(&page.text("login_title"));
    ctx.insert("email", email);
    ctx.insert("errors", &errors);
    // Back from "Wachtwoord bijwerken": say that it worked and that the code is still needed.
    if page.query("reset").as_deref() == Some("done") {
        ctx.insert("notice", &page.text("reset_done_notice"));
    }
    page.render(status, "pages/login.html", &ctx)
}

pub async fn show(req: HttpRequest, state: web::Data<IdpState>) -> Result<HttpResponse, PageError> {
    let (lang, login_hint) = parked_hints(&req, &state).await;
    let page = Page::new(&req, &state, lang);
    // Back from a reset: the address just reset, unless the client named one.
    let just_reset = (page.query("reset").as_deref() == Some("done"))
        .then(|| flow::reset_email(&req, &state))
        .flatten();
    render_login(
        &page,
        login_hint.or(just_reset).as_deref().unwrap_or_default(),
        StatusCode::OK,
        Vec::new(),
    )
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<IdpState>,
    form: web::Form<LoginForm>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let page = Page::new(&req, &state, None).with_language(Language::from_tag(&form.lang));
    page.check_csrf(&req, &form.csrf_token)?;
    let previous = flow::session_cookie_value(&req, &state);
    match login::password_step(
        &state,
        &form.email,
        SecretString::from(form.password),
        previous,
        client,
        flow::device_cookie_value(&req, &state),
    )
    .await
    {
        Ok(accepted) => {
            let next = match accepted.next {
                Stage::OtpSetup => "/otp/setup",
                _ => "/login/otp",
            };
            Ok(page
                .redirect(next)
                .cookie(flow::session_cookie(
                    &state,
                    accepted.session_token.expose(),
                ))
                .finish())
        }
        Err(JourneyError::InvalidCredentials) => {
            // One message for the form, at neither field: it must not tell which one was wrong.
            let errors = page.shown_errors([(FORM, "login_error_invalid")]);
            render_login(&page, form.email.trim(), StatusCode::OK, errors)
        }
        Err(JourneyError::Throttled(seconds)) => {
            let errors = vec![page.throttled_error(FORM, seconds)];
            render_login(
                &page,
                form.email.trim(),
                StatusCode::TOO_MANY_REQUESTS,
                errors,
            )
        }
        Err(other) => Err(page.error(other)),
    }
}

async fn render_otp(
    page: &Page,
    state: &IdpState,
    session: &crate::storage::models::Session,
    status: StatusCode,
    errors: Vec<ShownError>,
) -> Result<HttpResponse, PageError> {
    let factors = login::second_factors(state, session)
        .await
        .map_err(|e| page.error(e))?;
    let mut ctx = page.context(&page.text("login_otp_title"));
    ctx.insert("errors", &errors);
    // A person with only passkeys still sees the code form when passkeys are off here.
    ctx.insert("apps", &(factors.apps || !factors.passkeys));
    ctx.insert("passkeys", &factors.passkeys);
    page.render(status, "pages/login_otp.html", &ctx)
}

pub async fn show_otp(
    req: HttpRequest,
    state: web::Data<IdpState>,
) -> Result<HttpResponse, PageError> {
    let page = Page::new(&req, &state, None);
    let session = flow::session_in(&req, &state, &page, Stage::Otp).await?;
    render_otp(&page, &state, &session, StatusCode::OK, Vec::new()).await
}

pub async fn submit_otp(
    req: HttpRequest,
    state: web::Data<IdpState>,
    form: web::Form<OtpForm>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let page = Page::new(&req, &state, None);
    page.check_csrf(&req, &form.csrf_token)?;
    let session = flow::session_in(&req, &state, &page, Stage::Otp).await?;
    let device = flow::device_cookie_value(&req, &state);
    let presented = Presented::Code(form.otp_code.clone());
    match login::second_step(&state, &session, presented, client, device.as_deref()).await {
        Ok((signed_in, _)) => {
            state.outbox_wake.notify_one();
            flow::finish(&req, &state, &page, &signed_in, flow::Landing::LoggedIn).await
        }
        Err(JourneyError::WrongCode) => {
            let errors = page.shown_errors([("otp_code", "otp_error_invalid")]);
            render_otp(
                &page,
                &state,
                &session,
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
            )
            .await
        }
        Err(JourneyError::Throttled(seconds)) => {
            render_otp(
                &page,
                &state,
                &session,
                StatusCode::TOO_MANY_REQUESTS,
                vec![page.throttled_error("otp_code", seconds)],
            )
            .await
        }
        Err(other) => Err(page.error(other)),
    }
}

#[derive(Deserialize)]
pub struct RecoveryForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    recovery_code: String,
}

fn render_recovery(
    page: &Page,
    status: StatusCode,
    errors: Vec<ShownError>,
) -> Result<HttpResponse, PageError> {
    let mut ctx = page.context(&page.text("login_recovery_title"));
    ctx.insert("errors", &errors);
    page.render(status, "pages/login_recovery.html", &ctx)
}

/// GET /login/recovery: a recovery code instead of the one-time code.
pub async fn show_recovery(
    req: HttpRequest,
    state: web::Data<IdpState>,
) -> Result<HttpResponse, PageError> {
    let page = Page::new(&req, &state, None);
    flow::session_in(&req, &state, &page, Stage::Otp).await?;
    render_recovery(&page, StatusCode::OK, Vec::new())
}

/// POST /login/recovery. The code is used up and a notice mail sent; then the person is asked
/// to set up a new authenticator (and may do it later).
pub async fn submit_recovery(
    req: HttpRequest,
    state: web::Data<IdpState>,
    form: web::Form<RecoveryForm>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let page = Page::new(&req, &state, None);
    page.check_csrf(&req, &form.csrf_token)?;
    let session = flow::session_in(&req, &state, &page, Stage::Otp).await?;
    let device = flow::device_cookie_value(&req, &state);
    let presented = Presented::RecoveryCode(form.recovery_code.clone());
    match login::second_step(&state, &session, presented, client, device.as_deref()).await {
        Ok((signed_in, _)) => {
            state.outbox_wake.notify_one();
            flow::finish_at(
                &req,
                &state,
                &page,
                &signed_in,
                "/account/authenticators/new?after=recovery",
            )
        }
        Err(JourneyError::WrongCode) => render_recovery(
            &page,
            StatusCode::UNPROCESSABLE_ENTITY,
            page.shown_errors([("recovery_code", "recovery_code_error_invalid")]),
        ),
        Err(JourneyError::Throttled(seconds)) => render_recovery(
            &page,
            StatusCode::TOO_MANY_REQUESTS,
            vec![page.throttled_error("recovery_code", seconds)],
        ),
        Err(other) => Err(page.error(other)),
    }
}
