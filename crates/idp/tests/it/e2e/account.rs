//! Mijn account in the browser: change the password, a second authenticator, recovery codes, ending another session, and a passkey registered and used at login.

use std::time::Duration;

use idp::domain::Role;
use idp::domain::totp::TotpSecret;

use super::chrome::Chrome;
use super::journeys::{
    app_with_key, fresh, key_after, log_in_at_the_idp, log_in_from_the_portal, log_out,
    on_the_dashboard,
};
use super::stack::Stack;
use super::words::NL;
use crate::driver::{MARCO, Person};

/// The password chosen on "Wachtwoord wijzigen": every stated rule met, not easily guessed.
const NEW_PASSWORD: &str = "Herfst-Kastanje-Fiets-2027!";

/// The heading of the step-up page (`/account/confirm`), catalogue key `step_up_title`.
const STEP_UP: &str = "Bevestig dat u het bent";

/// How long a page may take to show what a step led to.
const PATIENCE: Duration = Duration::from_secs(10);

/// The shown controls with `role` that act on one item of a list: named "<action>: <item>",
/// the item in a visually hidden tail ("Beëindigen: Chrome op Linux, 2 december 2026, 03:30").
/// Each as (its name as the browser computes it, the item). A name that is not exactly
/// "<action>: <item>" (e.g. "Beëindigen : …") is noted in `misnamed`.
async fn per_item(
    browser: &Chrome,
    role: &str,
    action: &str,
    misnamed: &mut Vec<String>,
) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (r, name) in browser.names().await {
        if r != role {
            continue;
        }
        let Some((head, item)) = name.split_once(':') else {
            continue;
        };
        if head.trim_end() != action {
            continue;
        }
        let item = item.trim().to_owned();
        if name != format!("{action}: {item}") && !misnamed.contains(&name) {
            misnamed.push(name.clone());
        }
        found.push((name, item));
    }
    found
}

/// The items of `per_item`.
fn items(found: &[(String, String)]) -> Vec<&str> {
    found.iter().map(|(_, item)| item.as_str()).collect()
}

/// What the page's list controls must be called: "<action>: <item>", as the templates write
/// them (`account_end_session_button` and the rest, then ": " and the item).
fn assert_named_as_written(misnamed: &[String]) {
    assert!(
        misnamed.is_empty(),
        "controls named otherwise than \"<action>: <item>\" (the visually hidden tail is a \
         block, position: absolute, so the browser puts a space before its colon): {misnamed:?}"
    );
}

/// What the passkey form's status (its `role="alert"` paragraph) says: empty while the
/// ceremony runs or went well, the error otherwise; nothing while the page is being replaced.
async fn passkey_status(browser: &Chrome) -> String {
    let script = "return document.querySelector('[data-passkey-status]')?.innerText ?? ''";
    match browser.client.execute(script, Vec::new()).await {
        Ok(value) => value.as_str().unwrap_or_default().trim().to_owned(),
        Err(_) => String::new(),
    }
}

/// One poll of a passkey ceremony that has not finished yet: its status shows no error and the
/// deadline has not passed (else the test fails with what the page says), then a short wait.
async fn ceremony_goes_on(browser: &Chrome, deadline: tokio::time::Instant, not_done: &str) {
    let status = passkey_status(browser).await;
    assert!(
        status.is_empty(),
        "the passkey ceremony failed in Chromium: {status:?}"
    );
    assert!(
        tokio::time::Instant::now() < deadline,
        "{not_done}, at {}: {}",
        browser.url().await,
        browser.text().await
    );
    tokio::time::sleep(Duration::from_millis(150)).await;
}

