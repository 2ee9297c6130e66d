//! The consent page for third-party clients (hardening item 3): what it shows, Toestaan /
//! Weigeren, remembered grants, `prompt=consent`, `prompt=none` and withdrawal. HCC's own
//! (first-party) clients are never asked.

use idp::domain::RedirectUri;
use idp::oidc::client::{AuthMethod, ClientDisplay, NewClient};
use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::*;
use crate::oidc::{
    Person, REDIRECT, TestClient, authorize_url, create_client, location, log_in, onboarded_person,
    query_param,
};

const LOGO: &str = "https://cdn.rooster.example/logo.png";

/// A client registered by someone other than HCC staff: "Roosterplanner".
async fn third_party_client(app: &TestApp) -> TestClient {
    let new = NewClient {
        name: "Roosterplanner".into(),
        redirect_uris: vec![RedirectUri::parse(REDIRECT, false).unwrap()],
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        auth_method: AuthMethod::ClientSecretBasic,
        scope: vec![],
        first_party: false,
        application_type: Default::default(),
        display: ClientDisplay {
            client_uri: Some("https://rooster.example/".into()),
            logo_uri: Some(LOGO.into()),
            policy_uri: Some("https://rooster.example/privacy".into()),
            tos_uri: None,
            contacts: vec![],
        },
    };
    let now = app.state.now();
    let registered = app
        .state
        .db
        .run(move |c| idp::oidc::client::register(c, new, now))
        .await
        .unwrap();
    TestClient {
        id: registered.client.client_id,
        secret: registered.secret.map(|s| s.expose().to_owned()),
    }
}

/// A browser logged in to the IdP (through a first-party client, which is not asked).
async fn logged_in(app: &TestApp) -> (reqwest::Client, Person) {
    let person = onboarded_person(app).await;
    let portal = create_client(app, AuthMethod::ClientSecretBasic, &["authorization_code"]).await;
    let browser = browser();
    let callback = log_in(
        app,
        &browser,
        &authorize_url(app, &portal, "openid", &[]),
        &person,
    )
    .await;
    assert!(query_param(&callback, "code").is_some(), "{callback}");
    (browser, person)
}

async fn get(browser: &reqwest::Client, url: &str) -> reqwest::Response {
    browser.get(url).send().await.unwrap()
}

async fn consent_page(app: &TestApp, browser: &reqwest::Client) -> String {
    let response = get(browser, &format!("{}/consent", app.address)).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

async fn decide(app: &TestApp, browser: &reqwest::Client, decision: &str) -> reqwest::Response {
    let page = consent_page(app, browser).await;
    browser
        .post(format!("{}/consent", app.address))
        .form(&[
            ("csrf_token", csrf_token(&page).as_str()),
            ("decision", decision),
        ])
        .send()
        .await
        .unwrap()
}

async fn a_third_party_client_is_sent_to_the_consent_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let (browser, _) = logged_in(&app).await;
    let rp = third_party_client(&app).await;
    let response = get(&browser, &authorize_url(&app, &rp, "openid email", &[])).await;
    assert_eq!(location(&response), "/consent");
}

async fn the_consent_page_names_the_client_and_the_scopes_in_plain_words(backend: Backend) {
    let app = spawn_app(backend).await;
    let (browser, _) = logged_in(&app).await;
    let rp = third_party_client(&app).await;
    get(
        &browser,
        &authorize_url(&app, &rp, "openid email offline_access", &[]),
    )
    .await;
    let response = get(&browser, &format!("{}/consent", app.address)).await;
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("img-src 'self' data: https://cdn.rooster.example;"),
        "the logo's origin, and only it: {csp}"
    );
    let html = response.text().await.unwrap();
    assert_eq!(text_of(&html, "h1"), ["Toestemming geven"]);
    assert_eq!(text_of(&html, ".client-name"), ["Roosterplanner"]);
    assert_eq!(
        text_of(&html, ".scopes li"),
        [
            "Bevestigen wie u bent (uw account bij HumanCapitalCare)",
            "Uw e-mailadres",
            "Toegang houden wanneer u niet ingelogd bent, tot u de toestemming intrekt",
        ]
    );
    assert_eq!(
        text_of(&html, "form.decision button"),
        ["Toestaan", "Weigeren"]
    );
    assert_eq!(attr(&html, "img.client-logo", "src").as_deref(), Some(LOGO));
    assert_eq!(
        attr(&html, "img.client-logo", "alt").as_deref(),
        Some("Logo van Roosterplanner")
    );
    assert_eq!(
        text_of(&html, ".client-links a"),
        ["Website", "Privacyverklaring"]
    );
}

