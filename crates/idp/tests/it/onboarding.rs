//! Manual §2.1 end to end over HTTP: invitation mail → registration → authenticator set-up,
//! with every rejection.

use idp::clock::Clock;
use idp::domain::Language;
use idp::domain::totp::step_at;
use reqwest::StatusCode;

use crate::both_backends;
use crate::driver::*;
use crate::helpers::*;

async fn user_status(app: &TestApp, email: &str) -> String {
    app.admin().user(email).await.status.as_str().to_owned()
}

/// Marco's invitation link, opened in a browser of his (which now holds a CSRF cookie).
async fn an_opened_invitation(backend: Backend) -> (TestApp, Browser, String) {
    let app = spawn_app(backend).await;
    let (link, _) = invite_marco(&app, Language::Nl).await;
    let browser = app.browser();
    browser.get(&link).await;
    (app, browser, link)
}

async fn invitation_mail_as_the_manual_shows_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, mail) = invite_marco(&app, Language::Nl).await;
    assert_eq!(
        mail.header("From").unwrap(),
        "\"Inloggen Portaal Werkgever\" <inloggen@portaalwerkgever.nl>"
    );
    assert_eq!(
        mail.header("Reply-To").unwrap(),
        "noreply@portaalwerkgever.nl"
    );
    assert_eq!(mail.header("To").unwrap(), "marco@ek88.nl");
    assert_eq!(mail.mail_from, "inloggen@portaalwerkgever.nl");
    assert_eq!(
        mail.header("Subject").unwrap(),
        "Belangrijk: maak nu uw account aan voor het werkgeverportaal van EK88"
    );
    let text = mail.text();
    let html = mail.html();
    let html_text = text_of(&html, "body").join(" ");
    assert!(!html.contains("null"));
    for body in [&text, &html_text] {
        assert!(body.contains("Beste heer/mevrouw Van Basten,"), "{body}");
        assert!(body.contains("maximaal 3 dagen geldig"));
        assert!(body.contains("inloggen@portaalwerkgever.nl"));
        assert!(body.contains("Aanmaken account werkgeverportaal van EK88"));
        assert!(body.contains("Het team van HumanCapitalCare"));
        assert!(!body.contains("null"), "{body}");
    }
    assert_eq!(
        attr(&html, "a[href*='/invitation/']", "href").unwrap(),
        mail.link()
    );
    assert!(
        mail.link()
            .starts_with(&format!("{}/invitation/", app.address))
    );

    // English, and no last name known: a general salutation, never an empty placeholder.
    let org = app.admin().create_organisation("Acme BV").await;
    let (_, mail) = invite(&app, &org, "jane@acme.example", None, Language::En).await;
    assert_eq!(
        mail.header("Subject").unwrap(),
        "Important: create your account for the employer portal of Acme BV"
    );
    assert!(mail.text().starts_with("Dear Sir/Madam,"));
    assert!(mail.text().contains("valid for at most 3 days"));
}

async fn registration_page_labels_match_the_manual(backend: Backend) {
    let app = spawn_app(backend).await;
    let (link, _) = invite_marco(&app, Language::Nl).await;
    let browser = app.browser();
    let response = browser.get(&link).await;
    assert_eq!(response.status(), StatusCode::OK);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"));
    let html = response.text().await.unwrap();
    assert_eq!(
        text_of(&html, "h1"),
        ["Maak een account aan om lid te worden van de organisatie EK88"]
    );
    for label in [
        "E-mailadres",
        "Wachtwoord",
        "Bevestig wachtwoord",
        "Voornaam",
        "Achternaam",
    ] {
        assert!(
            control_labelled(&html, label).is_some(),
            "no control labelled {label}"
        );
    }
    assert_eq!(attr(&html, "#email", "value").unwrap(), "marco@ek88.nl");
    assert!(attr(&html, "#email", "readonly").is_some());
    assert_eq!(
        text_of(&html, "button[type=submit].primary"),
        ["Registreren"]
    );
    assert!(text_of(&html, "a").contains(&"« Terug naar Inloggen".to_owned()));
    assert!(
        text_of(&html, ".required-note")
            .pop()
            .unwrap()
            .contains("Verplichte velden")
    );
    assert!(html.contains("<option value=\"en\">English</option>"));

    // The language dropdown: the same link in English.
    let html = browser.page(&format!("{link}?lang=en")).await;
    assert_eq!(
        text_of(&html, "h1"),
        ["Create an account to join the EK88 organization"]
    );
    assert_eq!(text_of(&html, "button[type=submit].primary"), ["Register"]);
}

