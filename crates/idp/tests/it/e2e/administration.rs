//! A superuser and HCC in the browser: inviting a colleague from Gebruikers beheren, resetting their authenticator; the consent page of a third-party client; the language choice.

use std::time::Duration;

use fantoccini::Locator;
use fantoccini::elements::Element;
use idp::domain::totp::TotpSecret;
use idp::domain::{RedirectUri, Role};
use idp::oidc::client::{AuthMethod, ClientDisplay, NewClient};

use super::chrome::{Chrome, Launch};
use super::journeys::{
    fresh, log_in_at_the_idp, log_in_from_the_portal, log_out, on_the_dashboard,
    set_up_authenticator,
};
use super::stack::Stack;
use super::words::{EN, NL};
use crate::driver::{Person, query_param};

/// The superuser of EK88 (seeded).
const SANNE: &str = "sanne@ek88.nl";
/// The colleague she invites.
const JOOST: &str = "joost@ek88.nl";
/// A person of EK88 (seeded) who uses another company's application.
const FLEUR: &str = "fleur@ek88.nl";
/// The colleague's chosen password: meets every rule, not easily guessed.
const CHOSEN: &str = "Zomer2026!Werkgever";

/// How long the lookups of this file wait (as `Chrome::find` does).
const PATIENCE: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// Helpers that would belong in chrome.rs (see the report): a control inside a table row, the
// row found by its row header's accessible name.
// ---------------------------------------------------------------------------------------------

/// The one control `(role, name)` in the table row whose row header (`th scope=row`, role
/// "rowheader") is named `header`, waiting for it: where several rows carry the same buttons
/// ("Authenticator resetten" for each person), the row says whose it is, as it does for a
/// screen reader.
async fn in_row(browser: &Chrome, header: &str, wanted: (&str, &str)) -> Element {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let found = all_in_row(browser, header, wanted).await;
        match found.len() {
            1 => return found.into_iter().next().unwrap(),
            0 if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
            count => panic!(
                "{count} controls {wanted:?} in the row {header:?} at {}; row headers here: \
                 {:?}; named here: {:?}",
                browser.url().await,
                row_headers(browser).await,
                browser.names().await
            ),
        }
    }
}

/// True when the row headed `header` has a control `(role, name)` now (no waiting).
async fn has_in_row(browser: &Chrome, header: &str, wanted: (&str, &str)) -> bool {
    !all_in_row(browser, header, wanted).await.is_empty()
}

/// Every shown control `(role, name)` in the rows headed `header`.
async fn all_in_row(browser: &Chrome, header: &str, (role, name): (&str, &str)) -> Vec<Element> {
    let mut found = Vec::new();
    for row in rows_headed(browser, header).await {
        for element in row
            .find_all(Locator::Css(
                "a[href], button, input:not([type=hidden]), select, textarea, summary, [role]",
            ))
            .await
            .unwrap_or_default()
        {
            if element.is_displayed().await.unwrap_or(false)
                && browser.computed(&element, "computedrole").await == role
                && browser.computed(&element, "computedlabel").await == name
            {
                found.push(element);
            }
        }
    }
    found
}

/// The shown table rows (role "row") with a row header named `header`.
async fn rows_headed(browser: &Chrome, header: &str) -> Vec<Element> {
    let mut rows = Vec::new();
    for row in browser
        .client
        .find_all(Locator::Css("tr, [role=row]"))
        .await
        .unwrap()
    {
        if !row.is_displayed().await.unwrap_or(false)
            || browser.computed(&row, "computedrole").await != "row"
        {
            continue;
        }
        for cell in row
            .find_all(Locator::Css("th, td, [role]"))
            .await
            .unwrap_or_default()
        {
            if browser.computed(&cell, "computedrole").await == "rowheader"
                && browser.computed(&cell, "computedlabel").await == header
            {
                rows.push(row);
                break;
            }
        }
    }
    rows
}

/// The names of every row header on the page, for failure messages.
async fn row_headers(browser: &Chrome) -> Vec<String> {
    let mut names = Vec::new();
    for cell in browser
        .client
        .find_all(Locator::Css("th, td, [role]"))
        .await
        .unwrap()
    {
        if browser.computed(&cell, "computedrole").await == "rowheader" {
            names.push(browser.computed(&cell, "computedlabel").await);
        }
    }
    names
}

/// The text of the page's status message (`role="status"`: the portal's "done" flash).
async fn status_message(browser: &Chrome) -> String {
    browser
        .script_string(
            "const s = document.querySelector('[role=status]'); return s ? s.innerText : ''",
        )
        .await
}

