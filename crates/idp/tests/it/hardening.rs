//! Regression tests for the findings of the outside security review and the independent OIDC
//! test run (docs/security.md lists each rule with its test). Each test is named after the rule
//! it proves and asserts what a client or a person sees.

use idp::oidc::client::AuthMethod;
use reqwest::StatusCode;
use serde_json::Value;

use crate::both_backends;
use crate::helpers::*;
use crate::oidc::{
    REDIRECT, TestClient, authorize_url, create_client, location, log_in, onboarded_person,
    query_param,
};

/// /authorize for `rp` with exactly these extra parameters (and no `state` unless given).
fn authorize_with(app: &TestApp, rp: &TestClient, params: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&format!("{}/authorize", app.address)).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &rp.id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "openid");
    for (k, v) in params {
        url.query_pairs_mut().append_pair(k, v);
    }
    url.to_string()
}

async fn parked_requests(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    app.state
        .db
        .run(|conn| {
            idp::storage::schema::authorization_requests::table
                .count()
                .get_result::<i64>(conn)
                .map_err(idp::storage::DbError::from)
        })
        .await
        .unwrap()
}

/// The error a redirect back to the client carries.
fn redirected_error(response: &reqwest::Response) -> (String, Option<String>) {
    assert_eq!(response.status(), StatusCode::FOUND);
    let back = location(response);
    assert!(back.starts_with(REDIRECT), "{back}");
    (
        query_param(&back, "error").unwrap_or_default(),
        query_param(&back, "state"),
    )
}

/// A urlencoded body of `keys` distinct parameters (about 5 bytes each).
fn many_keys(keys: usize) -> String {
    (0..keys)
        .map(|i| format!("k{i}=v"))
        .collect::<Vec<_>>()
        .join("&")
}

