//! Session lifetimes and what an ended session takes with it.

use idp::oidc::client::AuthMethod;
use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::*;
use crate::oidc::{
    authorize_url, create_client, exchange_code, location, log_in, onboarded_person, query_param,
};

/// Idle for longer than the idle timeout, the SSO session is gone; used, it lives on up to its
/// absolute lifetime, and no further.
async fn sessions_end_when_idle_and_at_their_absolute_lifetime(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let rp = create_client(&app, AuthMethod::ClientSecretBasic, &["authorization_code"]).await;
    let silent = authorize_url(&app, &rp, "openid", &[("prompt", "none")]);

    let idle = browser();
    log_in(
        &app,
        &idle,
        &authorize_url(&app, &rp, "openid", &[]),
        &person,
    )
    .await;
    app.clock.advance(61 * 60);
    let response = idle.get(&silent).send().await.unwrap();
    assert_eq!(
        query_param(&location(&response), "error").as_deref(),
        Some("login_required"),
        "idle > 60 min"
    );

    // Active every 50 minutes: alive until 12 hours after login, then gone.
    let active = browser();
    log_in(
        &app,
        &active,
        &authorize_url(&app, &rp, "openid", &[]),
        &person,
    )
    .await;
    for _ in 0..14 {
        app.clock.advance(50 * 60);
        let response = active.get(&silent).send().await.unwrap();
        assert!(
            query_param(&location(&response), "code").is_some(),
            "kept alive by use"
        );
    }
    app.clock.advance(50 * 60);
    let response = active.get(&silent).send().await.unwrap();
    assert_eq!(
        query_param(&location(&response), "error").as_deref(),
        Some("login_required"),
        "absolute lifetime"
    );
}

/// A code issued just before its session ended cannot be exchanged afterwards.
async fn a_code_dies_with_its_session(backend: Backend) {
    let app = spawn_app(backend).await;
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
    let code = query_param(&callback, "code").unwrap();
    let email = idp::domain::Email::parse("marco@ek88.nl").unwrap();
    idp::journeys::account::end_sessions(
        &app.state,
        &idp::journeys::account::Actor::HccStaff { user_id: None },
        &email,
    )
    .await
    .unwrap();
    let response = exchange_code(&app, &rp, &code).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
}

/// Introspection tells a client about its own tokens only (RFC 7662 §4).
async fn a_client_cannot_introspect_another_clients_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let a = create_client(&app, AuthMethod::ClientSecretPost, &["authorization_code"]).await;
    let b = create_client(&app, AuthMethod::ClientSecretBasic, &["authorization_code"]).await;
    let tokens = crate::oidc::code_flow(&app, &http(), &a, &person, "openid").await;
    let token = tokens["access_token"].as_str().unwrap();
    let introspect = |id: String, secret: String| {
        let url = format!("{}/introspect", app.address);
        let token = token.to_owned();
        async move {
            http()
                .post(url)
                .basic_auth(id, Some(secret))
                .form(&[("token", token.as_str())])
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        introspect(b.id.clone(), b.secret.clone().unwrap()).await,
        serde_json::json!({ "active": false })
    );
    // A itself (registered for client_secret_post) asks with its own method.
    let own = http()
        .post(format!("{}/introspect", app.address))
        .form(&[
            ("token", token),
            ("client_id", a.id.as_str()),
            ("client_secret", a.secret.as_deref().unwrap()),
        ])
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(own["active"], true);
}

both_backends!(
    sessions_end_when_idle_and_at_their_absolute_lifetime,
    a_code_dies_with_its_session,
    a_client_cannot_introspect_another_clients_token,
);
