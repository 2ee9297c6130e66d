//! Manual §2.3 and account recovery over HTTP: "Wachtwoord vergeten?", the 15-minute
//! single-use link, "Wachtwoord bijwerken" with "Uitloggen op andere apparaten", what a reset
//! does to sessions and refresh tokens, recovery by HCC staff or a superuser, and the audit rows.

use std::time::Duration;

use idp::clock::Clock;
use idp::domain::totp::step_at;
use idp::domain::{Email, Language};
use idp::journeys::JourneyError;
use idp::journeys::account::{self, Actor};
use idp::oidc::client::AuthMethod;
use idp::storage::models::AuditEvent;
use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::*;
use crate::oidc::{
    Person, REDIRECT, TestClient, authorize_url, create_client, location, log_in, onboarded_person,
    query_param,
};
use crate::onboarding::{STRONG, invite_marco, invite_to, register, secret_from_page};

pub const NEW_PASSWORD: &str = "Nieuw-Sterk-Wachtw00rd-Roos";
const MARCO: &str = "marco@ek88.nl";

fn staff() -> Actor {
    Actor::HccStaff { user_id: None }
}

fn email(address: &str) -> Email {
    Email::parse(address).unwrap()
}

/// The page with every CSRF token value blanked (they differ per response by design).
pub fn without_csrf(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let mut out = String::new();
    let mut rest = html;
    while let Some(at) = rest.find(marker) {
        let start = at + marker.len();
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        rest = &rest[rest.find('"').unwrap()..];
    }
    out.push_str(rest);
    out
}

/// The messages shown at a field (`#<id>-error-N`).
pub fn field_errors(html: &str, id: &str) -> String {
    text_of(html, &format!("[id^='{id}-error-']")).join(" ")
}

async fn text(response: reqwest::Response) -> String {
    response.text().await.unwrap()
}

