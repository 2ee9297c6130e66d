//! "Mijn account" (`/account`): the person's own account page. Each rule of the page is a test
//! against the real server: what it shows, each change with its notice mail and audit event,
//! the step-up before a change when the login is not fresh, and the refusals.

use idp::clock::Clock;
use idp::domain::Role;
use reqwest::StatusCode;

use crate::both_backends;
use crate::driver::*;
use crate::helpers::*;

async fn the_account_page_shows_the_person_and_each_part(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let browser = app.browser();
    assert_eq!(
        browser.log_in(&person).await.status(),
        StatusCode::SEE_OTHER
    );
    let response = browser.get("/account").await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    for needle in [
        "<h1>Mijn account</h1>",
        "Wachtwoord wijzigen",
        "Authenticators",
        "Herstelcodes",
        "Sessies",
        "Toestemmingen",
        MARCO,
        "Marco van Basten",
        "EK88",
    ] {
        assert!(page.contains(needle), "{needle} not on the page:\n{page}");
    }
    let en = browser.page("/account?lang=en").await;
    for needle in [
        "<h1>My account</h1>",
        "Change password",
        "Recovery codes",
        "Sessions",
        "Permissions",
    ] {
        assert!(en.contains(needle), "{needle} not on the page:\n{en}");
    }
}

both_backends!(the_account_page_shows_the_person_and_each_part);

// --- The page and its forms ---------------------------------------------------------------

async fn the_details_are_the_name_address_organisation_and_role(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, browser, _) = app.marco_logged_in().await;
    let page = browser.account_page().await;
    assert_eq!(
        text_of(&page, "dl.facts dt"),
        ["Naam", "E-mailadres", "Organisatie", "Rol"]
    );
    assert_eq!(
        text_of(&page, "dl.facts dd"),
        ["Marco van Basten", MARCO, "EK88", "Gebruiker"]
    );
}

async fn without_a_session_the_account_page_sends_to_login_and_the_login_comes_back(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let browser = app.browser();
    let response = browser.get("/account").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login");
    assert_eq!(
        set_cookie(&response, "hcc_return").as_deref(),
        Some("account")
    );
    let response = browser.log_in(&person).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/account", "not /welcome");
    assert!(
        browser
            .account_page()
            .await
            .contains("<h1>Mijn account</h1>")
    );
}

async fn every_account_form_without_the_right_csrf_token_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let full = app.marco_with_everything().await;
    let page = full.browser.account_page().await;
    let authenticator = app.authenticators_of(MARCO).await[1].id.clone();
    let mut actions = vec![
        "/account/password".to_owned(),
        "/account/authenticators/new".to_owned(),
        format!("/account/authenticators/{authenticator}/rename"),
        format!("/account/authenticators/{authenticator}/remove"),
        "/account/recovery-codes".to_owned(),
        end_action_for(&page, FIREFOX_SESSION),
        "/account/sessions/end-others".to_owned(),
        "/account/confirm".to_owned(),
    ];
    actions.sort();
    let mut on_page: Vec<String> = form_actions(&page)
        .into_iter()
        .filter(|a| a.starts_with("/account/"))
        .filter(|a| !a.ends_with("/rename") && !a.ends_with("/remove") && !a.ends_with("/end"))
        .collect();
    on_page.sort();
    assert!(
        on_page.iter().all(|a| actions.contains(a)),
        "every form of the page is tried: {on_page:?}"
    );
    let rows = app.admin().audit_log().await.len();
    let mails = marco_mails(&app).await;
    let fields = [
        ("current_password", STRONG),
        ("password", NEW_PASSWORD),
        ("password_confirm", NEW_PASSWORD),
        ("device_name", "Gekaapt"),
        ("otp_code", "123456"),
    ];
    for action in &actions {
        let response = full.browser.post(action, &fields).await;
        assert_eq!(
            response.status(),
            StatusCode::FORBIDDEN,
            "{action} without a token"
        );
        assert!(response.headers().get("location").is_none(), "{action}");
        let mut forged = vec![("csrf_token", "niet-het-token")];
        forged.extend_from_slice(&fields);
        let response = full.browser.post(action, &forged).await;
        assert_eq!(
            response.status(),
            StatusCode::FORBIDDEN,
            "{action} with a wrong token"
        );
    }
    assert_eq!(app.admin().audit_log().await.len(), rows, "nothing audited");
    assert_eq!(marco_mails(&app).await, mails, "no notice");
    let names = authenticator_names(&full.browser.account_page().await);
    assert_eq!(names, ["Authenticator 1", "Telefoon werk"]);
    assert!(app.recovery_code_rows(MARCO).await.is_empty());
    assert!(full.other.has_account_session().await);
    let response = app.browser().log_in_password(MARCO, STRONG).await;
    assert_eq!(
        location(&response),
        "/login/otp",
        "the password is unchanged"
    );
}

async fn revoking_a_permission_without_the_csrf_token_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, browser, _) = app.marco_logged_in().await;
    let (rp, tokens) = app.grant_third_party(&browser).await;
    let revoke = format!("/account/permissions/{}/revoke", rp.id);
    let response = browser.post(&revoke, &[]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "without a token");
    let response = browser
        .post(&revoke, &[("csrf_token", "niet-het-token")])
        .await;
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "with a wrong token"
    );
    assert_eq!(
        rp.refresh(&tokens).await.0,
        StatusCode::OK,
        "the grant stays"
    );
    let response = browser.get(&rp.authorize_url("openid", &[])).await;
    assert!(
        query_param(&location(&response), "code").is_some(),
        "not asked again"
    );
}

/// A form post of the account page: its action, its fields, and the section a step-up
/// returns to.
type Change<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);

// --- Step-up ------------------------------------------------------------------------------

