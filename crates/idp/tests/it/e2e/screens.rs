//! Every screen of the IdP and the portal, visited in one walk (the tour): the manual's screens
//! in its order, then the account, consent, administration and error pages. At each stop the
//! accessibility checks run (`accessibility`) and a PNG is taken: `cargo xtask screenshots`
//! points `HCC_SCREENSHOTS` at docs/screenshots/ so they land there, in Dutch and English.

use std::path::{Path, PathBuf};

use idp::domain::{Language, Role};

use super::chrome::{Chrome, Launch};
use super::journeys::{
    CHOSEN, GUESSABLE, NEW_PASSWORD, app_with_key, fresh, key_after, log_in_at_the_idp,
    register_as_marco,
};
use super::stack::Stack;
use super::words::Words;
use crate::driver::{MARCO, Person, RelyingParty};

/// What is done at each stop of the tour.
pub trait Visitor {
    /// The browser shows screen `name` (a file name: `03-registration`).
    async fn at(&mut self, browser: &Chrome, name: &str);
    /// Mail `name` (its HTML part, shown in the browser).
    async fn mail(&mut self, browser: &Chrome, name: &str, html: &str) {
        show_html(browser, html).await;
        self.at(browser, name).await;
    }
}

/// Shows `html` as a page of its own (the way a mail program shows an HTML mail).
async fn show_html(browser: &Chrome, html: &str) {
    let encoded = data_encoding::BASE64.encode(html.as_bytes());
    browser
        .goto(&format!("data:text/html;charset=utf-8;base64,{encoded}"))
        .await;
}

/// The tour in `w`'s language, in browsers started as `launch` says (set to that language).
pub async fn tour(w: &Words, launch: Launch, visitor: &mut impl Visitor) {
    let stack = Stack::start().await;
    let browser = stack.browser_with(launch).await;
    let language = Language::from_tag(w.lang).unwrap();
    let person = the_manual(&stack, &browser, w, language, visitor).await;
    the_account_pages(&stack, &browser, w, &person, visitor).await;
    the_consent_page(&stack, &browser, w, visitor).await;
    the_administration(&stack, w, launch, visitor).await;
    the_error_pages(&stack, &browser, launch, visitor).await;
}

/// The manual's screens, in its order (invitation mail to reset); Marco's account at the end.
async fn the_manual(
    stack: &Stack,
    browser: &Chrome,
    w: &Words,
    language: Language,
    visitor: &mut impl Visitor,
) -> Person {
    let mail = stack.invite(MARCO, "van Basten", language).await;
    visitor
        .mail(browser, "01-invitation-mail", &mail.html())
        .await;
    browser.goto(&stack.link(&mail)).await;
    browser.find("heading", &registration_title(w)).await;
    visitor.at(browser, "02-registration").await;
    register_as_marco(browser, w, GUESSABLE).await;
    browser.wait_for_text(w.guessable).await;
    visitor.at(browser, "03-registration-refused").await;
    browser.fill(w.password, CHOSEN).await;
    browser.fill(w.confirm_password, CHOSEN).await;
    browser.press(w.register).await;

    browser.wait_for_text(w.setup_title).await;
    visitor.at(browser, "04-authenticator-setup").await;
    browser.click(("DisclosureTriangle", w.scan_failed)).await;
    let secret = app_with_key(&key_after(&browser.text().await, w.manual_key));
    visitor.at(browser, "05-authenticator-setup-key").await;
    browser.fill(w.code, &fresh(stack, &secret)).await;
    browser.fill(w.device_name, "Telefoon van Marco").await;
    browser.press(w.submit).await;
    browser.find("link", w.to_portal).await;
    visitor.at(browser, "06-account-ready").await;
    let person = Person {
        email: MARCO.to_owned(),
        password: CHOSEN.to_owned(),
        secret,
    };

    // The portal (signed in with the session just made), then logged out: its landing page
    // with the green button, the IdP's login, the code step.
    browser.follow(w.to_portal).await;
    browser.press(w.log_in).await;
    browser.wait_for_url(&stack.portal("/dashboard")).await;
    browser.press(w.log_out).await;
    browser.wait_for_url(&stack.portal("/")).await;
    browser.find("button", w.log_in).await;
    visitor.at(browser, "07-portal-landing").await;
    browser.press(w.log_in).await;
    browser.wait_for_text(w.login_title).await;
    visitor.at(browser, "08-login").await;
    browser.fill(w.email, MARCO).await;
    browser.fill(w.password, CHOSEN).await;
    browser.press(w.log_in).await;
    browser.wait_for_text(w.code_title).await;
    visitor.at(browser, "09-login-code").await;
    browser.fill(w.code, &stack.code(&person)).await;
    browser.press(w.log_in).await;
    browser.wait_for_url(&stack.portal("/dashboard")).await;
    visitor.at(browser, "10-portal-dashboard").await;

    // Forgotten password: from the login page, the mail, the reset, back at the login.
    browser.press(w.log_out).await;
    browser.wait_for_url(&stack.portal("/")).await;
    browser.press(w.log_in).await;
    browser.follow(w.forgot_password).await;
    visitor.at(browser, "11-forgot-password").await;
    let before = stack.mails_to(MARCO);
    browser.fill(w.email, MARCO).await;
    browser.press(w.send).await;
    browser.find("heading", forgot_sent_title(w)).await;
    visitor.at(browser, "12-forgot-password-sent").await;
    let mail = stack.mail_after(MARCO, before).await;
    visitor.mail(browser, "13-reset-mail", &mail.html()).await;
    browser.goto(&stack.link(&mail)).await;
    browser.find("textbox", w.new_password).await;
    visitor.at(browser, "14-reset-password").await;
    browser.fill(w.new_password, NEW_PASSWORD).await;
    browser.fill(w.confirm_password, NEW_PASSWORD).await;
    browser.press(w.submit).await;
    browser.wait_for_text(w.reset_done).await;
    visitor.at(browser, "15-login-after-reset").await;
    let person = person.with_password(NEW_PASSWORD);
    log_in_at_the_idp(stack, browser, w, &person).await;
    browser.wait_for_url(&stack.portal("/dashboard")).await;
    person
}

