//! Form-encoded protocol requests (RFC 6749 §3.2): parameters sent more than once are refused,
//! and parameters without a value are treated as omitted. Bodies are small (RFC-sized requests
//! fit in [`PROTOCOL_BODY_LIMIT`]; larger ones are refused with 413 before they are read) and
//! parsed in linear time, so no request can hold an async worker.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;

use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpRequest};

use super::error::OAuthError;

/// The largest body the token, revocation, introspection, userinfo and registration endpoints
/// read. Every request those RFCs define fits in it many times over.
pub const PROTOCOL_BODY_LIMIT: usize = 16 * 1024;

#[derive(Debug, Default)]
pub struct FormParams(Vec<(String, String)>);

impl FormParams {
    pub fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        let mut params: Vec<(String, String)> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        for (k, v) in url::form_urlencoded::parse(body) {
            if !seen.insert(k.to_string()) {
                return Err(OAuthError::invalid_request(format!(
                    "parameter {} is repeated",
                    crate::telemetry::Untrusted(&k)
                )));
            }
            params.push((k.into_owned(), v.into_owned()));
        }
        Ok(Self(params))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
    }
}

/// The body must be form-encoded (RFC 6749 §4.1.3).
pub fn check_form_content_type(req: &actix_web::HttpRequest) -> Result<(), OAuthError> {
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.split(';').next().is_some_and(|t| {
        t.trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    }) {
        Ok(())
    } else {
        Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ))
    }
}

/// The raw body of a protocol request, at most [`PROTOCOL_BODY_LIMIT`] bytes (the route's
/// `PayloadConfig`). A larger body is refused with 413 and the RFC's JSON error; a declared
/// `Content-Length` above the limit is refused before anything is read.
#[derive(Debug)]
pub struct ProtocolBody(pub Bytes);

impl FromRequest for ProtocolBody {
    type Error = OAuthError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, OAuthError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let read = Bytes::from_request(req, payload);
        Box::pin(async move {
            read.await.map(ProtocolBody).map_err(|e| {
                if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                    OAuthError::too_large(PROTOCOL_BODY_LIMIT)
                } else {
                    OAuthError::invalid_request("the request body could not be read")
                }
            })
        })
    }
}

impl std::ops::Deref for ProtocolBody {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeat_is_found_among_thousands_of_distinct_keys() {
        let mut body: String = (0..5000).map(|i| format!("k{i}=v&")).collect();
        body.push_str("k4999=again");
        let error = FormParams::parse(body.as_bytes()).unwrap_err();
        assert!(error.description.contains("k4999"), "{error}");
        let distinct: String = (0..5000).map(|i| format!("k{i}=v&")).collect();
        assert_eq!(
            FormParams::parse(distinct.as_bytes()).unwrap().get("k4321"),
            Some("v")
        );
    }
}