async fn a_stale_login_sends_every_change_to_the_step_up_first_and_nothing_changes(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let full = app.marco_with_everything().await;
    let browser = &full.browser;
    app.make_login_stale();
    let page = browser.account_page().await;
    assert!(
        text_of(&page, "p.info").contains(&"U bent al een tijd ingelogd. Voor een wijziging vragen we eerst nog een keer een authenticatiecode.".to_owned()),
        "the page says a change asks for a code"
    );
    let rows = app.admin().audit_log().await.len();
    let mails = marco_mails(&app).await;
    let [first, second] = [0, 1].map(|i| actions_ending(&page, "rename")[i].clone());
    let remove = actions_ending(&page, "remove")[1].clone();
    let end = end_action_for(&page, FIREFOX_SESSION);
    for target in ["/account/password", "/account/authenticators/new"] {
        let response = browser.get(target).await;
        let next = if target.ends_with("password") {
            "password"
        } else {
            "authenticator"
        };
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "GET {target}");
        assert_eq!(location(&response), format!("/account/confirm?next={next}"));
    }
    let code = full.person.code_now(&app.clock);
    let changes: Vec<Change<'_>> = vec![
        (
            "/account/password",
            vec![
                ("current_password", STRONG),
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ],
            "password",
        ),
        (
            "/account/authenticators/new",
            vec![("otp_code", &code), ("device_name", "Derde")],
            "authenticator",
        ),
        (&first, vec![("device_name", "Hernoemd")], "authenticators"),
        (&second, vec![("device_name", "Hernoemd")], "authenticators"),
        (&remove, vec![], "authenticators"),
        ("/account/recovery-codes", vec![], "recovery"),
        (&end, vec![], "sessions"),
        ("/account/sessions/end-others", vec![], "sessions"),
    ];
    for (action, fields, next) in changes {
        let response = browser.account_post(action, &fields).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{action}");
        assert_eq!(
            location(&response),
            format!("/account/confirm?next={next}"),
            "{action}"
        );
    }
    assert_eq!(app.admin().audit_log().await.len(), rows, "nothing audited");
    assert_eq!(marco_mails(&app).await, mails, "no notice");
    let page = browser.account_page().await;
    assert_eq!(
        authenticator_names(&page),
        ["Authenticator 1", "Telefoon werk"]
    );
    assert!(app.recovery_code_rows(MARCO).await.is_empty());
    assert!(
        full.other.has_account_session().await,
        "the other session lives"
    );
    let response = app.browser().log_in_password(MARCO, STRONG).await;
    assert_eq!(
        location(&response),
        "/login/otp",
        "the password is unchanged"
    );
}

async fn a_stale_login_sends_revoking_a_permission_to_the_step_up_first(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, browser, _) = app.marco_logged_in().await;
    let (rp, tokens) = app.grant_third_party(&browser).await;
    app.make_login_stale();
    let revoke = format!("/account/permissions/{}/revoke", rp.id);
    let response = browser.submit("/account/confirm", &revoke, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/account/confirm?next=permissions");
    assert!(!app.admin().logged("consent_revoked", "success").await);
    assert_eq!(
        rp.refresh(&tokens).await.0,
        StatusCode::OK,
        "the grant stays"
    );
    let response = browser.get(&rp.authorize_url("openid", &[])).await;
    assert!(
        query_param(&location(&response), "code").is_some(),
        "not asked again"
    );
}

