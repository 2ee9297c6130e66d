//! The consent page for third-party clients (hardening item 3): what it shows, Toestaan /
//! Weigeren, remembered grants, `prompt=consent`, `prompt=none` and withdrawal. HCC's own
//! (first-party) clients are never asked.

use idp::oidc::client::AuthMethod;
use reqwest::StatusCode;

use crate::both_backends;
use crate::driver::*;
use crate::helpers::*;

/// A browser logged in to the IdP (through a first-party client, which is not asked).
async fn logged_in(app: &TestApp) -> (Browser, Person) {
    let person = onboarded_person(app).await;
    let portal = app.client(AuthMethod::ClientSecretBasic, CODE).await;
    let browser = app.browser();
    let callback = browser
        .authorize(&portal.authorize_url("openid", &[]), &person)
        .await;
    assert!(query_param(&callback, "code").is_some(), "{callback}");
    (browser, person)
}

async fn consent_page(browser: &Browser) -> String {
    let response = browser.get("/consent").await;
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

async fn decide(browser: &Browser, decision: &str) -> reqwest::Response {
    let page = consent_page(browser).await;
    browser
        .post(
            "/consent",
            &[
                ("csrf_token", csrf_token(&page).as_str()),
                ("decision", decision),
            ],
        )
        .await
}

async fn a_third_party_client_is_sent_to_the_consent_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let (browser, _) = logged_in(&app).await;
    let rp = app.third_party_client().await;
    let response = browser.get(&rp.authorize_url("openid email", &[])).await;
    assert_eq!(location(&response), "/consent");
}

async fn the_consent_page_names_the_client_and_the_scopes_in_plain_words(backend: Backend) {
    let app = spawn_app(backend).await;
    let (browser, _) = logged_in(&app).await;
    let rp = app.third_party_client().await;
    browser
        .get(&rp.authorize_url("openid email offline_access", &[]))
        .await;
    let response = browser.get("/consent").await;
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
    let rp = app.third_party_client().await;
    browser
        .get(&rp.authorize_url("openid profile", &[("ui_locales", "en")]))
        .await;
    let html = consent_page(&browser).await;
    assert_eq!(text_of(&html, "h1"), ["Give permission"]);
    assert_eq!(text_of(&html, "form.decision button"), ["Allow", "Deny"]);
    assert!(text_of(&html, ".scopes li").contains(&"Your name".to_owned()));
}

async fn allowing_answers_the_client_with_a_code(backend: Backend) {
    let app = spawn_app(backend).await;
    let (browser, _) = logged_in(&app).await;
    let rp = app.third_party_client().await;
    browser.get(&rp.authorize_url("openid email", &[])).await;
    let response = decide(&browser, "allow").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let back = location(&response);
    assert!(back.starts_with(REDIRECT), "{back}");
    assert!(query_param(&back, "code").is_some());
    assert_eq!(query_param(&back, "state").as_deref(), Some("st-1"));
}

async fn an_allowed_request_is_not_asked_again(backend: Backend) {
    let app = spawn_app(backend).await;
    let (browser, _) = logged_in(&app).await;
    let rp = app.third_party_client().await;
    browser.get(&rp.authorize_url("openid email", &[])).await;
    decide(&browser, "allow").await;
    let response = browser.get(&rp.authorize_url("openid", &[])).await;
    assert!(
        query_param(&location(&response), "code").is_some(),
        "within the grant"
    );
}

async fn a_wider_scope_is_asked_again(backend: Backend) {
    let app = spawn_app(backend).await;
    let (browser, _) = logged_in(&app).await;
    let rp = app.third_party_client().await;
    browser.get(&rp.authorize_url("openid", &[])).await;
    decide(&browser, "allow").await;
    let response = browser.get(&rp.authorize_url("openid email", &[])).await;
    assert_eq!(location(&response), "/consent");
}

async fn denying_answers_access_denied_with_state_and_iss(backend: Backend) {
    let app = spawn_app(backend).await;
    let (browser, _) = logged_in(&app).await;
    let rp = app.third_party_client().await;
    browser.get(&rp.authorize_url("openid email", &[])).await;
    let response = decide(&browser, "deny").await;
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
    let response = browser.get(&rp.authorize_url("openid email", &[])).await;
    assert_eq!(location(&response), "/consent");
}

async fn prompt_consent_always_asks(backend: Backend) {
    let app = spawn_app(backend).await;
    let (browser, _) = logged_in(&app).await;
    let rp = app.third_party_client().await;
    browser.get(&rp.authorize_url("openid", &[])).await;
    decide(&browser, "allow").await;
    let response = browser
        .get(&rp.authorize_url("openid", &[("prompt", "consent")]))
        .await;
    assert_eq!(location(&response), "/consent");
}

async fn prompt_none_without_a_grant_is_consent_required(backend: Backend) {
    let app = spawn_app(backend).await;
    let (browser, _) = logged_in(&app).await;
    let rp = app.third_party_client().await;
    let response = browser
        .get(&rp.authorize_url("openid", &[("prompt", "none")]))
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
    let rp = app.third_party_client().await;
    let browser = app.browser();
    let next = browser
        .authorize(&rp.authorize_url("openid", &[]), &person)
        .await;
    assert_eq!(next, "/consent");
    let response = decide(&browser, "allow").await;
    assert!(query_param(&location(&response), "code").is_some());
}

async fn first_party_clients_are_never_asked(backend: Backend) {
    let app = spawn_app(backend).await;
    let (browser, _) = logged_in(&app).await;
    let portal = app.client(AuthMethod::ClientSecretBasic, CODE).await;
    let response = browser
        .get(&portal.authorize_url("openid email", &[("prompt", "consent")]))
        .await;
    assert!(query_param(&location(&response), "code").is_some());
}

async fn a_decision_without_the_csrf_token_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let (browser, _) = logged_in(&app).await;
    let rp = app.third_party_client().await;
    browser.get(&rp.authorize_url("openid", &[])).await;
    let response = browser.post("/consent", &[("decision", "allow")]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.headers().get("location").is_none());
}

async fn the_consent_page_without_a_waiting_request_says_so(backend: Backend) {
    let app = spawn_app(backend).await;
    let (browser, _) = logged_in(&app).await;
    let response = browser.get("/consent").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert_eq!(text_of(&html, "h1"), ["Er wacht geen applicatie"]);
}

async fn a_withdrawn_consent_is_asked_again_and_its_refresh_tokens_stop(backend: Backend) {
    let app = spawn_app(backend).await;
    let (browser, person) = logged_in(&app).await;
    let rp = app.third_party_client().await;
    browser
        .get(&rp.authorize_url("openid offline_access", &[]))
        .await;
    let response = decide(&browser, "allow").await;
    let code = query_param(&location(&response), "code").unwrap();
    let (_, tokens) = rp.exchange(&code).await;
    assert!(tokens["refresh_token"].is_string(), "{tokens}");
    assert!(
        app.admin()
            .revoke_consent(&person.email, &rp.id)
            .await
            .unwrap()
    );
    assert_eq!(rp.refresh(&tokens).await.0, StatusCode::BAD_REQUEST);
    let response = browser.get(&rp.authorize_url("openid", &[])).await;
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