// 1. Protocol bodies are small and parsed in linear time.
async fn protocol_bodies_over_16_kib_are_refused_while_health_is_answered(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = many_keys(52_000);
    assert!(body.len() > 262_000);
    let mut posts = Vec::new();
    for path in ["/token", "/introspect", "/revoke", "/userinfo", "/token"] {
        let request = http()
            .post(format!("{}{path}", app.address))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone());
        posts.push(tokio::spawn(async move { request.send().await }));
    }
    let health = http()
        .get(format!("{}/health/live", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    for post in posts {
        let response = post
            .await
            .unwrap()
            .expect("an answer, not a dropped connection");
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let json: Value = response.json().await.unwrap();
        assert_eq!(json["error"], "invalid_request", "{json}");
    }
}

async fn a_body_of_thousands_of_distinct_keys_within_the_limit_is_answered(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut body = many_keys(1_800);
    body.push_str("&grant_type=client_credentials&k7=again");
    assert!(body.len() < 16 * 1024);
    let response = http()
        .post(format!("{}/token", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let json: Value = response.json().await.unwrap();
    assert_eq!(json["error"], "invalid_request");
    assert!(
        json["error_description"].as_str().unwrap().contains("k7"),
        "{json}"
    );
}

// 2. Nothing unauthenticated can park a large request, or many.
async fn an_authorization_parameter_over_2_kib_is_invalid_request(backend: Backend) {
    let app = spawn_app(backend).await;
    let rp = create_client(&app, AuthMethod::ClientSecretBasic, &["authorization_code"]).await;
    let nonce = "n".repeat(2049);
    let response = browser()
        .get(authorize_with(
            &app,
            &rp,
            &[("state", "st-1"), ("nonce", &nonce)],
        ))
        .send()
        .await
        .unwrap();
    let (error, state) = redirected_error(&response);
    assert_eq!(
        (error.as_str(), state.as_deref()),
        ("invalid_request", Some("st-1"))
    );
    assert_eq!(parked_requests(&app).await, 0);
}

async fn a_state_over_2_kib_is_refused_and_not_echoed(backend: Backend) {
    let app = spawn_app(backend).await;
    let rp = create_client(&app, AuthMethod::ClientSecretBasic, &["authorization_code"]).await;
    let state = "s".repeat(16_000);
    let response = browser()
        .post(format!("{}/authorize", app.address))
        .form(&[
            ("response_type", "code"),
            ("client_id", rp.id.as_str()),
            ("redirect_uri", REDIRECT),
            ("scope", "openid"),
            ("state", state.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let (error, echoed) = redirected_error(&response);
    assert_eq!((error.as_str(), echoed), ("invalid_request", None));
    assert_eq!(parked_requests(&app).await, 0);
}

async fn parked_requests_are_limited_per_client_address(backend: Backend) {
    let app = spawn_app_with(
        backend,
        Options::settings(|s| s.throttle.parked_requests_per_ip_per_hour = 3),
    )
    .await;
    let rp = create_client(&app, AuthMethod::ClientSecretBasic, &["authorization_code"]).await;
    for _ in 0..3 {
        let response = browser()
            .get(authorize_url(&app, &rp, "openid", &[]))
            .send()
            .await
            .unwrap();
        assert_eq!(location(&response), "/login");
    }
    let response = browser()
        .get(authorize_url(&app, &rp, "openid", &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    let page = response.text().await.unwrap();
    assert!(page.contains("Te veel inlogaanvragen"), "{page}");
    assert_eq!(parked_requests(&app).await, 3);
    // An hour later the address may park again.
    app.clock.advance(3601);
    let response = browser()
        .get(authorize_url(&app, &rp, "openid", &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/login");
}

async fn a_request_answered_from_a_live_session_is_not_counted(backend: Backend) {
    let app = spawn_app_with(
        backend,
        Options::settings(|s| s.throttle.parked_requests_per_ip_per_hour = 1),
    )
    .await;
    let person = onboarded_person(&app).await;
    let rp = create_client(&app, AuthMethod::ClientSecretBasic, &["authorization_code"]).await;
    let browser = browser();
    let callback = log_in(
        &app,
        &browser,
        &authorize_url(&app, &rp, "openid", &[]),
        &person,
    )
    .await;
    assert!(query_param(&callback, "code").is_some());
    for _ in 0..3 {
        let response = browser
            .get(authorize_url(&app, &rp, "openid", &[]))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FOUND);
        assert!(query_param(&location(&response), "code").is_some());
    }
}

// 9. max_age arithmetic cannot wrap.
async fn a_max_age_beyond_any_clock_accepts_the_live_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let rp = create_client(&app, AuthMethod::ClientSecretBasic, &["authorization_code"]).await;
    let browser = browser();
    log_in(
        &app,
        &browser,
        &authorize_url(&app, &rp, "openid", &[]),
        &person,
    )
    .await;
    for max_age in ["9223372036854775807", "99999999999999999999"] {
        let response = browser
            .get(authorize_url(&app, &rp, "openid", &[("max_age", max_age)]))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FOUND, "{max_age}");
        let back = location(&response);
        assert!(query_param(&back, "code").is_some(), "{max_age}: {back}");
    }
}

async fn a_negative_max_age_is_invalid_request(backend: Backend) {
    let app = spawn_app(backend).await;
    let rp = create_client(&app, AuthMethod::ClientSecretBasic, &["authorization_code"]).await;
    let response = browser()
        .get(authorize_url(&app, &rp, "openid", &[("max_age", "-1")]))
        .send()
        .await
        .unwrap();
    assert_eq!(redirected_error(&response).0, "invalid_request");
}

async fn a_non_numeric_max_age_is_invalid_request(backend: Backend) {
    let app = spawn_app(backend).await;
    let rp = create_client(&app, AuthMethod::ClientSecretBasic, &["authorization_code"]).await;
    let response = browser()
        .get(authorize_url(&app, &rp, "openid", &[("max_age", "1e3")]))
        .send()
        .await
        .unwrap();
    assert_eq!(redirected_error(&response).0, "invalid_request");
}

both_backends!(
    an_authorization_parameter_over_2_kib_is_invalid_request,
    a_state_over_2_kib_is_refused_and_not_echoed,
    parked_requests_are_limited_per_client_address,
    a_request_answered_from_a_live_session_is_not_counted,
    a_max_age_beyond_any_clock_accepts_the_live_session,
    a_negative_max_age_is_invalid_request,
    a_non_numeric_max_age_is_invalid_request,
);

both_backends!(
    protocol_bodies_over_16_kib_are_refused_while_health_is_answered,
    a_body_of_thousands_of_distinct_keys_within_the_limit_is_answered,
);
