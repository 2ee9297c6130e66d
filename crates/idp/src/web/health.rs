//! Liveness (the process answers) and readiness (the database answers) for load balancers.

use actix_web::{HttpResponse, web};

use crate::state::IdpState;

pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

pub async fn ready(state: web::Data<IdpState>) -> HttpResponse {
    match state.db.ping().await {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({ "status": "ok" })),
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