/// Waits until the page shows `marker` (what the step was for) or asks for a fresh code first
/// (the step-up page, known by its heading). Asked, it gets a code of `secret` and true comes
/// back: the step-up returns to the section, and the step is to be taken again.
async fn stepped_up(stack: &Stack, browser: &Chrome, secret: &TotpSecret, marker: &str) -> bool {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if browser.has("heading", STEP_UP).await {
            browser
                .fill("Authenticatiecode", &fresh(stack, secret))
                .await;
            browser.press("Bevestigen").await;
            browser.wait_for_url(&stack.idp("/account")).await;
            // Not the step-up page any more (its address is /account/confirm too).
            let deadline = tokio::time::Instant::now() + PATIENCE;
            while browser.has("heading", STEP_UP).await {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the step-up did not take the code: {}",
                    browser.text().await
                );
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
            return true;
        }
        if browser.text().await.contains(marker) {
            return false;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "neither {marker:?} nor {STEP_UP:?} at {}: {}",
            browser.url().await,
            browser.text().await
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// The recovery codes on "Uw herstelcodes" (`ABCD-EFGH-JKLM-NPQR`), read from the page's text.
fn recovery_codes(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| {
            let groups: Vec<&str> = line.split('-').collect();
            groups.len() == 4
                && groups.iter().all(|g| {
                    g.len() == 4
                        && g.chars()
                            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
                })
        })
        .map(str::to_owned)
        .collect()
}

/// From the portal's dashboard, "Mijn account": the IdP's account page, in Dutch.
async fn to_my_account(stack: &Stack, browser: &Chrome) {
    browser.follow("Mijn account").await;
    browser.wait_for_url(&stack.idp("/account")).await;
    browser.find("heading", "Mijn account").await;
    assert_eq!(browser.lang().await, "nl");
}

/// "Wachtwoord wijzigen": the current password, the new one twice; the account page says it
/// is done.
async fn change_password(stack: &Stack, browser: &Chrome, person: &Person, new: &str) {
    // The page names the link twice (its table of contents, its Wachtwoord section), both
    // to the same page.
    let links = browser.all("link", "Wachtwoord wijzigen").await;
    assert_eq!(links.len(), 2, "{:?}", browser.names().await);
    links[0].click().await.unwrap();
    stepped_up(stack, browser, &person.secret, "Huidig wachtwoord").await;
    loop {
        browser.find("heading", "Wachtwoord wijzigen").await;
        browser.fill("Huidig wachtwoord", &person.password).await;
        browser.fill("Nieuw wachtwoord", new).await;
        browser.fill("Bevestig wachtwoord", new).await;
        browser.tick("Uitloggen op andere apparaten", false).await;
        browser.press("Wachtwoord wijzigen").await;
        let done = "Uw wachtwoord is gewijzigd. U ontvangt hierover een e-mail.";
        if !stepped_up(stack, browser, &person.secret, done).await {
            break;
        }
    }
    browser.wait_for_url(&stack.idp("/account")).await;
    browser.find("heading", "Mijn account").await;
}

/// "Authenticator toevoegen": the key from "Scannen mislukt?", a code of the new app and a
/// device name; the account page says it is added. The new app's key.
async fn add_authenticator(
    stack: &Stack,
    browser: &Chrome,
    person: &Person,
    device: &str,
) -> TotpSecret {
    browser.follow("Authenticator toevoegen").await;
    stepped_up(stack, browser, &person.secret, "Scannen mislukt?").await;
    loop {
        browser.find("heading", "Authenticator toevoegen").await;
        browser
            .click(("DisclosureTriangle", "Scannen mislukt?"))
            .await;
        let key = key_after(&browser.text().await, "Voer deze sleutel in uw app in:");
        let second = app_with_key(&key);
        browser
            .fill("Authenticatiecode", &fresh(stack, &second))
            .await;
        browser.fill("Apparaatnaam", device).await;
        browser.press("Verzenden").await;
        if !stepped_up(
            stack,
            browser,
            &person.secret,
            "De authenticator is toegevoegd.",
        )
        .await
        {
            return second;
        }
    }
}

/// "Herstelcodes maken": the ten codes shown once, then "Ik heb de codes bewaard". The codes,
/// and whether a fresh code was asked for first.
async fn make_recovery_codes(
    stack: &Stack,
    browser: &Chrome,
    person: &Person,
) -> (Vec<String>, bool) {
    let mut asked = false;
    loop {
        browser.press("Herstelcodes maken").await;
        if !stepped_up(stack, browser, &person.secret, "Uw herstelcodes").await {
            break;
        }
        asked = true;
    }
    browser.find("heading", "Uw herstelcodes").await;
    browser
        .wait_for_text("Er zijn tien nieuwe herstelcodes gemaakt.")
        .await;
    let codes = recovery_codes(&browser.text().await);
    assert_eq!(codes.len(), 10, "{}", browser.text().await);
    let mut distinct = codes.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 10, "ten different codes: {codes:?}");
    browser.follow("Ik heb de codes bewaard").await;
    browser.wait_for_url(&stack.idp("/account")).await;
    browser
        .wait_for_text("U heeft nog 10 van de 10 herstelcodes.")
        .await;
    assert!(
        browser.has("button", "Nieuwe herstelcodes maken").await,
        "{:?}",
        browser.names().await
    );
    (codes, asked)
}

