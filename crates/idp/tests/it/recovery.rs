//! Manual §2.3 and account recovery over HTTP: "Wachtwoord vergeten?", the 15-minute
//! single-use link, "Wachtwoord bijwerken" with "Uitloggen op andere apparaten", what a reset
//! does to sessions and refresh tokens, recovery by HCC staff or a superuser, and the audit rows.

use idp::clock::Clock;
use idp::domain::Language;
use idp::journeys::JourneyError;
use idp::journeys::account::Actor;
use reqwest::StatusCode;

use crate::both_backends;
use crate::driver::*;
use crate::helpers::*;

const NEW_PASSWORD: &str = "Nieuw-Sterk-Wachtw00rd-Roos";

async fn text(response: reqwest::Response) -> String {
    response.text().await.unwrap()
}

/// Asks for a reset link (Dutch) and returns the link from the mail that arrives.
async fn request_reset(app: &TestApp, address: &str) -> String {
    request_reset_mail(app, address, "nl").await.0
}

async fn request_reset_mail(app: &TestApp, address: &str, lang: &str) -> (String, ReceivedMail) {
    let mailbox = app.mailbox();
    let before = mailbox.settled_count(address).await;
    let response = app.browser().forgot_password(address, lang).await;
    assert_eq!(response.status(), StatusCode::OK);
    let mail = mailbox.nth(address, before + 1).await;
    (mailbox.link(&mail), mail)
}

/// The fields of "Wachtwoord bijwerken".
fn reset_form<'a>(
    password: &'a str,
    confirm: &'a str,
    logout_others: bool,
) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![("password", password), ("password_confirm", confirm)];
    if logout_others {
        form.push(("logout_others", "on"));
    }
    form
}

/// Opens the link in `browser` and submits "Wachtwoord bijwerken".
async fn submit_reset(
    browser: &Browser,
    link: &str,
    password: &str,
    confirm: &str,
    logout_others: bool,
) -> reqwest::Response {
    browser
        .post_form(link, &reset_form(password, confirm, logout_others))
        .await
}

/// Submits "Wachtwoord bijwerken" from a page opened earlier (its CSRF token `csrf`).
async fn post_reset(
    browser: &Browser,
    link: &str,
    csrf: &str,
    password: &str,
) -> reqwest::Response {
    let mut form = vec![("csrf_token", csrf)];
    form.extend(reset_form(password, password, false));
    browser.post(link, &form).await
}

async fn forgot_page_labels_match_the_manual(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser();
    let login = text(browser.get("/login").await).await;
    assert_eq!(
        attr(&login, "a[href='/password/forgot']", "href").as_deref(),
        Some("/password/forgot")
    );
    assert!(text_of(&login, "a").contains(&"Wachtwoord vergeten?".to_owned()));

    let response = browser.get("/password/forgot").await;
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

    let html = text(browser.get("/password/forgot?lang=en").await).await;
    assert_eq!(text_of(&html, "h1"), ["Forgot password?"]);
    assert_eq!(
        text_of(&html, "form[method=post] button[type=submit]"),
        ["Send"]
    );
}

