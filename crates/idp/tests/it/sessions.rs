//! Session lifetimes and what an ended session takes with it.

use idp::oidc::client::AuthMethod;
use reqwest::StatusCode;

use crate::both_backends;
use crate::driver::*;
use crate::helpers::*;

/// Idle for longer than the idle timeout (60 minutes), the SSO session is gone.
async fn a_session_idle_for_over_an_hour_is_gone(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let rp = app.client(AuthMethod::ClientSecretBasic, CODE).await;
    let idle = app.browser();
    idle.authorize(&rp.authorize_url("openid", &[]), &person)
        .await;
    app.clock.advance(61 * 60);
    assert_eq!(
        query_param(&idle.authorize_silently(&rp).await, "error").as_deref(),
        Some("login_required"),
        "idle > 60 min"
    );
}

/// Active every 50 minutes: alive until 12 hours after login, then gone.
async fn a_session_in_use_ends_at_its_absolute_lifetime(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let rp = app.client(AuthMethod::ClientSecretBasic, CODE).await;
    let active = app.browser();
    active
        .authorize(&rp.authorize_url("openid", &[]), &person)
        .await;
    for _ in 0..14 {
        app.clock.advance(50 * 60);
        assert!(active.is_logged_in(&rp).await, "kept alive by use");
    }
    app.clock.advance(50 * 60);
    assert_eq!(
        query_param(&active.authorize_silently(&rp).await, "error").as_deref(),
        Some("login_required"),
        "absolute lifetime"
    );
}

/// A code issued just before its session ended cannot be exchanged afterwards.
async fn a_code_dies_with_its_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let rp = app.client(AuthMethod::ClientSecretBasic, CODE).await;
    let callback = app
        .browser()
        .authorize(&rp.authorize_url("openid", &[]), &person)
        .await;
    let code = query_param(&callback, "code").unwrap();
    app.admin().end_sessions(MARCO).await.unwrap();
    assert_invalid_grant(rp.exchange(&code).await);
}

/// Introspection tells a client about its own tokens only (RFC 7662 §4).
async fn a_client_cannot_introspect_another_clients_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let a = app.client(AuthMethod::ClientSecretPost, CODE).await;
    let b = app.client(AuthMethod::ClientSecretBasic, CODE).await;
    let tokens = a.sign_in(&app.browser(), &person, "openid").await;
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        b.introspect(token).await,
        serde_json::json!({ "active": false })
    );
    // A itself (registered for client_secret_post) asks with its own method.
    assert_eq!(a.introspect(token).await["active"], true);
}

async fn the_code_step_offers_another_account_and_that_login_replaces_the_first(backend: Backend) {
    let app = spawn_app(backend).await;
    let people = seed_people(&app, 2).await;
    let (first, second) = (&people[0], &people[1]);
    let browser = app.browser();
    let response = browser.log_in_password(&first.email, &first.password).await;
    assert_eq!(location(&response), "/login/otp");
    let html = browser.page("/login/otp").await;
    assert_eq!(
        attr(&html, "a[href='/login']", "href").as_deref(),
        Some("/login")
    );
    assert_eq!(
        text_of(&html, "a[href='/login']"),
        ["Ander account gebruiken"]
    );
    // The other person logs in from the same browser: the first person's half-done login
    // is gone, and the code step is the second person's.
    let response = browser
        .log_in_password(&second.email, &second.password)
        .await;
    assert_eq!(location(&response), "/login/otp");
    let response = browser.log_in_code(&first.fresh_code(&app.clock)).await;
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "the first person's code no longer counts here"
    );
    let response = browser.log_in_code(&second.fresh_code(&app.clock)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/welcome");
}

both_backends!(
    the_code_step_offers_another_account_and_that_login_replaces_the_first,
    a_session_idle_for_over_an_hour_is_gone,
    a_session_in_use_ends_at_its_absolute_lifetime,
    a_code_dies_with_its_session,
    a_client_cannot_introspect_another_clients_token,
);
