//! Every answer of every route carries the security headers — the IdP's pages, protocol
//! endpoints, admin API, health, static files and errors (404, 405, 413, 431), and the portal's
//! pages, signed in or not, and refusals: a CSP without
//! `unsafe-inline` that forbids framing, `nosniff`, no referrer, no caching (only discovery, the
//! keys and the static files may be cached); HSTS when the issuer is https and never over plain
//! http.

use reqwest::{Method, Response};

use crate::both_backends;
use crate::driver::*;
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
const CACHEABLE: [&str; 5] = [
    "/.well-known/openid-configuration",
    "/jwks",
    "/static/idp.css",
    "/static/idp.js",
    "/static/portal.css",
];

/// The IdP sends no referrer at all (its links carry one-time tokens); the portal sends it to
/// itself only (its CSRF check reads `Origin`, which `no-referrer` would blank on form posts).
fn assert_secure(response: &Response, what: &str, https: bool) {
    assert_secure_with(response, what, https, "no-referrer");
}

fn assert_secure_with(response: &Response, what: &str, https: bool, referrer: &str) {
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
    assert_eq!(header("referrer-policy"), referrer, "{what}");
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

/// The portal's routes, signed in and not, and its refusals.
async fn every_portal_answer_carries_the_security_headers(backend: Backend) {
    let app = spawn_app(backend).await;
    let portal = app.portal().await;
    let org = app.admin().create_organisation("EK88").await;
    let superuser = seed_person(&app, &org, "hoofd@ek88.nl", idp::domain::Role::Superuser).await;
    let signed_in = app.browser();
    portal.sign_in(&signed_in, &superuser).await;
    let stranger = http();
    let pages = [
        "/".to_owned(),
        "/dashboard".to_owned(),
        "/beheer".to_owned(),
        format!("/beheer/{org}"),
        format!("/beheer/{org}/activiteiten"),
        "/static/portal.css".to_owned(),
        "/health/live".to_owned(),
        "/callback?code=x&state=y".to_owned(),
        "/no-such-page".to_owned(),
    ];
    for path in &pages {
        for (who, response) in [
            ("signed in", signed_in.get(&portal.url(path)).await),
            (
                "stranger",
                stranger.get(portal.url(path)).send().await.unwrap(),
            ),
        ] {
            let what = format!("GET {path} ({who}, {})", response.status());
            assert!(!response.status().is_server_error(), "{what}");
            assert_secure_with(&response, &what, false, "same-origin");
        }
    }
    for path in [
        "/login".to_owned(),
        "/logout".to_owned(),
        "/backchannel-logout".to_owned(),
        "/beheer".to_owned(),
        format!("/beheer/{org}/uitnodigen"),
        format!("/beheer/{org}/gebruikers/x/blokkeren"),
        format!("/beheer/{org}/uitnodigingen/x/intrekken"),
    ] {
        let response = stranger
            .post(portal.url(&path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("a=b")
            .send()
            .await
            .unwrap();
        let what = format!("POST {path} ({})", response.status());
        assert!(!response.status().is_server_error(), "{what}");
        assert_secure_with(&response, &what, false, "same-origin");
    }
}

both_backends!(every_portal_answer_carries_the_security_headers);
