//! The stylesheet and the small progressive-enhancement script, embedded in the binary.

use actix_web::{HttpResponse, web};

const CSS: &str = include_str!("../../static/idp.css");
const JS: &str = include_str!("../../static/idp.js");

pub async fn serve(file: web::Path<String>) -> HttpResponse {
    let (body, content_type) = match file.as_str() {
        "idp.css" => (CSS, "text/css; charset=utf-8"),
        "idp.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return HttpResponse::NotFound().finish(),
    };
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(body)
}
