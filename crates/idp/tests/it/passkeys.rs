//! Passkeys and security keys (WebAuthn Level 2) as a second factor: registered on the account
//! page, used at login instead of the one-time code (**Inloggen met passkey**) or at a
//! step-up, with a software authenticator that counts its signatures. The refusals: a cloned
//! authenticator, an answer signed for another origin, a challenge answered twice.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::driver::*;
use crate::helpers::*;

/// Marco logged in (fresh) with a passkey registered on his account page.
async fn marco_with_a_passkey(app: &TestApp) -> (Person, Browser, SoftKey) {
    let (person, browser, _) = app.marco_logged_in().await;
    let mut key = SoftKey::new();
    let response = browser.add_passkey(app, &mut key, "YubiKey").await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        answer["location"], "/account?done=passkey_added",
        "{answer}"
    );
    (person, browser, key)
}

async fn a_passkey_added_on_the_account_page_is_listed_noticed_and_audited(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, browser, _) = app.marco_logged_in().await;
    let before = marco_mails(&app).await;
    let response = browser
        .add_passkey(&app, &mut SoftKey::new(), "YubiKey")
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = browser.account_page_at("/account?done=passkey_added").await;
    assert!(page.contains("De passkey is toegevoegd."), "{page}");
    assert!(
        authenticator_names(&page)
            .iter()
            .any(|n| n.starts_with("YubiKey"))
    );
    let notice = app.the_new_mail(MARCO, before).await;
    assert_eq!(
        notice.header("subject").as_deref(),
        Some("Passkey toegevoegd")
    );
    let details = audit_detail(&app, "passkey_added", "success").await;
    assert_eq!(details["name"], "YubiKey");
    assert_eq!(details["synced"], false, "a security key is device-bound");
}