async fn a_step_up_keeps_the_session_and_then_the_change_goes_through(backend: Backend) {
    let app = spawn_app(backend).await;
    let (person, browser, login_cookie) = app.marco_logged_in().await;
    app.make_login_stale();
    let response = browser
        .account_post(
            "/account/password",
            &[
                ("current_password", STRONG),
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(location(&response), "/account/confirm?next=password");
    let response = browser
        .step_up("password", &person.fresh_code(&app.clock))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/account/password");
    // The session keeps its id (and with it the applications' sid and its tokens' link to it).
    assert_eq!(
        set_cookie(&response, SESSION_COOKIE),
        None,
        "no new session id"
    );
    let same = get_with_session_cookie(&app, "/account", &login_cookie).await;
    assert_eq!(
        same.status(),
        StatusCode::OK,
        "the login's cookie still works"
    );
    assert!(app.admin().logged("step_up", "success").await);
    let response = browser
        .change_password(STRONG, NEW_PASSWORD, NEW_PASSWORD, false)
        .await;
    assert_eq!(
        browser.done_message(&response).await,
        "Uw wachtwoord is gewijzigd. U ontvangt hierover een e-mail."
    );
}

async fn a_step_up_returns_to_the_section_it_was_asked_for_and_nowhere_else(backend: Backend) {
    let app = spawn_app(backend).await;
    let (person, browser, _) = app.marco_logged_in().await;
    app.make_login_stale();
    for (next, to) in [
        ("password", "/account/password"),
        ("authenticator", "/account/authenticators/new"),
        ("authenticators", "/account#authenticators"),
        ("recovery", "/account#recovery-codes"),
        ("sessions", "/account#sessions"),
        ("permissions", "/account#permissions"),
        ("", "/account?done=confirmed"),
        ("https://evil.example/", "/account?done=confirmed"),
        ("//evil.example", "/account?done=confirmed"),
    ] {
        let page = browser
            .account_page_at(&format!("/account/confirm?next={}", urlencoding(next)))
            .await;
        let shown = attr(&page, "input[name=next]", "value").unwrap_or_default();
        if to.starts_with("/account?") {
            assert_eq!(shown, "", "{next} is no section");
        } else {
            assert_eq!(shown, next);
        }
        let csrf = csrf_token(&page);
        let code = person.fresh_code(&app.clock);
        let response = browser
            .post(
                "/account/confirm",
                &[("csrf_token", &csrf), ("otp_code", &code), ("next", next)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{next}");
        assert_eq!(location(&response), to, "{next}");
    }
    let response = browser.step_up("", &person.fresh_code(&app.clock)).await;
    assert_eq!(
        browser.done_message(&response).await,
        "Bevestigd. U kunt nu wijzigingen doen."
    );
}

fn urlencoding(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

async fn a_code_of_any_authenticator_confirms_a_step_up(backend: Backend) {
    let app = spawn_app(backend).await;
    let (person, browser, _) = app.marco_logged_in().await;
    let (second, _) = browser.add_authenticator(&app.clock, "Telefoon werk").await;
    app.make_login_stale();
    let second = person.with_authenticator(&second);
    let response = browser
        .step_up("recovery", &second.fresh_code(&app.clock))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/account#recovery-codes");
    assert_eq!(browser.make_recovery_codes().await.len(), 10, "now fresh");
}

async fn a_recovery_code_confirms_a_step_up_and_is_used_up(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, browser, _) = app.marco_logged_in().await;
    let codes = browser.make_recovery_codes().await;
    app.make_login_stale();
    // The notice of the new codes first, wherever it is on its way; then the one of the use.
    arrived_with_subject(&app, "Nieuwe herstelcodes gemaakt").await;
    let response = browser.step_up("sessions", &codes[0]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/account#sessions");
    let mail = arrived_with_subject(&app, "Herstelcode gebruikt").await;
    assert!(
        mail.text()
            .contains("U heeft nog 9 ongebruikte herstelcodes"),
        "{}",
        mail.text()
    );
    let used = app.recovery_code_rows(MARCO).await;
    assert_eq!(used.iter().filter(|r| r.used_at.is_some()).count(), 1);
    app.make_login_stale();
    let response = browser.step_up("sessions", &codes[0]).await;
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "used once"
    );
}

/// The one mail to Marco with `subject`, once it has arrived (waiting up to 10 s).
async fn arrived_with_subject(app: &TestApp, subject: &str) -> ReceivedMail {
    for _ in 0..200 {
        let mut found: Vec<ReceivedMail> = app
            .mailbox()
            .mails_to(MARCO)
            .into_iter()
            .filter(|m| m.header("subject").as_deref() == Some(subject))
            .collect();
        if !found.is_empty() {
            assert_eq!(found.len(), 1, "one mail {subject:?}");
            return found.remove(0);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no mail {subject:?} to {MARCO}");
}

async fn a_wrong_step_up_code_is_refused_and_counted(backend: Backend) {
    let app = spawn_app(backend).await;
    let (person, browser, _) = app.marco_logged_in().await;
    app.make_login_stale();
    let response = browser
        .step_up("password", &person.wrong_code(&app.clock))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(!field_errors(&html, "otp_code").is_empty(), "{html}");
    assert_eq!(
        attr(&html, "input[name=next]", "value").as_deref(),
        Some("password")
    );
    assert_eq!(app.code_throttle(MARCO).await.expect("counted").failures, 1);
    assert!(app.admin().logged("step_up", "failure").await);
    let response = browser.account_form("/account/recovery-codes", &[]).await;
    assert_eq!(
        location(&response),
        "/account/confirm?next=recovery",
        "still stale"
    );
}

async fn wrong_codes_at_login_throttle_the_step_up_too(backend: Backend) {
    let app = spawn_app(backend).await;
    let (person, browser, _) = app.marco_logged_in().await;
    app.make_login_stale();
    // Someone with the password guesses codes in another browser.
    let guesser = app.browser();
    assert_eq!(
        location(&guesser.log_in_password(MARCO, STRONG).await),
        "/login/otp"
    );
    for _ in 0..3 {
        let response = guesser.log_in_code(&person.wrong_code(&app.clock)).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let response = browser.step_up("", &person.code_now(&app.clock)).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    // Once the delay has passed, the right code confirms.
    app.clock.advance(2);
    let response = browser.step_up("", &person.code_now(&app.clock)).await;
    assert_eq!(location(&response), "/account?done=confirmed");
}

async fn the_step_up_window_is_a_setting(backend: Backend) {
    let app = spawn_app_with(
        backend,
        Options::settings(|s| s.account.step_up_minutes = 30),
    )
    .await;
    let (_, browser, _) = app.marco_logged_in().await;
    app.make_login_stale();
    let response = browser.account_form("/account/recovery-codes", &[]).await;
    assert_eq!(response.status(), StatusCode::OK, "11 minutes is within 30");
    app.clock.advance(20 * 60);
    let response = browser.account_form("/account/recovery-codes", &[]).await;
    assert_eq!(location(&response), "/account/confirm?next=recovery");
}

// --- Wachtwoord wijzigen ------------------------------------------------------------------

async fn a_wrong_current_password_is_refused_at_its_field_and_audited(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, browser, _) = app.marco_logged_in().await;
    let response = browser
        .change_password(WRONG, NEW_PASSWORD, NEW_PASSWORD, false)
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(
        !field_errors(&html, "current_password").is_empty(),
        "{html}"
    );
    assert!(app.admin().logged("password_changed", "failure").await);
    assert!(!app.admin().logged("password_changed", "success").await);
    let response = app.browser().log_in_password(MARCO, STRONG).await;
    assert_eq!(
        location(&response),
        "/login/otp",
        "the password is unchanged"
    );
}

async fn a_new_password_that_breaks_the_policy_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, browser, _) = app.marco_logged_in().await;
    for (new, confirm, field) in [
        ("Kort-W00rd!", "Kort-W00rd!", "password"),
        (
            "zeer-sterk-wachtw00rd-roos",
            "zeer-sterk-wachtw00rd-roos",
            "password",
        ),
        (
            "Zeer-Sterk-Wachtwoord-Roos",
            "Zeer-Sterk-Wachtwoord-Roos",
            "password",
        ),
        (
            "ZeerSterkWachtw00rdRoosje",
            "ZeerSterkWachtw00rdRoosje",
            "password",
        ),
        (STRONG, STRONG, "password"),
        (
            NEW_PASSWORD,
            "Nieuw-Sterk-Wachtw00rd-Tulp",
            "password_confirm",
        ),
    ] {
        let response = browser.change_password(STRONG, new, confirm, false).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{new}");
        let html = response.text().await.unwrap();
        assert!(
            !field_errors(&html, field).is_empty(),
            "{new}: no error at {field}"
        );
    }
    assert!(!app.admin().logged("password_changed", "success").await);
    let response = app.browser().log_in_password(MARCO, STRONG).await;
    assert_eq!(
        location(&response),
        "/login/otp",
        "the password is unchanged"
    );
}

async fn a_changed_password_replaces_the_old_one_with_a_notice_and_an_audit_row(backend: Backend) {
    let app = spawn_app(backend).await;
    let (person, browser, _) = app.marco_logged_in().await;
    let mails = marco_mails(&app).await;
    let response = browser
        .change_password(STRONG, NEW_PASSWORD, NEW_PASSWORD, false)
        .await;
    assert_eq!(
        browser.done_message(&response).await,
        "Uw wachtwoord is gewijzigd. U ontvangt hierover een e-mail."
    );
    let mail = app.the_new_mail(MARCO, mails).await;
    assert_eq!(
        mail.header("subject").as_deref(),
        Some("Uw wachtwoord is gewijzigd")
    );
    assert!(app.admin().logged("password_changed", "success").await);
    let response = app.browser().log_in_password(MARCO, STRONG).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the old password is refused"
    );
    assert!(response.headers().get("location").is_none());
    let response = app
        .browser()
        .log_in(&person.with_password(NEW_PASSWORD))
        .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "the new one logs in"
    );
    assert!(browser.has_account_session().await, "this browser stays");
}

async fn a_changed_password_revokes_the_refresh_tokens_of_other_sessions_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let signed_in = app.signed_in().await;
    let other = app.browser_as(FIREFOX_UA);
    let other_tokens = signed_in
        .rp
        .sign_in(&other, &signed_in.person, "openid email offline_access")
        .await;
    let response = signed_in
        .browser
        .change_password(STRONG, NEW_PASSWORD, NEW_PASSWORD, false)
        .await;
    assert_eq!(location(&response), "/account?done=password");
    assert_invalid_grant(signed_in.rp.refresh(&other_tokens).await);
    let (status, body) = signed_in.rp.refresh(&signed_in.tokens).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "this browser's session keeps its token: {body}"
    );
    assert!(signed_in.browser.has_account_session().await);
    assert!(
        other.has_account_session().await,
        "without the box, sessions stay"
    );
}

