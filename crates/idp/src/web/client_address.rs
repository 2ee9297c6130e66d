//! The client's address. Behind a reverse proxy or load balancer (production always has one:
//! the IdP speaks plain HTTP) every connection comes from the proxy, so per-address limits and
//! the audit log would see one address. `server.trusted_proxies` names the proxies whose
//! `X-Forwarded-For` is believed: the client is the right-most address not of a trusted proxy.
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

/// The client's address, believing `X-Forwarded-For` only from `trusted` proxies.
pub fn client_ip(req: &HttpRequest, trusted: &[Network]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .collect();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !is_trusted(*ip))
            .unwrap_or(peer),
    )
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
}
