//! Requests the server itself makes to addresses a client chose (back-channel logout today;
//! jwks_uri, request_uri or sector_identifier_uri if they ever come). Redirect URIs are followed
//! by browsers, but these are sent from inside the network, so they get their own rule: the host
//! is resolved when the request is made and every loopback, private (RFC 1918, RFC 4193),
//! shared (RFC 6598), link-local, unspecified, multicast or otherwise special address is refused,
//! unless `oidc.backchannel_allow_private_networks` says otherwise. No redirects are followed, no
//! proxy is used, every request has a deadline, and at most [`MAX_RESPONSE_BYTES`] of an answer
//! are read.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// The most of a response body the server reads (kept for the log of a failed delivery).
pub const MAX_RESPONSE_BYTES: usize = 1024;

/// Whether `ip` is an address the server may call when private networks are not allowed:
/// only globally routable unicast addresses are.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            // IPv4 inside IPv6 (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96) is judged as IPv4.
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                return is_public_v4(Ipv4Addr::new(
                    (s[6] >> 8) as u8,
                    s[6] as u8,
                    (s[7] >> 8) as u8,
                    s[7] as u8,
                ));
            }
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local, RFC 4193
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || s[0] == 0x2001 && s[1] == 0x0db8 // documentation
                || s[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible and the rest of ::/96
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || a == 0 // "this network"
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || (a == 100 && (64..128).contains(&b)) // shared address space, RFC 6598
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240) // reserved
}

/// Why a request was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("only http and https URLs are called")]
    Scheme,
    #[error("the URL has no host")]
    NoHost,
    #[error("{0} is not a public address")]
    PrivateAddress(IpAddr),
    #[error("{0} resolves to no public address")]
    PrivateName(String),
}

/// The checks that need no DNS: the scheme, and a host given as an address or as `localhost`.
/// Used at registration (a clear error early) and before every request (an address literal
/// never reaches the resolver).
pub fn check_url(url: &url::Url, allow_private: bool) -> Result<(), Refused> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Refused::Scheme);
    }
    if allow_private {
        return Ok(());
    }
    match url.host() {
        None => Err(Refused::NoHost),
        Some(url::Host::Ipv4(ip)) if !is_public_v4(ip) => {
            Err(Refused::PrivateAddress(IpAddr::V4(ip)))
        }
        Some(url::Host::Ipv6(ip)) if !is_public(IpAddr::V6(ip)) => {
            Err(Refused::PrivateAddress(IpAddr::V6(ip)))
        }
        Some(url::Host::Domain(name))
            if name.eq_ignore_ascii_case("localhost")
                || name.to_ascii_lowercase().ends_with(".localhost") =>
        {
            Err(Refused::PrivateName(name.to_owned()))
        }
        Some(_) => Ok(()),
    }
}

/// Resolves names and keeps only the addresses the server may call, so the address checked is
/// the address connected to (no window for DNS rebinding between a check and the request).
#[derive(Debug)]
struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|addr| is_public(addr.ip()))
                .collect();
            if found.is_empty() {
                return Err(Box::new(Refused::PrivateName(host)) as Box<_>);
            }
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

/// The HTTP client for server-side requests to client-chosen URLs.
#[derive(Debug, Clone)]
pub struct OutboundClient {
    http: reqwest::Client,
    allow_private: bool,
}

/// How a request ended.
#[derive(Debug)]
pub enum Outcome {
    /// The peer answered with this status and (the start of) this body.
    Answered(reqwest::StatusCode, String),
    Refused(Refused),
    Failed(String),
}

impl OutboundClient {
    pub fn new(timeout: Duration, allow_private: bool) -> anyhow::Result<Self> {
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy();
        if !allow_private {
            builder = builder.dns_resolver(Arc::new(GuardedResolver));
        }
        Ok(Self {
            http: builder.build()?,
            allow_private,
        })
    }

    /// POSTs a form to `url` under the rules above.
    pub async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Outcome {
        let parsed = match url::Url::parse(url) {
            Ok(u) => u,
            Err(e) => return Outcome::Failed(format!("not a URL: {e}")),
        };
        if let Err(refused) = check_url(&parsed, self.allow_private) {
            return Outcome::Refused(refused);
        }
        let mut response = match self.http.post(parsed).form(form).send().await {
            Ok(r) => r,
            Err(e) => return failure(e),
        };
        let status = response.status();
        let mut body = Vec::new();
        while body.len() < MAX_RESPONSE_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) | Err(_) => break,
            }
        }
        body.truncate(MAX_RESPONSE_BYTES);
        Outcome::Answered(status, String::from_utf8_lossy(&body).into_owned())
    }
}

fn failure(error: reqwest::Error) -> Outcome {
    // The resolver's refusal comes back wrapped in the connect error.
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(e) = source {
        if let Some(refused) = e.downcast_ref::<Refused>() {
            return Outcome::Refused(refused.clone());
        }
        source = e.source();
    }
    Outcome::Failed(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(s: &str) -> bool {
        is_public(s.parse().unwrap())
    }

    #[test]
    fn only_global_unicast_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "ff02::1",
        ] {
            assert!(!public(private), "{private}");
        }
        for ok in [
            "93.184.215.14",
            "8.8.8.8",
            "2a00:1450:4001:80b::200e",
            "::ffff:8.8.8.8",
        ] {
            assert!(public(ok), "{ok}");
        }
    }

    #[tokio::test]
    async fn names_that_resolve_to_loopback_are_refused_after_dns() {
        use std::str::FromStr;
        let resolved = GuardedResolver
            .resolve(Name::from_str("localhost").unwrap())
            .await;
        let error = resolved.err().expect("no address left");
        assert!(error.to_string().contains("no public address"), "{error}");
    }

    #[test]
    fn literal_hosts_and_localhost_are_checked_without_dns() {
        let check = |u: &str| check_url(&url::Url::parse(u).unwrap(), false);
        assert!(matches!(
            check("http://127.0.0.1:18999/internal/admin/delete?all=1"),
            Err(Refused::PrivateAddress(_))
        ));
        assert!(matches!(
            check("http://[::1]/bc"),
            Err(Refused::PrivateAddress(_))
        ));
        assert!(matches!(
            check("https://localhost/bc"),
            Err(Refused::PrivateName(_))
        ));
        assert!(matches!(
            check("https://a.localhost/bc"),
            Err(Refused::PrivateName(_))
        ));
        assert_eq!(check("ftp://rp.example/bc"), Err(Refused::Scheme));
        assert_eq!(check("https://rp.example/bc"), Ok(()));
        assert_eq!(
            check_url(&url::Url::parse("http://127.0.0.1/bc").unwrap(), true),
            Ok(())
        );
    }
}