async fn a_changed_password_with_logout_others_ends_the_other_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    let (person, browser, _) = app.marco_logged_in().await;
    let other = app.browser_as(FIREFOX_UA);
    assert_eq!(other.log_in(&person).await.status(), StatusCode::SEE_OTHER);
    assert!(other.has_account_session().await);
    let response = browser
        .change_password(STRONG, NEW_PASSWORD, NEW_PASSWORD, true)
        .await;
    assert_eq!(location(&response), "/account?done=password");
    assert!(
        !other.has_account_session().await,
        "the other browser is logged out"
    );
    assert!(browser.has_account_session().await, "this browser stays");
    let page = browser.account_page().await;
    assert_eq!(
        session_titles(&page).len(),
        1,
        "{:?}",
        session_titles(&page)
    );
}

// --- Authenticators -----------------------------------------------------------------------

async fn the_add_page_shows_a_qr_code_and_the_key_to_type(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, browser, _) = app.marco_logged_in().await;
    let page = browser.account_page().await;
    assert_eq!(
        attr(&page, "a[href='/account/authenticators/new']", "href").as_deref(),
        Some("/account/authenticators/new")
    );
    assert!(text_of(&page, "a").contains(&"Authenticator toevoegen".to_owned()));
    let html = browser.account_page_at("/account/authenticators/new").await;
    assert_eq!(text_of(&html, "h1"), ["Authenticator toevoegen"]);
    assert!(html.contains("<svg"), "a QR code");
    assert_eq!(text_of(&html, ".manual-key summary"), ["Scannen mislukt?"]);
    let secret = secret_from_page(&html);
    assert_eq!(
        secret.as_bytes(),
        browser.new_authenticator_secret().await.as_bytes(),
        "the same key on every visit"
    );
    assert_eq!(
        app.authenticators_of(MARCO).await.len(),
        1,
        "nothing added yet"
    );
}

async fn an_added_authenticator_joins_the_first_and_both_log_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let (person, browser, _) = app.marco_logged_in().await;
    let mails = marco_mails(&app).await;
    let (second, response) = browser.add_authenticator(&app.clock, "Telefoon werk").await;
    assert_eq!(
        browser.done_message(&response).await,
        "De authenticator is toegevoegd."
    );
    let mail = app.the_new_mail(MARCO, mails).await;
    assert_eq!(
        mail.header("subject").as_deref(),
        Some("Authenticator toegevoegd")
    );
    assert_eq!(
        audit_detail(&app, "authenticator_added", "success").await["device_name"],
        "Telefoon werk"
    );
    let page = browser.account_page().await;
    assert_eq!(
        authenticator_names(&page),
        ["Authenticator 1", "Telefoon werk"]
    );
    assert_eq!(
        actions_ending(&page, "remove").len(),
        2,
        "either may go now"
    );
    let response = app.browser().log_in(&person).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "the first app's code"
    );
    let response = app
        .browser()
        .log_in(&person.with_authenticator(&second))
        .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "the second app's code"
    );
}

async fn a_wrong_code_adds_no_authenticator(backend: Backend) {
    let app = spawn_app(backend).await;
    let (person, browser, _) = app.marco_logged_in().await;
    let mails = marco_mails(&app).await;
    let secret = browser.new_authenticator_secret().await;
    let wrong = person.with_authenticator(&secret).wrong_code(&app.clock);
    let response = browser
        .confirm_new_authenticator(&wrong, "Telefoon werk")
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(!field_errors(&html, "otp_code").is_empty(), "{html}");
    // The first app's code is no code of the new one either.
    let response = browser
        .confirm_new_authenticator(&person.fresh_code(&app.clock), "Telefoon werk")
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.authenticators_of(MARCO).await.len(), 1);
    assert_eq!(marco_mails(&app).await, mails, "no notice");
    assert!(!app.admin().logged("authenticator_added", "success").await);
}

async fn a_renamed_authenticator_shows_its_new_name_and_is_audited(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, browser, _) = app.marco_logged_in().await;
    let page = browser.account_page().await;
    assert_eq!(authenticator_names(&page), ["Authenticator 1"]);
    let rename = actions_ending(&page, "rename").remove(0);
    let response = browser
        .account_form(&rename, &[("device_name", "iPhone van Marco")])
        .await;
    assert_eq!(
        browser.done_message(&response).await,
        "De naam van de authenticator is gewijzigd."
    );
    assert_eq!(
        authenticator_names(&browser.account_page().await),
        ["iPhone van Marco"]
    );
    assert_eq!(
        audit_detail(&app, "authenticator_renamed", "success").await["device_name"],
        "iPhone van Marco"
    );
}

async fn the_only_authenticator_cannot_be_removed(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, browser, _) = app.marco_logged_in().await;
    let page = browser.account_page().await;
    assert!(
        actions_ending(&page, "remove").is_empty(),
        "no remove button"
    );
    assert!(page.contains("Dit is uw enige authenticator."));
    let id = app.authenticators_of(MARCO).await[0].id.clone();
    let response = browser
        .account_post(&format!("/account/authenticators/{id}/remove"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(app.authenticators_of(MARCO).await.len(), 1);
    assert!(!app.admin().logged("authenticator_removed", "success").await);
}

async fn a_removed_authenticator_no_longer_logs_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let (person, browser, _) = app.marco_logged_in().await;
    let (second, _) = browser.add_authenticator(&app.clock, "Telefoon werk").await;
    let mails = marco_mails(&app).await;
    let first = actions_ending(&browser.account_page().await, "remove").remove(0);
    let response = browser.account_form(&first, &[]).await;
    assert_eq!(
        browser.done_message(&response).await,
        "De authenticator is verwijderd."
    );
    let mail = app.the_new_mail(MARCO, mails).await;
    assert_eq!(
        mail.header("subject").as_deref(),
        Some("Authenticator verwijderd")
    );
    assert!(app.admin().logged("authenticator_removed", "success").await);
    assert_eq!(
        authenticator_names(&browser.account_page().await),
        ["Telefoon werk"]
    );
    let response = app.browser().log_in(&person).await;
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "the removed app's code"
    );
    let response = app
        .browser()
        .log_in(&person.with_authenticator(&second))
        .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "the remaining app's code"
    );
}

