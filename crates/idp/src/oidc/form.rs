//! Form-encoded protocol requests (RFC 6749 §3.2): parameters sent more than once are refused,
//! and parameters without a value are treated as omitted. Bodies are small (RFC-sized requests
//! fit in [`PROTOCOL_BODY_LIMIT`]; `web::oidc` refuses larger ones with 413 before reading
//! them) and parsed in linear time, so no request can hold an async worker.

use std::collections::HashSet;

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