/// Waits until the portal no longer knows `browser`'s session: its landing page, with the
/// green button, shows instead of the dashboard (the IdP's back-channel logout arrived).
async fn signed_out_of_the_portal(stack: &Stack, browser: &Chrome) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        browser.goto(&stack.portal("/")).await;
        let url = browser.url().await;
        if !url.starts_with(&stack.portal("/dashboard")) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the portal still shows the dashboard after the logout on all devices: {}",
            browser.text().await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    browser.find("button", "Inloggen").await;
}

// ---------------------------------------------------------------------------------------------
// 1. A superuser invites a colleague and resets their authenticator.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_superuser_invites_a_colleague_who_registers_and_gets_a_new_authenticator_after_a_reset()
{
    let stack = Stack::start().await;
    let sanne = stack.person(SANNE, Role::Superuser).await;
    let superuser = stack.browser().await;
    log_in_from_the_portal(&stack, &superuser, &NL, &sanne).await;

    // Gebruikers beheren: the invite form.
    superuser.follow("Gebruikers beheren").await;
    superuser.find("heading", "Gebruikers beheren EK88").await;
    assert_eq!(superuser.lang().await, "nl");
    superuser.find("heading", "Iemand uitnodigen").await;
    let before = stack.mails_to(JOOST);
    superuser.fill("E-mailadres", JOOST).await;
    superuser.fill("Voornaam", "Joost").await;
    superuser.fill("Achternaam", "de Vries").await;
    superuser.choose("Rol", "Gebruiker").await;
    superuser.press("Uitnodigen").await;
    superuser
        .wait_for_text(&format!("Er is een uitnodiging verstuurd naar {JOOST}."))
        .await;
    let done = status_message(&superuser).await;
    assert!(
        done.starts_with(&format!(
            "Er is een uitnodiging verstuurd naar {JOOST}. De link is geldig tot "
        )),
        "the done message is a status message: {done:?}"
    );

    // The colleague, in a browser of their own: the invitation mail, registration, the
    // authenticator, the dashboard.
    let mail = stack.mail_after(JOOST, before).await;
    let colleague = stack.browser().await;
    colleague.goto(&stack.link(&mail)).await;
    colleague
        .find(
            "heading",
            "Maak een account aan om lid te worden van de organisatie EK88",
        )
        .await;
    assert_eq!(colleague.lang().await, "nl");
    assert_eq!(colleague.value("E-mailadres").await, JOOST);
    colleague.fill("Voornaam", "Joost").await;
    colleague.fill("Achternaam", "de Vries").await;
    colleague.fill("Wachtwoord", CHOSEN).await;
    colleague.fill("Bevestig wachtwoord", CHOSEN).await;
    colleague.press("Registreren").await;
    colleague
        .wait_for_text("Mobiele authenticator instellen")
        .await;
    let first = set_up_authenticator(&stack, &colleague, &NL, "Telefoon van Joost").await;
    let old_app = TotpSecret::from_bytes(first.as_bytes().to_vec());
    colleague.follow("Naar het werkgeverportaal").await;
    colleague.wait_for_url(&stack.portal("/")).await;
    colleague.press("Inloggen").await;
    on_the_dashboard(&stack, &colleague, &NL).await;
    let joost = Person {
        email: JOOST.to_owned(),
        password: CHOSEN.to_owned(),
        secret: first,
    };

    // The superuser sees the colleague on Gebruikers beheren and resets their authenticator:
    // the button of Joost's row (every registered person's row has one).
    superuser.follow("Gebruikers beheren").await;
    superuser.find("heading", "Gebruikers beheren EK88").await;
    assert_eq!(
        superuser
            .all("button", "Authenticator resetten")
            .await
            .len(),
        2,
        "Sanne's row and Joost's each have one: the row says whose"
    );
    let reset = in_row(&superuser, JOOST, ("button", "Authenticator resetten")).await;
    reset.click().await.unwrap();
    let done_reset = format!(
        "De authenticator van {JOOST} is verwijderd en {JOOST} is op alle apparaten uitgelogd. \
         Bij de volgende keer inloggen stelt {JOOST} een nieuwe authenticator in."
    );
    superuser.wait_for_text(&done_reset).await;
    assert_eq!(status_message(&superuser).await.trim(), done_reset);
    // Joost has no authenticator left to reset; Sanne's own row still has hers.
    assert!(
        !has_in_row(&superuser, JOOST, ("button", "Authenticator resetten")).await,
        "no authenticator left to reset"
    );
    assert!(has_in_row(&superuser, SANNE, ("button", "Authenticator resetten")).await);

    // Joost is logged out everywhere; his next login asks for a new authenticator instead of
    // the code.
    signed_out_of_the_portal(&stack, &colleague).await;
    colleague.press("Inloggen").await;
    colleague.wait_for_text("Inloggen bij uw account").await;
    colleague.fill("E-mailadres", JOOST).await;
    colleague.fill("Wachtwoord", CHOSEN).await;
    colleague.press("Inloggen").await;
    colleague
        .wait_for_text("Mobiele authenticator instellen")
        .await;
    colleague
        .find("heading", "Mobiele authenticator instellen")
        .await;
    assert!(
        !colleague.has("heading", "Eenmalige code").await,
        "the set-up page, not the code step"
    );
    let second = set_up_authenticator(&stack, &colleague, &NL, "Nieuwe telefoon van Joost").await;
    on_the_dashboard(&stack, &colleague, &NL).await;
    let joost = Person {
        secret: second,
        ..joost
    };

    // The old app's codes no longer open the account; the new one's do.
    log_out(&stack, &colleague, &NL).await;
    colleague.press("Inloggen").await;
    colleague.wait_for_text("Inloggen bij uw account").await;
    colleague.fill("E-mailadres", JOOST).await;
    colleague.fill("Wachtwoord", CHOSEN).await;
    colleague.press("Inloggen").await;
    colleague.wait_for_text("Eenmalige code").await;
    colleague
        .fill("Authenticatiecode", &fresh(&stack, &old_app))
        .await;
    colleague.press("Inloggen").await;
    colleague
        .wait_for_text(
            "Ongeldige authenticatiecode. Probeer het opnieuw met de code die de app nu toont.",
        )
        .await;
    assert!(
        colleague.url().await.starts_with(&stack.idp("/login")),
        "still at the IdP's code step: {}",
        colleague.url().await
    );
    colleague
        .fill("Authenticatiecode", &stack.code(&joost))
        .await;
    colleague.press("Inloggen").await;
    on_the_dashboard(&stack, &colleague, &NL).await;
}

