//! `POST /backchannel-logout` (OIDC Back-Channel Logout 1.0 §2.5, §2.8): the IdP says a
//! session ended; after the logout token's checks the portal ends its sessions of that `sid`
//! (or that `sub`). Answers 200, or 400 with an OAuth error body; never cached.

use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::{Bytes, Data};

use crate::oidc::logout_token::{self, LogoutTokenError};
use crate::state::PortalState;

pub async fn receive(state: Data<PortalState>, body: Bytes) -> HttpResponse {
    let token = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "logout_token")
        .map(|(_, v)| v.into_owned());
    let Some(token) = token else {
        return refuse("invalid_request", "logout_token is missing");
    };
    let now = state.now();
    let order = match logout_token::verify(
        &state.provider,
        &token,
        &state.settings.idp.client_id,
        now,
    )
    .await
    {
        Ok(order) => order,
        Err(LogoutTokenError::Unavailable(why)) => {
            tracing::error!(error = %why, "back-channel logout: the IdP's keys are not available");
            return HttpResponse::ServiceUnavailable()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish();
        }
        Err(e) => {
            tracing::warn!(error = %e, "back-channel logout refused");
            return refuse("invalid_request", "the logout token is not acceptable");
        }
    };
    if !state
        .sessions
        .first_use_of_logout_token(&order.jti, order.exp, now)
    {
        tracing::warn!(jti = %order.jti, "back-channel logout token replayed");
        return refuse("invalid_request", "the logout token was used before");
    }
    let ended = state
        .sessions
        .end_for(order.sid.as_deref(), order.sub.as_deref());
    tracing::info!(ended, sid = ?order.sid, "back-channel logout");
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

fn refuse(error: &str, description: &str) -> HttpResponse {
    HttpResponse::BadRequest()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "error": error, "error_description": description }))
}
