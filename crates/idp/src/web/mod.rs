//! The HTTP surface: the route table, security headers, static assets and the page handlers.
//! A handler reads the request, calls one journey, and renders; it holds no business rule.

pub mod account;
pub mod admin_api;
pub mod assets;
pub mod authorize;
pub mod client_address;
pub mod consent;
pub mod cookies;
pub mod flow;
pub mod health;
pub mod login;
pub mod logout;
pub mod oidc;
pub mod otp_setup;
pub mod page;
pub mod passkeys;
pub mod password;
pub mod registration;
pub mod request_span;

use actix_web::middleware::DefaultHeaders;
use actix_web::web::{self, ServiceConfig};

pub fn routes(cfg: &mut ServiceConfig) {
    admin_api::routes(cfg);
    cfg.service(web::resource("/health/live").route(web::get().to(health::live)))
        .service(web::resource("/health/ready").route(web::get().to(health::ready)))
        .service(web::resource("/static/{file}").route(web::get().to(assets::serve)))
        .service(web::resource("/favicon.ico").route(web::get().to(assets::favicon)))
        .service(
            web::resource("/invitation/{token}")
                .route(web::get().to(registration::show))
                .route(web::post().to(registration::submit)),
        )
        .service(
            web::resource("/otp/setup")
                .route(web::get().to(otp_setup::show))
                .route(web::post().to(otp_setup::submit)),
        )
        .service(web::resource("/welcome").route(web::get().to(otp_setup::welcome)))
        .service(
            web::resource("/authorize")
                .route(web::get().to(authorize::get))
                .route(web::post().to(authorize::post)),
        )
        .service(
            web::resource("/consent")
                .route(web::get().to(consent::show))
                .route(web::post().to(consent::submit)),
        )
        .service(
            web::resource("/login")
                .route(web::get().to(login::show))
                .route(web::post().to(login::submit)),
        )
        .service(
            web::resource("/.well-known/openid-configuration")
                .route(web::get().to(oidc::discovery::openid_configuration)),
        )
        .service(web::resource("/jwks").route(web::get().to(oidc::discovery::jwks)))
        .service(
            web::resource("/token")
                .app_data(oidc::body_limit())
                .route(web::post().to(oidc::token)),
        )
        .service(
            web::resource("/userinfo")
                .app_data(oidc::body_limit())
                .route(web::get().to(oidc::userinfo_get))
                .route(web::post().to(oidc::userinfo_post)),
        )
        .service(
            web::resource("/revoke")
                .app_data(oidc::body_limit())
                .route(web::post().to(oidc::revoke)),
        )
        .service(
            web::resource("/introspect")
                .app_data(oidc::body_limit())
                .route(web::post().to(oidc::introspect)),
        )
        .service(
            web::resource("/logout")
                .route(web::get().to(logout::get))
                .route(web::post().to(logout::post)),
        )
        .service(web::resource("/").route(web::get().to(home)))
        .service(
            web::resource("/password/forgot")
                .route(web::get().to(password::show_forgot))
                .route(web::post().to(password::submit_forgot)),
        )
        .service(
            web::resource("/password/reset/{token}")
                .route(web::get().to(password::show_reset))
                .route(web::post().to(password::submit_reset)),
        )
        .service(
            web::resource("/register")
                .app_data(oidc::body_limit())
                .route(web::post().to(oidc::register)),
        )
        .service(
            web::resource("/login/otp")
                .route(web::get().to(login::show_otp))
                .route(web::post().to(login::submit_otp)),
        )
        .service(
            web::resource("/login/recovery")
                .route(web::get().to(login::show_recovery))
                .route(web::post().to(login::submit_recovery)),
        );
    account_routes(cfg);
    cfg.default_service(web::to(not_found));
}

/// Any other path: the "page not found" page in the person's language, with a way back.
async fn not_found(
    req: actix_web::HttpRequest,
    state: web::Data<crate::state::IdpState>,
) -> Result<actix_web::HttpResponse, page::PageError> {
    Err(page::Page::new(&req, &state, None).error(crate::journeys::JourneyError::NotFound))
}