async fn each_password_rule_is_shown_at_its_field(backend: Backend) {
    let (app, browser, link) = an_opened_invitation(backend).await;
    let csrf = csrf_token(&browser.page(&link).await);
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "Kort-W4chtwoord",
            "Kort-W4chtwoord",
            "#password",
            "minimaal 16 tekens",
        ),
        (
            "geen-hoofdletter-1234",
            "geen-hoofdletter-1234",
            "#password",
            "1 hoofdletter",
        ),
        (
            "Geen-Cijfer-Hierin-Nee",
            "Geen-Cijfer-Hierin-Nee",
            "#password",
            "1 cijfer",
        ),
        (
            "GeenSpeciaalTeken1234",
            "GeenSpeciaalTeken1234",
            "#password",
            "1 speciaal teken",
        ),
        (
            STRONG,
            "Iets-Anders-Dan-Het-1e",
            "#password_confirm",
            "komen niet overeen",
        ),
    ];
    for (password, confirm, field, message) in cases {
        let response = browser
            .post(
                &link,
                &[
                    ("csrf_token", csrf.as_str()),
                    ("password", password),
                    ("password_confirm", confirm),
                    ("first_name", "Marco"),
                    ("last_name", "van Basten"),
                ],
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{password}"
        );
        let html = response.text().await.unwrap();
        assert_eq!(
            attr(&html, field, "aria-invalid").as_deref(),
            Some("true"),
            "{password}"
        );
        let described = attr(&html, field, "aria-describedby").unwrap();
        let error_id = described
            .split_whitespace()
            .find(|id| id.contains("-error-"))
            .unwrap();
        assert!(
            text_of(&html, &format!("#{error_id}"))
                .pop()
                .unwrap()
                .contains(message),
            "{password}"
        );
        assert!(!text_of(&html, "[role=alert]").is_empty());
        // What was typed stays, except the passwords.
        assert_eq!(
            attr(&html, "#first_name", "value").as_deref(),
            Some("Marco")
        );
        assert!(attr(&html, "#password", "value").is_none());
        assert!(!html.contains(password));
    }
    assert_eq!(user_status(&app, "marco@ek88.nl").await, "invited");
}

/// Jan Jansen of Bakkerij Vermeulen, invited: the link, opened in his browser.
async fn jans_opened_invitation(backend: Backend) -> (TestApp, Browser, String) {
    let app = spawn_app(backend).await;
    let org = app.admin().create_organisation("Bakkerij Vermeulen").await;
    let (link, _) = invite(&app, &org, "jan@example.nl", Some("Jansen"), Language::Nl).await;
    let browser = app.browser();
    browser.get(&link).await;
    (app, browser, link)
}

/// Posts the registration form as Jan Jansen, in the page language `lang`.
async fn register_as_jan(
    browser: &Browser,
    link: &str,
    lang: &str,
    password: &str,
) -> reqwest::Response {
    browser
        .post_form(
            link,
            &[
                ("lang", lang),
                ("password", password),
                ("password_confirm", password),
                ("first_name", "Jan"),
                ("last_name", "Jansen"),
            ],
        )
        .await
}

