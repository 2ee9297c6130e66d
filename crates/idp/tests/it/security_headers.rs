//! Every answer of every route carries the security headers — pages, protocol endpoints, the
//! admin API, health, static files, and the errors (404, 405, 413, 431) alike: a CSP without
//! `unsafe-inline` that forbids framing, `nosniff`, no referrer, no caching (only discovery, the
//! keys and the static files may be cached); HSTS when the issuer is https and never over plain
//! http.

use reqwest::{Method, Response};

use crate::both_backends;
use crate::helpers::*;

/// Each route the IdP serves with the methods it answers, and requests it must refuse.
fn requests() -> Vec<(Method, String)> {
    let get = [
        "/",
        "/login",
        "/login/otp",
        "/otp/setup",
        "/welcome",
        "/consent",
        "/logout",
        "/password/forgot",
        "/password/reset/unknown-token",
        "/invitation/unknown-token",
        "/authorize?client_id=unknown",
        "/.well-known/openid-configuration",
        "/jwks",
        "/userinfo",
        "/health/live",
        "/health/ready",
        "/static/idp.css",
        "/static/idp.js",
        "/static/missing.css",
        "/admin/api/v1/organisations",
        "/no-such-page",
    ];
    let post = [
        "/login",
        "/login/otp",
        "/otp/setup",
        "/consent",
        "/logout",
        "/password/forgot",
        "/password/reset/unknown-token",
        "/invitation/unknown-token",
        "/authorize",
        "/token",
        "/userinfo",
        "/revoke",
        "/introspect",
        "/register",
    ];
    let mut all: Vec<(Method, String)> = get
        .iter()
        .map(|p| (Method::GET, p.to_string()))
        .chain(post.iter().map(|p| (Method::POST, p.to_string())))
        .collect();
    all.push((Method::PUT, "/token".into()));
    all.push((Method::DELETE, "/login".into()));
    all
}

/// Public documents a cache may keep: discovery, the keys and the static files.
const CACHEABLE: [&str; 4] = [
    "/.well-known/openid-configuration",
    "/jwks",
    "/static/idp.css",
    "/static/idp.js",
];

fn assert_secure(response: &Response, what: &str, https: bool) {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{what}: no {name} header"))
            .to_owned()
    };
    let csp = header("content-security-policy");
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert!(!csp.contains("unsafe-eval"), "{what}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(csp.contains("default-src 'none'"), "{what}: {csp}");
    assert_eq!(header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header("x-frame-options"), "DENY", "{what}");
    assert_eq!(header("referrer-policy"), "no-referrer", "{what}");
    let hsts = response.headers().get("strict-transport-security");
    if https {
        let hsts = hsts.unwrap_or_else(|| panic!("{what}: no HSTS"));
        assert!(
            hsts.to_str().unwrap().contains("max-age=31536000"),
            "{what}"
        );
    } else {
        assert!(hsts.is_none(), "{what}: HSTS over http");
    }
    let path = what.split(' ').nth(1).unwrap_or_default();
    let cache = header("cache-control");
    if CACHEABLE.contains(&path) && response.status().is_success() {
        assert!(cache.starts_with("public, max-age="), "{what}: {cache}");
    } else {
        assert_eq!(cache, "no-store", "{what}");
    }
}

async fn sweep(app: &TestApp, https: bool) {
    let client = http();
    for (method, path) in requests() {
        let what = format!("{method} {path}");
        let mut request = client.request(method.clone(), format!("{}{path}", app.address));
        if method == Method::POST {
            request = request
                .header("content-type", "application/x-www-form-urlencoded")
                .body("a=b");
        }
        let response = request.send().await.unwrap();
        assert!(
            !response.status().is_server_error(),
            "{what}: {}",
            response.status()
        );
        assert_secure(&response, &format!("{what} ({})", response.status()), https);
    }
    // Bodies and heads over the limits.
    let response = client
        .post(format!("{}/token", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("a".repeat(64 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
    assert_secure(&response, "POST /token (413)", https);
    let response = client
        .get(format!("{}/login", app.address))
        .header("x-padding", "a".repeat(20 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 431);
    assert_secure(&response, "GET /login (431)", https);
}

async fn every_answer_over_http_carries_the_security_headers_without_hsts(backend: Backend) {
    let app = spawn_app(backend).await;
    sweep(&app, false).await;
}

both_backends!(every_answer_over_http_carries_the_security_headers_without_hsts);

async fn every_answer_with_an_https_issuer_carries_hsts(backend: Backend) {
    let app = spawn_app_with(
        backend,
        Options::settings(|s| s.issuer = "https://login.portaalwerkgever.example".into()),
    )
    .await;
    sweep(&app, true).await;
}

both_backends!(every_answer_with_an_https_issuer_carries_hsts);