fn registration_title(w: &Words) -> String {
    match w.lang {
        "nl" => "Maak een account aan om lid te worden van de organisatie EK88".to_owned(),
        _ => "Create an account to join the EK88 organization".to_owned(),
    }
}

fn forgot_sent_title(w: &Words) -> &'static str {
    match w.lang {
        "nl" => "Controleer uw e-mail",
        _ => "Check your e-mail",
    }
}

/// Mijn account and the pages it leads to.
async fn the_account_pages(
    stack: &Stack,
    browser: &Chrome,
    w: &Words,
    person: &Person,
    visitor: &mut impl Visitor,
) {
    browser.follow(w.my_account).await;
    browser.find("heading", w.my_account).await;
    visitor.at(browser, "20-account").await;
    browser.goto(&stack.idp("/account/password")).await;
    visitor.at(browser, "21-account-password").await;
    browser
        .goto(&stack.idp("/account/authenticators/new"))
        .await;
    visitor.at(browser, "22-account-add-authenticator").await;
    // Recovery codes: made, shown once.
    browser.goto(&stack.idp("/account")).await;
    browser.press(recovery_make(w)).await;
    browser.find("heading", recovery_title(w)).await;
    visitor.at(browser, "23-account-recovery-codes").await;
    // The confirmation a change asks for after a while (step-up): the clock moves on.
    stack.app.clock.advance(11 * 60);
    browser.goto(&stack.idp("/account/password")).await;
    browser.find("textbox", w.code).await;
    visitor.at(browser, "24-account-confirm").await;
    browser.fill(w.code, &stack.code(person)).await;
    browser.press(confirm_button(w)).await;
    browser.find("textbox", current_password(w)).await;
}

fn recovery_make(w: &Words) -> &'static str {
    match w.lang {
        "nl" => "Herstelcodes maken",
        _ => "Make recovery codes",
    }
}

fn recovery_title(w: &Words) -> &'static str {
    match w.lang {
        "nl" => "Uw herstelcodes",
        _ => "Your recovery codes",
    }
}

fn confirm_button(w: &Words) -> &'static str {
    match w.lang {
        "nl" => "Bevestigen",
        _ => "Confirm",
    }
}

fn current_password(w: &Words) -> &'static str {
    match w.lang {
        "nl" => "Huidig wachtwoord",
        _ => "Current password",
    }
}

/// The consent page of a third-party client ("Roosterplanner"), for the signed-in person.
async fn the_consent_page(stack: &Stack, browser: &Chrome, w: &Words, visitor: &mut impl Visitor) {
    let client: RelyingParty = stack.app.third_party_client().await;
    let url = client
        .authorize_url("openid profile email", &[])
        .replace(&stack.app.address, &stack.idp);
    browser.goto(&url).await;
    browser.find("button", consent_allow(w)).await;
    visitor.at(browser, "30-consent").await;
}

fn consent_allow(w: &Words) -> &'static str {
    match w.lang {
        "nl" => "Toestaan",
        _ => "Allow",
    }
}

