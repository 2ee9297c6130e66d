//! Liveness (the process answers) and readiness for load balancers: the database answers; the
//! migrations (applied before the node listens) and the signing key (loaded before it listens,
//! kept current by the refresher) are named in the answer.

use actix_web::{HttpResponse, web};

use crate::state::IdpState;

pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

pub async fn ready(state: web::Data<IdpState>) -> HttpResponse {
    match state.db.ping().await {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({
            "status": "ok",
            "database": "reachable",
            "migrations": "current",
            "signing_key": state.keys.active_kid(),
        })),
        Err(e) => {
            tracing::debug!(error = %e, "readiness: database unavailable");
            HttpResponse::ServiceUnavailable()
                .insert_header((
                    actix_web::http::header::RETRY_AFTER,
                    crate::error::RETRY_AFTER_SECONDS,
                ))
                .json(serde_json::json!({ "status": "database unavailable" }))
        }
    }
}