/// A password that keeps every rule the hint states, and is no common one, registers; the hint
/// says that easily guessed passwords are refused too.
async fn a_password_that_keeps_the_stated_rules_registers(backend: Backend) {
    let (app, browser, link) = jans_opened_invitation(backend).await;
    let html = browser.page(&link).await;
    let hint = text_of(&html, "#password-hint").join(" ");
    assert!(hint.contains("Minimaal 16 tekens"), "{hint}");
    let refused = "Wachtwoorden die makkelijk te raden zijn (zoals gewone woorden, namen of uw \
                   e-mailadres) worden geweigerd.";
    assert!(hint.contains(refused), "{hint}");
    let response = register_as_jan(&browser, &link, "nl", "Zomer2026!Werkgever").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/otp/setup");
    assert_eq!(user_status(&app, "jan@example.nl").await, "pending_otp");
}

/// A guessable password is refused at its field with zxcvbn's reason and suggestion, in the
/// language the form is posted in; one made of the person's own organisation is refused for that.
async fn a_guessable_password_is_refused_with_its_reason(backend: Backend) {
    let cases: &[(&str, &str, &str)] = &[
        (
            "nl",
            "Wachtwoord12345!!",
            "Dit wachtwoord is te makkelijk te raden. Er zit een veelgebruikt wachtwoord in. \
             Voeg nog een of twee woorden toe; ongebruikelijke woorden zijn beter.",
        ),
        (
            "en",
            "Wachtwoord12345!!",
            "This password is too easy to guess. It contains a very common password. \
             Add another word or two. Uncommon words are better.",
        ),
        (
            "nl",
            "Vermeulen2026!Bakkerij",
            "Dit wachtwoord is te makkelijk te raden. Uw naam, uw e-mailadres en de naam van uw \
             organisatie zijn makkelijk te raden.",
        ),
        (
            "en",
            "Vermeulen2026!Bakkerij",
            "This password is too easy to guess. Your name, your e-mail address and your \
             organisation's name are easy to guess.",
        ),
    ];
    let (app, browser, link) = jans_opened_invitation(backend).await;
    for (lang, password, message) in cases {
        let response = register_as_jan(&browser, &link, lang, password).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{password}"
        );
        let html = response.text().await.unwrap();
        assert_eq!(
            attr(&html, "#password", "aria-invalid").as_deref(),
            Some("true")
        );
        let shown = field_errors(&html, "password");
        assert!(shown.contains(message), "{lang} {password}: {shown}");
        // The rejected password is not put back into the page.
        assert!(attr(&html, "#password", "value").is_none());
        assert!(attr(&html, "#password_confirm", "value").is_none());
        assert!(!html.contains(password));
        assert_eq!(user_status(&app, "jan@example.nl").await, "invited");
    }
}

async fn missing_names_are_shown_at_their_fields(backend: Backend) {
    let (app, browser, link) = an_opened_invitation(backend).await;
    let csrf = csrf_token(&browser.page(&link).await);
    let response = browser
        .post(
            &link,
            &[
                ("csrf_token", csrf.as_str()),
                ("password", STRONG),
                ("password_confirm", STRONG),
            ],
        )
        .await;
    let html = response.text().await.unwrap();
    assert_eq!(
        attr(&html, "#first_name", "aria-invalid").as_deref(),
        Some("true")
    );
    assert_eq!(
        attr(&html, "#last_name", "aria-invalid").as_deref(),
        Some("true")
    );
    assert_eq!(user_status(&app, "marco@ek88.nl").await, "invited");
}

/// Marco's registration posted from `browser` with `token` as its CSRF token.
async fn register_with_token(browser: &Browser, link: &str, token: &str) -> reqwest::Response {
    browser
        .post(
            link,
            &[
                ("csrf_token", token),
                ("password", STRONG),
                ("password_confirm", STRONG),
                ("first_name", "Marco"),
                ("last_name", "van Basten"),
            ],
        )
        .await
}

/// A 403 saying the form has expired, and no account.
async fn assert_form_expired(app: &TestApp, response: reqwest::Response) {
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Het formulier is verlopen")
    );
    assert_eq!(user_status(app, MARCO).await, "invited");
}

async fn a_form_without_csrf_token_is_refused(backend: Backend) {
    let (app, browser, link) = an_opened_invitation(backend).await;
    let response = register_with_token(&browser, &link, "").await;
    assert_form_expired(&app, response).await;
}