async fn forgot_answers_the_same_for_known_and_unknown_addresses(backend: Backend) {
    let app = spawn_app(backend).await;
    onboarded_person(&app).await;
    let mailbox = app.mailbox();
    let invitation_mails = mailbox.queued_for(MARCO).await.len();
    let browser = app.browser();
    let known = browser.forgot_password(MARCO, "nl").await;
    let unknown = browser.forgot_password("niemand@ek88.nl", "nl").await;
    assert_eq!(known.status(), StatusCode::OK);
    assert_eq!(unknown.status(), known.status());
    let (known, unknown) = (text(known).await, text(unknown).await);
    assert_eq!(without_csrf(&known), without_csrf(&unknown));
    assert_eq!(text_of(&known, "h1"), ["Controleer uw e-mail"]);
    assert!(!known.contains(MARCO) && !unknown.contains("niemand"));

    // Both requests are handled after the answer; once that is done, the outbox is final.
    assert!(mailbox.queued_for("niemand@ek88.nl").await.is_empty());
    assert_eq!(mailbox.queued_for(MARCO).await.len(), invitation_mails + 1);
    mailbox.wait_for(MARCO, invitation_mails + 1).await;
    assert!(mailbox.mails_to("niemand@ek88.nl").is_empty());
    assert_eq!(mailbox.mails_to(MARCO).len(), invitation_mails + 1);

    let rows = app.admin().audit_log().await;
    let marco = app.admin().user(MARCO).await.id;
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
    let response = app.browser().forgot_password("geen-adres", "nl").await;
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
    let mailbox = app.mailbox();
    assert!(mailbox.queued().await.is_empty(), "nothing queued");
    assert!(mailbox.all().is_empty());
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
    let browser = app.browser();
    onboarded_person(&app).await;
    let link = request_reset(&app, MARCO).await;
    let response = browser.get(&link).await;
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
    let browser = app.browser();
    onboarded_person(&app).await;
    let link = request_reset(&app, MARCO).await;
    app.clock.advance(15 * 60 - 5);
    let response = browser.get(&link).await;
    assert_eq!(response.status(), StatusCode::OK, "still valid just before");

    app.clock.advance(6);
    let response = browser.get(&link).await;
    assert_eq!(response.status(), StatusCode::GONE);
    let html = text(response).await;
    assert_eq!(text_of(&html, "h1"), ["Deze link is niet (meer) geldig"]);
    assert_eq!(
        attr(&html, "a.button", "href").as_deref(),
        Some("/password/forgot"),
        "it says where to get a new one"
    );
}

async fn a_reset_form_opened_before_the_expiry_cannot_be_submitted_after_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser();
    onboarded_person(&app).await;
    let link = request_reset(&app, MARCO).await;
    app.clock.advance(15 * 60 - 5);
    let page = browser.page(&link).await;
    app.clock.advance(6);
    let response = post_reset(&browser, &link, &csrf_token(&page), NEW_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::GONE);
    let response = app.browser().log_in_password(MARCO, STRONG).await;
    assert_eq!(
        location(&response),
        "/login/otp",
        "the password is unchanged"
    );
    let response = app.browser().log_in_password(MARCO, NEW_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn the_link_works_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser();
    onboarded_person(&app).await;
    let link = request_reset(&app, MARCO).await;
    let page = text(browser.get(&link).await).await;
    let csrf = csrf_token(&page);
    let response = post_reset(&browser, &link, &csrf, NEW_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login?reset=done&lang=nl");

    let other = "Nog-Een-Sterk-Wachtw00rd-Iris";
    let response = post_reset(&browser, &link, &csrf, other).await;
    assert_eq!(response.status(), StatusCode::GONE);
    assert_eq!(browser.get(&link).await.status(), StatusCode::GONE);
    let response = app.browser().log_in_password(MARCO, other).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the replay changed nothing"
    );
    let response = app.browser().log_in_password(MARCO, NEW_PASSWORD).await;
    assert_eq!(location(&response), "/login/otp");
}

async fn a_newer_link_kills_the_older_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser();
    onboarded_person(&app).await;
    let first = request_reset(&app, MARCO).await;
    let first_page = text(browser.get(&first).await).await;
    let second = request_reset(&app, MARCO).await;
    assert_ne!(first, second);
    assert_eq!(browser.get(&first).await.status(), StatusCode::GONE);
    let response = post_reset(&browser, &first, &csrf_token(&first_page), NEW_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::GONE);
    let response = submit_reset(&browser, &second, NEW_PASSWORD, NEW_PASSWORD, false).await;
    assert_eq!(location(&response), "/login?reset=done&lang=nl");
}

async fn a_weak_password_is_refused_at_its_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser();
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
            "Wachtwoord12345!!",
            "Wachtwoord12345!!",
            "password",
            "te makkelijk te raden. Er zit een veelgebruikt wachtwoord in.",
        ),
        (
            NEW_PASSWORD,
            "Iets-Anders-Dan-Het-1e",
            "password_confirm",
            "komen niet overeen",
        ),
    ];
    for (password, confirm, field, message) in cases {
        let response = submit_reset(&browser, &link, password, confirm, true).await;
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
    let response = app.browser().log_in_password(MARCO, STRONG).await;
    assert_eq!(location(&response), "/login/otp");
    assert_eq!(browser.get(&link).await.status(), StatusCode::OK);
    assert!(
        !app.admin()
            .logged("password_reset_completed", "success")
            .await
    );
}

