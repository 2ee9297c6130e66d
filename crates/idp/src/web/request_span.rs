//! The tracing span of each request. It names the route pattern (`/invitation/{token}`), never
//! the path or query: those carry one-time tokens, codes and e-mail addresses. A request that
//! failed on a fault (status 500 and up) is logged here, once, with its request id and the
//! fault; pages and protocol errors only describe it.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use tracing::Span;
use tracing_actix_web::RootSpanBuilder;

pub struct RedactedRootSpan;

impl RootSpanBuilder for RedactedRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        tracing::info_span!(
            "http_request",
            method = %request.method(),
            route = %route,
            request_id = %uuid::Uuid::new_v4(),
            status = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        let (status, error) = match outcome {
            Ok(response) => (
                response.status().as_u16(),
                response.response().error().map(ToString::to_string),
            ),
            Err(error) => (
                error.as_response_error().status_code().as_u16(),
                Some(error.to_string()),
            ),
        };
        span.record("status", status);
        if status >= 500 {
            let error = error.unwrap_or_default();
            span.in_scope(|| tracing::error!(status, error = %error, "request failed"));
        }
    }
}
