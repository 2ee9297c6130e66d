//! The client's address. Behind a reverse proxy or load balancer (production always has one:
//! the IdP speaks plain HTTP) every connection comes from the proxy, so per-address limits and
//! the audit log would see one address. `server.trusted_proxies` names the proxies whose
//! `Forwarded` (RFC 7239) or `X-Forwarded-For` is believed: the client is the right-most address
//! not of a trusted proxy.
//! From anyone else the header is ignored (it is trivially forged).

use std::net::IpAddr;

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest};

use crate::config::Network;
use crate::sessions::ClientInfo;
use crate::state::IdpState;

/// A handler's `client: ClientInfo`: the client's address (a forwarded header only from trusted
/// proxies) and the user agent.
impl FromRequest for ClientInfo {
    type Error = std::convert::Infallible;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let trusted = req
            .app_data::<actix_web::web::Data<IdpState>>()
            .map_or(&[][..], |state| {
                state.settings.server.trusted_proxies.as_slice()
            });
        ready(Ok(ClientInfo {
            ip_address: client_ip(req, trusted).map(|ip| ip.to_string()),
            user_agent: req
                .headers()
                .get(actix_web::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        }))
    }
}

/// The client's address, believing `Forwarded` (RFC 7239) or else `X-Forwarded-For` only from
/// `trusted` proxies. From the right: each hop was added by the proxy to its right, so the
/// client is the first address that is not a trusted proxy. A hop that cannot be read (`unknown`,
/// an obfuscated name) stops the walk at the proxy that added it: skipping it would hand the
/// choice to whatever the client wrote further left.
pub fn client_ip(req: &HttpRequest, trusted: &[Network]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let values = |name: &str| -> Vec<String> {
        req.headers()
            .get_all(name)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::to_owned)
            .collect()
    };
    let forwarded = values("forwarded");
    let hops: Vec<Option<IpAddr>> = if forwarded.is_empty() {
        values("x-forwarded-for").iter().map(|h| node(h)).collect()
    } else {
        forwarded
            .iter()
            .map(|element| forwarded_for(element))
            .collect()
    };
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        match hop {
            Some(ip) => {
                client = ip;
                if !is_trusted(ip) {
                    break;
                }
            }
            None => break,
        }
    }
    Some(client)
}

/// The `for=` node of one `Forwarded` element (`for=192.0.2.60;proto=https`).
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("for")
            .then(|| node(value))?
    })
}

/// One hop's address: `192.0.2.60`, `192.0.2.60:4711`, `2001:db8::17`, `[2001:db8::17]`,
/// `[2001:db8::17]:4711`, quoted or not.
fn node(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim().trim_matches('"');
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| hop.strip_prefix('[')?.strip_suffix(']')?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks() {
        let n = Network::parse("10.0.0.0/8").unwrap();
        assert!(n.contains("10.1.2.3".parse().unwrap()));
        assert!(!n.contains("11.0.0.1".parse().unwrap()));
        assert!(
            Network::parse("192.168.1.10")
                .unwrap()
                .contains("192.168.1.10".parse().unwrap())
        );
        assert!(
            Network::parse("fd00::/8")
                .unwrap()
                .contains("fd12::1".parse().unwrap())
        );
        assert!(Network::parse("10.0.0.0/33").is_none());
        assert!(Network::parse("nonsense").is_none());
    }

    #[test]
    fn forwarded_only_from_trusted_proxies() {
        let trusted = vec![Network::parse("127.0.0.1").unwrap()];
        let req = actix_web::test::TestRequest::default()
            .peer_addr("127.0.0.1:4000".parse().unwrap())
            .insert_header(("X-Forwarded-For", "203.0.113.9, 127.0.0.1"))
            .to_http_request();
        assert_eq!(
            client_ip(&req, &trusted),
            Some("203.0.113.9".parse().unwrap())
        );
        let direct = actix_web::test::TestRequest::default()
            .peer_addr("198.51.100.7:4000".parse().unwrap())
            .insert_header(("X-Forwarded-For", "203.0.113.9"))
            .to_http_request();
        assert_eq!(
            client_ip(&direct, &trusted),
            Some("198.51.100.7".parse().unwrap()),
            "forged header ignored"
        );
    }

    fn from_proxy(name: &str, value: &str) -> HttpRequest {
        actix_web::test::TestRequest::default()
            .peer_addr("10.0.0.5:4000".parse().unwrap())
            .insert_header((name, value))
            .to_http_request()
    }

    #[test]
    fn hops_with_ports_brackets_and_quotes_are_read() {
        let trusted = vec![Network::parse("10.0.0.0/8").unwrap()];
        for (header, value, client) in [
            ("X-Forwarded-For", "203.0.113.9:5123", "203.0.113.9"),
            (
                "X-Forwarded-For",
                "[2001:db8::17]:443, 10.0.0.7",
                "2001:db8::17",
            ),
            ("X-Forwarded-For", "2001:db8::17", "2001:db8::17"),
            (
                "Forwarded",
                "for=192.0.2.60;proto=https;by=10.0.0.5",
                "192.0.2.60",
            ),
            (
                "Forwarded",
                "for=198.51.100.1, for=\"[2001:db8:cafe::17]:4711\"",
                "2001:db8:cafe::17",
            ),
            ("Forwarded", "for=203.0.113.9, for=10.0.0.7", "203.0.113.9"),
        ] {
            assert_eq!(
                client_ip(&from_proxy(header, value), &trusted),
                Some(client.parse().unwrap()),
                "{header}: {value}"
            );
        }
    }

    #[test]
    fn an_unreadable_hop_stops_the_walk_at_the_proxy_that_added_it() {
        let trusted = vec![Network::parse("10.0.0.0/8").unwrap()];
        // The client wrote 198.51.100.66 itself; the proxy added a hop it could not name.
        for (header, value) in [
            ("X-Forwarded-For", "198.51.100.66, unknown"),
            ("Forwarded", "for=198.51.100.66, for=unknown"),
            ("Forwarded", "for=198.51.100.66, for=_hidden"),
        ] {
            assert_eq!(
                client_ip(&from_proxy(header, value), &trusted),
                Some("10.0.0.5".parse().unwrap()),
                "{header}: {value}"
            );
        }
    }
}