/// Gebruikers beheren and Activiteiten (a superuser of EK88), Organisaties (HCC staff).
async fn the_administration(stack: &Stack, w: &Words, launch: Launch, visitor: &mut impl Visitor) {
    let browser = stack.browser_with(launch).await;
    let superuser = stack.person("els@ek88.nl", Role::Superuser).await;
    sign_in_at_the_portal(stack, &browser, w, &superuser).await;
    browser.follow(w.manage_users).await;
    browser
        .find("heading", &format!("{} EK88", w.manage_users))
        .await;
    visitor.at(&browser, "40-manage-users").await;
    browser.follow(activity(w)).await;
    browser
        .find("heading", &format!("{} EK88", activity(w)))
        .await;
    visitor.at(&browser, "41-activity").await;

    let staff_browser = stack.browser_with(launch).await;
    let hcc = stack
        .app
        .admin()
        .create_organisation("HumanCapitalCare")
        .await;
    let staff =
        crate::driver::seed_person(&stack.app, &hcc, "staf@humancapitalcare.nl", Role::HccStaff)
            .await;
    sign_in_at_the_portal(stack, &staff_browser, w, &staff).await;
    staff_browser.goto(&stack.portal("/beheer")).await;
    staff_browser.find("heading", organisations(w)).await;
    visitor.at(&staff_browser, "42-organisations").await;
}

async fn sign_in_at_the_portal(stack: &Stack, browser: &Chrome, w: &Words, person: &Person) {
    browser.goto(&stack.portal("/")).await;
    browser.press(w.log_in).await;
    log_in_at_the_idp(stack, browser, w, person).await;
    browser.wait_for_url(&stack.portal("/")).await;
    browser.find("link", w.my_account).await;
}

fn activity(w: &Words) -> &'static str {
    match w.lang {
        "nl" => "Activiteiten",
        _ => "Activity",
    }
}

fn organisations(w: &Words) -> &'static str {
    match w.lang {
        "nl" => "Organisaties",
        _ => "Organisations",
    }
}

/// The pages of things gone wrong: an unknown address at each, the code step without a login.
async fn the_error_pages(
    stack: &Stack,
    browser: &Chrome,
    launch: Launch,
    visitor: &mut impl Visitor,
) {
    browser.goto(&stack.idp("/bestaat-niet")).await;
    visitor.at(browser, "50-idp-not-found").await;
    browser.goto(&stack.portal("/bestaat-niet")).await;
    visitor.at(browser, "51-portal-not-found").await;
    let fresh_browser = stack.browser_with(launch).await;
    fresh_browser.goto(&stack.idp("/login/otp")).await;
    visitor.at(&fresh_browser, "52-session-expired").await;
}

/// Writes a PNG of each screen at 1280 px into `folder`, named `<screen>.<lang>.png`.
pub struct Screenshots {
    pub folder: PathBuf,
    pub lang: &'static str,
    pub written: Vec<PathBuf>,
}

/// The screens also shown as on a phone (390 CSS px), `<screen>.<lang>.phone.png`.
const ON_A_PHONE: &[&str] = &[
    "02-registration",
    "03-registration-refused",
    "04-authenticator-setup",
    "08-login",
    "09-login-code",
    "10-portal-dashboard",
    "20-account",
];

impl Visitor for Screenshots {
    async fn at(&mut self, browser: &Chrome, name: &str) {
        let png = browser.screenshot(1280).await;
        self.write(&format!("{name}.{}.png", self.lang), &png);
        if ON_A_PHONE.contains(&name) {
            let png = browser.phone_screenshot(390).await;
            self.write(&format!("{name}.{}.phone.png", self.lang), &png);
        }
    }
}

impl Screenshots {
    fn write(&mut self, file: &str, png: &[u8]) {
        let path = self.folder.join(file);
        std::fs::write(&path, png).unwrap();
        self.written.push(path);
    }
}

/// Where the screenshots go: `HCC_SCREENSHOTS` (set by `cargo xtask screenshots`), or a
/// folder of the test's own (kept while the returned guard lives).
pub fn screenshot_folder() -> (PathBuf, Option<tempfile::TempDir>) {
    match std::env::var_os("HCC_SCREENSHOTS") {
        Some(folder) => {
            std::fs::create_dir_all(&folder).unwrap();
            (PathBuf::from(folder), None)
        }
        None => {
            let dir = tempfile::tempdir().unwrap();
            (dir.path().to_path_buf(), Some(dir))
        }
    }
}

impl Screenshots {
    /// Every file written is a PNG of a page.
    pub fn assert_written(&self, at_least: usize) {
        assert!(self.written.len() >= at_least, "{:?}", self.written);
        for path in &self.written {
            assert_is_png(path);
        }
    }
}

fn assert_is_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 5_000,
        "{} is a PNG of a page",
        path.display()
    );
}