/// In English the reason is English too; a password that keeps the stated rules then resets.
async fn a_guessable_password_is_explained_in_english_at_reset(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser();
    onboarded_person(&app).await;
    let (link, _) = request_reset_mail(&app, MARCO, "en").await;
    let mut form = vec![("lang", "en")];
    form.extend(reset_form("Qwertyuiop123456!", "Qwertyuiop123456!", false));
    let response = browser.post_form(&link, &form).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let shown = field_errors(&text(response).await, "password");
    assert!(
        shown.contains(
            "This password is too easy to guess. It is similar to a commonly used password. \
             Add another word or two. Uncommon words are better. \
             Capital letters don't help very much."
        ),
        "{shown}"
    );
    let mut form = vec![("lang", "en")];
    form.extend(reset_form(
        "Zomer2026!Werkgever",
        "Zomer2026!Werkgever",
        false,
    ));
    let response = browser.post_form(&link, &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = app
        .browser()
        .log_in_password(MARCO, "Zomer2026!Werkgever")
        .await;
    assert_eq!(location(&response), "/login/otp");
}

async fn the_new_password_must_differ_from_the_current_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser();
    onboarded_person(&app).await;
    let link = request_reset(&app, MARCO).await;
    let response = submit_reset(&browser, &link, STRONG, STRONG, false).await;
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
    let response = submit_reset(&browser, &link, NEW_PASSWORD, NEW_PASSWORD, false).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

/// Marco resets his password to [`NEW_PASSWORD`] in `device`.
async fn reset_to_the_new_password(app: &TestApp, device: &Browser) {
    let link = request_reset(app, MARCO).await;
    let response = submit_reset(device, &link, NEW_PASSWORD, NEW_PASSWORD, false).await;
    assert_eq!(location(&response), "/login?reset=done&lang=nl");
}

/// The message is the generic one.
async fn after_a_reset_the_old_password_no_longer_works(backend: Backend) {
    let app = spawn_app(backend).await;
    onboarded_person(&app).await;
    reset_to_the_new_password(&app, &app.browser()).await;
    let response = app.browser().log_in_password(MARCO, STRONG).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(alert(&text(response).await).contains("Ongeldig e-mailadres of wachtwoord."));
}

async fn after_a_reset_the_code_is_still_needed(backend: Backend) {
    let app = spawn_app(backend).await;
    let device = app.browser();
    let person = onboarded_person(&app).await;
    reset_to_the_new_password(&app, &device).await;
    let html = text(device.get("/login?reset=done").await).await;
    // A success, said as one (not in the warning style), and announced.
    assert!(
        text_of(&html, "p.success[role=status]")
            .join(" ")
            .contains("Uw wachtwoord is gewijzigd."),
        "{html}"
    );
    assert!(text_of(&html, ".notice").is_empty(), "{html}");

    // The new one leads to the code step, not past it; the code finishes the login.
    let browser = app.browser();
    let response = browser.log_in_password(MARCO, NEW_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login/otp");
    assert_eq!(
        browser.get("/welcome").await.status(),
        StatusCode::FORBIDDEN,
        "not logged in before the code"
    );
    let response = browser.log_in_code(&person.fresh_code(&app.clock)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/welcome");
}

async fn a_reset_revokes_refresh_tokens_issued_before_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser();
    let SignedIn {
        person, rp, tokens, ..
    } = app.signed_in().await;
    assert!(tokens["refresh_token"].is_string());
    assert_eq!(
        rp.introspect(tokens["refresh_token"].as_str().unwrap())
            .await["active"],
        true
    );

    let link = request_reset(&app, MARCO).await;
    let response = submit_reset(&browser, &link, NEW_PASSWORD, NEW_PASSWORD, false).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_invalid_grant(rp.refresh(&tokens).await);
    assert_eq!(
        rp.introspect(tokens["refresh_token"].as_str().unwrap())
            .await["active"],
        false
    );

    // Tokens issued after the reset work.
    let renewed = person.with_password(NEW_PASSWORD);
    let fresh = rp
        .sign_in(&app.browser(), &renewed, "openid offline_access")
        .await;
    assert_eq!(rp.refresh(&fresh).await.0, StatusCode::OK);

    let rows = app.admin().audit_log().await;
    let completed = rows
        .iter()
        .find(|r| r.event == "password_reset_completed")
        .expect("a password_reset_completed row");
    assert_eq!(completed.outcome, "success");
    let details: serde_json::Value = serde_json::from_str(&completed.details).unwrap();
    assert_eq!(details["revoked_refresh_tokens"], 1);
}

async fn logout_other_devices_on_the_reset_page(backend: Backend) {
    let app = spawn_app(backend).await;
    // This device resets the password; the other one is logged in elsewhere.
    let SignedIn {
        person,
        rp,
        browser: this,
        tokens: mine,
    } = app.signed_in().await;
    let other = app.browser();
    let theirs = rp
        .sign_in(&other, &person, "openid email offline_access")
        .await;
    assert!(other.is_logged_in(&rp).await);

    let link = request_reset(&app, MARCO).await;
    let response = submit_reset(&this, &link, NEW_PASSWORD, NEW_PASSWORD, true).await;
    assert_eq!(location(&response), "/login?reset=done&lang=nl");

    // The other device's SSO session is gone and its refresh token with it.
    let back = other.authorize_silently(&rp).await;
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("login_required")
    );
    assert!(query_param(&back, "code").is_none());
    assert_invalid_grant(rp.refresh(&theirs).await);
    // This device stays logged in (its refresh token, issued before the reset, is revoked too).
    assert!(this.is_logged_in(&rp).await);
    assert_invalid_grant(rp.refresh(&mine).await);

    let rows = app.admin().audit_log().await;
    assert!(rows.iter().any(|r| r.event == "sessions_ended"
        && r.outcome == "success"
        && r.details.contains("logout_other_devices")));
}

async fn without_the_box_other_sessions_survive_but_not_their_refresh_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    let SignedIn {
        rp,
        browser: other,
        tokens: theirs,
        ..
    } = app.signed_in().await;

    let link = request_reset(&app, MARCO).await;
    let response = submit_reset(&app.browser(), &link, NEW_PASSWORD, NEW_PASSWORD, false).await;
    assert_eq!(location(&response), "/login?reset=done&lang=nl");

    let back = other.authorize_silently(&rp).await;
    let code = query_param(&back, "code").expect("the other SSO session lives on");
    assert_invalid_grant(rp.refresh(&theirs).await);
    // What the surviving session issues after the reset is usable.
    let (status, fresh) = rp.exchange(&code).await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    assert!(fresh["id_token"].is_string());
    assert!(!app.admin().logged("sessions_ended", "success").await);
}

