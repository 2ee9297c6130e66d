//! "Mijn account" (`/account`) as the person uses it: the page and its forms (each posted with
//! the page's CSRF token, by the form's action), the password change, another authenticator
//! app, recovery codes (made on the page, typed at login), the step-up before a change when the
//! login is not fresh, and what the page lists (authenticators, sessions, permissions).

use diesel::prelude::*;
use idp::clock::{Clock, ShiftedClock};
use idp::domain::totp::{TotpSecret, step_at};
use idp::storage::models::{OtpCredential, RecoveryCode};
use reqwest::{Response, StatusCode};

use idp::storage::throttle::Counter;
use idp::throttle::Subject;
use serde_json::Value;

use super::browser::{Browser, location, query_param, set_cookie};
use super::html::{csrf_token, secret_from_page, text_of};
use super::mailbox::ReceivedMail;
use super::people::{MARCO, Person, onboarded_person};
use super::portal::form_actions;
use super::relying_party::RelyingParty;
use crate::helpers::TestApp;

/// The password Marco changes to (it meets the policy).
pub const NEW_PASSWORD: &str = "Nieuw-Sterk-Wachtw00rd-Roos";
/// The default `account.step_up_minutes`.
pub const STEP_UP_MINUTES: i64 = 10;
/// The IdP's session cookie (plain HTTP in the tests: no `__Host-` prefix).
pub const SESSION_COOKIE: &str = "hcc_session";
pub const FIREFOX_UA: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
/// How the account page names the Firefox browser's session.
pub const FIREFOX_SESSION: &str = "Firefox op Windows";

/// What [`TestApp::marco_with_everything`] sets up.
pub struct FullAccount {
    pub person: Person,
    /// The browser on the account page, logged in just now.
    pub browser: Browser,
    /// Another browser (Firefox on Windows) logged in as Marco.
    pub other: Browser,
}

impl Person {
    /// The same person with another authenticator app (its codes in `fresh_code`).
    pub fn with_authenticator(&self, secret: &TotpSecret) -> Person {
        Person {
            email: self.email.clone(),
            password: self.password.clone(),
            secret: TotpSecret::from_bytes(secret.as_bytes().to_vec()),
        }
    }

    /// The code the authenticator shows now, without moving the clock (a later step than the
    /// last one used, once the clock moved on since).
    pub fn code_now(&self, clock: &ShiftedClock) -> String {
        self.secret.code_at(step_at(clock.now()))
    }
}

impl TestApp {
    /// Moves the clock past the step-up window: the session's login is no longer fresh (the
    /// session itself, idle for less than an hour, stays).
    pub fn make_login_stale(&self) {
        self.clock.advance((STEP_UP_MINUTES + 1) * 60);
    }

    /// The stored recovery codes of `address`.
    pub async fn recovery_code_rows(&self, address: &str) -> Vec<RecoveryCode> {
        use idp::storage::schema::recovery_codes::dsl as r;
        let user_id = self.admin().user(address).await.id;
        self.state
            .db
            .run(move |c| {
                r::recovery_codes
                    .filter(r::user_id.eq(user_id))
                    .select(RecoveryCode::as_select())
                    .load(c)
                    .map_err(idp::storage::DbError::from)
            })
            .await
            .unwrap()
    }

    /// The confirmed authenticators of `address`, oldest first.
    pub async fn authenticators_of(&self, address: &str) -> Vec<OtpCredential> {
        let user_id = self.admin().user(address).await.id;
        self.state
            .db
            .run(move |c| idp::storage::otp::list_confirmed(c, &user_id))
            .await
            .unwrap()
    }

    /// The mails `address` received since it had `before`, once everything queued has
    /// arrived.
    pub async fn new_mails(&self, address: &str, before: usize) -> Vec<ReceivedMail> {
        let mailbox = self.mailbox();
        let count = mailbox.settled_count(address).await;
        mailbox.wait_for(address, count).await.split_off(before)
    }

    /// The one mail `address` received since it had `before` (and nothing more).
    pub async fn the_new_mail(&self, address: &str, before: usize) -> ReceivedMail {
        let mut mails = self.new_mails(address, before).await;
        assert_eq!(
            mails.len(),
            1,
            "one new mail to {address}: {:?}",
            subjects(&mails)
        );
        mails.pop().unwrap()
    }

    /// Marco, onboarded, logged in (password and code) in a browser of his own: a fresh
    /// login. The session cookie the login set comes with it.
    pub async fn marco_logged_in(&self) -> (Person, Browser, String) {
        let person = onboarded_person(self).await;
        let browser = self.browser();
        let response = browser.log_in(&person).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let cookie = set_cookie(&response, SESSION_COOKIE).expect("a session cookie");
        (person, browser, cookie)
    }