async fn a_forged_csrf_token_is_refused(backend: Backend) {
    let (app, browser, link) = an_opened_invitation(backend).await;
    let response = register_with_token(&browser, &link, "forged").await;
    assert_form_expired(&app, response).await;
}

/// A token from another browser does not fit this browser's cookie.
async fn a_csrf_token_from_another_browser_is_refused(backend: Backend) {
    let (app, browser, link) = an_opened_invitation(backend).await;
    let theirs = csrf_token(&app.browser().page(&link).await);
    let response = register_with_token(&browser, &link, &theirs).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(user_status(&app, MARCO).await, "invited");
}

async fn onboarding_end_to_end(backend: Backend) {
    let app = spawn_app(backend).await;
    let (link, _) = invite_marco(&app, Language::Nl).await;

    // Registration; a posted e-mail address is ignored: the invitation decides the username.
    let browser = app.browser();
    let response = browser
        .post_form(
            &link,
            &[
                ("email", "mallory@evil.example"),
                ("password", STRONG),
                ("password_confirm", STRONG),
                ("first_name", "Marco"),
                ("last_name", "van Basten"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/otp/setup");
    let cookie = set_cookies(&response)
        .into_iter()
        .find(|c| c.starts_with("hcc_session="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert_eq!(user_status(&app, "marco@ek88.nl").await, "pending_otp");

    // The set-up page, as the manual shows it.
    let html = browser.page("/otp/setup").await;
    assert_eq!(text_of(&html, "h1"), ["Mobiele authenticator instellen"]);
    for app_name in ["Microsoft Authenticator", "Google Authenticator", "FreeOTP"] {
        assert!(html.contains(app_name));
    }
    assert!(html.contains("<svg"), "the QR code is inline SVG");
    assert_eq!(text_of(&html, "summary"), ["Scannen mislukt?"]);
    for label in [
        "Authenticatiecode",
        "Apparaatnaam",
        "Uitloggen op andere apparaten",
    ] {
        assert!(
            control_labelled(&html, label).is_some(),
            "no control labelled {label}"
        );
    }
    assert_eq!(
        attr(&html, "#logout_others", "type").as_deref(),
        Some("checkbox")
    );
    assert_eq!(
        text_of(&html, "form[method=post] button[type=submit]"),
        ["Verzenden"]
    );
    let secret = secret_from_page(&html);
    // Reloading shows the same secret.
    let again = browser.page("/otp/setup").await;
    assert_eq!(secret_from_page(&again).as_bytes(), secret.as_bytes());

    // A wrong code is refused at its field.
    let now = app.clock.now();
    let wrong = format!(
        "{:06}",
        (secret.code_at(step_at(now)).parse::<u32>().unwrap() + 1) % 1_000_000
    );
    let response = browser
        .post(
            "/otp/setup",
            &[
                ("csrf_token", &csrf_token(&html)),
                ("otp_code", &wrong),
                ("device_name", "Telefoon"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert_eq!(
        attr(&html, "#otp_code", "aria-invalid").as_deref(),
        Some("true")
    );
    assert_eq!(
        attr(&html, "#device_name", "value").as_deref(),
        Some("Telefoon")
    );
    assert_eq!(user_status(&app, "marco@ek88.nl").await, "pending_otp");

    // The right code (one step behind, within the ±1 window) activates the account.
    let code = secret.code_at(step_at(now) - 1);
    let response = browser
        .post(
            "/otp/setup",
            &[
                ("csrf_token", &csrf_token(&html)),
                ("otp_code", &code),
                ("device_name", "Telefoon"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/welcome?account=ready");
    assert_eq!(user_status(&app, "marco@ek88.nl").await, "active");
    let welcome = browser.get("/welcome?account=ready").await;
    assert_eq!(welcome.status(), StatusCode::OK);
    assert_eq!(
        text_of(&welcome.text().await.unwrap(), "h1"),
        ["Uw account is klaar"]
    );

    // The set-up is over: the page and the code cannot be used again.
    assert_eq!(
        browser.get("/otp/setup").await.status(),
        StatusCode::FORBIDDEN
    );
    let response = browser
        .post(
            "/otp/setup",
            &[("csrf_token", &csrf_token(&html)), ("otp_code", &code)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // The link was single-use.
    let response = browser.get(&link).await;
    assert_eq!(response.status(), StatusCode::GONE);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Vraag de hoofdgebruiker (superuser)")
    );

    let events: Vec<(String, String)> = app
        .admin()
        .audit_log()
        .await
        .into_iter()
        .map(|e| (e.event, e.outcome))
        .collect();
    for expected in ["invitation_created", "invitation_used", "registration"] {
        assert!(
            events.contains(&(expected.to_owned(), "success".to_owned())),
            "{expected}: {events:?}"
        );
    }
    assert!(events.contains(&("otp_setup".to_owned(), "failure".to_owned())));
    assert!(events.contains(&("otp_setup".to_owned(), "success".to_owned())));
}

async fn the_same_code_confirms_only_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let (link, _) = invite_marco(&app, Language::Nl).await;
    let browser = app.browser();
    assert_eq!(
        browser.register(&link, STRONG).await.status(),
        StatusCode::SEE_OTHER
    );
    let html = browser.page("/otp/setup").await;
    let code = secret_from_page(&html).code_at(step_at(app.clock.now()));
    let csrf = csrf_token(&html);
    let form = [("csrf_token", csrf.as_str()), ("otp_code", code.as_str())];
    let (a, b) = tokio::join!(
        browser.post("/otp/setup", &form),
        browser.post("/otp/setup", &form)
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses[0], 303, "one submission wins");
    assert_ne!(statuses[1], 303, "the replay is refused: {statuses:?}");
}

/// A second invitation kills the first link; the second one works.
async fn a_replaced_invitation_link_is_gone(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.admin().create_organisation("EK88").await;
    let browser = app.browser();
    let (first, _) = invite(&app, &org, MARCO, None, Language::Nl).await;
    let (second, _) = invite(&app, &org, MARCO, None, Language::Nl).await;
    assert_ne!(first, second);
    assert_eq!(browser.get(&first).await.status(), StatusCode::GONE);
    assert_eq!(
        browser.register(&second, STRONG).await.status(),
        StatusCode::SEE_OTHER
    );
}

async fn an_invitation_link_expires_after_3_days(backend: Backend) {
    let app = spawn_app(backend).await;
    let (link, _) = invite_marco(&app, Language::Nl).await;
    app.clock.advance(3 * 24 * 3600 + 1);
    assert_eq!(app.browser().get(&link).await.status(), StatusCode::GONE);
}

async fn a_registration_form_opened_before_the_expiry_cannot_be_submitted_after_it(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let org = app.admin().create_organisation("EK88").await;
    let browser = app.browser();
    let (link, _) = invite(&app, &org, "ruud@ek88.nl", None, Language::Nl).await;
    let page = browser.page(&link).await;
    app.clock.advance(3 * 24 * 3600 + 1);
    let response = browser
        .post(
            &link,
            &[
                ("csrf_token", csrf_token(&page).as_str()),
                ("password", STRONG),
                ("password_confirm", STRONG),
                ("first_name", "Ruud"),
                ("last_name", "Gullit"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::GONE);
    assert_eq!(user_status(&app, "ruud@ek88.nl").await, "invited");
}

async fn an_unknown_invitation_link_is_gone(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.browser().get("/invitation/not-a-real-token").await;
    assert_eq!(response.status(), StatusCode::GONE);
    let html = response.text().await.unwrap();
    assert_eq!(
        text_of(&html, "h1"),
        ["Deze uitnodigingslink is niet (meer) geldig"]
    );
}

async fn logout_other_devices_ends_the_other_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    let (link, _) = invite_marco(&app, Language::Nl).await;
    let browser = app.browser();
    assert_eq!(
        browser.register(&link, STRONG).await.status(),
        StatusCode::SEE_OTHER
    );
    // Another device of the same person holds a session.
    let email = idp::domain::Email::parse(MARCO).unwrap();
    let state = app.state.clone();
    let other = app
        .state
        .db
        .run(move |c| {
            let user = idp::storage::users::find_by_email(c, &email)?.unwrap();
            let (_, session) = idp::sessions::start(
                c,
                &state.settings.session,
                &user.id,
                idp::sessions::Stage::Authenticated,
                "pwd otp",
                &Default::default(),
                state.now(),
            )?;
            Ok::<_, idp::storage::DbError>(session.id_hash)
        })
        .await
        .unwrap();
    let secret = browser.authenticator_secret().await;
    let code = secret.code_at(step_at(app.clock.now()));
    let response = browser
        .confirm_authenticator(&code, &[("logout_others", "on")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let now = app.clock.now();
    let gone = app
        .state
        .db
        .run(move |c| idp::storage::sessions::find_live(c, &other, now))
        .await
        .unwrap();
    assert!(gone.is_none(), "the other device's session ended");
    assert_eq!(
        browser.get("/welcome").await.status(),
        StatusCode::OK,
        "this device stays logged in"
    );
}

async fn secrets_are_not_stored_in_the_clear(backend: Backend) {
    let app = spawn_app(backend).await;
    let (link, _) = invite_marco(&app, Language::Nl).await;
    let token = link.rsplit('/').next().unwrap().to_owned();
    let browser = app.browser();
    browser.register(&link, STRONG).await;
    let secret = browser.authenticator_secret().await;
    let (invitations, passwords, otp, mails) = app
        .state
        .db
        .run(|c| {
            use diesel::prelude::*;
            use idp::storage::schema::*;
            let i: Vec<String> = invitations::table.select(invitations::token_hash).load(c)?;
            let p: Vec<String> = password_credentials::table
                .select(password_credentials::hash)
                .load(c)?;
            let o: Vec<Vec<u8>> = otp_credentials::table
                .select(otp_credentials::secret_sealed)
                .load(c)?;
            let m: Vec<(String, String)> = mail_outbox::table
                .select((mail_outbox::body_text, mail_outbox::body_html))
                .load(c)?;
            Ok::<_, idp::storage::DbError>((i, p, o, m))
        })
        .await
        .unwrap();
    // The rows inspected exist: the invitation, the outbox mail, the password, the authenticator.
    assert!(!invitations.is_empty(), "an invitation row");
    assert!(!mails.is_empty(), "a mail in the outbox");
    assert!(!passwords.is_empty(), "a password row");
    assert!(!otp.is_empty(), "an authenticator row");
    assert!(invitations.iter().all(|h| h != &token && h.len() == 64));
    assert!(
        mails
            .iter()
            .all(|(t, h)| !t.contains(&token) && !h.contains(&token)),
        "the outbox holds no working link (sealed, and blanked once sent)"
    );
    assert!(
        passwords
            .iter()
            .all(|h| h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$") && !h.contains(STRONG))
    );
    assert!(otp.iter().all(|s| {
        !s.windows(secret.as_bytes().len())
            .any(|w| w == secret.as_bytes())
    }));
}

both_backends!(
    invitation_mail_as_the_manual_shows_it,
    registration_page_labels_match_the_manual,
    each_password_rule_is_shown_at_its_field,
    a_password_that_keeps_the_stated_rules_registers,
    a_guessable_password_is_refused_with_its_reason,
    missing_names_are_shown_at_their_fields,
    a_form_without_csrf_token_is_refused,
    a_forged_csrf_token_is_refused,
    a_csrf_token_from_another_browser_is_refused,
    onboarding_end_to_end,
    the_same_code_confirms_only_once,
    a_replaced_invitation_link_is_gone,
    an_invitation_link_expires_after_3_days,
    a_registration_form_opened_before_the_expiry_cannot_be_submitted_after_it,
    an_unknown_invitation_link_is_gone,
    logout_other_devices_ends_the_other_sessions,
    secrets_are_not_stored_in_the_clear,
);
