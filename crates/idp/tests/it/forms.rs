//! What every form shares, over HTTP: the CSRF token bound to the browser and its session and
//! new on every page, the login's answer to a wrong password at the form (not at a field), and
//! the login page filled in with the address whose password was just reset.

use reqwest::StatusCode;

use crate::both_backends;
use crate::driver::*;
use crate::helpers::*;

const NEW_PASSWORD: &str = "Nieuw-Sterk-Wachtw00rd-Roos";
const CSRF_TITLE: &str = "Het formulier is verlopen";

async fn every_page_carries_a_new_token_and_each_works(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let browser = app.browser();
    let first = csrf_token(&browser.page("/login").await);
    let second = csrf_token(&browser.page("/login").await);
    assert_ne!(first, second, "a new token on every page");

    // The older of the two still verifies: both pages belong to this browser and no session.
    let response = browser
        .post(
            "/login",
            &[
                ("csrf_token", first.as_str()),
                ("email", person.email.as_str()),
                ("password", person.password.as_str()),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login/otp");
}

async fn a_token_from_before_the_login_is_refused_after_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let browser = app.browser();
    let before = csrf_token(&browser.page("/login").await);
    assert_eq!(
        browser.log_in(&person).await.status(),
        StatusCode::SEE_OTHER
    );

    // The same browser cookie, but the session changed: the old token no longer verifies.
    let stale = browser
        .post("/account/sessions/end-others", &[("csrf_token", &before)])
        .await;
    assert_eq!(stale.status(), StatusCode::FORBIDDEN);
    let html = stale.text().await.unwrap();
    assert!(
        html.contains(CSRF_TITLE),
        "a page in the person's language: {html}"
    );

    // A token from a page of the new session does.
    let fresh = csrf_token(&browser.page("/account").await);
    assert_ne!(fresh, before);
    let response = browser
        .post("/account/sessions/end-others", &[("csrf_token", &fresh)])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

async fn a_token_of_a_session_that_ended_is_refused_in_the_next(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let browser = app.browser();
    assert_eq!(
        browser.log_in(&person).await.status(),
        StatusCode::SEE_OTHER
    );
    let first_session = csrf_token(&browser.page("/account").await);

    // Log out and in again in the same browser: a new session id.
    let response = browser.post_form("/logout", &[]).await;
    assert!(response.status().is_redirection() || response.status() == StatusCode::OK);
    assert_eq!(
        browser.log_in(&person).await.status(),
        StatusCode::SEE_OTHER
    );
    let response = browser
        .post(
            "/account/sessions/end-others",
            &[("csrf_token", &first_session)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

async fn a_wrong_password_is_answered_at_the_form_and_marks_neither_field(backend: Backend) {
    let app = spawn_app(backend).await;
    onboarded_person(&app).await;
    let response = app
        .browser()
        .log_in_password(MARCO, "Helemaal-Fout-Wachtw00rd")
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(
        alert(&html).contains("Ongeldig e-mailadres of wachtwoord."),
        "{html}"
    );
    for field in ["#email", "#password"] {
        assert_eq!(
            attr(&html, field, "aria-invalid"),
            None,
            "{field} in {html}"
        );
    }
    assert!(text_of(&html, ".field.has-error").is_empty(), "{html}");
    // The summary names no field to go to either.
    assert!(text_of(&html, ".error-summary a").is_empty(), "{html}");
    // The address stays filled in; the password does not.
    assert_eq!(attr(&html, "#email", "value").as_deref(), Some(MARCO));
    assert_eq!(attr(&html, "#password", "value"), None);
}

async fn after_a_reset_the_login_page_is_filled_in_with_the_address(backend: Backend) {
    let app = spawn_app(backend).await;
    onboarded_person(&app).await;
    let mailbox = app.mailbox();
    let before = mailbox.settled_count(MARCO).await;
    let browser = app.browser();
    assert_eq!(
        browser.forgot_password(MARCO, "nl").await.status(),
        StatusCode::OK
    );
    let link = mailbox.link(&mailbox.nth(MARCO, before + 1).await);
    let response = browser
        .post_form(
            &link,
            &[
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(location(&response), "/login?reset=done&lang=nl");
    let cookie = set_cookie(&response, "hcc_reset_email").expect("the address cookie");
    assert!(!cookie.contains("ek88"), "the address is sealed: {cookie}");

    let html = browser.page("/login?reset=done&lang=nl").await;
    assert_eq!(attr(&html, "#email", "value").as_deref(), Some(MARCO));
    assert_eq!(attr(&html, "#password", "value"), None);
    // Only on the way back from the reset, and only in that browser.
    let html = browser.page("/login").await;
    assert_eq!(attr(&html, "#email", "value").as_deref(), Some(""));
    let html = app.browser().page("/login?reset=done&lang=nl").await;
    assert_eq!(attr(&html, "#email", "value").as_deref(), Some(""));
}

both_backends!(
    every_page_carries_a_new_token_and_each_works,
    a_token_from_before_the_login_is_refused_after_it,
    a_token_of_a_session_that_ended_is_refused_in_the_next,
    a_wrong_password_is_answered_at_the_form_and_marks_neither_field,
    after_a_reset_the_login_page_is_filled_in_with_the_address,
);