/// `/account`: the person's own account page and its forms.
fn account_routes(cfg: &mut ServiceConfig) {
    cfg.service(web::resource("/account").route(web::get().to(account::show)))
        .service(
            web::resource("/account/password")
                .route(web::get().to(account::show_password))
                .route(web::post().to(account::submit_password)),
        )
        .service(
            web::resource("/account/authenticators/new")
                .route(web::get().to(account::show_add_authenticator))
                .route(web::post().to(account::submit_add_authenticator)),
        )
        .service(
            web::resource("/account/authenticators/{id}/rename")
                .route(web::post().to(account::rename_authenticator)),
        )
        .service(
            web::resource("/account/authenticators/{id}/remove")
                .route(web::post().to(account::remove_authenticator)),
        )
        .service(
            web::resource("/account/recovery-codes")
                .route(web::post().to(account::new_recovery_codes)),
        )
        .service(
            web::resource("/account/sessions/end-others")
                .route(web::post().to(account::end_other_sessions)),
        )
        .service(
            web::resource("/account/sessions/{handle}/end")
                .route(web::post().to(account::end_session)),
        )
        .service(
            web::resource("/account/permissions/{client_id}/revoke")
                .route(web::post().to(account::revoke_permission)),
        )
        .service(
            web::resource("/account/confirm")
                .route(web::get().to(account::show_confirm))
                .route(web::post().to(account::submit_confirm)),
        )
        .service(web::resource("/account/continue").route(web::get().to(account::continue_login)));
    passkey_routes(cfg);
}

/// The WebAuthn ceremonies (JSON, for `static/passkey.js`).
fn passkey_routes(cfg: &mut ServiceConfig) {
    let json = |path: &str| web::resource(path.to_owned()).app_data(passkeys::json_config());
    cfg.service(
        json("/account/passkeys/options").route(web::post().to(passkeys::register_options)),
    )
    .service(json("/account/passkeys").route(web::post().to(passkeys::register)))
    .service(json("/login/passkey/options").route(web::post().to(passkeys::login_options)))
    .service(json("/login/passkey").route(web::post().to(passkeys::login)))
    .service(
        json("/account/confirm/passkey/options").route(web::post().to(passkeys::step_up_options)),
    )
    .service(json("/account/confirm/passkey").route(web::post().to(passkeys::step_up)));
}

/// Page forms and query strings that cannot be read (too large, not form-encoded, malformed)
/// are answered like any other bad request: a page in the person's language.
pub fn extractor_errors(cfg: &mut ServiceConfig) {
    cfg.app_data(
        web::FormConfig::default()
            .limit(16 * 1024)
            .error_handler(|e, req| match e {
                actix_web::error::UrlencodedError::Payload(e) if request_span::timed_out(&e) => {
                    unreadable_as(req, crate::journeys::JourneyError::TooSlow)
                }
                e => unreadable(req, e.to_string()),
            }),
    )
    .app_data(web::QueryConfig::default().error_handler(|e, req| unreadable(req, e.to_string())));
}

fn unreadable(req: &actix_web::HttpRequest, why: String) -> actix_web::Error {
    unreadable_as(req, crate::journeys::JourneyError::BadRequest(why))
}

fn unreadable_as(
    req: &actix_web::HttpRequest,
    error: crate::journeys::JourneyError,
) -> actix_web::Error {
    let Some(state) = req.app_data::<web::Data<crate::state::IdpState>>() else {
        return actix_web::error::ErrorBadRequest(error.to_string());
    };
    page::Page::new(req, state, None).error(error).into()
}

/// The IdP has no home page of its own: people start at the portal.
async fn home(state: web::Data<crate::state::IdpState>) -> actix_web::HttpResponse {
    actix_web::HttpResponse::SeeOther()
        .insert_header(("Location", state.settings.branding.portal_url.clone()))
        .finish()
}

/// The Content-Security-Policy: no inline script or style, nothing from elsewhere, no framing.
/// `image_origin` adds one https origin for images (a third-party client's registered logo on
/// the consent page).
pub fn content_security_policy(image_origin: Option<&str>) -> String {
    let images = image_origin.map_or(String::new(), |o| format!(" {o}"));
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:{images}; \
         connect-src 'self'; base-uri 'none'; frame-ancestors 'none'"
    )
}

/// Headers on every response: a strict CSP (no inline script or style), no framing, no
/// sniffing, no referrer (links carry one-time tokens), and no caching of pages. A response
/// that set its own CSP keeps it.
pub fn security_headers(https: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add(("Content-Security-Policy", content_security_policy(None)))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
        .add((
            "Permissions-Policy",
            "camera=(), microphone=(), geolocation=()",
        ))
        .add(("Cache-Control", "no-store"));
    if https {
        headers.add((
            "Strict-Transport-Security",
            "max-age=31536000; includeSubDomains",
        ))
    } else {
        headers
    }
}
