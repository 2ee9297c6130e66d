//! The tracing span of each request. It names the route pattern (`/invitation/{token}`), never
//! the path or query: those carry one-time tokens, codes and e-mail addresses. A request that
//! failed on a fault (status 500 and up) is logged here, once, with its request id and the
//! fault; pages and protocol errors only describe it. A 503 (the database unreachable) is not:
//! the outage is logged once, where it is noticed.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::web::Bytes;
use futures_core::Stream;
use tracing::Span;
use tracing_actix_web::RootSpanBuilder;

pub struct RedactedRootSpan;

/// The id of one request: in its log lines and in the `X-Request-Id` header of its answer, so a
/// person's report ("the page said …") can be found in the log. Made here, never taken from the
/// client.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The largest request head (target and header fields) a request may have: far above what a
/// browser or a relying party sends, far below what would let a client make the server hold
/// much per connection.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// Gives every request its id (before the span opens) and every answer the header, and counts
/// the request with its latency by route pattern (`crate::metrics`). A request head over
/// [`MAX_HEAD_BYTES`] is answered 431 (RFC 6585 §5) before anything else looks at it. A body
/// must arrive within `server.request_body_timeout_seconds` ([`BodyDeadline`]).
pub async fn with_request_id(
    request: ServiceRequest,
    next: actix_web::middleware::Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<impl MessageBody>>, actix_web::Error> {
    use actix_web::HttpMessage;
    let head: usize = request
        .uri()
        .path_and_query()
        .map_or(0, |target| target.as_str().len())
        + request
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum::<usize>();
    if head > MAX_HEAD_BYTES {
        let response = actix_web::HttpResponse::build(
            actix_web::http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        )
        .content_type("text/plain; charset=utf-8")
        .body("Request header fields too large / Verzoekkop te groot");
        return Ok(request.into_response(response).map_into_right_body());
    }
    let mut request = request;
    if has_body(&request)
        && let Some(state) = request.app_data::<actix_web::web::Data<crate::state::IdpState>>()
    {
        let limit = Duration::from_secs(state.settings.server.request_body_timeout_seconds);
        let body = request.take_payload();
        let body: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
            Box::pin(BodyDeadline::new(body, limit));
        request.set_payload(actix_web::dev::Payload::from(body));
    }
    let id = uuid::Uuid::new_v4().to_string();
    request.extensions_mut().insert(RequestId(id.clone()));
    let route = request
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let started = std::time::Instant::now();
    let mut response = next.call(request).await?;
    crate::metrics::request(
        route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&id) {
        response.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static(REQUEST_ID_HEADER),
            value,
        );
    }
    Ok(response.map_into_left_body())
}

fn has_body(request: &ServiceRequest) -> bool {
    use actix_web::http::header;
    let headers = request.headers();
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|length| length.as_bytes() != b"0")
}

/// A request body that must arrive within its deadline: a client that stops sending halfway
/// (a slow-body attack, or a broken network) is cut off with a timed-out read error, which the
/// body extractors answer 408 ([`timed_out`]); the connection is then closed.
pub struct BodyDeadline {
    body: actix_web::dev::Payload,
    deadline: Pin<Box<tokio::time::Sleep>>,
    expired: bool,
}

impl BodyDeadline {
    fn new(body: actix_web::dev::Payload, limit: Duration) -> Self {
        Self {
            body,
            deadline: Box::pin(tokio::time::sleep(limit)),
            expired: false,
        }
    }
}

impl futures_core::Stream for BodyDeadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.expired {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = Pin::new(&mut self.body).poll_next(cx) {
            return Poll::Ready(item);
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.expired = true;
            return Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the request body was not sent in time",
            )))));
        }
        Poll::Pending
    }
}

/// Whether reading a body failed because it did not arrive in time ([`BodyDeadline`]).
pub fn timed_out(error: &PayloadError) -> bool {
    matches!(error, PayloadError::Io(e) if e.kind() == std::io::ErrorKind::TimedOut)
}

impl RootSpanBuilder for RedactedRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        use actix_web::HttpMessage;
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        let id = request
            .extensions()
            .get::<RequestId>()
            .map(|id| id.0.clone())
            .unwrap_or_default();
        tracing::info_span!(
            "http_request",
            method = %request.method(),
            route = %route,
            request_id = %id,
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
        if status == 503 {
            // The database is unreachable: `storage::Db` logs the cause once per outage.
            let error = error.unwrap_or_default();
            span.in_scope(
                || tracing::debug!(status, error = %error, "request refused: unavailable"),
            );
        } else if status >= 500 {
            let error = error.unwrap_or_default();
            span.in_scope(|| tracing::error!(status, error = %error, "request failed"));
        }
    }
}
