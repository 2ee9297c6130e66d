//! The employer portal beside the IdP, both on random ports: the login through the green
//! button to the dashboard, every refusal of a tampered, expired, foreign or replayed answer,
//! back-channel and RP-initiated logout, refresh and what a failed refresh does, and the
//! organisation administration a superuser (and HCC staff) do through the portal.

use idp::domain::Role;
use reqwest::StatusCode;

use crate::both_backends;
use crate::driver::*;
use crate::helpers::*;

/// EK88 with a superuser and a member (active, with an authenticator), and the portal.
struct Ek88 {
    org: String,
    superuser: Person,
    member: Person,
    portal: PortalApp,
}

async fn ek88(app: &TestApp) -> Ek88 {
    let org = app.admin().create_organisation("EK88").await;
    let superuser = seed_person(app, &org, "hoofd@ek88.nl", Role::Superuser).await;
    let member = seed_person(app, &org, "medewerker@ek88.nl", Role::Member).await;
    Ek88 {
        org,
        superuser,
        member,
        portal: app.portal().await,
    }
}

/// The superuser signed in at the portal: their browser.
async fn superuser_signed_in(ek: &Ek88, app: &TestApp) -> Browser {
    let browser = app.browser();
    ek.portal.sign_in(&browser, &ek.superuser).await;
    browser
}

/// The text of the flash message on the page a portal action redirected to.
async fn after(ek: &Ek88, browser: &Browser, response: reqwest::Response) -> String {
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{:?}",
        response.text().await
    );
    let page = browser.page(&ek.portal.url(&location(&response))).await;
    text_of(&page, ".flash").join(" ")
}

/// Posts the form with `action` on the **Gebruikers beheren** page; the confirmation shown.
async fn on_manage_page(
    ek: &Ek88,
    browser: &Browser,
    action: &str,
    fields: &[(&str, &str)],
) -> String {
    let response = ek.portal.act(browser, &manage(ek), action, fields).await;
    after(ek, browser, response).await
}

/// The account's status at the IdP.
async fn status_of(app: &TestApp, email: &str) -> String {
    app.admin().user(email).await.status.as_str().to_owned()
}

fn manage(ek: &Ek88) -> String {
    format!("/beheer/{}", ek.org)
}

async fn person_path(app: &TestApp, ek: &Ek88, email: &str) -> String {
    let id = app.admin().user(email).await.id;
    format!("{}/gebruikers/{id}", manage(ek))
}

/// Waits until `cond` holds (the IdP's outboxes work in the background), at most 10 s.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..200 {
        if cond() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{what} did not happen within 10 s");
}

