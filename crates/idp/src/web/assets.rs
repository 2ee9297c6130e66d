//! The stylesheet, the small progressive-enhancement script and the icon, embedded in the
//! binary. The portal serves the same icon (`FAVICON`).

use actix_web::{HttpResponse, web};

const CSS: &str = include_str!("../../static/idp.css");
const JS: &str = include_str!("../../static/idp.js");
/// HumanCapitalCare's icon for the browser's tab: an SVG, also at `/favicon.ico`, where
/// browsers look for it by themselves.
pub const FAVICON: &str = include_str!("../../static/favicon.svg");

pub async fn serve(file: web::Path<String>) -> HttpResponse {
    let (body, content_type) = match file.as_str() {
        "idp.css" => (CSS, "text/css; charset=utf-8"),
        "idp.js" => (JS, "text/javascript; charset=utf-8"),
        "favicon.svg" => (FAVICON, "image/svg+xml"),
        _ => return HttpResponse::NotFound().finish(),
    };
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(body)
}

/// GET /favicon.ico: the icon, for browsers that ask for it without reading the page.
pub async fn favicon() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .body(FAVICON)
}
