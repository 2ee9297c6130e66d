//! The manual's journeys in Chromium, in Dutch and once in English: from the invitation mail to
//! the portal's dashboard, logging out and in again from the green button, a forgotten
//! password, a superuser's colleague, consent, Mijn account, a passkey and the language choice.

use idp::domain::Language;
use idp::domain::totp::TotpSecret;

use super::chrome::Chrome;
use super::stack::Stack;
use super::words::{self, Words};
use crate::driver::{MARCO, Person};

/// Meets every stated rule (19 characters, a capital, a digit, a special character) and is
/// not easily guessed: it must be accepted.
pub(super) const CHOSEN: &str = "Zomer2026!Werkgever";
/// Meets every stated rule but is a keyboard row padded with digits: refused as easily guessed.
pub(super) const GUESSABLE: &str = "Qwerty123456789!!";
pub(super) const NEW_PASSWORD: &str = "Nieuw-Sterk-Wachtw00rd-Roos";

/// The authenticator app of the journeys: the key read from "Scannen mislukt?".
pub(super) fn app_with_key(key: &str) -> TotpSecret {
    let bytes = data_encoding::BASE32_NOPAD
        .decode(key.replace(' ', "").as_bytes())
        .unwrap_or_else(|e| panic!("the shown key {key:?} is base32: {e}"));
    TotpSecret::from_bytes(bytes)
}

/// Invitation mail → registration (a guessable password refused first) → authenticator with
/// "Scannen mislukt?" → the portal's dashboard. Marco, with the key his app holds.
async fn register_from_the_invitation(stack: &Stack, browser: &Chrome, w: &Words) -> Person {
    let language = Language::from_tag(w.lang).unwrap();
    let mail = stack.invite(MARCO, "van Basten", language).await;
    browser.goto(&stack.link(&mail)).await;
    assert_eq!(browser.lang().await, w.lang);
    assert_eq!(browser.value(w.email).await, MARCO);

    register_as_marco(browser, w, GUESSABLE).await;
    browser.wait_for_text(w.guessable).await;
    let alert = browser
        .script_string("return document.querySelector('[role=alert]').innerText")
        .await;
    assert!(alert.contains(w.guessable), "{alert}");

    browser.fill(w.password, CHOSEN).await;
    browser.fill(w.confirm_password, CHOSEN).await;
    browser.press(w.register).await;
    browser.wait_for_text(w.setup_title).await;

    let secret = set_up_authenticator(stack, browser, w, "Telefoon van Marco").await;
    browser.follow(w.to_portal).await;
    let person = Person {
        email: MARCO.to_owned(),
        password: CHOSEN.to_owned(),
        secret,
    };
    // The portal's landing page: its green button signs in with the IdP session just made.
    browser.wait_for_url(&stack.portal("/")).await;
    browser.press(w.log_in).await;
    on_the_dashboard(stack, browser, w).await;
    person
}

/// The registration form filled in as Marco with `password` (twice) and sent.
pub(super) async fn register_as_marco(browser: &Chrome, w: &Words, password: &str) {
    browser.fill(w.first_name, "Marco").await;
    browser.fill(w.last_name, "van Basten").await;
    browser.fill(w.password, password).await;
    browser.fill(w.confirm_password, password).await;
    browser.press(w.register).await;
}

/// The set-up page: "Scannen mislukt?" opened, the key read, a code from it entered.
pub(super) async fn set_up_authenticator(
    stack: &Stack,
    browser: &Chrome,
    w: &Words,
    device: &str,
) -> TotpSecret {
    browser.click(("DisclosureTriangle", w.scan_failed)).await;
    let key = key_after(&browser.text().await, w.manual_key);
    let secret = app_with_key(&key);
    let code = fresh(stack, &secret);
    browser.fill(w.code, &code).await;
    browser.fill(w.device_name, device).await;
    browser.tick(w.logout_others, true).await;
    browser.press(w.submit).await;
    secret
}

/// The line after `label` in the page's text.
pub(super) fn key_after(text: &str, label: &str) -> String {
    let mut lines = text.lines().map(str::trim).skip_while(|l| *l != label);
    lines.next();
    lines
        .find(|l| !l.is_empty())
        .unwrap_or_else(|| panic!("no key after {label:?} in {text}"))
        .to_owned()
}