    /// Marco with the authenticators and sessions the account page can change: logged in
    /// (fresh) in `browser`, a second authenticator app "Telefoon werk", and another session in
    /// Firefox on Windows. (Permissions have tests of their own.)
    pub async fn marco_with_everything(&self) -> FullAccount {
        let (person, browser, _) = self.marco_logged_in().await;
        let (_, response) = browser
            .add_authenticator(&self.clock, "Telefoon werk")
            .await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "authenticator added"
        );
        let other = self.browser_as(FIREFOX_UA);
        assert_eq!(other.log_in(&person).await.status(), StatusCode::SEE_OTHER);
        FullAccount {
            person,
            browser,
            other,
        }
    }

    /// Roosterplanner (a third-party client) asks `browser`'s person for "openid
    /// offline_access", who allows it: the client and its token response.
    pub async fn grant_third_party(&self, browser: &Browser) -> (RelyingParty, Value) {
        let rp = self.third_party_client().await;
        let response = browser
            .get(&rp.authorize_url("openid offline_access", &[]))
            .await;
        assert_eq!(location(&response), "/consent");
        let response = browser.allow_on_consent_page().await;
        let code = query_param(&location(&response), "code").expect("a code");
        let (status, tokens) = rp.exchange(&code).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        assert!(tokens["refresh_token"].is_string(), "{tokens}");
        (rp, tokens)
    }

    /// The throttle counter of the code step (login and step-up) of `address`.
    pub async fn code_throttle(&self, address: &str) -> Option<Counter> {
        let user_id = self.admin().user(address).await.id;
        self.admin()
            .throttle_counter(Subject::otp_account(&user_id).key())
            .await
    }
}

impl Browser {
    /// GET /account, which must answer with the page.
    pub async fn account_page(&self) -> String {
        self.account_page_at("/account").await
    }

    /// GET `target` (a page of the account), which must answer 200; its HTML.
    pub async fn account_page_at(&self, target: &str) -> String {
        let response = self.get(target).await;
        assert_eq!(response.status(), StatusCode::OK, "{target}");
        response.text().await.unwrap()
    }

    /// Posts the form of the account page whose action is `action` (it must be on the page)
    /// with the page's CSRF token and `fields`.
    pub async fn account_form(&self, action: &str, fields: &[(&str, &str)]) -> Response {
        let page = self.account_page().await;
        assert!(
            form_actions(&page).iter().any(|a| a == action),
            "no form to {action} on the page: {:?}",
            form_actions(&page)
        );
        self.post_with_token(&csrf_token(&page), action, fields)
            .await
    }

    /// Posts `fields` to `action` with the CSRF token of the account page, whether or not the
    /// page has such a form (another person's id, a made-up handle).
    pub async fn account_post(&self, action: &str, fields: &[(&str, &str)]) -> Response {
        let page = self.account_page().await;
        self.post_with_token(&csrf_token(&page), action, fields)
            .await
    }

    async fn post_with_token(&self, csrf: &str, action: &str, fields: &[(&str, &str)]) -> Response {
        let mut form = vec![("csrf_token", csrf)];
        form.extend_from_slice(fields);
        self.post(action, &form).await
    }

    /// The page a redirect to `/account?done=…` leads to: its status message.
    pub async fn done_message(&self, response: &Response) -> String {
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let to = location(response);
        assert!(to.starts_with("/account?done="), "{to}");
        text_of(&self.account_page_at(&to).await, "[role=status]").join(" ")
    }

    /// "Wachtwoord wijzigen": the page, then its form.
    pub async fn change_password(
        &self,
        current: &str,
        new: &str,
        confirm: &str,
        logout_others: bool,
    ) -> Response {
        let mut form = vec![
            ("current_password", current),
            ("password", new),
            ("password_confirm", confirm),
        ];
        if logout_others {
            form.push(("logout_others", "on"));
        }
        self.post_form("/account/password", &form).await
    }

    /// "Authenticator toevoegen": the key the page shows (behind "Scannen mislukt?").
    pub async fn new_authenticator_secret(&self) -> TotpSecret {
        secret_from_page(&self.account_page_at("/account/authenticators/new").await)
    }

    /// Confirms the authenticator being added with `code` and `device_name`.
    pub async fn confirm_new_authenticator(&self, code: &str, device_name: &str) -> Response {
        self.post_form(
            "/account/authenticators/new",
            &[("otp_code", code), ("device_name", device_name)],
        )
        .await
    }

    /// Adds an authenticator app named `device_name` with its current code: its secret and the
    /// answer.
    pub async fn add_authenticator(
        &self,
        clock: &ShiftedClock,
        device_name: &str,
    ) -> (TotpSecret, Response) {
        let secret = self.new_authenticator_secret().await;
        let code = secret.code_at(step_at(clock.now()));
        let response = self.confirm_new_authenticator(&code, device_name).await;
        (secret, response)
    }

    /// "Herstelcodes maken": the ten codes shown on the answer.
    pub async fn make_recovery_codes(&self) -> Vec<String> {
        let response = self.account_form("/account/recovery-codes", &[]).await;
        assert_eq!(response.status(), StatusCode::OK);
        recovery_codes_on(&response.text().await.unwrap())
    }

    /// The step-up page for `next`, then its form with `code`.
    pub async fn step_up(&self, next: &str, code: &str) -> Response {
        let page = self
            .account_page_at(&format!("/account/confirm?next={next}"))
            .await;
        self.post_with_token(
            &csrf_token(&page),
            "/account/confirm",
            &[("otp_code", code), ("next", next)],
        )
        .await
    }

