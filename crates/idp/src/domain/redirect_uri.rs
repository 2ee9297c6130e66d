//! Redirect URIs (RFC 6749 §3.1.2, RFC 9700 §2.1): absolute, no fragment, compared exactly.
//! Web applications: `https` always; `http` only on a loopback host (RFC 8252 §7.3) when the
//! configuration allows. Native applications (RFC 8252): a loopback `http` URI (any port at
//! login time), a private-use scheme named after a domain (`com.example.app:/cb`, §7.1), or
//! `https` (§7.2).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct RedirectUri(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRedirectUri {
    #[error("not an absolute URI")]
    NotAbsolute,
    #[error("a redirect URI must not have a fragment")]
    Fragment,
    #[error("only https, or http on a loopback address, is allowed")]
    Scheme,
    #[error("a redirect URI must not carry user credentials")]
    Credentials,
    #[error(
        "a native application uses http on 127.0.0.1 or [::1], https, or a private-use scheme \
         named after a domain it owns (RFC 8252 §7)"
    )]
    NativeScheme,
}

pub fn is_loopback_host(host: &str) -> bool {
    matches!(host, "127.0.0.1" | "[::1]" | "localhost")
}

impl RedirectUri {
    pub fn parse(input: &str, allow_http_loopback: bool) -> Result<Self, InvalidRedirectUri> {
        let url = url::Url::parse(input).map_err(|_| InvalidRedirectUri::NotAbsolute)?;
        if url.fragment().is_some() || input.contains('#') {
            return Err(InvalidRedirectUri::Fragment);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(InvalidRedirectUri::Credentials);
        }
        let host = url.host_str().unwrap_or_default();
        match url.scheme() {
            "https" if !host.is_empty() => {}
            "http" if allow_http_loopback && is_loopback_host(host) => {}
            _ => return Err(InvalidRedirectUri::Scheme),
        }
        // Keep the string as registered: matching is by exact string comparison.
        Ok(Self(input.to_owned()))
    }

    /// The rules for a native application (RFC 8252 §7).
    pub fn parse_native(input: &str) -> Result<Self, InvalidRedirectUri> {
        let url = url::Url::parse(input).map_err(|_| InvalidRedirectUri::NotAbsolute)?;
        if url.fragment().is_some() || input.contains('#') {
            return Err(InvalidRedirectUri::Fragment);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(InvalidRedirectUri::Credentials);
        }
        let host = url.host_str().unwrap_or_default();
        match url.scheme() {
            "https" if !host.is_empty() => {}
            "http" if is_loopback_host(host) => {}
            // §7.1: a reverse domain name, so it is the app's own (and never javascript:,
            // data: or file:).
            scheme
                if scheme.contains('.')
                    && scheme
                        .split('.')
                        .all(|label| !label.is_empty() && label.len() <= 63) => {}
            _ => return Err(InvalidRedirectUri::NativeScheme),
        }
        Ok(Self(input.to_owned()))
    }

    /// A URI already checked at registration, under either set of rules.
    pub fn parse_registered(input: &str) -> Result<Self, InvalidRedirectUri> {
        Self::parse(input, true).or_else(|_| Self::parse_native(input))
    }

    /// RFC 8252 §7.3: two loopback `http` URIs that differ at most in their port.
    pub fn same_loopback_target(&self, other: &RedirectUri) -> bool {
        let (Ok(a), Ok(b)) = (url::Url::parse(&self.0), url::Url::parse(&other.0)) else {
            return false;
        };
        a.scheme() == "http"
            && b.scheme() == "http"
            && is_loopback_host(a.host_str().unwrap_or_default())
            && a.host_str() == b.host_str()
            && a.path() == b.path()
            && a.query() == b.query()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// This URI with query parameters appended (the authorization response).
    pub fn with_params(&self, params: &[(&str, &str)]) -> String {
        let mut url = match url::Url::parse(&self.0) {
            Ok(url) => url,
            Err(_) => return self.0.clone(),
        };
        {
            let mut query = url.query_pairs_mut();
            for (k, v) in params {
                query.append_pair(k, v);
            }
        }
        url.to_string()
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert!(RedirectUri::parse("https://portal.example/cb", false).is_ok());
        assert!(RedirectUri::parse("https://portal.example/cb?x=1", false).is_ok());
        assert_eq!(
            RedirectUri::parse("https://portal.example/cb#f", false),
            Err(InvalidRedirectUri::Fragment)
        );
        assert_eq!(
            RedirectUri::parse("http://portal.example/cb", true),
            Err(InvalidRedirectUri::Scheme)
        );
        assert_eq!(
            RedirectUri::parse("http://127.0.0.1:5173/cb", false),
            Err(InvalidRedirectUri::Scheme)
        );
        assert!(RedirectUri::parse("http://127.0.0.1:5173/cb", true).is_ok());
        assert!(RedirectUri::parse("http://[::1]:80/cb", true).is_ok());
        assert!(RedirectUri::parse("http://localhost/cb", true).is_ok());
        assert_eq!(
            RedirectUri::parse("/cb", true),
            Err(InvalidRedirectUri::NotAbsolute)
        );
        assert_eq!(
            RedirectUri::parse("javascript:alert(1)", true),
            Err(InvalidRedirectUri::Scheme)
        );
        assert_eq!(
            RedirectUri::parse("https://u:p@portal.example/cb", true),
            Err(InvalidRedirectUri::Credentials)
        );
        let native = |u: &str| RedirectUri::parse_native(u);
        assert!(native("com.example.app:/oauth2redirect").is_ok());
        assert!(native("http://127.0.0.1/cb").is_ok());
        assert!(native("https://app.example/cb").is_ok());
        assert_eq!(native("myapp:/cb"), Err(InvalidRedirectUri::NativeScheme));
        assert_eq!(
            native("http://app.example/cb"),
            Err(InvalidRedirectUri::NativeScheme)
        );
        assert_eq!(
            native("javascript:alert(1)"),
            Err(InvalidRedirectUri::NativeScheme)
        );
        assert_eq!(
            native("com.example.app:/cb#x"),
            Err(InvalidRedirectUri::Fragment)
        );
        let registered = native("http://127.0.0.1/cb").unwrap();
        assert!(registered.same_loopback_target(&native("http://127.0.0.1:51004/cb").unwrap()));
        assert!(!registered.same_loopback_target(&native("http://127.0.0.1:51004/other").unwrap()));
        assert!(!registered.same_loopback_target(&native("http://[::1]:51004/cb").unwrap()));
        let uri = RedirectUri::parse("https://portal.example/cb?x=1", false).unwrap();
        assert_eq!(
            uri.with_params(&[("code", "a b"), ("state", "s")]),
            "https://portal.example/cb?x=1&code=a+b&state=s"
        );
    }
}