/// A code `secret` shows, a step after any used before.
pub(super) fn fresh(stack: &Stack, secret: &TotpSecret) -> String {
    let person = Person {
        email: String::new(),
        password: String::new(),
        secret: TotpSecret::from_bytes(secret.as_bytes().to_vec()),
    };
    stack.code(&person)
}

pub(super) async fn on_the_dashboard(stack: &Stack, browser: &Chrome, w: &Words) {
    browser.wait_for_url(&stack.portal("/dashboard")).await;
    browser.wait_for_text("EK88").await;
    assert_eq!(browser.lang().await, w.lang);
    assert!(browser.has("link", w.my_account).await);
}

/// "Uitloggen" on the portal: the IdP session ends too, the landing page shows again.
pub(super) async fn log_out(stack: &Stack, browser: &Chrome, w: &Words) {
    browser.press(w.log_out).await;
    browser.wait_for_url(&stack.portal("/")).await;
    browser.find("button", w.log_in).await;
}

/// The green button, then password and code at the IdP, back on the dashboard.
pub(super) async fn log_in_from_the_portal(
    stack: &Stack,
    browser: &Chrome,
    w: &Words,
    person: &Person,
) {
    browser.goto(&stack.portal("/")).await;
    browser.press(w.log_in).await;
    browser.wait_for_text(w.login_title).await;
    log_in_at_the_idp(stack, browser, w, person).await;
    on_the_dashboard(stack, browser, w).await;
}

pub(super) async fn log_in_at_the_idp(stack: &Stack, browser: &Chrome, w: &Words, person: &Person) {
    browser.fill(w.email, &person.email).await;
    browser.fill(w.password, &person.password).await;
    browser.press(w.log_in).await;
    browser.wait_for_text(w.code_title).await;
    browser.fill(w.code, &stack.code(person)).await;
    browser.press(w.log_in).await;
}

/// "Wachtwoord vergeten?" from the login page → the mail → "Wachtwoord bijwerken" → the login
/// page, the address filled in → password and code → the dashboard.
async fn reset_a_forgotten_password(
    stack: &Stack,
    browser: &Chrome,
    w: &Words,
    person: &Person,
) -> Person {
    browser.goto(&stack.portal("/")).await;
    browser.press(w.log_in).await;
    browser.follow(w.forgot_password).await;
    let before = stack.mails_to(&person.email);
    browser.fill(w.email, &person.email).await;
    browser.press(w.send).await;
    let mail = stack.mail_after(&person.email, before).await;
    browser.goto(&stack.link(&mail)).await;
    browser.fill(w.new_password, NEW_PASSWORD).await;
    browser.fill(w.confirm_password, NEW_PASSWORD).await;
    browser.press(w.submit).await;
    browser.wait_for_text(w.reset_done).await;
    assert_eq!(
        browser.value(w.email).await,
        person.email,
        "filled in after the reset"
    );
    let person = person.with_password(NEW_PASSWORD);
    browser.fill(w.password, &person.password).await;
    browser.press(w.log_in).await;
    browser.wait_for_text(w.code_title).await;
    browser.fill(w.code, &stack.code(&person)).await;
    browser.press(w.log_in).await;
    on_the_dashboard(stack, browser, w).await;
    person
}

/// The manual from start to end in one language, in a browser set to it.
async fn the_manual(w: &Words) {
    let stack = Stack::start().await;
    let browser = stack.browser_in(w.lang).await;
    let person = register_from_the_invitation(&stack, &browser, w).await;
    log_out(&stack, &browser, w).await;
    log_in_from_the_portal(&stack, &browser, w, &person).await;
    log_out(&stack, &browser, w).await;
    reset_a_forgotten_password(&stack, &browser, w, &person).await;
}

#[tokio::test]
async fn the_manual_in_dutch() {
    the_manual(&words::NL).await;
}

#[tokio::test]
async fn the_manual_in_english() {
    the_manual(&words::EN).await;
}
