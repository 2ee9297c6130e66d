//! Regression tests for the findings of the outside security review and the independent OIDC
//! test run (docs/security.md lists each rule with its test). Each test is named after the rule
//! it proves and asserts what a client or a person sees.

use reqwest::StatusCode;
use serde_json::Value;

use crate::both_backends;
use crate::helpers::*;

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

both_backends!(
    protocol_bodies_over_16_kib_are_refused_while_health_is_answered,
    a_body_of_thousands_of_distinct_keys_within_the_limit_is_answered,
);
