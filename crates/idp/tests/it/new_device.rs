//! "Nieuwe aanmelding op uw account": a login from a browser that has not logged in to the
//! account before (no device cookie naming it) sends the person a notice with when, which
//! browser and platform, from which address, and what to do if it was not them. The browser
//! they registered or logged in with before stays quiet; `mail.new_device_notice` turns it off.

use reqwest::StatusCode;

use crate::both_backends;
use crate::driver::*;
use crate::helpers::*;

const FIREFOX_ON_WINDOWS: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";

async fn a_login_from_a_new_browser_is_notified_and_a_known_one_is_not(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let mailbox = app.mailbox();
    let before = mailbox.settled_count(MARCO).await;

    // A browser new to the account.
    let browser = app.browser_as(FIREFOX_ON_WINDOWS);
    let response = browser.log_in(&person).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let notice = mailbox.nth(MARCO, before + 1).await;
    assert_eq!(
        notice.header("subject").as_deref(),
        Some("Nieuwe aanmelding op uw account")
    );
    let text = notice.text();
    for needle in [
        "Firefox op Windows",
        "127.0.0.1",
        "(Nederlandse tijd)",
        "Wachtwoord vergeten?",
        "Uitloggen op andere apparaten",
    ] {
        assert!(text.contains(needle), "{needle} not in\n{text}");
    }
    assert!(
        !notice.html().contains("href=\"http"),
        "a notice carries no link"
    );
    assert!(app.admin().logged("login", "success").await);

    // The same browser logging in again (prompt=login) is known now: no second notice.
    let rp = app.refresh_client().await;
    let callback = browser
        .authorize(&rp.authorize_url("openid", &[("prompt", "login")]), &person)
        .await;
    assert!(callback.starts_with(REDIRECT), "{callback}");
    assert_eq!(mailbox.settled_count(MARCO).await, before + 1);
}

both_backends!(a_login_from_a_new_browser_is_notified_and_a_known_one_is_not);

async fn the_new_device_notice_can_be_turned_off(backend: Backend) {
    let app = spawn_app_with(
        backend,
        Options::settings(|s| s.mail.new_device_notice = false),
    )
    .await;
    let person = onboarded_person(&app).await;
    let mailbox = app.mailbox();
    let before = mailbox.settled_count(MARCO).await;
    let response = app.browser().log_in(&person).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(mailbox.settled_count(MARCO).await, before);
}

both_backends!(the_new_device_notice_can_be_turned_off);