// Logging in.
async fn the_green_button_leads_through_the_idp_to_the_dashboard(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let browser = app.browser();
    let response = browser.get(&ek.portal.url("/")).await;
    // Browsers send the page's origin with its own form posts (no-referrer would make it
    // `null`, which the CSRF check refuses).
    assert_eq!(response.headers()["referrer-policy"], "same-origin");
    let landing = response.text().await.unwrap();
    assert_eq!(
        attr(&landing, "meta[name=referrer]", "content").as_deref(),
        Some("same-origin")
    );
    assert!(landing.contains("HumanCapitalCare Werkgeverportaal"));
    assert_eq!(
        text_of(&landing, "form[action='/login'] button"),
        ["Inloggen"]
    );

    let authorize = ek.portal.press_login(&browser).await;
    assert!(
        authorize.starts_with(&format!("{}/authorize?", app.address)),
        "{authorize}"
    );
    for (name, expected) in [
        ("response_type", Some("code")),
        ("client_id", Some(ek.portal.client_id.as_str())),
        ("code_challenge_method", Some("S256")),
        ("ui_locales", Some("nl")),
    ] {
        assert_eq!(query_param(&authorize, name).as_deref(), expected, "{name}");
    }
    for name in ["state", "nonce", "code_challenge"] {
        assert!(
            query_param(&authorize, name).is_some_and(|v| v.len() >= 22),
            "{name}"
        );
    }
    let scope = query_param(&authorize, "scope").unwrap();
    assert!(scope.split(' ').any(|s| s == "admin"), "{scope}");

    let back = browser.authorize(&authorize, &ek.superuser).await;
    assert_eq!(
        query_param(&back, "iss").as_deref(),
        Some(app.address.as_str())
    );
    let response = browser.get(&back).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/dashboard");
    let cookie = set_cookies(&response)
        .into_iter()
        .find(|c| c.starts_with("hcc_portal_session="))
        .expect("the portal's own session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );

    let dashboard = browser.page(&ek.portal.url("/dashboard")).await;
    assert_eq!(text_of(&dashboard, "h1"), ["EK88"]);
    let person = text_of(&dashboard, ".person").join(" ");
    assert!(
        person.contains("Test hoofd") && person.contains("Superuser"),
        "{person}"
    );
    assert_eq!(
        text_of(&dashboard, "form[action='/logout'] button"),
        ["Uitloggen"]
    );
    assert!(
        text_of(&dashboard, "a")
            .iter()
            .any(|a| a == "Gebruikers beheren")
    );
    assert!(dashboard.contains("Demogegevens") && dashboard.contains("<svg"));
    assert!(dashboard.contains("Verzuimpercentage"));
}

async fn a_member_sees_the_dashboard_without_administration(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let browser = app.browser();
    let dashboard = ek.portal.sign_in(&browser, &ek.member).await;
    assert!(
        text_of(&dashboard, ".person")
            .join(" ")
            .contains("Gebruiker")
    );
    assert!(!dashboard.contains("Gebruikers beheren"));
    let response = browser.get(&ek.portal.url(&manage(&ek))).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.unwrap().contains("Geen toegang"));
}

async fn the_dashboard_links_to_my_account_on_the_idp(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let browser = app.browser();
    let dashboard = ek.portal.sign_in(&browser, &ek.member).await;
    let href = attr(&dashboard, "nav a[href$='/account?lang=nl']", "href")
        .expect("a Mijn account link in the portal's header");
    assert_eq!(href, format!("{}/account?lang=nl", app.address));
    assert!(
        text_of(&dashboard, "nav a")
            .iter()
            .any(|a| a == "Mijn account")
    );
    // The same browser is signed in at the IdP: the page opens without a new login.
    let response = browser.get(&href).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        text_of(&response.text().await.unwrap(), "h1"),
        ["Mijn account"]
    );
}

async fn the_portal_carries_the_same_icon_as_the_idp(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let browser = app.browser();
    let landing = browser.page(&ek.portal.url("/")).await;
    assert_eq!(
        attr(&landing, "link[rel=icon]", "href").as_deref(),
        Some("/static/favicon.svg")
    );
    let idp_icon = browser.page("/favicon.ico").await;
    for path in ["/favicon.ico", "/static/favicon.svg"] {
        let response = browser.get(&ek.portal.url(path)).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()["content-type"], "image/svg+xml");
        assert_eq!(response.text().await.unwrap(), idp_icon);
    }
}

async fn the_portal_speaks_english_when_asked(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let browser = app.browser();
    let landing = browser.page(&ek.portal.url("/?lang=en")).await;
    assert_eq!(
        text_of(&landing, "form[action='/login'] button"),
        ["Log in"]
    );
    let authorize = ek.portal.press_login(&browser).await;
    assert_eq!(query_param(&authorize, "ui_locales").as_deref(), Some("en"));
    let back = browser.authorize(&authorize, &ek.superuser).await;
    browser.get(&back).await;
    let dashboard = browser.page(&ek.portal.url("/dashboard")).await;
    assert!(dashboard.contains("Manage users") && dashboard.contains("Log out"));
}

/// Follows the green button and the IdP's login; the callback URL, not yet visited.
async fn callback_of(ek: &Ek88, browser: &Browser) -> String {
    let authorize = ek.portal.press_login(browser).await;
    browser.authorize(&authorize, &ek.superuser).await
}