async fn an_invited_person_gets_the_invitation_again(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser();
    let (old_link, _) = invite_marco(&app, Language::Nl).await;
    let response = browser.forgot_password(MARCO, "nl").await;
    assert_eq!(response.status(), StatusCode::OK);
    let mailbox = app.mailbox();
    let mail = mailbox.nth(MARCO, 2).await;
    let subject = mail.header("Subject").unwrap();
    assert!(
        subject.starts_with("Belangrijk: maak nu uw account aan"),
        "{subject}"
    );
    let link = mailbox.link(&mail);
    assert!(link.contains("/invitation/"), "{link}");
    let queued = mailbox.queued_for(MARCO).await;
    assert_eq!(queued.len(), 2, "no reset mail besides");
    assert!(queued.iter().all(|m| m.subject != "Wachtwoord wijzigen"));
    let mails = mailbox.mails_to(MARCO);
    assert_eq!(mails.len(), 2, "no reset mail besides");
    assert!(
        mails
            .iter()
            .all(|m| m.header("Subject").unwrap() != "Wachtwoord wijzigen")
    );
    // The new invitation replaced the old one; it leads to registration.
    assert_eq!(browser.get(&old_link).await.status(), StatusCode::GONE);
    assert_eq!(
        location(&browser.register(&link, STRONG).await),
        "/otp/setup"
    );
}