    /// The recovery-code page of the login (after the password step) with `code`.
    pub async fn log_in_recovery_code(&self, code: &str) -> Response {
        self.post_form("/login/recovery", &[("recovery_code", code)])
            .await
    }

    /// Both steps of the login, with a recovery code instead of the authenticator's code.
    pub async fn log_in_with_recovery_code(&self, person: &Person, code: &str) -> Response {
        let response = self.log_in_password(&person.email, &person.password).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "password step");
        assert_eq!(location(&response), "/login/otp");
        self.log_in_recovery_code(code).await
    }

    /// Whether this browser's session still opens the account page (else it is sent to log in).
    pub async fn has_account_session(&self) -> bool {
        let response = self.get("/account").await;
        match response.status() {
            StatusCode::OK => true,
            StatusCode::SEE_OTHER => {
                assert_eq!(location(&response), "/login");
                false
            }
            other => panic!("/account answered {other}"),
        }
    }

    /// "Toestaan" on the consent page (a request must be waiting).
    pub async fn allow_on_consent_page(&self) -> Response {
        self.post_form("/consent", &[("decision", "allow")]).await
    }
}

/// The recovery codes a page lists.
pub fn recovery_codes_on(html: &str) -> Vec<String> {
    text_of(html, "ol.codes code")
}

/// Whether `code` looks as a recovery code is shown: four groups of four base32 characters.
pub fn is_recovery_code(code: &str) -> bool {
    let groups: Vec<&str> = code.split('-').collect();
    groups.len() == 4
        && groups.iter().all(|g| {
            g.len() == 4
                && g.bytes()
                    .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
        })
}

/// The actions of the account page's forms that end in `/<verb>` (rename, remove, end,
/// revoke), in page order.
pub fn actions_ending(html: &str, verb: &str) -> Vec<String> {
    form_actions(html)
        .into_iter()
        .filter(|a| a.ends_with(&format!("/{verb}")) && a != "/account/sessions/end-others")
        .collect()
}

/// The action that ends the session listed with `device` (its "Beëindigen" form).
pub fn end_action_for(html: &str, device: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let items = scraper::Selector::parse("section[aria-labelledby=sessions] li.item").unwrap();
    let form = scraper::Selector::parse("form[action]").unwrap();
    let found: Vec<String> = doc
        .select(&items)
        .filter(|li| li.text().collect::<String>().contains(device))
        .filter_map(|li| li.select(&form).next())
        .filter_map(|f| f.value().attr("action").map(str::to_owned))
        .collect();
    assert_eq!(found.len(), 1, "one session of {device}: {found:?}");
    found.into_iter().next().unwrap()
}

/// The names the Authenticators section lists.
pub fn authenticator_names(html: &str) -> Vec<String> {
    text_of(html, "section[aria-labelledby=authenticators] .item-title")
}

/// The titles of the sessions the Sessies section lists ("Firefox op Windows deze browser").
pub fn session_titles(html: &str) -> Vec<String> {
    text_of(html, "section[aria-labelledby=sessions] .item-title")
}

/// The applications the Toestemmingen section lists.
pub fn permission_names(html: &str) -> Vec<String> {
    text_of(html, "section[aria-labelledby=permissions] .item-title")
}

/// The details of the newest audit row of `event` with `outcome`.
pub async fn audit_detail(app: &TestApp, event: &str, outcome: &str) -> serde_json::Value {
    let rows = app.admin().audit_log().await;
    let row = rows
        .iter()
        .rev()
        .find(|r| r.event == event && r.outcome == outcome)
        .unwrap_or_else(|| panic!("no {event} {outcome} in the audit log"));
    serde_json::from_str(&row.details).unwrap()
}

/// Marco's mails so far, once all queued have arrived.
pub async fn marco_mails(app: &TestApp) -> usize {
    app.mailbox().settled_count(MARCO).await
}

/// The subjects of `mails`.
pub fn subjects(mails: &[ReceivedMail]) -> Vec<String> {
    mails
        .iter()
        .map(|m| m.header("subject").unwrap_or_default())
        .collect()
}

/// The one mail of `mails` with `subject`.
pub fn mail_with_subject<'m>(mails: &'m [ReceivedMail], subject: &str) -> &'m ReceivedMail {
    let found: Vec<&ReceivedMail> = mails
        .iter()
        .filter(|m| m.header("subject").as_deref() == Some(subject))
        .collect();
    assert_eq!(found.len(), 1, "one {subject:?} in {:?}", subjects(mails));
    found[0]
}

/// A GET of `path` with only `cookie` as the session cookie (a browser that kept an old one).
pub async fn get_with_session_cookie(app: &TestApp, path: &str, cookie: &str) -> Response {
    crate::helpers::http()
        .get(format!("{}{path}", app.address))
        .header("cookie", format!("{SESSION_COOKIE}={cookie}"))
        .send()
        .await
        .unwrap()
}