async fn the_consent_page_speaks_english_for_ui_locales_en(backend: Backend) {
    let app = spawn_app(backend).await;
    let (browser, _) = logged_in(&app).await;
    let rp = third_party_client(&app).await;
    get(
        &browser,
        &authorize_url(&app, &rp, "openid profile", &[("ui_locales", "en")]),
    )
    .await;
    let html = consent_page(&app, &browser).await;
    assert_eq!(text_of(&html, "h1"), ["Give permission"]);
    assert_eq!(text_of(&html, "form.decision button"), ["Allow", "Deny"]);
    assert!(text_of(&html, ".scopes li").contains(&"Your name".to_owned()));
}

async fn allowing_answers_the_client_with_a_code(backend: Backend) {
    let app = spawn_app(backend).await;
    let (browser, _) = logged_in(&app).await;
    let rp = third_party_client(&app).await;
    get(&browser, &authorize_url(&app, &rp, "openid email", &[])).await;
    let response = decide(&app, &browser, "allow").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let back = location(&response);
    assert!(back.starts_with(REDIRECT), "{back}");
    assert!(query_param(&back, "code").is_some());
    assert_eq!(query_param(&back, "state").as_deref(), Some("st-1"));
}

async fn an_allowed_request_is_not_asked_again(backend: Backend) {
    let app = spawn_app(backend).await;
    let (browser, _) = logged_in(&app).await;
    let rp = third_party_client(&app).await;
    get(&browser, &authorize_url(&app, &rp, "openid email", &[])).await;
    decide(&app, &browser, "allow").await;
    let response = get(&browser, &authorize_url(&app, &rp, "openid", &[])).await;
    assert!(
        query_param(&location(&response), "code").is_some(),
        "within the grant"
    );
}

async fn a_wider_scope_is_asked_again(backend: Backend) {
    let app = spawn_app(backend).await;
    let (browser, _) = logged_in(&app).await;
    let rp = third_party_client(&app).await;
    get(&browser, &authorize_url(&app, &rp, "openid", &[])).await;
    decide(&app, &browser, "allow").await;
    let response = get(&browser, &authorize_url(&app, &rp, "openid email", &[])).await;
    assert_eq!(location(&response), "/consent");
}

async fn denying_answers_access_denied_with_state_and_iss(backend: Backend) {
    let app = spawn_app(backend).await;
    let (browser, _) = logged_in(&app).await;
    let rp = third_party_client(&app).await;
    get(&browser, &authorize_url(&app, &rp, "openid email", &[])).await;
    let response = decide(&app, &browser, "deny").await;
    let back = location(&response);
    assert!(back.starts_with(REDIRECT), "{back}");
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(query_param(&back, "state").as_deref(), Some("st-1"));
    assert_eq!(
        query_param(&back, "iss").as_deref(),
        Some(app.address.as_str())
    );
    assert!(query_param(&back, "code").is_none());
    // Nothing was remembered: the next request asks again.
    let response = get(&browser, &authorize_url(&app, &rp, "openid email", &[])).await;
    assert_eq!(location(&response), "/consent");
}

async fn prompt_consent_always_asks(backend: Backend) {
    let app = spawn_app(backend).await;
    let (browser, _) = logged_in(&app).await;
    let rp = third_party_client(&app).await;
    get(&browser, &authorize_url(&app, &rp, "openid", &[])).await;
    decide(&app, &browser, "allow").await;
    let response = get(
        &browser,
        &authorize_url(&app, &rp, "openid", &[("prompt", "consent")]),
    )
    .await;
    assert_eq!(location(&response), "/consent");
}