async fn another_persons_authenticator_cannot_be_renamed_or_removed(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, browser, _) = app.marco_logged_in().await;
    browser.add_authenticator(&app.clock, "Telefoon werk").await;
    let org = app.admin().user(MARCO).await.organisation_id.unwrap();
    seed_person(&app, &org, "collega@ek88.nl", Role::Member).await;
    let theirs = app.authenticators_of("collega@ek88.nl").await[0].id.clone();
    let response = browser
        .account_post(
            &format!("/account/authenticators/{theirs}/rename"),
            &[("device_name", "Gekaapt")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND, "rename");
    let response = browser
        .account_post(&format!("/account/authenticators/{theirs}/remove"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND, "remove");
    let kept = app.authenticators_of("collega@ek88.nl").await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].device_name, None);
    assert_eq!(app.authenticators_of(MARCO).await.len(), 2);
    assert!(!app.admin().logged("authenticator_renamed", "success").await);
    assert!(!app.admin().logged("authenticator_removed", "success").await);
}

// --- Herstelcodes -------------------------------------------------------------------------

async fn recovery_codes_are_ten_unique_codes_shown_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, browser, _) = app.marco_logged_in().await;
    let page = browser.account_page().await;
    assert!(page.contains("U heeft nog geen herstelcodes."));
    let mails = marco_mails(&app).await;
    let codes = browser.make_recovery_codes().await;
    assert_eq!(codes.len(), 10, "{codes:?}");
    assert!(codes.iter().all(|c| is_recovery_code(c)), "{codes:?}");
    let unique: std::collections::HashSet<_> = codes.iter().collect();
    assert_eq!(unique.len(), 10, "{codes:?}");
    let page = browser.account_page().await;
    for code in &codes {
        assert!(!page.contains(code.as_str()), "{code} shown again");
    }
    assert!(page.contains("U heeft nog 10 van de 10 herstelcodes."));
    let mail = app.the_new_mail(MARCO, mails).await;
    assert_eq!(
        mail.header("subject").as_deref(),
        Some("Nieuwe herstelcodes gemaakt")
    );
    assert!(
        app.admin()
            .logged("recovery_codes_generated", "success")
            .await
    );
}

async fn recovery_codes_are_stored_only_as_keyed_hashes(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, browser, _) = app.marco_logged_in().await;
    let codes = browser.make_recovery_codes().await;
    let rows = app.recovery_code_rows(MARCO).await;
    assert_eq!(rows.len(), 10);
    for row in &rows {
        let stored = format!("{row:?}").to_uppercase();
        for code in &codes {
            assert!(!stored.contains(code.as_str()), "{code} in {stored}");
            assert!(
                !stored.contains(&code.replace('-', "")),
                "{code} in {stored}"
            );
        }
        assert!(row.used_at.is_none());
    }
    let hashes: std::collections::HashSet<_> = rows.iter().map(|r| &r.code_hash).collect();
    assert_eq!(hashes.len(), 10);
}

async fn new_recovery_codes_void_the_old_set(backend: Backend) {
    let app = spawn_app(backend).await;
    let (person, browser, _) = app.marco_logged_in().await;
    let old = browser.make_recovery_codes().await;
    let mails = marco_mails(&app).await;
    let new = browser.make_recovery_codes().await;
    let mail = app.the_new_mail(MARCO, mails).await;
    assert_eq!(
        mail.header("subject").as_deref(),
        Some("Nieuwe herstelcodes gemaakt")
    );
    assert_eq!(app.recovery_code_rows(MARCO).await.len(), 10);
    let response = app
        .browser()
        .log_in_with_recovery_code(&person, &old[0])
        .await;
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "an old code"
    );
    let response = app
        .browser()
        .log_in_with_recovery_code(&person, &new[0])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "a new code");
}

async fn the_code_step_links_to_the_recovery_code_page(backend: Backend) {
    let app = spawn_app(backend).await;
    onboarded_person(&app).await;
    let browser = app.browser();
    assert_eq!(
        location(&browser.log_in_password(MARCO, STRONG).await),
        "/login/otp"
    );
    let html = browser.page("/login/otp").await;
    assert_eq!(
        text_of(&html, "a[href='/login/recovery']"),
        ["Geen toegang tot uw authenticator? Gebruik een herstelcode"]
    );
    let response = browser.get("/login/recovery").await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert_eq!(text_of(&html, "h1"), ["Inloggen met een herstelcode"]);
    assert_eq!(
        control_labelled(&html, "Herstelcode").as_deref(),
        Some("recovery_code")
    );
}

async fn a_recovery_code_logs_in_and_asks_for_a_new_authenticator(backend: Backend) {
    let app = spawn_app(backend).await;
    let (person, browser, _) = app.marco_logged_in().await;
    let codes = browser.make_recovery_codes().await;
    let mails = marco_mails(&app).await;
    let lost_phone = app.browser();
    let response = lost_phone
        .log_in_with_recovery_code(&person, &codes[3])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        "/account/authenticators/new?after=recovery"
    );
    let html = lost_phone
        .account_page_at("/account/authenticators/new?after=recovery")
        .await;
    assert!(
        text_of(&html, "[role=status]")[0].starts_with("U bent ingelogd met een herstelcode"),
        "{html}"
    );
    assert_eq!(
        text_of(&html, "a[href='/account/continue']"),
        ["Nu niet, later instellen"]
    );
    assert!(lost_phone.has_account_session().await, "authenticated");
    let sessions = app.admin().sessions(MARCO).await.unwrap();
    assert_eq!(
        sessions.iter().filter(|s| s.amr == "pwd mfa").count(),
        1,
        "{sessions:?}"
    );
    let new = app.new_mails(MARCO, mails).await;
    let mail = mail_with_subject(&new, "Herstelcode gebruikt");
    assert!(
        mail.text()
            .contains("U heeft nog 9 ongebruikte herstelcodes"),
        "{}",
        mail.text()
    );
    let details = audit_detail(&app, "login", "success").await;
    assert_eq!(details["method"], "recovery_code", "{details}");
    assert_eq!(
        details["amr"],
        serde_json::json!(["pwd", "mfa"]),
        "{details}"
    );
}