/// A callback the portal must refuse: a page, no session.
async fn assert_refused(ek: &Ek88, browser: &Browser, callback: &str) {
    let response = browser.get(callback).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{callback}");
    assert!(set_cookie(&response, "hcc_portal_session").is_none_or(|v| v.is_empty()));
    let page = response.text().await.unwrap();
    assert!(page.contains("Inloggen is niet gelukt"), "{page}");
    assert!(!ek.portal.is_signed_in(browser).await);
}

fn with_param(url: &str, name: &str, value: &str) -> String {
    let mut url = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == name {
                value.to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.to_string()
}

async fn a_changed_state_gives_no_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let browser = app.browser();
    let callback = callback_of(&ek, &browser).await;
    assert_refused(
        &ek,
        &browser,
        &with_param(&callback, "state", "forged-state"),
    )
    .await;
    // The login cookie is spent: the true answer afterwards gives no session either.
    assert_refused(&ek, &browser, &callback).await;
}

async fn a_replayed_callback_gives_no_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let browser = app.browser();
    let callback = callback_of(&ek, &browser).await;
    assert_eq!(browser.get(&callback).await.status(), StatusCode::SEE_OTHER);
    // Another browser (an attacker who copied the URL) has no login to finish.
    assert_refused(&ek, &app.browser(), &callback).await;
    // The same browser, after logging out at the portal only, cannot use it again.
    let other = app.browser();
    let second = callback_of(&ek, &other).await;
    assert_eq!(other.get(&second).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(other.get(&second).await.status(), StatusCode::BAD_REQUEST);
}

async fn an_answer_naming_another_issuer_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let browser = app.browser();
    let callback = callback_of(&ek, &browser).await;
    assert_refused(
        &ek,
        &browser,
        &with_param(&callback, "iss", "https://evil.example"),
    )
    .await;
}

async fn an_error_answer_from_the_idp_gives_no_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let browser = app.browser();
    let authorize = ek.portal.press_login(&browser).await;
    let state = query_param(&authorize, "state").unwrap();
    let callback = format!(
        "{}?error=access_denied&state={state}&iss={}",
        ek.portal.url("/callback"),
        app.address
    );
    let response = browser.get(&callback).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("niet afgerond"));
    assert!(!ek.portal.is_signed_in(&browser).await);
}

async fn an_expired_id_token_gives_no_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.admin().create_organisation("EK88").await;
    let superuser = seed_person(&app, &org, "hoofd@ek88.nl", Role::Superuser).await;
    let portal = app.portal_with(|s| s.session.login_minutes = 30).await;
    let browser = app.browser();
    let authorize = portal.press_login(&browser).await;
    let back = browser.authorize(&authorize, &superuser).await;
    // The ID token lives 600 s; the portal's clock is past that when the answer arrives.
    portal.clock.run_ahead(700);
    let response = browser.get(&back).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(!portal.is_signed_in(&browser).await);
}