async fn prompt_none_without_a_grant_is_consent_required(backend: Backend) {
    let app = spawn_app(backend).await;
    let (browser, _) = logged_in(&app).await;
    let rp = third_party_client(&app).await;
    let response = get(
        &browser,
        &authorize_url(&app, &rp, "openid", &[("prompt", "none")]),
    )
    .await;
    let back = location(&response);
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("consent_required"),
        "{back}"
    );
    assert_eq!(query_param(&back, "state").as_deref(), Some("st-1"));
    assert_eq!(
        query_param(&back, "iss").as_deref(),
        Some(app.address.as_str())
    );
}

async fn the_login_ends_at_the_consent_page_for_a_third_party_client(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let rp = third_party_client(&app).await;
    let browser = browser();
    let next = log_in(
        &app,
        &browser,
        &authorize_url(&app, &rp, "openid", &[]),
        &person,
    )
    .await;
    assert_eq!(next, "/consent");
    let response = decide(&app, &browser, "allow").await;
    assert!(query_param(&location(&response), "code").is_some());
}

async fn first_party_clients_are_never_asked(backend: Backend) {
    let app = spawn_app(backend).await;
    let (browser, _) = logged_in(&app).await;
    let portal = create_client(&app, AuthMethod::ClientSecretBasic, &["authorization_code"]).await;
    let response = get(
        &browser,
        &authorize_url(&app, &portal, "openid email", &[("prompt", "consent")]),
    )
    .await;
    assert!(query_param(&location(&response), "code").is_some());
}

async fn a_decision_without_the_csrf_token_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let (browser, _) = logged_in(&app).await;
    let rp = third_party_client(&app).await;
    get(&browser, &authorize_url(&app, &rp, "openid", &[])).await;
    let response = browser
        .post(format!("{}/consent", app.address))
        .form(&[("decision", "allow")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.headers().get("location").is_none());
}

async fn the_consent_page_without_a_waiting_request_says_so(backend: Backend) {
    let app = spawn_app(backend).await;
    let (browser, _) = logged_in(&app).await;
    let response = get(&browser, &format!("{}/consent", app.address)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert_eq!(text_of(&html, "h1"), ["Er wacht geen applicatie"]);
}

async fn a_withdrawn_consent_is_asked_again_and_its_refresh_tokens_stop(backend: Backend) {
    let app = spawn_app(backend).await;
    let (browser, person) = logged_in(&app).await;
    let rp = third_party_client(&app).await;
    get(
        &browser,
        &authorize_url(&app, &rp, "openid offline_access", &[]),
    )
    .await;
    let response = decide(&app, &browser, "allow").await;
    let code = query_param(&location(&response), "code").unwrap();
    let tokens: serde_json::Value = crate::oidc::exchange_code(&app, &rp, &code)
        .await
        .json()
        .await
        .unwrap();
    assert!(tokens["refresh_token"].is_string(), "{tokens}");
    let actor = idp::journeys::account::Actor::HccStaff { user_id: None };
    let email = idp::domain::Email::parse(&person.email).unwrap();
    assert!(
        idp::journeys::account::revoke_consent(&app.state, &actor, &email, &rp.id)
            .await
            .unwrap()
    );
    let response = http()
        .post(format!("{}/token", app.address))
        .basic_auth(&rp.id, rp.secret.as_ref())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = get(&browser, &authorize_url(&app, &rp, "openid", &[])).await;
    assert_eq!(location(&response), "/consent");
}

both_backends!(
    a_third_party_client_is_sent_to_the_consent_page,
    the_consent_page_names_the_client_and_the_scopes_in_plain_words,
    the_consent_page_speaks_english_for_ui_locales_en,
    allowing_answers_the_client_with_a_code,
    an_allowed_request_is_not_asked_again,
    a_wider_scope_is_asked_again,
    denying_answers_access_denied_with_state_and_iss,
    prompt_consent_always_asks,
    prompt_none_without_a_grant_is_consent_required,
    the_login_ends_at_the_consent_page_for_a_third_party_client,
    first_party_clients_are_never_asked,
    a_decision_without_the_csrf_token_is_refused,
    the_consent_page_without_a_waiting_request_says_so,
    a_withdrawn_consent_is_asked_again_and_its_refresh_tokens_stop,
);