/// On the account page: "Beëindigen" for the one other session (named by its browser and the
/// time it logged in, in a visually hidden tail); the page says it is ended.
async fn end_the_other_session(
    stack: &Stack,
    browser: &Chrome,
    person: &Person,
    misnamed: &mut Vec<String>,
) {
    loop {
        let others = per_item(browser, "button", "Beëindigen", misnamed).await;
        assert_eq!(
            others.len(),
            1,
            "one other session, its button named after it: {:?}",
            browser.names().await
        );
        let (name, session) = &others[0];
        assert!(
            session.starts_with("Chrome op Linux, "),
            "the button says which session it ends: {name:?}"
        );
        assert!(
            browser
                .has("button", "Alle andere sessies beëindigen")
                .await,
            "{:?}",
            browser.names().await
        );
        browser.press(name).await;
        let done = "De sessie is beëindigd. Daar moet opnieuw worden ingelogd.";
        if !stepped_up(stack, browser, &person.secret, done).await {
            break;
        }
    }
    browser
        .wait_for_text("U bent nergens anders ingelogd.")
        .await;
    assert!(
        per_item(browser, "button", "Beëindigen", misnamed)
            .await
            .is_empty(),
        "{:?}",
        browser.names().await
    );
    assert!(
        !browser
            .has("button", "Alle andere sessies beëindigen")
            .await
    );
}

/// Password, then "Geen toegang tot uw authenticator? Gebruik een herstelcode" on the code
/// step, a recovery code; asked to set up a new authenticator, "Nu niet, later instellen";
/// the portal's dashboard.
async fn log_in_with_a_recovery_code(stack: &Stack, browser: &Chrome, person: &Person, code: &str) {
    browser.goto(&stack.portal("/")).await;
    browser.press("Inloggen").await;
    browser.wait_for_text("Inloggen bij uw account").await;
    browser.fill("E-mailadres", &person.email).await;
    browser.fill("Wachtwoord", &person.password).await;
    browser.press("Inloggen").await;
    browser.find("heading", "Eenmalige code").await;
    browser
        .follow("Geen toegang tot uw authenticator? Gebruik een herstelcode")
        .await;
    browser
        .find("heading", "Inloggen met een herstelcode")
        .await;
    browser.fill("Herstelcode", code).await;
    browser.press("Inloggen").await;
    browser
        .wait_for_text("U bent ingelogd met een herstelcode.")
        .await;
    browser.find("heading", "Authenticator toevoegen").await;
    browser.follow("Nu niet, later instellen").await;
    on_the_dashboard(stack, browser, &NL).await;
}

#[tokio::test]
async fn mijn_account_changes_the_password_adds_an_authenticator_makes_recovery_codes_and_ends_another_session()
 {
    let stack = Stack::start().await;
    let person = stack.person(MARCO, Role::Member).await;
    assert_eq!(person.password, crate::driver::STRONG);
    let mut misnamed = Vec::new();

    // Browser A: from the portal, then "Mijn account".
    let a = stack.browser().await;
    log_in_from_the_portal(&stack, &a, &NL, &person).await;
    to_my_account(&stack, &a).await;
    assert!(
        a.text().await.contains(MARCO),
        "the account page shows the address"
    );

    // Browser B: straight to the IdP's account page, which logs in first and comes back.
    let b = stack.browser().await;
    b.goto(&stack.idp("/account")).await;
    b.wait_for_text("Inloggen bij uw account").await;
    log_in_at_the_idp(&stack, &b, &NL, &person).await;
    b.wait_for_url(&stack.idp("/account")).await;
    b.find("heading", "Mijn account").await;

    // A: Wachtwoord wijzigen.
    a.goto(&stack.idp("/account")).await;
    change_password(&stack, &a, &person, NEW_PASSWORD).await;
    let person = person.with_password(NEW_PASSWORD);

    // A: Authenticator toevoegen; the list shows both.
    let device = "Tweede telefoon";
    let second = add_authenticator(&stack, &a, &person, device).await;
    a.find("heading", "Authenticators").await;
    let renames = per_item(&a, "DisclosureTriangle", "Naam wijzigen", &mut misnamed).await;
    assert_eq!(
        items(&renames),
        ["Authenticator 1", device],
        "two authenticators: {:?}",
        a.names().await
    );
    let removes = per_item(&a, "button", "Verwijderen", &mut misnamed).await;
    assert_eq!(
        items(&removes),
        ["Authenticator 1", device],
        "each of two may be removed: {:?}",
        a.names().await
    );
    assert!(
        !a.text().await.contains("Dit is uw enige authenticator."),
        "no longer the only one"
    );

    // A: Herstelcodes maken, more than `account.step_up_minutes` after the login: a fresh code
    // first ("Bevestig dat u het bent"), then the codes.
    stack
        .app
        .clock
        .advance(crate::driver::STEP_UP_MINUTES * 60 + 60);
    a.goto(&stack.idp("/account")).await;
    a.wait_for_text(
        "U bent al een tijd ingelogd. Voor een wijziging vragen we eerst nog een keer een \
         authenticatiecode.",
    )
    .await;
    let (codes, asked) = make_recovery_codes(&stack, &a, &person).await;
    assert!(asked, "the step-up page asked for a code first");
    assert!(
        !a.text().await.contains("U bent al een tijd ingelogd."),
        "fresh again after the step-up"
    );

    // A: B's session ended; B, reloading, is asked to log in.
    end_the_other_session(&stack, &a, &person, &mut misnamed).await;
    b.goto(&stack.idp("/account")).await;
    b.wait_for_text("Inloggen bij uw account").await;
    assert!(
        b.url().await.starts_with(&stack.idp("/login")),
        "{}",
        b.url().await
    );
    b.find("button", "Inloggen").await;

    // A: out, and in with the new password and a code of the second app.
    a.goto(&stack.portal("/dashboard")).await;
    on_the_dashboard(&stack, &a, &NL).await;
    log_out(&stack, &a, &NL).await;
    let with_second = Person {
        email: person.email.clone(),
        password: NEW_PASSWORD.to_owned(),
        secret: second,
    };
    log_in_from_the_portal(&stack, &a, &NL, &with_second).await;

    // Once more, with a recovery code instead of the code.
    log_out(&stack, &a, &NL).await;
    log_in_with_a_recovery_code(&stack, &a, &person, &codes[0]).await;
    to_my_account(&stack, &a).await;
    a.wait_for_text("U heeft nog 9 van de 10 herstelcodes.")
        .await;
    assert_named_as_written(&misnamed);
}