async fn a_portal_expecting_another_issuer_never_signs_anyone_in(backend: Backend) {
    let app = spawn_app(backend).await;
    // The same server, but named by an issuer it does not claim.
    let port = app.address.rsplit(':').next().unwrap().to_owned();
    let address = app.address.clone();
    let portal = app
        .portal_with(move |s| {
            s.idp.issuer = format!("http://localhost:{port}");
            s.idp.backend_url = address;
        })
        .await;
    let browser = app.browser();
    let response = browser
        .submit(&portal.url("/"), &portal.url("/login"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().get("location").is_none());
    assert!(response.text().await.unwrap().contains("niet bereikbaar"));
}

async fn a_form_without_its_csrf_token_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let browser = superuser_signed_in(&ek, &app).await;
    let path = person_path(&app, &ek, &ek.member.email).await;
    let response = browser
        .post(
            &ek.portal.url(&format!("{path}/blokkeren")),
            &[("csrf_token", "forged")],
        )
        .await;
    let status = response.status();
    let page = response.text().await.unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(page.contains("Het formulier is verlopen"));
    assert_eq!(status_of(&app, &ek.member.email).await, "active");
    // Nor does the green button work without one.
    let anonymous = app.browser();
    let response = anonymous
        .post(&ek.portal.url("/login"), &[("csrf_token", "")])
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

// Logging out.
async fn logging_out_ends_both_sessions_through_the_idp(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let browser = superuser_signed_in(&ek, &app).await;
    let response = ek.portal.act(&browser, "/dashboard", "/logout", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let end_session = location(&response);
    assert!(
        end_session.starts_with(&format!("{}/logout?", app.address)),
        "{end_session}"
    );
    assert!(query_param(&end_session, "id_token_hint").is_some());
    assert_eq!(
        query_param(&end_session, "post_logout_redirect_uri"),
        Some(ek.portal.url("/"))
    );
    assert!(
        !ek.portal.is_signed_in(&browser).await,
        "the portal session ended first"
    );

    let response = browser.get(&end_session).await;
    assert!(response.status().is_redirection());
    let back = location(&response);
    assert_eq!(back, format!("{}?state=logged_out", ek.portal.url("/")));
    let landing = browser.page(&back).await;
    assert!(landing.contains("U bent uitgelogd."));
    // The IdP's session is gone too: the green button asks for the password again.
    let authorize = ek.portal.press_login(&browser).await;
    let response = browser.get(&authorize).await;
    assert!(location(&response).starts_with("/login"));
}

async fn a_backchannel_logout_ends_the_portal_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let browser = superuser_signed_in(&ek, &app).await;
    assert_eq!(ek.portal.state.sessions.count(), 1);
    app.admin().end_sessions(&ek.superuser.email).await.unwrap();
    let sessions = &ek.portal.state.sessions;
    eventually("the back-channel logout", || sessions.count() == 0).await;
    let response = browser.get(&ek.portal.url("/dashboard")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with('/'));
    assert!(!ek.portal.is_signed_in(&browser).await);
}

async fn a_forged_logout_token_is_400_and_ends_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let _browser = superuser_signed_in(&ek, &app).await;
    let response = http()
        .post(ek.portal.url("/backchannel-logout"))
        .form(&[("logout_token", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(ek.portal.state.sessions.count(), 1);
}

// Tokens.
async fn an_expired_access_token_is_refreshed_without_the_person_noticing(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let browser = superuser_signed_in(&ek, &app).await;
    let since = app.state.now();
    // Both clocks pass the access token's 600 s.
    app.clock.advance(601);
    let response = browser.get(&ek.portal.url(&manage(&ek))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains(&ek.member.email));
    let user = app.admin().user(&ek.superuser.email).await;
    let rows = app.admin().audit_log_of(Some(&user.id), since).await;
    assert!(
        !rows.iter().any(|r| r.outcome != "success"),
        "{:?}",
        rows.iter()
            .map(|r| (&r.event, &r.outcome))
            .collect::<Vec<_>>()
    );
}

async fn a_refused_refresh_ends_the_portal_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let browser = app.browser();
    ek.portal.sign_in(&browser, &ek.member).await;
    // Blocking ends the IdP sessions and their refresh tokens; the back-channel notice may
    // not have arrived when the access token runs out.
    app.admin().disable(&ek.member.email).await.unwrap();
    app.clock.advance(601);
    let response = browser.get(&ek.portal.url("/dashboard")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with('/'));
    assert!(!ek.portal.is_signed_in(&browser).await);
}

// Administration by a superuser.
async fn the_user_list_shows_the_people_with_the_contracts_columns(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let browser = superuser_signed_in(&ek, &app).await;
    let page = browser.page(&ek.portal.url(&manage(&ek))).await;
    assert_eq!(text_of(&page, "h1").join(""), "Gebruikers beheren EK88");
    let columns = text_of(&page, "table.people thead th");
    for column in [
        "E-mailadres",
        "Naam",
        "Rol",
        "Status",
        "Authenticator",
        "Laatst ingelogd",
    ] {
        assert!(columns.iter().any(|c| c == column), "{column}: {columns:?}");
    }
    let rows = text_of(&page, "table.people tbody th");
    assert!(rows.contains(&ek.superuser.email) && rows.contains(&ek.member.email));
}

async fn a_superuser_invites_a_colleague_and_the_mail_says_what_the_list_says(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let browser = superuser_signed_in(&ek, &app).await;
    let response = ek
        .portal
        .act(
            &browser,
            &manage(&ek),
            &format!("{}/uitnodigen", manage(&ek)),
            &[
                ("email", "collega@ek88.nl"),
                ("first_name", "Ruud"),
                ("last_name", "Gullit"),
                ("role", "member"),
                ("language", "nl"),
            ],
        )
        .await;
    let flash = after(&ek, &browser, response).await;
    assert!(
        flash.contains("collega@ek88.nl") && flash.contains("geldig tot"),
        "{flash}"
    );
    let mail = app.mailbox().nth("collega@ek88.nl", 1).await;
    let page = browser.page(&ek.portal.url(&manage(&ek))).await;
    let expires = text_of(&page, "td[data-label='Verloopt op']");
    assert_eq!(expires.len(), 1, "{expires:?}");
    assert!(
        mail.text().contains(&format!("tot {}.", expires[0])),
        "{}",
        mail.text()
    );
    assert!(flash.contains(&expires[0]));
    assert!(text_of(&page, "td[data-label='Status']").contains(&"Openstaand".to_owned()));
    // The colleague registers from the mail.
    let colleague = app.browser();
    let link = app.mailbox().link(&mail);
    assert_eq!(
        colleague.register(&link, STRONG).await.status(),
        StatusCode::SEE_OTHER
    );
    let user = app.admin().user("collega@ek88.nl").await;
    assert_eq!(user.organisation_id.as_deref(), Some(ek.org.as_str()));
}

async fn an_invitation_with_a_bad_address_is_shown_at_its_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let browser = superuser_signed_in(&ek, &app).await;
    let response = ek
        .portal
        .act(
            &browser,
            &manage(&ek),
            &format!("{}/uitnodigen", manage(&ek)),
            &[
                ("email", "geen-adres"),
                ("role", "member"),
                ("language", "nl"),
            ],
        )
        .await;
    let status = response.status();
    let page = response.text().await.unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(
        field_errors(&page, "email").contains("geldig e-mailadres"),
        "{page}"
    );
    assert!(page.contains("value=\"geen-adres\""));
    // No invitation was queued (the superuser's own new-sign-in notice is).
    let queued = app.mailbox().queued().await;
    assert!(queued.iter().all(|m| m.kind != "invitation"), "{queued:?}");
}

async fn a_superuser_resends_and_revokes_an_invitation(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let (first_link, _) = invite(
        &app,
        &ek.org,
        "nieuw@ek88.nl",
        None,
        idp::domain::Language::Nl,
    )
    .await;
    let browser = superuser_signed_in(&ek, &app).await;
    let page = browser.page(&ek.portal.url(&manage(&ek))).await;
    let resend = attr(&page, "form[action$='/opnieuw-versturen']", "action").unwrap();
    let flash = on_manage_page(&ek, &browser, &resend, &[]).await;
    assert!(
        flash.contains("nieuwe uitnodiging") && flash.contains("nieuw@ek88.nl"),
        "{flash}"
    );
    let mail = app.mailbox().nth("nieuw@ek88.nl", 2).await;
    let second_link = app.mailbox().link(&mail);
    assert_ne!(first_link, second_link);

    let page = browser.page(&ek.portal.url(&manage(&ek))).await;
    let revoke = attr(&page, "form[action$='/intrekken']", "action").unwrap();
    let flash = on_manage_page(&ek, &browser, &revoke, &[]).await;
    assert!(flash.contains("ingetrokken"), "{flash}");
    let response = app.browser().get(&second_link).await;
    assert_ne!(response.status(), StatusCode::OK);
    let page = browser.page(&ek.portal.url(&manage(&ek))).await;
    assert!(text_of(&page, "td[data-label='Status']").contains(&"Ingetrokken".to_owned()));
}

async fn a_superuser_resets_a_colleagues_authenticator(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let browser = superuser_signed_in(&ek, &app).await;
    let path = person_path(&app, &ek, &ek.member.email).await;
    let action = format!("{path}/authenticator-resetten");
    let flash = on_manage_page(&ek, &browser, &action, &[]).await;
    assert!(
        flash.contains("De authenticator van medewerker@ek88.nl is verwijderd"),
        "{flash}"
    );
    // At the next login the colleague sets up a new authenticator after the password.
    let colleague = app.browser();
    let response = colleague
        .log_in_password(&ek.member.email, &ek.member.password)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/otp/setup");
    let notice = app.mailbox().nth(&ek.member.email, 1).await;
    assert!(notice.text().contains("superuser"), "{}", notice.text());
    assert!(app.admin().logged("otp_reset", "success").await);
}

async fn a_superuser_blocks_and_unblocks_a_colleague(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let browser = superuser_signed_in(&ek, &app).await;
    let path = person_path(&app, &ek, &ek.member.email).await;
    let flash = on_manage_page(&ek, &browser, &format!("{path}/blokkeren"), &[]).await;
    assert!(flash.contains("is geblokkeerd"), "{flash}");
    assert_eq!(status_of(&app, &ek.member.email).await, "disabled");
    let response = app
        .browser()
        .log_in_password(&ek.member.email, &ek.member.password)
        .await;
    assert!(
        response
            .headers()
            .get("location")
            .is_none_or(|l| l != "/login/otp"),
        "a blocked account does not log in"
    );

    let flash = on_manage_page(&ek, &browser, &format!("{path}/deblokkeren"), &[]).await;
    assert!(flash.contains("is gedeblokkeerd"), "{flash}");
    assert_eq!(status_of(&app, &ek.member.email).await, "active");
    assert!(app.admin().logged("user_disabled", "success").await);
    assert!(app.admin().logged("user_enabled", "success").await);
}

async fn a_superuser_makes_a_colleague_superuser_and_back(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let browser = superuser_signed_in(&ek, &app).await;
    let path = person_path(&app, &ek, &ek.member.email).await;
    let action = format!("{path}/rol");
    let flash = on_manage_page(&ek, &browser, &action, &[("role", "superuser")]).await;
    assert!(flash.contains("is nu Superuser"), "{flash}");
    assert_eq!(
        app.admin().user(&ek.member.email).await.role,
        Role::Superuser
    );
    let flash = on_manage_page(&ek, &browser, &action, &[("role", "member")]).await;
    assert!(flash.contains("is nu Gebruiker"), "{flash}");
    assert_eq!(app.admin().user(&ek.member.email).await.role, Role::Member);
}

async fn a_superuser_logs_a_colleague_out_everywhere(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let colleague = app.browser();
    ek.portal.sign_in(&colleague, &ek.member).await;
    let browser = superuser_signed_in(&ek, &app).await;
    assert_eq!(ek.portal.state.sessions.count(), 2);
    let path = person_path(&app, &ek, &ek.member.email).await;
    let flash = on_manage_page(&ek, &browser, &format!("{path}/uitloggen"), &[]).await;
    assert!(flash.contains("is uitgelogd op alle apparaten"), "{flash}");
    let sessions = &ek.portal.state.sessions;
    eventually("the colleague's portal session ends", || {
        sessions.count() == 1
    })
    .await;
    assert!(!ek.portal.is_signed_in(&colleague).await);
    assert!(ek.portal.is_signed_in(&browser).await);
}

async fn the_last_superuser_cannot_demote_or_block_themselves(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let browser = superuser_signed_in(&ek, &app).await;
    let path = person_path(&app, &ek, &ek.superuser.email).await;
    for (action, fields) in [("rol", vec![("role", "member")]), ("blokkeren", vec![])] {
        let flash = on_manage_page(&ek, &browser, &format!("{path}/{action}"), &fields).await;
        assert!(
            flash.contains("laatste actieve superuser"),
            "{action}: {flash}"
        );
    }
    let user = app.admin().user(&ek.superuser.email).await;
    assert_eq!(
        (user.role, user.status.as_str()),
        (Role::Superuser, "active")
    );
}

async fn an_account_blocked_by_hcc_stays_blocked_and_the_page_says_why(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    app.admin().disable(&ek.member.email).await.unwrap();
    let browser = superuser_signed_in(&ek, &app).await;
    let page = browser.page(&ek.portal.url(&manage(&ek))).await;
    assert!(page.contains("Geblokkeerd door HumanCapitalCare"));
    let path = person_path(&app, &ek, &ek.member.email).await;
    let flash = on_manage_page(&ek, &browser, &format!("{path}/deblokkeren"), &[]).await;
    assert!(
        flash.contains("HumanCapitalCare heeft het geblokkeerd"),
        "{flash}"
    );
    assert_eq!(status_of(&app, &ek.member.email).await, "disabled");
}

async fn another_organisation_is_not_found_for_a_superuser(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let ajax = app.admin().create_organisation("Ajax").await;
    let stranger = seed_person(&app, &ajax, "speler@ajax.nl", Role::Member).await;
    let stranger_id = app.admin().user(&stranger.email).await.id;
    let browser = superuser_signed_in(&ek, &app).await;
    let response = browser
        .get(&ek.portal.url(&format!("/beheer/{ajax}")))
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // Their own organisation's path with an id from elsewhere changes nothing.
    let page = browser.page(&ek.portal.url(&manage(&ek))).await;
    let csrf = csrf_token(&page);
    let response = browser
        .post(
            &ek.portal.url(&format!(
                "{}/gebruikers/{stranger_id}/blokkeren",
                manage(&ek)
            )),
            &[("csrf_token", csrf.as_str())],
        )
        .await;
    let flash = after(&ek, &browser, response).await;
    assert!(flash.contains("bestaat niet"), "{flash}");
    assert_eq!(status_of(&app, &stranger.email).await, "active");
}

async fn the_activity_lists_what_was_done_filtered_by_person_and_type(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let browser = superuser_signed_in(&ek, &app).await;
    let path = person_path(&app, &ek, &ek.member.email).await;
    for action in ["blokkeren", "deblokkeren"] {
        let response = ek
            .portal
            .act(&browser, &manage(&ek), &format!("{path}/{action}"), &[])
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
    }
    let activity = format!("{}/activiteiten", manage(&ek));
    let page = browser.page(&ek.portal.url(&activity)).await;
    let what = text_of(&page, "td[data-label='Wat']");
    assert!(what.iter().any(|w| w == "Geblokkeerd"), "{what:?}");
    assert!(what.iter().any(|w| w == "Ingelogd"), "{what:?}");
    let member_id = app.admin().user(&ek.member.email).await.id;
    let filtered = browser
        .page(&ek.portal.url(&format!(
            "{activity}?persoon={member_id}&soort=user_disabled"
        )))
        .await;
    assert_eq!(text_of(&filtered, "td[data-label='Wat']"), ["Geblokkeerd"]);
    let by = text_of(&filtered, "td[data-label='Door']").join(" ");
    assert!(by.contains(&ek.superuser.email), "{by}");
    // An invitation names who sent it; a login is the person's own doing.
    let response = ek
        .portal
        .act(
            &browser,
            &manage(&ek),
            &format!("{}/uitnodigen", manage(&ek)),
            &[("email", "collega@ek88.nl"), ("role", "member")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let invited = browser
        .page(
            &ek.portal
                .url(&format!("{activity}?soort=invitation_created")),
        )
        .await;
    assert_eq!(
        text_of(&invited, "td[data-label='Door']"),
        [ek.superuser.email.as_str()]
    );
    let logins = browser
        .page(&ek.portal.url(&format!("{activity}?soort=login")))
        .await;
    assert!(
        text_of(&logins, "td[data-label='Door']")
            .iter()
            .all(|b| b == "zelf")
    );
}

// HCC staff.
async fn staff_pick_an_organisation_and_create_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let hcc = app.admin().create_organisation("HCC").await;
    let staff = seed_person(&app, &hcc, "staf@humancapitalcare.nl", Role::HccStaff).await;
    let browser = app.browser();
    ek.portal.sign_in(&browser, &staff).await;
    let list = browser.page(&ek.portal.url("/beheer")).await;
    assert!(
        text_of(&list, "td, th").iter().any(|c| c.contains("EK88")),
        "{list}"
    );
    let flash = after(
        &ek,
        &browser,
        ek.portal
            .act(&browser, "/beheer", "/beheer", &[("name", "Ajax")])
            .await,
    )
    .await;
    assert!(flash.contains("Ajax"), "{flash}");
    let page = browser.page(&ek.portal.url(&manage(&ek))).await;
    assert!(page.contains(&ek.member.email));
}

async fn a_superuser_goes_straight_to_their_own_organisation(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let browser = superuser_signed_in(&ek, &app).await;
    let response = browser.get(&ek.portal.url("/beheer")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), manage(&ek));
    let response = ek
        .portal
        .act(
            &browser,
            &manage(&ek),
            &format!("{}/uitnodigen", manage(&ek)),
            &[],
        )
        .await;
    assert_ne!(response.status(), StatusCode::OK);
    // Creating organisations is for staff: the form is not there, and a forged post is refused.
    let page = browser.page(&ek.portal.url(&manage(&ek))).await;
    let csrf = csrf_token(&page);
    let response = browser
        .post(
            &ek.portal.url("/beheer"),
            &[("csrf_token", csrf.as_str()), ("name", "Ajax")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

both_backends!(
    the_green_button_leads_through_the_idp_to_the_dashboard,
    a_member_sees_the_dashboard_without_administration,
    the_dashboard_links_to_my_account_on_the_idp,
    the_portal_carries_the_same_icon_as_the_idp,
    the_portal_speaks_english_when_asked,
    a_changed_state_gives_no_session,
    a_replayed_callback_gives_no_session,
    an_answer_naming_another_issuer_is_refused,
    an_error_answer_from_the_idp_gives_no_session,
    an_expired_id_token_gives_no_session,
    a_portal_expecting_another_issuer_never_signs_anyone_in,
    a_form_without_its_csrf_token_is_refused,
    logging_out_ends_both_sessions_through_the_idp,
    a_backchannel_logout_ends_the_portal_session,
    a_forged_logout_token_is_400_and_ends_nothing,
    an_expired_access_token_is_refreshed_without_the_person_noticing,
    a_refused_refresh_ends_the_portal_session,
    the_user_list_shows_the_people_with_the_contracts_columns,
    a_superuser_invites_a_colleague_and_the_mail_says_what_the_list_says,
    an_invitation_with_a_bad_address_is_shown_at_its_field,
    a_superuser_resends_and_revokes_an_invitation,
    a_superuser_resets_a_colleagues_authenticator,
    a_superuser_blocks_and_unblocks_a_colleague,
    a_superuser_makes_a_colleague_superuser_and_back,
    a_superuser_logs_a_colleague_out_everywhere,
    the_last_superuser_cannot_demote_or_block_themselves,
    an_account_blocked_by_hcc_stays_blocked_and_the_page_says_why,
    another_organisation_is_not_found_for_a_superuser,
    the_activity_lists_what_was_done_filtered_by_person_and_type,
    staff_pick_an_organisation_and_create_one,
    a_superuser_goes_straight_to_their_own_organisation,
);
