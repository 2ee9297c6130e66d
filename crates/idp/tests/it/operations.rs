//! What operators watch: Prometheus metrics on an address of their own, and the health probes.

use reqwest::StatusCode;

use crate::both_backends;
use crate::driver::*;
use crate::helpers::*;

fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().port()
}

async fn metrics_are_served_on_their_own_address_and_count_what_happens(backend: Backend) {
    let port = free_port();
    let app = spawn_app_with(
        backend,
        Options::settings(move |s| s.server.metrics_address = format!("127.0.0.1:{port}")),
    )
    .await;
    // Never on the public address.
    let public = http()
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND);

    let rp = app.refresh_client().await;
    let person = onboarded_person(&app).await;
    let browser = app.browser();
    let tokens = rp.sign_in(&browser, &person, "openid offline_access").await;
    let (status, _) = rp.refresh(&tokens).await;
    assert_eq!(status, StatusCode::OK);
    let wrong = app
        .browser()
        .log_in_password(&person.email, "Wrong-Password-1234!")
        .await;
    assert_eq!(wrong.status(), StatusCode::OK);

    let scraped = http()
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(scraped.status(), StatusCode::OK);
    let body = scraped.text().await.unwrap();
    for needle in [
        r#"idp_logins_total{stage="password",outcome="success"} "#,
        r#"idp_logins_total{stage="password",outcome="failure"} 1"#,
        r#"idp_logins_total{stage="otp",outcome="success"} "#,
        r#"idp_token_grants_total{grant_type="authorization_code",outcome="ok"} 1"#,
        r#"idp_token_grants_total{grant_type="refresh_token",outcome="ok"} 1"#,
        r#"idp_http_request_duration_seconds_bucket{route="/token",le="0.1"}"#,
        r#"idp_http_requests_total{route="/token",status="200"} 2"#,
        r#"idp_outbox_pending{queue="mail"} 0"#,
        r#"idp_outbox_pending{queue="backchannel_logout"} 0"#,
        "idp_sessions_live ",
        "idp_signing_key_age_seconds ",
        r#"idp_db_pool_connections{state="idle"}"#,
        "idp_db_unreachable 0",
        "idp_password_checks_waiting 0",
        "idp_password_queue_limit ",
    ] {
        assert!(body.contains(needle), "{needle} not in\n{body}");
    }
}

both_backends!(metrics_are_served_on_their_own_address_and_count_what_happens);

async fn readiness_names_the_database_the_migrations_and_the_signing_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let live = http()
        .get(format!("{}/health/live", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), StatusCode::OK);
    let (status, ready) = json_of(
        http()
            .get(format!("{}/health/ready", app.address))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert_eq!(ready["status"], "ok");
    assert_eq!(ready["database"], "reachable");
    assert_eq!(ready["migrations"], "current");
    // The key it signs with now is the one it publishes.
    assert_eq!(ready["signing_key"], app.state.keys.active_kid());
    let (_, jwks) = json_of(
        http()
            .get(format!("{}/jwks", app.address))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let published: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert!(published.contains(&ready["signing_key"].as_str().unwrap()));
}

both_backends!(readiness_names_the_database_the_migrations_and_the_signing_key);
