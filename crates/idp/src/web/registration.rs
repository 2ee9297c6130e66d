//! GET/POST /invitation/{token}: the registration page of the manual's §2.1.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::SecretString;
use serde::Deserialize;

use super::page::{Page, PageError};
use crate::domain::Language;
use crate::journeys::JourneyError;
use crate::journeys::registration::{self, OpenInvitation, RegistrationForm};
use crate::sessions::ClientInfo;
use crate::state::IdpState;

#[derive(Deserialize)]
pub struct RegistrationFormData {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
}

pub async fn show(
    req: HttpRequest,
    state: web::Data<IdpState>,
    token: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    match registration::open(&state, &token).await {
        Ok(open) => {
            let page = Page::new(&req, &state, Language::from_tag(&open.user.language));
            let first = open.user.first_name.clone().unwrap_or_default();
            let last = open.user.last_name.clone().unwrap_or_default();
            render_form(&page, &open, &first, &last, StatusCode::OK, Vec::new())
        }
        Err(e) => Err(Page::new(&req, &state, None).error(e)),
    }
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<IdpState>,
    token: web::Path<String>,
    form: web::Form<RegistrationFormData>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let page = Page::new(&req, &state, None).with_language(Language::from_tag(&form.lang));
    page.check_csrf(&req, &form.csrf_token)?;
    let input = RegistrationForm {
        password: SecretString::from(form.password),
        password_confirm: SecretString::from(form.password_confirm),
        first_name: form.first_name.clone(),
        last_name: form.last_name.clone(),
        language: page.lang,
    };
    match registration::register(&state, &token, input, client).await {
        Ok(registered) => {
            let cookie = super::flow::session_cookie(&state, registered.session_token.expose());
            Ok(page.redirect("/otp/setup").cookie(cookie).finish())
        }
        Err(JourneyError::Form(errors)) => {
            let open = registration::open(&state, &token)
                .await
                .map_err(|e| page.error(e))?;
            let shown = page.field_errors(&errors);
            render_form(
                &page,
                &open,
                &form.first_name,
                &form.last_name,
                StatusCode::UNPROCESSABLE_ENTITY,
                shown,
            )
        }
        Err(e) => Err(page.error(e)),
    }
}

fn render_form(
    page: &Page,
    open: &OpenInvitation,
    first_name: &str,
    last_name: &str,
    status: StatusCode,
    errors: Vec<super::page::ShownError>,
) -> Result<HttpResponse, PageError> {
    let title = page
        .text("registration_title")
        .replace("{organisation}", &open.organisation_name);
    let mut ctx = page.context(&title);
    ctx.insert("email", &open.user.email);
    ctx.insert("first_name", first_name);
    ctx.insert("last_name", last_name);
    ctx.insert("errors", &errors);
    ctx.insert("action", page.path());
    ctx.insert("login_href", page.login_href());
    page.render(status, "pages/registration.html", &ctx)
}
