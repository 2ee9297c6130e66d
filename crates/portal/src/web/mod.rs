//! The HTTP surface: the route table, security headers, the stylesheet and the handlers. A
//! handler reads the request, calls the IdP (through `oidc` or `admin_api`), and renders.

pub mod activity;
pub mod backchannel;
pub mod dashboard;
pub mod login;
pub mod manage;
pub mod nav;
pub mod page;
pub mod signed_in;

use actix_web::web::{self, ServiceConfig};
use actix_web::{HttpRequest, HttpResponse};

use crate::error::PortalError;
use crate::state::PortalState;

const CSS: &str = include_str!("../../static/portal.css");
/// The same HumanCapitalCare icon the IdP's pages carry (one file for both).
const FAVICON: &str = include_str!("../../../idp/static/favicon.svg");

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(web::resource("/").route(web::get().to(login::landing)))
        .service(web::resource("/login").route(web::post().to(login::start)))
        .service(web::resource("/callback").route(web::get().to(login::callback)))
        .service(web::resource("/logout").route(web::post().to(login::logout)))
        .service(web::resource("/backchannel-logout").route(web::post().to(backchannel::receive)))
        .service(web::resource("/dashboard").route(web::get().to(dashboard::show)))
        .service(
            web::resource("/beheer")
                .route(web::get().to(manage::start))
                .route(web::post().to(manage::create_organisation)),
        )
        .service(web::resource("/beheer/{org}").route(web::get().to(manage::show)))
        .service(web::resource("/beheer/{org}/uitnodigen").route(web::post().to(manage::invite)))
        .service(
            web::resource("/beheer/{org}/uitnodigingen/{id}/{action}")
                .route(web::post().to(manage::invitation_action)),
        )
        .service(
            web::resource("/beheer/{org}/gebruikers/{id}/{action}")
                .route(web::post().to(manage::person_action)),
        )
        .service(web::resource("/beheer/{org}/activiteiten").route(web::get().to(activity::show)))
        .service(web::resource("/static/portal.css").route(web::get().to(stylesheet)))
        .service(web::resource("/static/favicon.svg").route(web::get().to(favicon)))
        .service(web::resource("/favicon.ico").route(web::get().to(favicon)))
        .service(web::resource("/health/live").route(web::get().to(live)))
        .default_service(web::to(not_found));
}

/// Forms and query strings that cannot be read are answered like any bad request: a page in
/// the person's language.
pub fn extractor_errors(cfg: &mut ServiceConfig) {
    cfg.app_data(
        web::FormConfig::default()
            .limit(16 * 1024)
            .error_handler(|e, req| unreadable(req, e.to_string())),
    )
    .app_data(web::QueryConfig::default().error_handler(|e, req| unreadable(req, e.to_string())))
    .app_data(web::PathConfig::default().error_handler(|_, req| unreadable(req, String::new())));
}

fn unreadable(req: &HttpRequest, why: String) -> actix_web::Error {
    let Some(state) = req.app_data::<web::Data<PortalState>>() else {
        return actix_web::error::ErrorBadRequest(why);
    };
    page::Page::new(req, state)
        .error(PortalError::BadRequest(why))
        .into()
}

async fn not_found(
    req: HttpRequest,
    state: web::Data<PortalState>,
) -> Result<HttpResponse, page::PageError> {
    Err(page::Page::new(&req, &state).error(PortalError::NotFound))
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(CSS)
}

async fn favicon() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .body(FAVICON)
}

async fn live() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("ok")
}

/// The Content-Security-Policy: no script at all, styles and images from the portal only, forms
/// only to the portal — whose answers may redirect to the IdP (`form-action` covers redirects).
pub fn content_security_policy(idp_origin: &str) -> String {
    format!(
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self' {idp_origin}; \
         frame-ancestors 'none'; base-uri 'none'"
    )
}
