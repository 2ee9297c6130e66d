//! `GET /.well-known/openid-configuration` and `GET /jwks`: bytes prepared once (the discovery
//! document at start-up, the JWKS by the key manager when the key set changes), sent as they
//! are, cacheable and readable from any origin.

use actix_web::web::{Bytes, Data};
use actix_web::{HttpResponse, http::header};

use crate::state::IdpState;

/// The discovery document, ready to send.
#[derive(Debug, Clone)]
pub struct DiscoveryDocument(pub Bytes);

pub async fn openid_configuration(document: Data<DiscoveryDocument>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .body(document.0.clone())
}

pub async fn jwks(state: Data<IdpState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/jwk-set+json")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .body(Bytes::copy_from_slice(&state.keys.jwks()))
}