/// "Wachtwoord vergeten?" in `browser`: the page, then the form posted in `lang`.
pub async fn forgot(
    app: &TestApp,
    browser: &reqwest::Client,
    address: &str,
    lang: &str,
) -> reqwest::Response {
    let page = browser
        .get(format!("{}/password/forgot?lang={lang}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = text(page).await;
    browser
        .post(format!("{}/password/forgot", app.address))
        .form(&[
            ("csrf_token", csrf_token(&page).as_str()),
            ("lang", lang),
            ("email", address),
        ])
        .send()
        .await
        .unwrap()
}

/// Asks for a reset link (Dutch) and returns the link from the mail that arrives.
pub async fn request_reset(app: &TestApp, address: &str) -> String {
    request_reset_mail(app, address, "nl").await.0
}

async fn request_reset_mail(app: &TestApp, address: &str, lang: &str) -> (String, ReceivedMail) {
    let before = app.smtp.mails_to(address).len();
    let response = forgot(app, &browser(), address, lang).await;
    assert_eq!(response.status(), StatusCode::OK);
    let mail = app.smtp.wait_for(address, before + 1).await.pop().unwrap();
    (app.local(&mail.link()), mail)
}

/// Opens the link in `browser` and submits "Wachtwoord bijwerken".
pub async fn submit_reset(
    browser: &reqwest::Client,
    link: &str,
    password: &str,
    confirm: &str,
    logout_others: bool,
) -> reqwest::Response {
    let page = browser.get(link).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK, "the link opens");
    let page = text(page).await;
    post_reset(
        browser,
        link,
        &csrf_token(&page),
        password,
        confirm,
        logout_others,
    )
    .await
}

async fn post_reset(
    browser: &reqwest::Client,
    link: &str,
    csrf: &str,
    password: &str,
    confirm: &str,
    logout_others: bool,
) -> reqwest::Response {
    let mut form = vec![
        ("csrf_token", csrf),
        ("password", password),
        ("password_confirm", confirm),
    ];
    if logout_others {
        form.push(("logout_others", "on"));
    }
    browser.post(link).form(&form).send().await.unwrap()
}

/// The password step of the login page in `browser`.
pub async fn password_login(
    app: &TestApp,
    browser: &reqwest::Client,
    address: &str,
    password: &str,
) -> reqwest::Response {
    let page = browser
        .get(format!("{}/login", app.address))
        .send()
        .await
        .unwrap();
    let page = text(page).await;
    browser
        .post(format!("{}/login", app.address))
        .form(&[
            ("csrf_token", csrf_token(&page).as_str()),
            ("email", address),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

/// The code step in `browser` (after the password step), with a fresh step's code.
pub async fn code_login(app: &TestApp, browser: &reqwest::Client, code: &str) -> reqwest::Response {
    let page = browser
        .get(format!("{}/login/otp", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = text(page).await;
    browser
        .post(format!("{}/login/otp", app.address))
        .form(&[
            ("csrf_token", csrf_token(&page).as_str()),
            ("otp_code", code),
        ])
        .send()
        .await
        .unwrap()
}

/// The current code of the person's authenticator, one step after the last one used.
pub fn fresh_code(app: &TestApp, person: &Person) -> String {
    app.clock.advance(30);
    person.secret.code_at(step_at(app.clock.now()))
}

pub async fn audit_rows(app: &TestApp) -> Vec<AuditEvent> {
    app.state
        .db
        .run(|c| idp::storage::audit::list(c, None, 0))
        .await
        .unwrap()
}

pub fn has_row(rows: &[AuditEvent], event: &str, outcome: &str) -> bool {
    rows.iter()
        .any(|r| r.event == event && r.outcome == outcome)
}

pub async fn user(app: &TestApp, address: &str) -> idp::storage::models::User {
    let address = email(address);
    app.state
        .db
        .run(move |c| idp::storage::users::find_by_email(c, &address))
        .await
        .unwrap()
        .unwrap()
}

/// Logs in through `browser` for `rp` with offline_access; returns the token response. The
/// browser keeps its SSO session.
pub async fn tokens_in(
    app: &TestApp,
    browser: &reqwest::Client,
    rp: &TestClient,
    person: &Person,
) -> serde_json::Value {
    let url = authorize_url(app, rp, "openid email offline_access", &[("nonce", "n-r")]);
    let callback = log_in(app, browser, &url, person).await;
    assert!(callback.starts_with(REDIRECT), "{callback}");
    exchange(app, rp, &query_param(&callback, "code").unwrap()).await
}

async fn exchange(app: &TestApp, rp: &TestClient, code: &str) -> serde_json::Value {
    let response = browser()
        .post(format!("{}/token", app.address))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("client_id", rp.id.as_str()),
            ("client_secret", rp.secret.as_deref().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// The refresh grant: (status, JSON body).
pub async fn refresh(
    app: &TestApp,
    rp: &TestClient,
    tokens: &serde_json::Value,
) -> (StatusCode, serde_json::Value) {
    let response = browser()
        .post(format!("{}/token", app.address))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ("client_id", rp.id.as_str()),
            ("client_secret", rp.secret.as_deref().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

pub async fn introspect(app: &TestApp, rp: &TestClient, token: &str) -> serde_json::Value {
    let response = browser()
        .post(format!("{}/introspect", app.address))
        .form(&[
            ("token", token),
            ("client_id", rp.id.as_str()),
            ("client_secret", rp.secret.as_deref().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// `/authorize?prompt=none` in `browser`: the redirect back to the client.
pub async fn silent_authorize(app: &TestApp, browser: &reqwest::Client, rp: &TestClient) -> String {
    let url = authorize_url(app, rp, "openid", &[("prompt", "none")]);
    let response = browser.get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let back = location(&response);
    assert!(back.starts_with(REDIRECT), "{back}");
    back
}

pub async fn refresh_client(app: &TestApp) -> TestClient {
    create_client(
        app,
        AuthMethod::ClientSecretPost,
        &["authorization_code", "refresh_token"],
    )
    .await
}

fn assert_invalid_grant(result: (StatusCode, serde_json::Value)) {
    assert_eq!(result.0, StatusCode::BAD_REQUEST, "{}", result.1);
    assert_eq!(result.1["error"], "invalid_grant");
}

async fn forgot_page_labels_match_the_manual(backend: Backend) {
    let app = spawn_app(backend).await;
    let login = text(app.get("/login").await).await;
    assert_eq!(
        attr(&login, "a[href='/password/forgot']", "href").as_deref(),
        Some("/password/forgot")
    );
    assert!(text_of(&login, "a").contains(&"Wachtwoord vergeten?".to_owned()));

    let response = app.get("/password/forgot").await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = text(response).await;
    assert_eq!(text_of(&html, "h1"), ["Wachtwoord vergeten?"]);
    assert_eq!(
        control_labelled(&html, "E-mailadres").as_deref(),
        Some("email")
    );
    assert_eq!(attr(&html, "#email", "type").as_deref(), Some("email"));
    assert_eq!(
        text_of(&html, "form[method=post] button[type=submit]"),
        ["Verstuur"]
    );

    let html = text(app.get("/password/forgot?lang=en").await).await;
    assert_eq!(text_of(&html, "h1"), ["Forgot password?"]);
    assert_eq!(
        text_of(&html, "form[method=post] button[type=submit]"),
        ["Send"]
    );
}

async fn forgot_answers_the_same_for_known_and_unknown_addresses(backend: Backend) {
    let app = spawn_app(backend).await;
    onboarded_person(&app).await;
    let invitation_mails = app.smtp.mails_to(MARCO).len();
    let browser = browser();
    let known = forgot(&app, &browser, MARCO, "nl").await;
    let unknown = forgot(&app, &browser, "niemand@ek88.nl", "nl").await;
    assert_eq!(known.status(), StatusCode::OK);
    assert_eq!(unknown.status(), known.status());
    let (known, unknown) = (text(known).await, text(unknown).await);
    assert_eq!(without_csrf(&known), without_csrf(&unknown));
    assert_eq!(text_of(&known, "h1"), ["Controleer uw e-mail"]);
    assert!(!known.contains(MARCO) && !unknown.contains("niemand"));

    app.smtp.wait_for(MARCO, invitation_mails + 1).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(app.smtp.mails_to("niemand@ek88.nl").is_empty());
    assert_eq!(app.smtp.mails_to(MARCO).len(), invitation_mails + 1);

    let rows = audit_rows(&app).await;
    let marco = user(&app, MARCO).await.id;
    assert!(rows.iter().any(|r| r.event == "password_reset_requested"
        && r.outcome == "success"
        && r.user_id.as_deref() == Some(marco.as_str())));
    assert!(rows.iter().any(|r| r.event == "password_reset_requested"
        && r.outcome == "failure"
        && r.user_id.is_none()
        && r.details.contains("unknown_address")));
}

async fn forgot_refuses_an_invalid_address_at_its_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = forgot(&app, &browser(), "geen-adres", "nl").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = text(response).await;
    assert_eq!(
        attr(&html, "#email", "aria-invalid").as_deref(),
        Some("true")
    );
    assert!(field_errors(&html, "email").contains("Vul een geldig e-mailadres in."));
    assert!(!text_of(&html, "[role=alert]").is_empty());
    assert_eq!(
        attr(&html, "#email", "value").as_deref(),
        Some("geen-adres")
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(app.smtp.mails().is_empty());
}

async fn reset_mail_as_the_manual_shows_it(backend: Backend) {
    let app = spawn_app(backend).await;
    onboarded_person(&app).await;
    let (link, mail) = request_reset_mail(&app, MARCO, "nl").await;
    assert_eq!(mail.header("Subject").unwrap(), "Wachtwoord wijzigen");
    assert_eq!(mail.header("To").unwrap(), MARCO);
    assert!(link.starts_with(&format!("{}/password/reset/", app.address)));
    let html = mail.html();
    assert!(!html.contains("null"), "{html}");
    assert_eq!(
        attr(&html, "a[href*='/password/reset/']", "href").as_deref(),
        Some(link.as_str())
    );
    let html_text = text_of(&html, "body").join(" ");
    for body in [&mail.text(), &html_text] {
        assert!(body.contains("Beste heer/mevrouw Van Basten,"), "{body}");
        assert!(body.contains("maximaal 15 minuten geldig"), "{body}");
        assert!(body.contains("Indien u geen gegevens wilt wijzigen, kunt u dit bericht negeren."));
        assert!(body.contains("inloggen@portaalwerkgever.nl"));
        assert!(
            body.contains("het HumanCapitalCare Werkgeverportaal"),
            "{body}"
        );
        assert!(!body.contains("null"), "{body}");
    }

    // The page language decides the mail's language.
    let (_, mail) = request_reset_mail(&app, MARCO, "en").await;
    assert_eq!(mail.header("Subject").unwrap(), "Change password");
    assert!(mail.text().contains("valid for at most 15 minutes"));
    assert!(
        mail.text()
            .contains("the HumanCapitalCare Werkgeverportaal")
    );
    assert!(!mail.text().contains("null") && !mail.html().contains("null"));
}

async fn reset_page_labels_match_the_manual(backend: Backend) {
    let app = spawn_app(backend).await;
    onboarded_person(&app).await;
    let link = request_reset(&app, MARCO).await;
    let response = app.client.get(&link).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let html = text(response).await;
    assert_eq!(text_of(&html, "h1"), ["Wachtwoord bijwerken"]);
    assert_eq!(
        text_of(&html, ".notice"),
        ["U moet uw wachtwoord wijzigen."]
    );
    for (label, id) in [
        ("Nieuw wachtwoord", "password"),
        ("Bevestig wachtwoord", "password_confirm"),
        ("Uitloggen op andere apparaten", "logout_others"),
    ] {
        assert_eq!(
            control_labelled(&html, label).as_deref(),
            Some(id),
            "{label}"
        );
    }
    assert_eq!(
        attr(&html, "#password", "type").as_deref(),
        Some("password")
    );
    assert_eq!(
        attr(&html, "#logout_others", "type").as_deref(),
        Some("checkbox")
    );
    assert!(attr(&html, "#logout_others", "checked").is_none());
    assert_eq!(
        text_of(&html, "form[method=post] button[type=submit]"),
        ["Verzenden"]
    );
}

async fn the_link_expires_after_15_minutes(backend: Backend) {
    let app = spawn_app(backend).await;
    onboarded_person(&app).await;
    let link = request_reset(&app, MARCO).await;
    app.clock.advance(15 * 60 - 5);
    let response = app.client.get(&link).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "still valid just before");
    let page = text(response).await;

    app.clock.advance(6);
    let response = app.client.get(&link).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::GONE);
    let html = text(response).await;
    assert_eq!(text_of(&html, "h1"), ["Deze link is niet (meer) geldig"]);
    assert_eq!(
        attr(&html, "a.button", "href").as_deref(),
        Some("/password/forgot"),
        "it says where to get a new one"
    );

    // A form opened before the expiry cannot be submitted after it.
    let response = post_reset(
        &app.client,
        &link,
        &csrf_token(&page),
        NEW_PASSWORD,
        NEW_PASSWORD,
        false,
    )
    .await;
    assert_eq!(response.status(), StatusCode::GONE);
    let response = password_login(&app, &browser(), MARCO, STRONG).await;
    assert_eq!(
        location(&response),
        "/login/otp",
        "the password is unchanged"
    );
    let response = password_login(&app, &browser(), MARCO, NEW_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn the_link_works_once(backend: Backend) {
    let app = spawn_app(backend).await;
    onboarded_person(&app).await;
    let link = request_reset(&app, MARCO).await;
    let page = text(app.client.get(&link).send().await.unwrap()).await;
    let csrf = csrf_token(&page);
    let response = post_reset(&app.client, &link, &csrf, NEW_PASSWORD, NEW_PASSWORD, false).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login?reset=done&lang=nl");

    let other = "Nog-Een-Sterk-Wachtw00rd-Iris";
    let response = post_reset(&app.client, &link, &csrf, other, other, false).await;
    assert_eq!(response.status(), StatusCode::GONE);
    assert_eq!(
        app.client.get(&link).send().await.unwrap().status(),
        StatusCode::GONE
    );
    let response = password_login(&app, &browser(), MARCO, other).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the replay changed nothing"
    );
    let response = password_login(&app, &browser(), MARCO, NEW_PASSWORD).await;
    assert_eq!(location(&response), "/login/otp");
}

async fn a_newer_link_kills_the_older_one(backend: Backend) {
    let app = spawn_app(backend).await;
    onboarded_person(&app).await;
    let first = request_reset(&app, MARCO).await;
    let first_page = text(app.client.get(&first).send().await.unwrap()).await;
    let second = request_reset(&app, MARCO).await;
    assert_ne!(first, second);
    assert_eq!(
        app.client.get(&first).send().await.unwrap().status(),
        StatusCode::GONE
    );
    let response = post_reset(
        &app.client,
        &first,
        &csrf_token(&first_page),
        NEW_PASSWORD,
        NEW_PASSWORD,
        false,
    )
    .await;
    assert_eq!(response.status(), StatusCode::GONE);
    let response = submit_reset(&app.client, &second, NEW_PASSWORD, NEW_PASSWORD, false).await;
    assert_eq!(location(&response), "/login?reset=done&lang=nl");
}

async fn a_weak_password_is_refused_at_its_field(backend: Backend) {
    let app = spawn_app(backend).await;
    onboarded_person(&app).await;
    let link = request_reset(&app, MARCO).await;
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "Kort-W4chtwoord",
            "Kort-W4chtwoord",
            "password",
            "minimaal 16 tekens",
        ),
        (
            "geen-hoofdletter-1234",
            "geen-hoofdletter-1234",
            "password",
            "1 hoofdletter",
        ),
        (
            "Geen-Cijfer-Hierin-Nee",
            "Geen-Cijfer-Hierin-Nee",
            "password",
            "1 cijfer",
        ),
        (
            "GeenSpeciaalTeken1234",
            "GeenSpeciaalTeken1234",
            "password",
            "1 speciaal teken",
        ),
        (
            NEW_PASSWORD,
            "Iets-Anders-Dan-Het-1e",
            "password_confirm",
            "komen niet overeen",
        ),
    ];
    for (password, confirm, field, message) in cases {
        let response = submit_reset(&app.client, &link, password, confirm, true).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{password}"
        );
        let html = text(response).await;
        assert_eq!(
            attr(&html, &format!("#{field}"), "aria-invalid").as_deref(),
            Some("true"),
            "{password}"
        );
        assert!(
            field_errors(&html, field).contains(message),
            "{password}: {}",
            field_errors(&html, field)
        );
        assert!(!text_of(&html, "[role=alert]").is_empty());
        assert!(!html.contains(password), "the password is not echoed");
        assert!(
            attr(&html, "#logout_others", "checked").is_some(),
            "the box stays ticked"
        );
    }
    // The password is unchanged and the link still usable.
    let response = password_login(&app, &browser(), MARCO, STRONG).await;
    assert_eq!(location(&response), "/login/otp");
    assert_eq!(
        app.client.get(&link).send().await.unwrap().status(),
        StatusCode::OK
    );
    assert!(!has_row(
        &audit_rows(&app).await,
        "password_reset_completed",
        "success"
    ));
}

async fn the_new_password_must_differ_from_the_current_one(backend: Backend) {
    let app = spawn_app(backend).await;
    onboarded_person(&app).await;
    let link = request_reset(&app, MARCO).await;
    let response = submit_reset(&app.client, &link, STRONG, STRONG, false).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = text(response).await;
    assert_eq!(
        attr(&html, "#password", "aria-invalid").as_deref(),
        Some("true")
    );
    assert!(
        field_errors(&html, "password").contains("verschillen van uw huidige wachtwoord"),
        "{}",
        field_errors(&html, "password")
    );
    let response = submit_reset(&app.client, &link, NEW_PASSWORD, NEW_PASSWORD, false).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

async fn after_a_reset_the_code_is_still_needed(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let link = request_reset(&app, MARCO).await;
    let response = submit_reset(&app.client, &link, NEW_PASSWORD, NEW_PASSWORD, false).await;
    assert_eq!(location(&response), "/login?reset=done&lang=nl");
    let html = text(app.get("/login?reset=done").await).await;
    assert!(
        text_of(&html, ".notice")
            .join(" ")
            .contains("Uw wachtwoord is gewijzigd."),
        "{html}"
    );

    // The old password no longer works; the message is the generic one.
    let response = password_login(&app, &browser(), MARCO, STRONG).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        text_of(&text(response).await, "[role=alert]")
            .join(" ")
            .contains("Ongeldig e-mailadres of wachtwoord.")
    );

    // The new one leads to the code step, not past it; the code finishes the login.
    let browser = browser();
    let response = password_login(&app, &browser, MARCO, NEW_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login/otp");
    assert_eq!(
        browser
            .get(format!("{}/welcome", app.address))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN,
        "not logged in before the code"
    );
    let response = code_login(&app, &browser, &fresh_code(&app, &person)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/welcome");
}

async fn a_reset_revokes_refresh_tokens_issued_before_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let rp = refresh_client(&app).await;
    let tokens = tokens_in(&app, &browser(), &rp, &person).await;
    assert!(tokens["refresh_token"].is_string());
    assert_eq!(
        introspect(&app, &rp, tokens["refresh_token"].as_str().unwrap()).await["active"],
        true
    );

    let link = request_reset(&app, MARCO).await;
    let response = submit_reset(&app.client, &link, NEW_PASSWORD, NEW_PASSWORD, false).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_invalid_grant(refresh(&app, &rp, &tokens).await);
    assert_eq!(
        introspect(&app, &rp, tokens["refresh_token"].as_str().unwrap()).await["active"],
        false
    );

    // Tokens issued after the reset work.
    let fresh = tokens_with_password(&app, &rp, &person, NEW_PASSWORD).await;
    assert_eq!(refresh(&app, &rp, &fresh).await.0, StatusCode::OK);

    let rows = audit_rows(&app).await;
    let completed = rows
        .iter()
        .find(|r| r.event == "password_reset_completed")
        .expect("a password_reset_completed row");
    assert_eq!(completed.outcome, "success");
    let details: serde_json::Value = serde_json::from_str(&completed.details).unwrap();
    assert_eq!(details["revoked_refresh_tokens"], 1);
}

/// `tokens_in` with another password than STRONG.
async fn tokens_with_password(
    app: &TestApp,
    rp: &TestClient,
    person: &Person,
    password: &str,
) -> serde_json::Value {
    let browser = browser();
    let url = authorize_url(app, rp, "openid offline_access", &[("nonce", "n-p")]);
    let response = browser.get(&url).send().await.unwrap();
    assert!(location(&response).starts_with("/login"));
    let response = password_login(app, &browser, &person.email, password).await;
    assert_eq!(location(&response), "/login/otp");
    let response = code_login(app, &browser, &fresh_code(app, person)).await;
    let callback = location(&response);
    assert!(callback.starts_with(REDIRECT), "{callback}");
    exchange(app, rp, &query_param(&callback, "code").unwrap()).await
}

async fn logout_other_devices_on_the_reset_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let rp = refresh_client(&app).await;
    // This device resets the password; the other one is logged in elsewhere.
    let this = browser();
    let mine = tokens_in(&app, &this, &rp, &person).await;
    let other = browser();
    let theirs = tokens_in(&app, &other, &rp, &person).await;
    assert!(query_param(&silent_authorize(&app, &other, &rp).await, "code").is_some());

    let link = request_reset(&app, MARCO).await;
    let response = submit_reset(&this, &link, NEW_PASSWORD, NEW_PASSWORD, true).await;
    assert_eq!(location(&response), "/login?reset=done&lang=nl");

    // The other device's SSO session is gone and its refresh token with it.
    let back = silent_authorize(&app, &other, &rp).await;
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("login_required")
    );
    assert!(query_param(&back, "code").is_none());
    assert_invalid_grant(refresh(&app, &rp, &theirs).await);
    // This device stays logged in (its refresh token, issued before the reset, is revoked too).
    assert!(query_param(&silent_authorize(&app, &this, &rp).await, "code").is_some());
    assert_invalid_grant(refresh(&app, &rp, &mine).await);

    let rows = audit_rows(&app).await;
    assert!(rows.iter().any(|r| r.event == "sessions_ended"
        && r.outcome == "success"
        && r.details.contains("logout_other_devices")));
}

async fn without_the_box_other_sessions_survive_but_not_their_refresh_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let rp = refresh_client(&app).await;
    let other = browser();
    let theirs = tokens_in(&app, &other, &rp, &person).await;

    let link = request_reset(&app, MARCO).await;
    let response = submit_reset(&browser(), &link, NEW_PASSWORD, NEW_PASSWORD, false).await;
    assert_eq!(location(&response), "/login?reset=done&lang=nl");

    let back = silent_authorize(&app, &other, &rp).await;
    let code = query_param(&back, "code").expect("the other SSO session lives on");
    assert_invalid_grant(refresh(&app, &rp, &theirs).await);
    // What the surviving session issues after the reset is usable.
    let fresh = exchange(&app, &rp, &code).await;
    assert!(fresh["id_token"].is_string());
    assert!(!has_row(
        &audit_rows(&app).await,
        "sessions_ended",
        "success"
    ));
}

async fn an_invited_person_gets_the_invitation_again(backend: Backend) {
    let app = spawn_app(backend).await;
    let (old_link, _) = invite_marco(&app, Language::Nl).await;
    let response = forgot(&app, &browser(), MARCO, "nl").await;
    assert_eq!(response.status(), StatusCode::OK);
    let mails = app.smtp.wait_for(MARCO, 2).await;
    let mail = mails.last().unwrap();
    let subject = mail.header("Subject").unwrap();
    assert!(
        subject.starts_with("Belangrijk: maak nu uw account aan"),
        "{subject}"
    );
    let link = app.local(&mail.link());
    assert!(link.contains("/invitation/"), "{link}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mails = app.smtp.mails_to(MARCO);
    assert_eq!(mails.len(), 2, "no reset mail besides");
    assert!(
        mails
            .iter()
            .all(|m| m.header("Subject").unwrap() != "Wachtwoord wijzigen")
    );
    // The new invitation replaced the old one; it leads to registration.
    assert_eq!(
        app.client.get(&old_link).send().await.unwrap().status(),
        StatusCode::GONE
    );
    assert_eq!(location(&register(&app, &link, STRONG).await), "/otp/setup");
}

async fn staff_resend_an_invitation(backend: Backend) {
    let app = spawn_app(backend).await;
    let (old_link, _) = invite_marco(&app, Language::Nl).await;
    let invited = account::resend_invitation(&app.state, &staff(), &email(MARCO))
        .await
        .unwrap();
    let mail = app.smtp.wait_for(MARCO, 2).await.pop().unwrap();
    let link = app.local(&mail.link());
    assert_eq!(link, invited.link);
    assert_ne!(link, old_link);
    assert!(
        mail.header("Subject")
            .unwrap()
            .starts_with("Belangrijk: maak nu uw account aan")
    );
    assert!(mail.text().contains("Beste heer/mevrouw Van Basten,"));
    assert_eq!(
        app.client.get(&old_link).send().await.unwrap().status(),
        StatusCode::GONE
    );
    assert_eq!(location(&register(&app, &link, STRONG).await), "/otp/setup");

    // Once registered there is nothing to resend.
    assert!(matches!(
        account::resend_invitation(&app.state, &staff(), &email(MARCO)).await,
        Err(JourneyError::AlreadyRegistered(_))
    ));
    assert!(matches!(
        account::resend_invitation(&app.state, &staff(), &email("niemand@ek88.nl")).await,
        Err(JourneyError::UnknownUser)
    ));
    assert!(has_row(
        &audit_rows(&app).await,
        "invitation_resent",
        "success"
    ));
}

async fn staff_reset_the_authenticator(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let rp = refresh_client(&app).await;
    let device = browser();
    let tokens = tokens_in(&app, &device, &rp, &person).await;
    let sessions = account::list_sessions(&app.state, &staff(), &email(MARCO))
        .await
        .unwrap();
    assert!(!sessions.is_empty());

    account::reset_authenticator(&app.state, &staff(), &email(MARCO))
        .await
        .unwrap();
    assert!(
        account::list_sessions(&app.state, &staff(), &email(MARCO))
            .await
            .unwrap()
            .is_empty(),
        "every session ended"
    );
    let back = silent_authorize(&app, &device, &rp).await;
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("login_required")
    );
    assert_invalid_grant(refresh(&app, &rp, &tokens).await);

    // The next login goes to the set-up of a new authenticator; the old one's codes are useless.
    let browser = browser();
    let response = password_login(&app, &browser, MARCO, STRONG).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/otp/setup");
    assert_eq!(
        browser
            .get(format!("{}/login/otp", app.address))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN,
        "no code step with the old authenticator"
    );
    let html = browser
        .get(format!("{}/otp/setup", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let secret = secret_from_page(&html);
    assert_ne!(secret.as_bytes(), person.secret.as_bytes());
    app.clock.advance(30);
    let code = secret.code_at(step_at(app.clock.now()));
    let response = browser
        .post(format!("{}/otp/setup", app.address))
        .form(&[
            ("csrf_token", csrf_token(&html).as_str()),
            ("otp_code", code.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    // From now on the new authenticator's codes log in.
    let renewed = Person {
        email: MARCO.into(),
        secret,
    };
    let url = authorize_url(&app, &rp, "openid", &[]);
    let callback = log_in(&app, &crate::helpers::browser(), &url, &renewed).await;
    assert!(query_param(&callback, "code").is_some());

    let rows = audit_rows(&app).await;
    assert!(has_row(&rows, "otp_reset", "success"));
    assert!(
        rows.iter()
            .any(|r| r.event == "sessions_ended" && r.details.contains("otp_reset"))
    );
}

async fn staff_disable_and_enable_an_account(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let rp = refresh_client(&app).await;
    let device = browser();
    let tokens = tokens_in(&app, &device, &rp, &person).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(introspect(&app, &rp, &access).await["active"], true);

    let wrong = password_login(&app, &browser(), MARCO, "Helemaal-Fout-Wachtw00rd").await;
    assert_eq!(wrong.status(), StatusCode::OK);
    let wrong = text_of(&text(wrong).await, "[role=alert]");

    account::disable(&app.state, &staff(), &email(MARCO))
        .await
        .unwrap();
    // The right password now gets the same answer as a wrong one.
    let refused = password_login(&app, &browser(), MARCO, STRONG).await;
    assert_eq!(refused.status(), StatusCode::OK);
    let refused_html = text(refused).await;
    assert_eq!(text_of(&refused_html, "[role=alert]"), wrong);
    assert!(
        wrong
            .join(" ")
            .contains("Ongeldig e-mailadres of wachtwoord.")
    );
    // Its session, refresh token and access token are dead; a reset mail is not sent.
    let back = silent_authorize(&app, &device, &rp).await;
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("login_required")
    );
    assert_invalid_grant(refresh(&app, &rp, &tokens).await);
    assert_eq!(
        introspect(&app, &rp, &access).await,
        serde_json::json!({"active": false})
    );
    let userinfo = browser()
        .get(format!("{}/userinfo", app.address))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), StatusCode::UNAUTHORIZED);
    let mails = app.smtp.mails_to(MARCO).len();
    assert_eq!(
        forgot(&app, &browser(), MARCO, "nl").await.status(),
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        app.smtp.mails_to(MARCO).len(),
        mails,
        "no mail for a disabled account"
    );

    account::enable(&app.state, &staff(), &email(MARCO))
        .await
        .unwrap();
    let url = authorize_url(&app, &rp, "openid offline_access", &[]);
    let callback = log_in(&app, &browser(), &url, &person).await;
    let fresh = exchange(&app, &rp, &query_param(&callback, "code").unwrap()).await;
    assert_eq!(refresh(&app, &rp, &fresh).await.0, StatusCode::OK);
    assert_invalid_grant(refresh(&app, &rp, &tokens).await);

    let rows = audit_rows(&app).await;
    assert!(has_row(&rows, "user_disabled", "success"));
    assert!(has_row(&rows, "user_enabled", "success"));
}

async fn a_superuser_manages_only_their_own_organisation(backend: Backend) {
    let app = spawn_app(backend).await;
    onboarded_person(&app).await;
    let marco = user(&app, MARCO).await;
    let other_org = app.create_organisation("Ajax").await;
    let outsider = Actor::Superuser {
        user_id: "superuser-of-ajax".into(),
        organisation_id: other_org,
    };
    let address = email(MARCO);
    assert!(matches!(
        account::resend_invitation(&app.state, &outsider, &address).await,
        Err(JourneyError::NotAllowed)
    ));
    assert!(matches!(
        account::reset_authenticator(&app.state, &outsider, &address).await,
        Err(JourneyError::NotAllowed)
    ));
    assert!(matches!(
        account::end_sessions(&app.state, &outsider, &address).await,
        Err(JourneyError::NotAllowed)
    ));
    assert!(matches!(
        account::list_sessions(&app.state, &outsider, &address).await,
        Err(JourneyError::NotAllowed)
    ));
    assert!(matches!(
        account::disable(&app.state, &outsider, &address).await,
        Err(JourneyError::NotAllowed)
    ));
    assert!(matches!(
        account::enable(&app.state, &outsider, &address).await,
        Err(JourneyError::NotAllowed)
    ));
    assert_eq!(
        user(&app, MARCO).await.status.as_str(),
        "active",
        "nothing changed"
    );
    let rows = audit_rows(&app).await;
    assert!(!has_row(&rows, "otp_reset", "success"));
    assert!(!has_row(&rows, "user_disabled", "success"));

    // The superuser of the person's own organisation may.
    let own = Actor::Superuser {
        user_id: "superuser-of-ek88".into(),
        organisation_id: marco.organisation_id.clone().unwrap(),
    };
    account::disable(&app.state, &own, &address).await.unwrap();
    assert_eq!(user(&app, MARCO).await.status.as_str(), "disabled");
    account::enable(&app.state, &own, &address).await.unwrap();
    assert_eq!(user(&app, MARCO).await.status.as_str(), "active");
}

async fn the_audit_log_records_each_event(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let marco = user(&app, MARCO).await.id;
    let since = app.clock.now();
    app.clock.advance(1);
    let org = user(&app, MARCO).await.organisation_id.unwrap();
    invite_to(&app, &org, "ruud@ek88.nl", Some("Gullit"), Language::Nl).await;

    // Login: a failure (reason kept server-side only), then a success, then a logout.
    let response = password_login(&app, &browser(), MARCO, "Helemaal-Fout-Wachtw00rd").await;
    let html = text(response).await;
    assert!(!html.contains("wrong_password"), "the reason is not shown");
    let response = password_login(&app, &browser(), "niemand@ek88.nl", STRONG).await;
    assert_eq!(response.status(), StatusCode::OK);
    let device = browser();
    let response = password_login(&app, &device, MARCO, STRONG).await;
    assert_eq!(location(&response), "/login/otp");
    let response = code_login(&app, &device, &fresh_code(&app, &person)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let confirm = text(
        device
            .get(format!("{}/logout", app.address))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let response = device
        .post(format!("{}/logout", app.address))
        .form(&[("csrf_token", csrf_token(&confirm).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // Password reset, requested and completed.
    let link = request_reset(&app, MARCO).await;
    let response = submit_reset(&browser(), &link, NEW_PASSWORD, NEW_PASSWORD, false).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    // Recovery by staff.
    let actor = Actor::HccStaff {
        user_id: Some("staff-1".into()),
    };
    account::resend_invitation(&app.state, &staff(), &email("ruud@ek88.nl"))
        .await
        .unwrap();
    let device = browser();
    assert_eq!(
        location(&password_login(&app, &device, MARCO, NEW_PASSWORD).await),
        "/login/otp"
    );
    code_login(&app, &device, &fresh_code(&app, &person)).await;
    let ended = account::end_sessions(&app.state, &actor, &email(MARCO))
        .await
        .unwrap();
    assert!(ended >= 1, "{ended}");
    account::reset_authenticator(&app.state, &actor, &email(MARCO))
        .await
        .unwrap();
    account::disable(&app.state, &actor, &email(MARCO))
        .await
        .unwrap();
    account::enable(&app.state, &actor, &email(MARCO))
        .await
        .unwrap();

    // What `idp admin audit --user marco@ek88.nl --since …` reads.
    let rows = app
        .state
        .db
        .run({
            let marco = marco.clone();
            move |c| idp::storage::audit::list(c, Some(&marco), since + 1)
        })
        .await
        .unwrap();
    assert!(
        rows.iter()
            .all(|r| r.user_id.as_deref() == Some(marco.as_str()))
    );
    assert!(rows.iter().all(|r| r.occurred_at > since));
    assert!(
        !rows.iter().any(|r| r.event == "registration"),
        "older rows are left out"
    );
    assert!(
        rows.windows(2)
            .all(|w| w[0].occurred_at <= w[1].occurred_at)
    );
    let events: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.event.as_str(), r.outcome.as_str()))
        .collect();
    for expected in [
        ("login", "failure"),
        ("login_password", "success"),
        ("login", "success"),
        ("logout", "success"),
        ("password_reset_requested", "success"),
        ("password_reset_completed", "success"),
        ("sessions_ended", "success"),
        ("otp_reset", "success"),
        ("user_disabled", "success"),
        ("user_enabled", "success"),
    ] {
        assert!(events.contains(&expected), "{expected:?}: {events:?}");
    }
    let failed = rows
        .iter()
        .find(|r| r.event == "login" && r.outcome == "failure")
        .unwrap();
    let details: serde_json::Value = serde_json::from_str(&failed.details).unwrap();
    assert_eq!(details["stage"], "password");
    assert_eq!(details["reason"], "wrong_password_or_not_active");
    assert!(failed.ip_address.is_some());
    assert!(
        !failed.details.contains("Helemaal-Fout"),
        "no password in the log"
    );
    let disabled = rows.iter().find(|r| r.event == "user_disabled").unwrap();
    assert!(disabled.details.contains("staff-1"), "who did it");

    // The unknown address and the other person's events are in the full log.
    let all = audit_rows(&app).await;
    assert!(all.iter().any(|r| r.event == "login"
        && r.outcome == "failure"
        && r.user_id.is_none()
        && r.details.contains("unknown_user")));
    let ruud = user(&app, "ruud@ek88.nl").await.id;
    assert!(
        all.iter()
            .any(|r| r.event == "invitation_resent" && r.user_id.as_deref() == Some(ruud.as_str()))
    );
}

both_backends!(
    forgot_page_labels_match_the_manual,
    forgot_answers_the_same_for_known_and_unknown_addresses,
    forgot_refuses_an_invalid_address_at_its_field,
    reset_mail_as_the_manual_shows_it,
    reset_page_labels_match_the_manual,
    the_link_expires_after_15_minutes,
    the_link_works_once,
    a_newer_link_kills_the_older_one,
    a_weak_password_is_refused_at_its_field,
    the_new_password_must_differ_from_the_current_one,
    after_a_reset_the_code_is_still_needed,
    a_reset_revokes_refresh_tokens_issued_before_it,
    logout_other_devices_on_the_reset_page,
    without_the_box_other_sessions_survive_but_not_their_refresh_tokens,
    an_invited_person_gets_the_invitation_again,
    staff_resend_an_invitation,
    staff_reset_the_authenticator,
    staff_disable_and_enable_an_account,
    a_superuser_manages_only_their_own_organisation,
    the_audit_log_records_each_event,
);
