//! GET/POST /password/forgot ("Wachtwoord vergeten?") and GET/POST /password/reset/{token}
//! ("Wachtwoord bijwerken"), manual §2.3.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::SecretString;
use serde::Deserialize;

use super::flow;
use super::page::{Page, PageError, ShownError};
use crate::domain::{Email, Language};
use crate::journeys::JourneyError;
use crate::journeys::password_reset;
use crate::sessions::ClientInfo;
use crate::state::IdpState;

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    email: String,
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
    #[serde(default)]
    logout_others: Option<String>,
}

fn render_forgot(
    page: &Page,
    email: &str,
    status: StatusCode,
    errors: Vec<ShownError>,
) -> Result<HttpResponse, PageError> {
    let mut ctx = page.context(&page.text("forgot_title"));
    ctx.insert("email", email);
    ctx.insert("errors", &errors);
    page.render(status, "pages/forgot_password.html", &ctx)
}

pub async fn show_forgot(
    req: HttpRequest,
    state: web::Data<IdpState>,
) -> Result<HttpResponse, PageError> {
    let page = Page::new(&req, &state, None);
    render_forgot(&page, "", StatusCode::OK, Vec::new())
}

/// The same page for every well-formed address, answered before any lookup is made.
pub async fn submit_forgot(
    req: HttpRequest,
    state: web::Data<IdpState>,
    form: web::Form<ForgotForm>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let page = Page::new(&req, &state, None).with_language(Language::from_tag(&form.lang));
    page.check_csrf(&req, &form.csrf_token)?;
    let Ok(email) = Email::parse(&form.email) else {
        let errors = page.shown_errors([("email", "email_error_invalid")]);
        return render_forgot(
            &page,
            form.email.trim(),
            StatusCode::UNPROCESSABLE_ENTITY,
            errors,
        );
    };
    password_reset::request_in_background(&state, email, page.lang, client);
    page.message(
        StatusCode::OK,
        "forgot_sent_title",
        &["forgot_sent_body"],
        Some(("/login", "to_login")),
    )
}

fn render_reset(
    page: &Page,
    email: &str,
    logout_others: bool,
    status: StatusCode,
    errors: Vec<ShownError>,
) -> Result<HttpResponse, PageError> {
    let mut ctx = page.context(&page.text("reset_title"));
    ctx.insert("email", email);
    ctx.insert("logout_others", &logout_others);
    ctx.insert("errors", &errors);
    ctx.insert("action", page.path());
    page.render(status, "pages/reset_password.html", &ctx)
}

pub async fn show_reset(
    req: HttpRequest,
    state: web::Data<IdpState>,
    token: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    match password_reset::open(&state, &token).await {
        Ok((_, user)) => {
            let page = Page::new(&req, &state, Language::from_tag(&user.language));
            render_reset(&page, &user.email, false, StatusCode::OK, Vec::new())
        }
        Err(e) => Err(Page::new(&req, &state, None).error(e)),
    }
}

pub async fn submit_reset(
    req: HttpRequest,
    state: web::Data<IdpState>,
    token: web::Path<String>,
    form: web::Form<ResetForm>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let page = Page::new(&req, &state, None).with_language(Language::from_tag(&form.lang));
    page.check_csrf(&req, &form.csrf_token)?;
    let logout_others = form.logout_others.is_some();
    let keep = flow::current_session(&req, &state)
        .await
        .map_err(|e| page.error(e))?
        .map(|s| s.id_hash);
    let result = password_reset::complete(
        &state,
        &token,
        SecretString::from(form.password),
        SecretString::from(form.password_confirm),
        logout_others,
        keep,
        client,
    )
    .await;
    match result {
        Ok(email) => Ok(page
            .redirect(&format!("/login?reset=done&lang={}", page.lang))
            .cookie(flow::reset_email_cookie(&state, &email))
            .finish()),
        Err(JourneyError::Form(errors)) => {
            let (_, user) = password_reset::open(&state, &token)
                .await
                .map_err(|e| page.error(e))?;
            let errors = page.field_errors(&errors);
            render_reset(
                &page,
                &user.email,
                logout_others,
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
            )
        }
        Err(e) => Err(page.error(e)),
    }
}