async fn staff_resend_an_invitation(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser();
    let (old_link, _) = invite_marco(&app, Language::Nl).await;
    let invited = app.admin().resend_invitation(MARCO).await.unwrap();
    let mailbox = app.mailbox();
    let mail = mailbox.nth(MARCO, 2).await;
    let link = mailbox.link(&mail);
    assert_eq!(link, invited.link);
    assert_ne!(link, old_link);
    assert!(
        mail.header("Subject")
            .unwrap()
            .starts_with("Belangrijk: maak nu uw account aan")
    );
    assert!(mail.text().contains("Beste heer/mevrouw Van Basten,"));
    assert_eq!(browser.get(&old_link).await.status(), StatusCode::GONE);
    assert_eq!(
        location(&browser.register(&link, STRONG).await),
        "/otp/setup"
    );
    assert!(app.admin().logged("invitation_resent", "success").await);
}

/// Once registered there is nothing to resend.
async fn an_invitation_is_not_resent_to_a_registered_person(backend: Backend) {
    let app = spawn_app(backend).await;
    onboarded_person(&app).await;
    assert!(matches!(
        app.admin().resend_invitation(MARCO).await,
        Err(JourneyError::AlreadyRegistered(_))
    ));
}

async fn an_invitation_is_not_resent_to_an_unknown_address(backend: Backend) {
    let app = spawn_app(backend).await;
    assert!(matches!(
        app.admin().resend_invitation("niemand@ek88.nl").await,
        Err(JourneyError::UnknownUser)
    ));
}

async fn staff_reset_the_authenticator(backend: Backend) {
    let app = spawn_app(backend).await;
    let SignedIn {
        person,
        rp,
        browser: device,
        tokens,
    } = app.signed_in().await;
    let admin = app.admin();
    assert!(!admin.sessions(MARCO).await.unwrap().is_empty());

    admin.reset_authenticator(MARCO).await.unwrap();
    assert!(
        admin.sessions(MARCO).await.unwrap().is_empty(),
        "every session ended"
    );
    let back = device.authorize_silently(&rp).await;
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("login_required")
    );
    assert_invalid_grant(rp.refresh(&tokens).await);

    // The next login goes to the set-up of a new authenticator; the old one's codes are useless.
    let browser = app.browser();
    let response = browser.log_in_password(MARCO, STRONG).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/otp/setup");
    assert_eq!(
        browser.get("/login/otp").await.status(),
        StatusCode::FORBIDDEN,
        "no code step with the old authenticator"
    );
    let secret = browser.authenticator_secret().await;
    assert_ne!(secret.as_bytes(), person.secret.as_bytes());
    // From now on the new authenticator's codes log in.
    let renewed = Person {
        email: MARCO.into(),
        password: STRONG.into(),
        secret,
    };
    let code = renewed.fresh_code(&app.clock);
    let response = browser.confirm_authenticator(&code, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let callback = app
        .browser()
        .authorize(&rp.authorize_url("openid", &[]), &renewed)
        .await;
    assert!(query_param(&callback, "code").is_some());

    let rows = app.admin().audit_log().await;
    assert!(has_row(&rows, "otp_reset", "success"));
    assert!(
        rows.iter()
            .any(|r| r.event == "sessions_ended" && r.details.contains("otp_reset"))
    );
}

/// Marco, signed in at a client in `device`, and then disabled by HCC staff.
struct DisabledAccount {
    app: TestApp,
    person: Person,
    rp: RelyingParty,
    device: Browser,
    tokens: serde_json::Value,
}

async fn a_disabled_account(backend: Backend) -> DisabledAccount {
    let app = spawn_app(backend).await;
    let SignedIn {
        person,
        rp,
        browser: device,
        tokens,
    } = app.signed_in().await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(rp.introspect(access).await["active"], true);
    app.admin().disable(MARCO).await.unwrap();
    DisabledAccount {
        app,
        person,
        rp,
        device,
        tokens,
    }
}