async fn a_passkey_logs_in_instead_of_the_code_with_amr_hwk(backend: Backend) {
    let app = spawn_app(backend).await;
    let (person, _, mut key) = marco_with_a_passkey(&app).await;
    let rp = app.refresh_client().await;
    let other = app.browser();
    let at_code_step = other
        .authorize_to_code_step(&rp.authorize_url("openid", &[]), &person)
        .await;
    assert!(at_code_step.is_none(), "stopped at the code step");
    let code_page = other.page("/login/otp").await;
    assert!(code_page.contains("Inloggen met passkey"), "{code_page}");
    assert!(
        code_page.contains("Authenticatiecode"),
        "the app's code stays the default"
    );
    let response = other.log_in_passkey(&app, &mut key).await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer: Value = response.json().await.unwrap();
    let back = answer["location"].as_str().expect("where to go").to_owned();
    assert!(back.starts_with(REDIRECT), "{back}");
    let code = query_param(&back, "code").expect("a code");
    let (status, tokens) = rp.exchange(&code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let claims = jwt_part(tokens["id_token"].as_str().unwrap(), 1);
    assert_eq!(claims["amr"], json!(["pwd", "hwk"]), "{claims}");
    assert_eq!(
        claims["acr"],
        app.state.settings.oidc.acr.as_str(),
        "acr stays the two-factor value"
    );
    let details = audit_detail(&app, "login", "success").await;
    assert_eq!(details["method"], "passkey");
    assert!(other.has_account_session().await);
}

async fn a_cloned_authenticator_is_refused_by_its_counter(backend: Backend) {
    let app = spawn_app(backend).await;
    let (person, _, mut key) = marco_with_a_passkey(&app).await;
    let clone = key.clone_now();
    // The original is used: its counter moves past the copy's.
    let first = app.browser();
    assert_eq!(
        first
            .log_in_password(&person.email, &person.password)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        first.log_in_passkey(&app, &mut key).await.status(),
        StatusCode::OK
    );
    let mut clone = clone;
    let thief = app.browser();
    assert_eq!(
        thief
            .log_in_password(&person.email, &person.password)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let response = thief.log_in_passkey(&app, &mut clone).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        answer["error"],
        "De passkey is niet geaccepteerd. Probeer het opnieuw."
    );
    assert!(!thief.has_account_session().await);
    let details = audit_detail(&app, "login", "failure").await;
    assert_eq!(details["reason"], "passkey_refused");
    // The original goes on working.
    let again = app.browser();
    again.log_in_password(&person.email, &person.password).await;
    assert_eq!(
        again.log_in_passkey(&app, &mut key).await.status(),
        StatusCode::OK
    );
}

async fn an_answer_signed_for_another_origin_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let (person, browser, mut key) = marco_with_a_passkey(&app).await;
    let evil = "http://evil.example:8443";
    // At login: a phishing page relays the challenge.
    let victim = app.browser();
    victim
        .log_in_password(&person.email, &person.password)
        .await;
    let (csrf, options) = victim
        .passkey_options("/login/otp", "/login/passkey/options")
        .await;
    let credential = key.get_as(evil, options);
    let response = victim
        .post_json(
            "/login/passkey",
            &json!({ "csrf_token": csrf, "credential": credential }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!victim.has_account_session().await);
    // At registration.
    let mut second = SoftKey::new();
    let (csrf, options) = browser
        .passkey_options("/account", "/account/passkeys/options")
        .await;
    let credential = second.create_as(evil, options);
    let response = browser
        .post_json(
            "/account/passkeys",
            &json!({ "csrf_token": csrf, "name": "Nep", "credential": credential }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = browser.account_page().await;
    assert!(
        !authenticator_names(&page)
            .iter()
            .any(|n| n.starts_with("Nep"))
    );
}

async fn a_challenge_is_answered_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let (person, _, mut key) = marco_with_a_passkey(&app).await;
    let browser = app.browser();
    browser
        .log_in_password(&person.email, &person.password)
        .await;
    let (csrf, options) = browser
        .passkey_options("/login/otp", "/login/passkey/options")
        .await;
    let credential = key.get(&app.webauthn_origin(), options);
    let body = json!({ "csrf_token": csrf, "credential": credential });
    // Another browser at the code step of the same account replays the answer.
    let replayer = app.browser();
    replayer
        .log_in_password(&person.email, &person.password)
        .await;
    let csrf2 = replayer.csrf_of("/login/otp").await;
    let replayed = json!({ "csrf_token": csrf2, "credential": body["credential"] });
    let response = replayer.post_json("/login/passkey", &replayed).await;
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "not its challenge"
    );
    assert_eq!(
        browser.post_json("/login/passkey", &body).await.status(),
        StatusCode::OK
    );
    // The same answer again in a new login of the first browser.
    browser
        .log_in_password(&person.email, &person.password)
        .await;
    let csrf3 = browser.csrf_of("/login/otp").await;
    let again = json!({ "csrf_token": csrf3, "credential": body["credential"] });
    assert_eq!(
        browser.post_json("/login/passkey", &again).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

async fn without_the_csrf_token_no_ceremony_starts(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, browser, _) = app.marco_logged_in().await;
    for path in [
        "/account/passkeys/options",
        "/account/confirm/passkey/options",
    ] {
        let response = browser
            .post_json(path, &json!({ "csrf_token": "forged" }))
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let response = browser
        .post_json(
            "/account/passkeys",
            &json!({ "csrf_token": "forged", "credential": {} }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

async fn a_stale_login_is_sent_to_confirm_before_a_passkey_is_added(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, browser, _) = app.marco_logged_in().await;
    app.make_login_stale();
    let csrf = browser.csrf_of("/account").await;
    let response = browser
        .post_json("/account/passkeys/options", &json!({ "csrf_token": csrf }))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["location"], "/account/confirm?next=authenticators");
}

async fn a_passkey_confirms_a_step_up(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, browser, mut key) = marco_with_a_passkey(&app).await;
    app.make_login_stale();
    let page = browser.page("/account/confirm?next=sessions").await;
    assert!(page.contains("Bevestigen met passkey"), "{page}");
    let (csrf, options) = browser
        .passkey_options(
            "/account/confirm?next=sessions",
            "/account/confirm/passkey/options",
        )
        .await;
    let credential = key.get(&app.webauthn_origin(), options);
    let response = browser
        .post_json(
            "/account/confirm/passkey",
            &json!({ "csrf_token": csrf, "credential": credential, "next": "sessions" }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["location"], "/account#sessions");
    let details = audit_detail(&app, "step_up", "success").await;
    assert_eq!(details["method"], "passkey");
}

async fn with_a_passkey_the_app_may_go_and_the_last_factor_may_not(backend: Backend) {
    let app = spawn_app(backend).await;
    let (person, browser, mut key) = marco_with_a_passkey(&app).await;
    let app_id = app.authenticators_of(MARCO).await[0].id.clone();
    let response = browser
        .account_post(&format!("/account/authenticators/{app_id}/remove"), &[])
        .await;
    assert_eq!(location(&response), "/account?done=authenticator_removed");
    // Only the passkey is left: it may not go.
    let page = browser.account_page().await;
    assert!(
        !page.contains("/remove\""),
        "no remove button for the last factor"
    );
    // The login offers the passkey alone, and it logs in.
    let other = app.browser();
    let response = other.log_in_password(&person.email, &person.password).await;
    assert_eq!(
        location(&response),
        "/login/otp",
        "not sent to set up an app"
    );
    let code_page = other.page("/login/otp").await;
    assert!(code_page.contains("Inloggen met passkey"));
    assert!(!code_page.contains("id=\"otp_code\""), "{code_page}");
    assert_eq!(
        other.log_in_passkey(&app, &mut key).await.status(),
        StatusCode::OK
    );
}

async fn an_administrators_reset_removes_the_passkeys_too(backend: Backend) {
    let app = spawn_app(backend).await;
    let (person, _, _) = marco_with_a_passkey(&app).await;
    app.admin().reset_authenticator(MARCO).await.unwrap();
    let browser = app.browser();
    let response = browser
        .log_in_password(&person.email, &person.password)
        .await;
    assert_eq!(
        location(&response),
        "/otp/setup",
        "a new second factor is set up"
    );
}

both_backends!(
    a_passkey_added_on_the_account_page_is_listed_noticed_and_audited,
    a_passkey_logs_in_instead_of_the_code_with_amr_hwk,
    a_cloned_authenticator_is_refused_by_its_counter,
    an_answer_signed_for_another_origin_is_refused,
    a_challenge_is_answered_once,
    without_the_csrf_token_no_ceremony_starts,
    a_stale_login_is_sent_to_confirm_before_a_passkey_is_added,
    a_passkey_confirms_a_step_up,
    with_a_passkey_the_app_may_go_and_the_last_factor_may_not,
    an_administrators_reset_removes_the_passkeys_too,
);