async fn a_recovery_code_may_be_typed_in_lower_case_and_without_dashes(backend: Backend) {
    let app = spawn_app(backend).await;
    let (person, browser, _) = app.marco_logged_in().await;
    let codes = browser.make_recovery_codes().await;
    for typed in [
        codes[0].to_lowercase().replace('-', " "),
        codes[1].replace('-', ""),
        format!(" {} ", codes[2].to_lowercase()),
    ] {
        let response = app
            .browser()
            .log_in_with_recovery_code(&person, &typed)
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{typed:?}");
    }
}

async fn a_used_recovery_code_is_refused_the_second_time(backend: Backend) {
    let app = spawn_app(backend).await;
    let (person, browser, _) = app.marco_logged_in().await;
    let codes = browser.make_recovery_codes().await;
    let response = app
        .browser()
        .log_in_with_recovery_code(&person, &codes[0])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = app
        .browser()
        .log_in_with_recovery_code(&person, &codes[0])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(!field_errors(&html, "recovery_code").is_empty(), "{html}");
}

async fn a_wrong_recovery_code_is_refused_and_counted(backend: Backend) {
    let app = spawn_app(backend).await;
    let (person, browser, _) = app.marco_logged_in().await;
    let codes = browser.make_recovery_codes().await;
    for (n, typed) in ["AAAA-BBBB-CCCC-DDDD", "123456", "aaaa bbbb cccc dddd"]
        .into_iter()
        .enumerate()
    {
        let guesser = app.browser();
        let response = guesser.log_in_with_recovery_code(&person, typed).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{typed}"
        );
        let html = response.text().await.unwrap();
        assert_eq!(
            field_errors(&html, "recovery_code"),
            "Deze herstelcode klopt niet of is al gebruikt."
        );
        assert_eq!(
            app.code_throttle(MARCO).await.expect("counted").failures,
            n as i32 + 1
        );
        assert!(!guesser.has_account_session().await);
    }
    assert!(app.admin().logged("login", "failure").await);
    // Three free attempts, as at the code step: the fourth comes too soon, even a right one.
    let response = app
        .browser()
        .log_in_with_recovery_code(&person, &codes[0])
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}

async fn later_after_a_recovery_code_answers_the_waiting_application(backend: Backend) {
    let app = spawn_app(backend).await;
    let (person, browser, _) = app.marco_logged_in().await;
    let codes = browser.make_recovery_codes().await;
    let rp = app.refresh_client().await;
    let lost_phone = app.browser();
    let at_code_step = lost_phone
        .authorize_to_code_step(&rp.authorize_url("openid", &[]), &person)
        .await;
    assert!(at_code_step.is_none());
    let response = lost_phone.log_in_recovery_code(&codes[0]).await;
    assert_eq!(
        location(&response),
        "/account/authenticators/new?after=recovery"
    );
    let response = lost_phone.get("/account/continue").await;
    assert!(response.status().is_redirection(), "{}", response.status());
    let back = location(&response);
    assert!(back.starts_with(REDIRECT), "{back}");
    assert_eq!(query_param(&back, "state").as_deref(), Some("st-1"));
    let code = query_param(&back, "code").expect("a code");
    let (status, tokens) = rp.exchange(&code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let claims = jwt_part(tokens["id_token"].as_str().unwrap(), 1);
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "mfa"]), "{claims}");
}