/// The right password now gets the same answer as a wrong one.
async fn a_disabled_account_gets_the_answer_of_a_wrong_password(backend: Backend) {
    let app = spawn_app(backend).await;
    onboarded_person(&app).await;
    let wrong = app.browser().log_in_password(MARCO, WRONG).await;
    assert_eq!(wrong.status(), StatusCode::OK);
    let wrong = text_of(&text(wrong).await, "[role=alert]");

    app.admin().disable(MARCO).await.unwrap();
    let refused = app.browser().log_in_password(MARCO, STRONG).await;
    assert_eq!(refused.status(), StatusCode::OK);
    let refused_html = text(refused).await;
    assert_eq!(text_of(&refused_html, "[role=alert]"), wrong);
    assert!(
        wrong
            .join(" ")
            .contains("Ongeldig e-mailadres of wachtwoord.")
    );
}

async fn disabling_an_account_ends_its_session_and_tokens(backend: Backend) {
    // The app is bound for the whole test: dropping it stops the server.
    let DisabledAccount {
        app: _app,
        rp,
        device,
        tokens,
        ..
    } = a_disabled_account(backend).await;
    let back = device.authorize_silently(&rp).await;
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("login_required")
    );
    assert_invalid_grant(rp.refresh(&tokens).await);
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        rp.introspect(access).await,
        serde_json::json!({"active": false})
    );
    assert_eq!(rp.userinfo(access).await.status(), StatusCode::UNAUTHORIZED);
}

async fn a_disabled_account_gets_no_reset_mail(backend: Backend) {
    let app = spawn_app(backend).await;
    onboarded_person(&app).await;
    app.admin().disable(MARCO).await.unwrap();
    let mailbox = app.mailbox();
    let queued = mailbox.queued_for(MARCO).await.len();
    // The "account blocked" notice may still be on its way.
    let mails = mailbox.settled_count(MARCO).await;
    assert_eq!(
        app.browser().forgot_password(MARCO, "nl").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        mailbox.queued_for(MARCO).await.len(),
        queued,
        "no mail for a disabled account"
    );
    assert_eq!(mailbox.mails_to(MARCO).len(), mails);
}