// ---------------------------------------------------------------------------------------------
// 2. The consent page of a third-party client.
// ---------------------------------------------------------------------------------------------

/// "Roosterplanner", a client registered by someone other than HCC (not first party), whose
/// redirect URI is on the loopback address where nothing listens: the browser's arrival there
/// is what the test reads. Its `client_id`.
async fn roosterplanner(stack: &Stack, redirect: &str) -> String {
    let new = NewClient {
        name: "Roosterplanner".into(),
        redirect_uris: vec![RedirectUri::parse(redirect, true).unwrap()],
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        grant_types: vec!["authorization_code".into()],
        auth_method: AuthMethod::ClientSecretBasic,
        scope: vec![],
        first_party: false,
        application_type: Default::default(),
        display: ClientDisplay {
            client_uri: Some("https://rooster.example/".into()),
            logo_uri: None,
            policy_uri: Some("https://rooster.example/privacy".into()),
            tos_uri: None,
            contacts: vec![],
        },
    };
    let now = stack.app.state.now();
    let registered = stack
        .app
        .state
        .db
        .run(move |c| idp::oidc::client::register(c, new, now))
        .await
        .unwrap();
    registered.client.client_id
}

/// An address on the loopback interface where nothing listens.
fn nowhere() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}/callback")
}