async fn an_authenticator_added_after_a_recovery_code_answers_the_waiting_application(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let (person, browser, _) = app.marco_logged_in().await;
    let codes = browser.make_recovery_codes().await;
    let rp = app.refresh_client().await;
    let lost_phone = app.browser();
    lost_phone
        .authorize_to_code_step(&rp.authorize_url("openid", &[]), &person)
        .await;
    let response = lost_phone.log_in_recovery_code(&codes[0]).await;
    let page = location(&response);
    let secret = secret_from_page(&lost_phone.account_page_at(&page).await);
    let code = secret.code_at(idp::domain::totp::step_at(app.clock.now()));
    let response = lost_phone
        .submit(
            &page,
            "/account/authenticators/new",
            &[
                ("otp_code", &code),
                ("device_name", "Nieuwe telefoon"),
                ("after", "recovery"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/account/continue");
    let response = lost_phone.get("/account/continue").await;
    let back = location(&response);
    assert!(back.starts_with(REDIRECT), "{back}");
    assert!(query_param(&back, "code").is_some(), "{back}");
    let names: Vec<_> = app
        .authenticators_of(MARCO)
        .await
        .into_iter()
        .map(|a| a.device_name)
        .collect();
    assert_eq!(names, [None, Some("Nieuwe telefoon".to_owned())]);
}

async fn only_a_completed_login_opens_the_account_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, browser, _) = app.marco_logged_in().await;
    let codes = browser.make_recovery_codes().await;
    let halfway = app.browser();
    assert_eq!(
        location(&halfway.log_in_password(MARCO, STRONG).await),
        "/login/otp"
    );
    assert!(
        !halfway.has_account_session().await,
        "the password alone is not enough"
    );
    let csrf = csrf_token(&halfway.page("/login/otp").await);
    for (action, fields) in [
        ("/account/recovery-codes", vec![]),
        ("/account/confirm", vec![("otp_code", codes[0].as_str())]),
        ("/account/sessions/end-others", vec![]),
    ] {
        let mut form = vec![("csrf_token", csrf.as_str())];
        form.extend(fields);
        let response = halfway.post(action, &form).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{action}");
    }
    assert_eq!(
        halfway.get("/account/continue").await.status(),
        StatusCode::FORBIDDEN
    );
    let rows = app.recovery_code_rows(MARCO).await;
    assert!(rows.iter().all(|r| r.used_at.is_none()), "no code used up");
    assert!(!halfway.has_account_session().await);
}

async fn the_recovery_code_page_needs_the_password_step_first(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, browser, _) = app.marco_logged_in().await;
    let codes = browser.make_recovery_codes().await;
    let stranger = app.browser();
    assert_eq!(
        stranger.get("/login/recovery").await.status(),
        StatusCode::FORBIDDEN
    );
    let csrf = csrf_token(&stranger.page("/login").await);
    let response = stranger
        .post(
            "/login/recovery",
            &[("csrf_token", &csrf), ("recovery_code", &codes[0])],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(!stranger.has_account_session().await);
    let rows = app.recovery_code_rows(MARCO).await;
    assert!(rows.iter().all(|r| r.used_at.is_none()), "no code used up");
}

async fn a_recovery_code_used_twice_at_once_logs_in_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let (person, browser, _) = app.marco_logged_in().await;
    let codes = browser.make_recovery_codes().await;
    let mut ready = Vec::new();
    for _ in 0..2 {
        let racer = app.browser();
        assert_eq!(
            location(&racer.log_in_password(MARCO, &person.password).await),
            "/login/otp"
        );
        let csrf = csrf_token(&racer.page("/login/recovery").await);
        ready.push((racer, csrf));
    }
    let posts: Vec<_> = ready
        .into_iter()
        .map(|(racer, csrf)| {
            let code = codes[0].clone();
            tokio::spawn(async move {
                let form = [
                    ("csrf_token", csrf.as_str()),
                    ("recovery_code", code.as_str()),
                ];
                racer.post("/login/recovery", &form).await.status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for post in posts {
        statuses.push(post.await.unwrap());
    }
    assert_eq!(
        count_of(&statuses, StatusCode::SEE_OTHER),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        count_of(&statuses, StatusCode::UNPROCESSABLE_ENTITY),
        1,
        "{statuses:?}"
    );
}

async fn an_authenticators_last_use_is_its_last_login(backend: Backend) {
    let app = spawn_app(backend).await;
    let (person, browser, _) = app.marco_logged_in().await;
    let (second, _) = browser.add_authenticator(&app.clock, "Telefoon werk").await;
    let page = browser.account_page().await;
    let meta = text_of(&page, "section[aria-labelledby=authenticators] .item-meta");
    assert_eq!(meta.len(), 2);
    assert!(
        meta.iter()
            .all(|m| m.contains("Toegevoegd:") && m.contains("Laatst gebruikt:")),
        "{meta:?}"
    );
    let before = app.authenticators_of(MARCO).await;
    app.clock.advance(3600);
    let started = app.clock.now();
    let response = app
        .browser()
        .log_in(&person.with_authenticator(&second))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let after = app.authenticators_of(MARCO).await;
    assert_eq!(
        after[0].last_used_at, before[0].last_used_at,
        "the first app was not used"
    );
    let used = after[1].last_used_at.expect("the second app was used");
    assert!(
        (started..=app.clock.now()).contains(&used),
        "used at the login"
    );
}

async fn a_step_up_keeps_this_browsers_refresh_tokens_through_a_password_change(backend: Backend) {
    let app = spawn_app(backend).await;
    let signed_in = app.signed_in().await;
    app.make_login_stale();
    let browser = &signed_in.browser;
    let response = browser
        .step_up("password", &signed_in.person.fresh_code(&app.clock))
        .await;
    assert_eq!(location(&response), "/account/password");
    let response = browser
        .change_password(STRONG, NEW_PASSWORD, NEW_PASSWORD, false)
        .await;
    assert_eq!(location(&response), "/account?done=password");
    let (status, body) = signed_in.rp.refresh(&signed_in.tokens).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "this browser's session (its id renewed by the step-up) keeps its token: {body}"
    );
}

async fn ending_a_session_that_stepped_up_stops_its_refresh_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let (person, browser, _) = app.marco_logged_in().await;
    let rp = app.refresh_client().await;
    let other = app.browser_as(FIREFOX_UA);
    let tokens = rp.sign_in(&other, &person, "openid offline_access").await;
    app.make_login_stale();
    let response = other.step_up("", &person.fresh_code(&app.clock)).await;
    assert_eq!(
        location(&response),
        "/account?done=confirmed",
        "the other browser steps up"
    );
    let response = browser
        .step_up("sessions", &person.fresh_code(&app.clock))
        .await;
    assert_eq!(location(&response), "/account#sessions");
    let end = end_action_for(&browser.account_page().await, FIREFOX_SESSION);
    let response = browser.account_form(&end, &[]).await;
    assert_eq!(location(&response), "/account?done=sessions_ended");
    assert!(!other.has_account_session().await, "logged out");
    assert_invalid_grant(rp.refresh(&tokens).await);
}

// --- Sessies ------------------------------------------------------------------------------

async fn the_sessions_section_marks_this_browser_and_offers_to_end_the_others(backend: Backend) {
    let app = spawn_app(backend).await;
    let (person, browser, _) = app.marco_logged_in().await;
    let other = app.browser_as(FIREFOX_UA);
    assert_eq!(other.log_in(&person).await.status(), StatusCode::SEE_OTHER);
    let page = browser.account_page().await;
    let titles = session_titles(&page);
    assert!(titles[0].ends_with("deze browser"), "{titles:?}");
    assert_eq!(
        titles.iter().filter(|t| t.contains("deze browser")).count(),
        1,
        "{titles:?}"
    );
    assert!(titles.contains(&FIREFOX_SESSION.to_owned()), "{titles:?}");
    assert_eq!(
        actions_ending(&page, "end").len(),
        titles.len() - 1,
        "an end button for each other session"
    );
    end_action_for(&page, FIREFOX_SESSION);
    assert!(form_actions(&page).contains(&"/account/sessions/end-others".to_owned()));
}

async fn ending_another_browsers_session_logs_it_out_and_stops_its_refresh_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let (person, browser, _) = app.marco_logged_in().await;
    let rp = app.refresh_client().await;
    let other = app.browser_as(FIREFOX_UA);
    let tokens = rp.sign_in(&other, &person, "openid offline_access").await;
    assert!(other.has_account_session().await);
    let end = end_action_for(&browser.account_page().await, FIREFOX_SESSION);
    let response = browser.account_form(&end, &[]).await;
    assert_eq!(
        browser.done_message(&response).await,
        "De sessie is beëindigd. Daar moet opnieuw worden ingelogd."
    );
    assert!(!other.has_account_session().await, "logged out");
    assert!(!other.is_logged_in(&rp).await, "no SSO either");
    assert_invalid_grant(rp.refresh(&tokens).await);
    assert!(browser.has_account_session().await, "this browser stays");
    let titles = session_titles(&browser.account_page().await);
    assert!(!titles.contains(&FIREFOX_SESSION.to_owned()), "{titles:?}");
}

async fn a_made_up_session_handle_is_not_found(backend: Backend) {
    let app = spawn_app(backend).await;
    let (person, browser, _) = app.marco_logged_in().await;
    let other = app.browser_as(FIREFOX_UA);
    assert_eq!(other.log_in(&person).await.status(), StatusCode::SEE_OTHER);
    let response = browser
        .account_post("/account/sessions/bestaat-niet/end", &[])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(other.has_account_session().await);
}

async fn another_persons_session_cannot_be_ended(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, browser, _) = app.marco_logged_in().await;
    let org = app.admin().user(MARCO).await.organisation_id.unwrap();
    let colleague = seed_person(&app, &org, "collega@ek88.nl", Role::Member).await;
    let (theirs, their_other) = (app.browser(), app.browser_as(FIREFOX_UA));
    assert_eq!(
        theirs.log_in(&colleague).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        their_other.log_in(&colleague).await.status(),
        StatusCode::SEE_OTHER
    );
    let end = end_action_for(&theirs.account_page().await, FIREFOX_SESSION);
    let response = browser.account_post(&end, &[]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(their_other.has_account_session().await);
}

async fn ending_all_other_sessions_keeps_only_this_browser(backend: Backend) {
    let app = spawn_app(backend).await;
    let (person, browser, _) = app.marco_logged_in().await;
    let others = [app.browser_as(FIREFOX_UA), app.browser()];
    for other in &others {
        assert_eq!(other.log_in(&person).await.status(), StatusCode::SEE_OTHER);
    }
    let response = browser
        .account_form("/account/sessions/end-others", &[])
        .await;
    assert_eq!(location(&response), "/account?done=sessions_ended");
    for other in &others {
        assert!(!other.has_account_session().await);
    }
    let page = browser.account_page().await;
    let titles = session_titles(&page);
    assert_eq!(titles.len(), 1, "{titles:?}");
    assert!(titles[0].ends_with("deze browser"), "{titles:?}");
    assert!(page.contains("U bent nergens anders ingelogd."));
}

// --- Toestemmingen ------------------------------------------------------------------------

async fn a_permission_is_listed_by_the_applications_name(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, browser, _) = app.marco_logged_in().await;
    assert!(
        browser
            .account_page()
            .await
            .contains("U heeft geen toepassingen van anderen toegang gegeven.")
    );
    let (rp, _) = app.grant_third_party(&browser).await;
    let page = browser.account_page().await;
    assert_eq!(permission_names(&page), ["Roosterplanner"]);
    assert_eq!(
        actions_ending(&page, "revoke"),
        [format!("/account/permissions/{}/revoke", rp.id)]
    );
}