#[tokio::test]
async fn a_passkey_registered_on_mijn_account_logs_in() {
    let stack = Stack::start().await;
    let person = stack.person(MARCO, Role::Member).await;
    let browser = stack.browser().await;
    let authenticator = browser.add_virtual_authenticator().await;
    assert!(browser.virtual_credentials(&authenticator).await.is_empty());

    log_in_from_the_portal(&stack, &browser, &NL, &person).await;
    to_my_account(&stack, &browser).await;
    browser
        .find("heading", "Passkey of beveiligingssleutel")
        .await;

    let name = "Beveiligingssleutel van Marco";
    loop {
        browser.fill("Naam van de passkey", name).await;
        browser.press("Passkey toevoegen").await;
        // The ceremony runs in the page's script; what went wrong shows in its status.
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let stepped = loop {
            if browser.text().await.contains("De passkey is toegevoegd.") {
                break false;
            }
            if browser.has("heading", STEP_UP).await {
                break stepped_up(&stack, &browser, &person.secret, "").await;
            }
            ceremony_goes_on(&browser, deadline, "the passkey was not added").await;
        };
        if !stepped {
            break;
        }
    }
    browser.wait_for_url(&stack.idp("/account")).await;
    let mut misnamed = Vec::new();
    let renames = per_item(
        &browser,
        "DisclosureTriangle",
        "Naam wijzigen",
        &mut misnamed,
    )
    .await;
    assert_eq!(
        items(&renames),
        ["Authenticator 1", name],
        "{:?}",
        browser.names().await
    );
    assert!(
        browser.text().await.contains(&format!("{name} passkey")),
        "the list tags it as a passkey: {}",
        browser.text().await
    );
    let held = browser.virtual_credentials(&authenticator).await;
    assert_eq!(held.len(), 1, "{held:?}");

    // Out, and in with the password and the passkey instead of a code.
    browser.goto(&stack.portal("/dashboard")).await;
    on_the_dashboard(&stack, &browser, &NL).await;
    log_out(&stack, &browser, &NL).await;
    browser.press("Inloggen").await;
    browser.wait_for_text("Inloggen bij uw account").await;
    browser.fill("E-mailadres", &person.email).await;
    browser.fill("Wachtwoord", &person.password).await;
    browser.press("Inloggen").await;
    browser.find("heading", "Eenmalige code").await;
    browser.press("Inloggen met passkey").await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !browser.url().await.starts_with(&stack.portal("/dashboard")) {
        ceremony_goes_on(
            &browser,
            deadline,
            "the passkey login did not reach the dashboard",
        )
        .await;
    }
    on_the_dashboard(&stack, &browser, &NL).await;
    let held = browser.virtual_credentials(&authenticator).await;
    assert_eq!(held.len(), 1, "{held:?}");
    assert!(
        held[0]["signCount"].as_u64().unwrap_or(0) >= 1,
        "the key signed the login: {held:?}"
    );
    assert_named_as_written(&misnamed);
}