/// The authorization request of `client_id` at the IdP as the browser knows it.
fn authorize_url(
    stack: &Stack,
    client_id: &str,
    redirect: &str,
    scope: &str,
    state: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut url = url::Url::parse(&stack.idp("/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect)
        .append_pair("scope", scope)
        .append_pair("state", state);
    for (k, v) in extra {
        url.query_pairs_mut().append_pair(k, v);
    }
    url.to_string()
}

/// The consent page as a person meets it: the client's name, what it asks for in plain Dutch,
/// the two buttons.
async fn the_consent_page_asks(browser: &Chrome) {
    browser.find("heading", "Toestemming geven").await;
    assert_eq!(browser.lang().await, "nl");
    let text = browser.text().await;
    for line in [
        "Roosterplanner",
        "Roosterplanner vraagt toegang tot:",
        "Bevestigen wie u bent (uw account bij HumanCapitalCare)",
        "Uw naam",
        "Uw e-mailadres",
        "Deze applicatie is niet van HumanCapitalCare. Geef alleen toestemming als u de \
         applicatie vertrouwt.",
        "U kunt deze toestemming later weer intrekken op de pagina Mijn account.",
    ] {
        assert!(
            text.lines().any(|l| l.trim() == line),
            "{line:?} is a line of the consent page: {text}"
        );
    }
    browser.find("heading", "Over deze applicatie").await;
    browser.find("link", "Website").await;
    browser.find("link", "Privacyverklaring").await;
    browser.find("button", "Toestaan").await;
    browser.find("button", "Weigeren").await;
}

#[tokio::test]
async fn the_consent_page_of_a_third_party_client() {
    let stack = Stack::start().await;
    let fleur = stack.person(FLEUR, Role::Member).await;
    let redirect = nowhere();
    let client = roosterplanner(&stack, &redirect).await;
    let browser = stack.browser().await;

    // Not logged in yet: the login first, then the question.
    browser
        .goto(&authorize_url(
            &stack,
            &client,
            &redirect,
            "openid profile email",
            "st-1",
            &[],
        ))
        .await;
    browser.wait_for_text("Inloggen bij uw account").await;
    log_in_at_the_idp(&stack, &browser, &NL, &fleur).await;
    the_consent_page_asks(&browser).await;

    // Toestaan: back to the client with a code and its state.
    browser.press("Toestaan").await;
    browser.wait_for_url(&format!("{redirect}?")).await;
    let back = browser.url().await;
    assert!(query_param(&back, "code").is_some(), "a code: {back}");
    assert_eq!(
        query_param(&back, "state").as_deref(),
        Some("st-1"),
        "{back}"
    );
    assert_eq!(query_param(&back, "error"), None, "{back}");

    // Asked again (prompt=consent), Weigeren: back with access_denied and no code.
    browser
        .goto(&authorize_url(
            &stack,
            &client,
            &redirect,
            "openid profile email",
            "st-2",
            &[("prompt", "consent")],
        ))
        .await;
    the_consent_page_asks(&browser).await;
    browser.press("Weigeren").await;
    browser.wait_for_url(&format!("{redirect}?")).await;
    let back = browser.url().await;
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("access_denied"),
        "{back}"
    );
    assert_eq!(
        query_param(&back, "state").as_deref(),
        Some("st-2"),
        "{back}"
    );
    assert_eq!(query_param(&back, "code"), None, "{back}");
}

// ---------------------------------------------------------------------------------------------
// 3. The language choice.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_language_choice_switches_the_page_and_keeps_the_flow() {
    let stack = Stack::start().await;
    let fleur = stack.person(FLEUR, Role::Member).await;
    let browser = stack.browser().await;

    // The IdP's login page from the portal's green button, in Dutch.
    browser.goto(&stack.portal("/")).await;
    browser.press("Inloggen").await;
    browser.find("heading", "Inloggen bij uw account").await;
    assert_eq!(browser.lang().await, "nl");
    browser.find("combobox", "Taal").await;
    assert!(
        !browser.has("button", "Taal wijzigen").await,
        "with JavaScript the list box submits itself; its button is hidden"
    );

    // English chosen: the page is English at once.
    browser.choose("Taal", "English").await;
    browser.find("heading", "Log in to your account").await;
    assert_eq!(browser.lang().await, "en");
    browser.find("combobox", "Language").await;
    browser.find("textbox", "E-mail address").await;
    browser.find("link", "Forgot password?").await;
    assert!(!browser.has("button", "Change language").await);

    // The login still completes: the parked authorization request was kept. The portal
    // speaks its own language (the browser's Dutch).
    log_in_at_the_idp(&stack, &browser, &EN, &fleur).await;
    on_the_dashboard(&stack, &browser, &NL).await;

    // The portal's own switch (no script there: the list box and its button).
    browser.choose("Taal", "English").await;
    browser.press("Taal wijzigen").await;
    browser.find("link", "My account").await;
    assert_eq!(browser.lang().await, "en");
    assert!(
        browser.url().await.starts_with(&stack.portal("/dashboard")),
        "the same page: {}",
        browser.url().await
    );
    browser.find("button", "Log out").await;
    browser.find("link", "Dashboard").await;
    browser
        .find("heading", "Absenteeism at a glance Demo data")
        .await;
    browser.find("combobox", "Language").await;
    // And back.
    browser.choose("Language", "Nederlands").await;
    browser.press("Change language").await;
    browser.find("link", "Mijn account").await;
    assert_eq!(browser.lang().await, "nl");

    // Without JavaScript the IdP's button shows and does the same.
    let plain = Chrome::start(Launch {
        javascript: false,
        ..Launch::default()
    })
    .await;
    plain.goto(&stack.portal("/")).await;
    plain.press("Inloggen").await;
    plain.find("heading", "Inloggen bij uw account").await;
    plain.choose("Taal", "English").await;
    plain.press("Taal wijzigen").await;
    plain.find("heading", "Log in to your account").await;
    assert_eq!(plain.lang().await, "en");
    log_in_at_the_idp(&stack, &plain, &EN, &fleur).await;
    on_the_dashboard(&stack, &plain, &NL).await;
}