async fn a_revoked_permission_stops_its_refresh_tokens_and_is_asked_again(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, browser, _) = app.marco_logged_in().await;
    let (rp, tokens) = app.grant_third_party(&browser).await;
    // The token of another account page: the form itself is checked by the test above.
    let revoke = format!("/account/permissions/{}/revoke", rp.id);
    let response = browser.submit("/account/confirm", &revoke, &[]).await;
    assert_eq!(
        browser.done_message(&response).await,
        "De toestemming is ingetrokken."
    );
    assert!(permission_names(&browser.account_page().await).is_empty());
    assert_invalid_grant(rp.refresh(&tokens).await);
    let response = browser.get(&rp.authorize_url("openid", &[])).await;
    assert_eq!(location(&response), "/consent", "asked again");
}

both_backends!(
    the_details_are_the_name_address_organisation_and_role,
    without_a_session_the_account_page_sends_to_login_and_the_login_comes_back,
    every_account_form_without_the_right_csrf_token_is_refused,
    revoking_a_permission_without_the_csrf_token_is_refused,
    a_stale_login_sends_every_change_to_the_step_up_first_and_nothing_changes,
    a_stale_login_sends_revoking_a_permission_to_the_step_up_first,
    a_step_up_keeps_the_session_and_then_the_change_goes_through,
    a_step_up_returns_to_the_section_it_was_asked_for_and_nowhere_else,
    a_code_of_any_authenticator_confirms_a_step_up,
    a_recovery_code_confirms_a_step_up_and_is_used_up,
    a_wrong_step_up_code_is_refused_and_counted,
    wrong_codes_at_login_throttle_the_step_up_too,
    the_step_up_window_is_a_setting,
    a_wrong_current_password_is_refused_at_its_field_and_audited,
    a_new_password_that_breaks_the_policy_is_refused,
    a_changed_password_replaces_the_old_one_with_a_notice_and_an_audit_row,
    a_changed_password_revokes_the_refresh_tokens_of_other_sessions_only,
    a_changed_password_with_logout_others_ends_the_other_sessions,
    the_add_page_shows_a_qr_code_and_the_key_to_type,
    an_added_authenticator_joins_the_first_and_both_log_in,
    a_wrong_code_adds_no_authenticator,
    a_renamed_authenticator_shows_its_new_name_and_is_audited,
    the_only_authenticator_cannot_be_removed,
    a_removed_authenticator_no_longer_logs_in,
    another_persons_authenticator_cannot_be_renamed_or_removed,
    recovery_codes_are_ten_unique_codes_shown_once,
    recovery_codes_are_stored_only_as_keyed_hashes,
    new_recovery_codes_void_the_old_set,
    the_code_step_links_to_the_recovery_code_page,
    a_recovery_code_logs_in_and_asks_for_a_new_authenticator,
    a_recovery_code_may_be_typed_in_lower_case_and_without_dashes,
    a_used_recovery_code_is_refused_the_second_time,
    a_wrong_recovery_code_is_refused_and_counted,
    only_a_completed_login_opens_the_account_page,
    the_recovery_code_page_needs_the_password_step_first,
    a_recovery_code_used_twice_at_once_logs_in_once,
    an_authenticators_last_use_is_its_last_login,
    a_step_up_keeps_this_browsers_refresh_tokens_through_a_password_change,
    ending_a_session_that_stepped_up_stops_its_refresh_token,
    later_after_a_recovery_code_answers_the_waiting_application,
    an_authenticator_added_after_a_recovery_code_answers_the_waiting_application,
    the_sessions_section_marks_this_browser_and_offers_to_end_the_others,
    ending_another_browsers_session_logs_it_out_and_stops_its_refresh_token,
    a_made_up_session_handle_is_not_found,
    another_persons_session_cannot_be_ended,
    ending_all_other_sessions_keeps_only_this_browser,
    a_permission_is_listed_by_the_applications_name,
    a_revoked_permission_stops_its_refresh_tokens_and_is_asked_again,
);