/// Enabled again, the person logs in anew; what was revoked stays revoked.
async fn staff_disable_and_enable_an_account(backend: Backend) {
    let DisabledAccount {
        app,
        person,
        rp,
        tokens,
        ..
    } = a_disabled_account(backend).await;
    app.admin().enable(MARCO).await.unwrap();
    let url = rp.authorize_url("openid offline_access", &[]);
    let callback = app.browser().authorize(&url, &person).await;
    let (status, fresh) = rp.exchange(&query_param(&callback, "code").unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    assert_eq!(rp.refresh(&fresh).await.0, StatusCode::OK);
    assert_invalid_grant(rp.refresh(&tokens).await);

    let rows = app.admin().audit_log().await;
    assert!(has_row(&rows, "user_disabled", "success"));
    assert!(has_row(&rows, "user_enabled", "success"));
}

async fn a_superuser_manages_only_their_own_organisation(backend: Backend) {
    let app = spawn_app(backend).await;
    onboarded_person(&app).await;
    let other_org = app.admin().create_organisation("Ajax").await;
    let outsider = app.admin_as(Actor::Superuser {
        user_id: "superuser-of-ajax".into(),
        organisation_id: other_org,
    });
    let refusals = [
        ("resend", outsider.resend_invitation(MARCO).await.map(drop)),
        ("reset", outsider.reset_authenticator(MARCO).await),
        ("end sessions", outsider.end_sessions(MARCO).await.map(drop)),
        ("list sessions", outsider.sessions(MARCO).await.map(drop)),
        ("disable", outsider.disable(MARCO).await),
        ("enable", outsider.enable(MARCO).await),
    ];
    // Outside their organisation a superuser finds nobody: the same answer as for an address
    // without an account, so nothing tells them the person exists elsewhere.
    for (action, result) in refusals {
        assert!(
            matches!(result, Err(JourneyError::UnknownUser)),
            "{action}: {result:?}"
        );
    }
    assert_eq!(
        app.admin().user(MARCO).await.status,
        idp::domain::UserStatus::Active,
        "nothing changed"
    );
    let rows = app.admin().audit_log().await;
    assert!(!has_row(&rows, "otp_reset", "success"));
    assert!(!has_row(&rows, "user_disabled", "success"));
}

async fn the_superuser_of_the_persons_own_organisation_may_manage_them(backend: Backend) {
    let app = spawn_app(backend).await;
    onboarded_person(&app).await;
    let marco = app.admin().user(MARCO).await;
    let own = app.admin_as(Actor::Superuser {
        user_id: "superuser-of-ek88".into(),
        organisation_id: marco.organisation_id.clone().unwrap(),
    });
    own.disable(MARCO).await.unwrap();
    assert_eq!(
        app.admin().user(MARCO).await.status,
        idp::domain::UserStatus::Disabled
    );
    own.enable(MARCO).await.unwrap();
    assert_eq!(
        app.admin().user(MARCO).await.status,
        idp::domain::UserStatus::Active
    );
}

async fn the_audit_log_records_each_event(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let marco = app.admin().user(MARCO).await.id;
    let since = app.clock.now();
    app.clock.advance(1);
    let org = app.admin().user(MARCO).await.organisation_id.unwrap();
    invite(&app, &org, "ruud@ek88.nl", Some("Gullit"), Language::Nl).await;

    // Login: a failure (reason kept server-side only), then a success, then a logout.
    let response = app.browser().log_in_password(MARCO, WRONG).await;
    let html = text(response).await;
    assert!(!html.contains("wrong_password"), "the reason is not shown");
    let response = app
        .browser()
        .log_in_password("niemand@ek88.nl", STRONG)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let device = app.browser();
    let response = device.log_in_password(MARCO, STRONG).await;
    assert_eq!(location(&response), "/login/otp");
    let response = device.log_in_code(&person.fresh_code(&app.clock)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = device.post_form("/logout", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);

    // Password reset, requested and completed.
    let link = request_reset(&app, MARCO).await;
    let response = submit_reset(&app.browser(), &link, NEW_PASSWORD, NEW_PASSWORD, false).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    // Recovery by staff.
    let staff_1 = app.admin_as(Actor::HccStaff {
        user_id: Some("staff-1".into()),
    });
    app.admin().resend_invitation("ruud@ek88.nl").await.unwrap();
    let device = app.browser();
    assert_eq!(
        location(&device.log_in_password(MARCO, NEW_PASSWORD).await),
        "/login/otp"
    );
    device.log_in_code(&person.fresh_code(&app.clock)).await;
    let ended = staff_1.end_sessions(MARCO).await.unwrap();
    assert!(ended >= 1, "{ended}");
    staff_1.reset_authenticator(MARCO).await.unwrap();
    staff_1.disable(MARCO).await.unwrap();
    staff_1.enable(MARCO).await.unwrap();

    // What `idp admin audit --user marco@ek88.nl --since …` reads.
    let rows = app.admin().audit_log_of(Some(&marco), since + 1).await;
    assert!(!rows.is_empty(), "Marco's rows since then");
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
    let all = app.admin().audit_log().await;
    assert!(all.iter().any(|r| r.event == "login"
        && r.outcome == "failure"
        && r.user_id.is_none()
        && r.details.contains("unknown_user")));
    let ruud = app.admin().user("ruud@ek88.nl").await.id;
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
    a_reset_form_opened_before_the_expiry_cannot_be_submitted_after_it,
    the_link_works_once,
    a_newer_link_kills_the_older_one,
    a_weak_password_is_refused_at_its_field,
    a_guessable_password_is_explained_in_english_at_reset,
    the_new_password_must_differ_from_the_current_one,
    after_a_reset_the_old_password_no_longer_works,
    after_a_reset_the_code_is_still_needed,
    a_reset_revokes_refresh_tokens_issued_before_it,
    logout_other_devices_on_the_reset_page,
    without_the_box_other_sessions_survive_but_not_their_refresh_tokens,
    an_invited_person_gets_the_invitation_again,
    staff_resend_an_invitation,
    an_invitation_is_not_resent_to_a_registered_person,
    an_invitation_is_not_resent_to_an_unknown_address,
    staff_reset_the_authenticator,
    a_disabled_account_gets_the_answer_of_a_wrong_password,
    disabling_an_account_ends_its_session_and_tokens,
    a_disabled_account_gets_no_reset_mail,
    staff_disable_and_enable_an_account,
    a_superuser_manages_only_their_own_organisation,
    the_superuser_of_the_persons_own_organisation_may_manage_them,
    the_audit_log_records_each_event,
);
