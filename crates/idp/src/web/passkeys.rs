//! The WebAuthn ceremonies of the pages, as JSON for `static/passkey.js`: options for
//! `navigator.credentials.create()` / `get()`, then the authenticator's answer. Each call
//! carries the page's CSRF token in its body. An answer that works says where the page goes
//! next (`{"location"}`); one that does not says why in the person's language (`{"error"}`,
//! 422). Three ceremonies: registering a key on the account page, logging in with one at the
//! code step (**Inloggen met passkey**), and a step-up on the account page.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::flow;
use super::page::{Page, PageError};
use crate::domain::Stage;
use crate::journeys::JourneyError;
use crate::journeys::login;
use crate::journeys::own_account;
use crate::journeys::second_factor::Presented;
use crate::sessions::ClientInfo;
use crate::state::IdpState;

/// The body of every call: the page's CSRF token, and for an answer the authenticator's
/// credential (as the browser's `PublicKeyCredential.toJSON()` gives it) and a name.
#[derive(Deserialize)]
pub struct Ceremony {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    credential: Option<serde_json::Value>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    next: String,
}

/// The JSON bodies of these routes: small, and a body that cannot be read is a JSON 400.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(64 * 1024)
        .error_handler(|e, _| {
            let body = serde_json::json!({ "error": e.to_string() });
            actix_web::error::InternalError::from_response(e, HttpResponse::BadRequest().json(body))
                .into()
        })
}

fn options(json: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(json)
}

fn refused(page: &Page, key: &str) -> HttpResponse {
    HttpResponse::build(StatusCode::UNPROCESSABLE_ENTITY)
        .json(serde_json::json!({ "error": page.text(key) }))
}

fn go(location: &str) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "location": location }))
}

fn answer(body: &Ceremony) -> Result<String, JourneyError> {
    body.credential
        .as_ref()
        .map(serde_json::Value::to_string)
        .ok_or_else(|| JourneyError::BadRequest("no credential".into()))
}

/// A journey's refusal as JSON; a change that needs a fresh login says where to confirm.
fn journey_refusal(
    page: &Page,
    error: JourneyError,
    next: &str,
) -> Result<HttpResponse, PageError> {
    match error {
        JourneyError::StepUpRequired => Ok(go(&format!("/account/confirm?next={next}"))),
        JourneyError::Form(errors) => Ok(refused(
            page,
            errors
                .first()
                .map_or("passkey_error_refused", |e| e.message_key.as_str()),
        )),
        JourneyError::WrongCode => Ok(refused(page, "passkey_error_refused")),
        JourneyError::Throttled(_) => Ok(HttpResponse::TooManyRequests()
            .json(serde_json::json!({ "error": page.text("throttled_body") }))),
        other => Err(page.error(other)),
    }
}

/// POST /account/passkeys/options.
pub async fn register_options(
    req: HttpRequest,
    state: web::Data<IdpState>,
    body: web::Json<Ceremony>,
) -> Result<HttpResponse, PageError> {
    let (page, session) =
        flow::posted(&req, &state, &body.csrf_token, Stage::Authenticated).await?;
    match own_account::passkey_options(&state, &session).await {
        Ok(json) => Ok(options(json)),
        Err(e) => journey_refusal(&page, e, "authenticators"),
    }
}

/// POST /account/passkeys: the answer to the registration options.
pub async fn register(
    req: HttpRequest,
    state: web::Data<IdpState>,
    body: web::Json<Ceremony>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let (page, session) =
        flow::posted(&req, &state, &body.csrf_token, Stage::Authenticated).await?;
    let credential = answer(&body).map_err(|e| page.error(e))?;
    match own_account::add_passkey(&state, &session, &body.name, &credential, client).await {
        Ok(()) => Ok(go("/account?done=passkey_added")),
        Err(e) => journey_refusal(&page, e, "authenticators"),
    }
}

/// POST /login/passkey/options: at the code step, the challenge for the person's keys.
pub async fn login_options(
    req: HttpRequest,
    state: web::Data<IdpState>,
    body: web::Json<Ceremony>,
) -> Result<HttpResponse, PageError> {
    let (page, session) = flow::posted(&req, &state, &body.csrf_token, Stage::Otp).await?;
    match login::passkey_challenge(&state, &session).await {
        Ok(json) => Ok(options(json)),
        Err(e) => journey_refusal(&page, e, ""),
    }
}

/// POST /login/passkey: the key's answer instead of the one-time code. The login then ends as
/// after a code: back to the waiting client, or the plain page.
pub async fn login(
    req: HttpRequest,
    state: web::Data<IdpState>,
    body: web::Json<Ceremony>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let (page, session) = flow::posted(&req, &state, &body.csrf_token, Stage::Otp).await?;
    let credential = answer(&body).map_err(|e| page.error(e))?;
    let device = flow::device_cookie_value(&req, &state);
    let presented = Presented::SecurityKey(credential);
    match login::second_step(&state, &session, presented, client, device.as_deref()).await {
        Ok((signed_in, _)) => {
            state.outbox_wake.notify_one();
            let redirect =
                flow::finish(&req, &state, &page, &signed_in, flow::Landing::LoggedIn).await?;
            Ok(flow::as_json(redirect))
        }
        Err(e) => journey_refusal(&page, e, ""),
    }
}

/// POST /account/confirm/passkey/options: a step-up with a key.
pub async fn step_up_options(
    req: HttpRequest,
    state: web::Data<IdpState>,
    body: web::Json<Ceremony>,
) -> Result<HttpResponse, PageError> {
    let (page, session) =
        flow::posted(&req, &state, &body.csrf_token, Stage::Authenticated).await?;
    match login::passkey_challenge(&state, &session).await {
        Ok(json) => Ok(options(json)),
        Err(e) => journey_refusal(&page, e, ""),
    }
}

/// POST /account/confirm/passkey.
pub async fn step_up(
    req: HttpRequest,
    state: web::Data<IdpState>,
    body: web::Json<Ceremony>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let (page, session) =
        flow::posted(&req, &state, &body.csrf_token, Stage::Authenticated).await?;
    let credential = answer(&body).map_err(|e| page.error(e))?;
    match own_account::step_up(&state, &session, Presented::SecurityKey(credential), client).await {
        Ok(()) => Ok(go(super::account::after_step_up(&body.next))),
        Err(e) => journey_refusal(&page, e, ""),
    }
}
