//! The HTTP side of the protocol endpoints; `oidc` holds their rules. Here a request is read —
//! the body limit, the content type, client credentials and bearer tokens from the headers —
//! and an answer or an `OAuthError` written as the RFCs say (JSON, `Cache-Control: no-store`,
//! the status and `WWW-Authenticate` challenge the error names).

pub mod discovery;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap};
use actix_web::web::{Bytes, Data};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError};

use crate::oidc::client::Client;
use crate::oidc::client_auth::{self, BasicCredentials};
use crate::oidc::error::OAuthError;
use crate::oidc::form::{FormParams, PROTOCOL_BODY_LIMIT};
use crate::oidc::registration::{self, RegistrationRequest};
use crate::oidc::{introspection, revocation, token, userinfo};
use crate::sessions::ClientInfo;
use crate::state::IdpState;

/// The body limit of the protocol endpoints' routes.
pub fn body_limit() -> actix_web::web::PayloadConfig {
    actix_web::web::PayloadConfig::new(PROTOCOL_BODY_LIMIT)
}

/// The raw body of a protocol request, at most [`PROTOCOL_BODY_LIMIT`] bytes (the route's
/// `body_limit`). A larger body is refused with 413 and the RFC's JSON error; a declared
/// `Content-Length` above the limit is refused before anything is read.
#[derive(Debug)]
pub struct ProtocolBody(pub Bytes);

impl FromRequest for ProtocolBody {
    type Error = OAuthError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, OAuthError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let read = Bytes::from_request(req, payload);
        Box::pin(async move {
            read.await.map(ProtocolBody).map_err(|e| {
                if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                    OAuthError::too_large(PROTOCOL_BODY_LIMIT)
                } else if e
                    .as_error::<actix_web::error::PayloadError>()
                    .is_some_and(crate::web::request_span::timed_out)
                {
                    OAuthError::too_slow()
                } else {
                    OAuthError::invalid_request("the request body could not be read")
                }
            })
        })
    }
}

/// The one place a protocol error becomes an answer.
impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = no_store(HttpResponse::build(self.status_code()));
        if let Some(challenge) = self.challenge() {
            response.insert_header((header::WWW_AUTHENTICATE, challenge));
        }
        if self.http_status() == 503 {
            response.insert_header((header::RETRY_AFTER, crate::error::RETRY_AFTER_SECONDS));
        }
        response.json(self.body())
    }
}

fn no_store(mut builder: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    builder
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
    builder
}

fn header_value(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn authorization(req: &HttpRequest) -> Option<&str> {
    header_value(req.headers(), header::AUTHORIZATION)
}

fn content_type_is(req: &HttpRequest, mime: &str) -> bool {
    header_value(req.headers(), header::CONTENT_TYPE)
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(mime))
}

/// A form-encoded protocol request (RFC 6749 §4.1.3) and the client it authenticated as
/// (token, revocation and introspection endpoints).
async fn authenticated_form(
    req: &HttpRequest,
    state: &IdpState,
    body: &[u8],
) -> Result<(FormParams, Client), OAuthError> {
    if !content_type_is(req, "application/x-www-form-urlencoded") {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let form = FormParams::parse(body)?;
    let basic = BasicCredentials::from_authorization(authorization(req))?;
    let client = client_auth::authenticate(state, basic, &form).await?;
    Ok((form, client))
}

/// `POST /token` (RFC 6749 §3.2).
pub async fn token(
    req: HttpRequest,
    state: Data<IdpState>,
    body: ProtocolBody,
) -> Result<HttpResponse, OAuthError> {
    let (form, client) = authenticated_form(&req, &state, &body.0).await?;
    let response = token::grant(&state, &client, &form).await?;
    Ok(no_store(HttpResponse::Ok()).json(response))
}

/// `POST /revoke` (RFC 7009): 200 whether or not the token was known.
pub async fn revoke(
    req: HttpRequest,
    state: Data<IdpState>,
    body: ProtocolBody,
) -> Result<HttpResponse, OAuthError> {
    let (form, client) = authenticated_form(&req, &state, &body.0).await?;
    revocation::revoke(&state, &client, &form).await?;
    Ok(no_store(HttpResponse::Ok()).finish())
}

/// `POST /introspect` (RFC 7662).
pub async fn introspect(
    req: HttpRequest,
    state: Data<IdpState>,
    body: ProtocolBody,
) -> Result<HttpResponse, OAuthError> {
    let (form, client) = authenticated_form(&req, &state, &body.0).await?;
    let answer = introspection::introspect(&state, &client, &form).await?;
    Ok(no_store(HttpResponse::Ok()).json(answer))
}

/// `GET /userinfo` (OIDC Core §5.3).
pub async fn userinfo_get(
    req: HttpRequest,
    state: Data<IdpState>,
) -> Result<HttpResponse, OAuthError> {
    let token = userinfo::presented_token(authorization(&req), None)?;
    Ok(no_store(HttpResponse::Ok()).json(userinfo::claims(&state, token).await?))
}

/// `POST /userinfo`: the token in the header or the form body (RFC 6750 §2.2).
pub async fn userinfo_post(
    req: HttpRequest,
    state: Data<IdpState>,
    body: ProtocolBody,
) -> Result<HttpResponse, OAuthError> {
    let form = FormParams::parse(&body.0).unwrap_or_default();
    let token = userinfo::presented_token(authorization(&req), Some(&form))?;
    Ok(no_store(HttpResponse::Ok()).json(userinfo::claims(&state, token).await?))
}

/// `POST /register` (RFC 7591 §3).
pub async fn register(
    req: HttpRequest,
    state: Data<IdpState>,
    body: ProtocolBody,
    client: ClientInfo,
) -> Result<HttpResponse, OAuthError> {
    let bearer = crate::oidc::bearer::from_authorization(authorization(&req));
    let response = registration::register(
        &state,
        RegistrationRequest {
            initial_access_token: bearer.as_deref(),
            json: content_type_is(&req, "application/json"),
            body: &body.0,
            ip_address: client.ip_address,
        },
    )
    .await?;
    Ok(no_store(HttpResponse::Created()).json(response))
}
