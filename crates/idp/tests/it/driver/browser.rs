//! The browser: keeps cookies, never follows a redirect on its own (tests look at each one),
//! and fills in forms the way a person does — the page first, then the post with the page's
//! CSRF token. The login pages, registration from an invitation link and the authenticator
//! set-up are written here once.

use idp::clock::{Clock, ShiftedClock};
use idp::domain::totp::{TotpSecret, step_at};
use reqwest::{Response, StatusCode};

use super::html::{csrf_token, secret_from_page};
use super::people::{Person, WRONG};
use super::relying_party::{REDIRECT, RelyingParty};
use crate::helpers::{Node, TestApp};

#[derive(Clone)]
pub struct Browser {
    http: reqwest::Client,
    address: String,
    clock: ShiftedClock,
}

impl TestApp {
    /// A new browser, without cookies yet.
    pub fn browser(&self) -> Browser {
        self.browser_with(reqwest::Client::builder())
    }

    /// A new browser that says it is `user_agent`.
    pub fn browser_as(&self, user_agent: &str) -> Browser {
        self.browser_with(reqwest::Client::builder().user_agent(user_agent))
    }

    fn browser_with(&self, builder: reqwest::ClientBuilder) -> Browser {
        Browser {
            http: builder
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            address: self.address.clone(),
            clock: self.clock.clone(),
        }
    }
}

impl Browser {
    /// The same browser (its cookies) talking to another node of the IdP.
    pub fn at(&self, node: &impl Node) -> Browser {
        Browser {
            http: self.http.clone(),
            address: node.address().to_owned(),
            clock: self.clock.clone(),
        }
    }

    /// This browser's HTTP client (its cookies), for the other driver modules.
    pub(super) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub(super) fn url_of(&self, target: &str) -> String {
        self.url(target)
    }

    /// `target` is a path on the IdP or a whole URL (a link from a mail, an authorization URL).
    fn url(&self, target: &str) -> String {
        if target.starts_with("http://") || target.starts_with("https://") {
            target.to_owned()
        } else {
            format!("{}{target}", self.address)
        }
    }

    pub async fn get(&self, target: &str) -> Response {
        self.http.get(self.url(target)).send().await.unwrap()
    }

    /// The page at `target`, whatever its status.
    pub async fn page(&self, target: &str) -> String {
        self.get(target).await.text().await.unwrap()
    }

    /// Posts exactly `fields` (a form kept from earlier, or a forged one).
    pub async fn post(&self, target: &str, fields: &[(&str, &str)]) -> Response {
        self.http
            .post(self.url(target))
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    /// As [`Self::post`], when the IdP may not answer at all (a test kills it).
    pub async fn try_post(
        &self,
        target: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Result<Response> {
        self.http.post(self.url(target)).form(fields).send().await
    }

    /// Opens the form at `target` and posts `fields` to it with the page's CSRF token.
    pub async fn post_form(&self, target: &str, fields: &[(&str, &str)]) -> Response {
        self.submit(target, target, fields).await
    }

    /// Opens the form on `page` and posts `fields` to `action` with its CSRF token.
    pub async fn submit(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> Response {
        let response = self.get(page).await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "the form at {page} opens"
        );
        let csrf = csrf_token(&response.text().await.unwrap());
        let mut form = vec![("csrf_token", csrf.as_str())];
        form.extend_from_slice(fields);
        self.post(action, &form).await
    }

    /// The password step of the login page.
    pub async fn log_in_password(&self, email: &str, password: &str) -> Response {
        self.post_form("/login", &[("email", email), ("password", password)])
            .await
    }

    /// The code step (after the password step).
    pub async fn log_in_code(&self, code: &str) -> Response {
        self.post_form("/login/otp", &[("otp_code", code)]).await
    }

    /// Both steps of the login, with a fresh code; the code step's answer.
    pub async fn log_in(&self, person: &Person) -> Response {
        let response = self.log_in_password(&person.email, &person.password).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "password step");
        assert_eq!(location(&response), "/login/otp");
        self.log_in_code(&person.fresh_code(&self.clock)).await
    }

    /// Follows an authorization URL through the login pages (when there is no session yet)
    /// with a fresh code; returns the final redirect: to the client, or to the consent page.
    pub async fn authorize(&self, url: &str, person: &Person) -> String {
        self.authorize_with(url, person, || person.fresh_code(&self.clock))
            .await
    }

    /// As [`Self::authorize`], with `code` at the code step (the clock stays where it is).
    pub async fn authorize_with_code(&self, url: &str, person: &Person, code: &str) -> String {
        self.authorize_with(url, person, || code.to_owned()).await
    }

    async fn authorize_with(
        &self,
        url: &str,
        person: &Person,
        code: impl FnOnce() -> String,
    ) -> String {
        if let Some(answer) = self.authorize_to_code_step(url, person).await {
            return answer;
        }
        let response = self.log_in_code(&code()).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "code step: {:?}",
            response.text().await
        );
        location(&response)
    }

    /// Follows an authorization URL to the login page and passes its password step as
    /// `person`: the code step is next. `Some(redirect)` instead when the SSO session answered.
    pub async fn authorize_to_code_step(&self, url: &str, person: &Person) -> Option<String> {
        let response = self.get(url).await;
        assert!(
            response.status().is_redirection(),
            "{:?}",
            response.text().await
        );
        let next = location(&response);
        if !next.starts_with("/login") {
            return Some(next);
        }
        let response = self
            .submit(
                &next,
                "/login",
                &[("email", &person.email), ("password", &person.password)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "password step");
        assert_eq!(location(&response), "/login/otp");
        None
    }

    /// `prompt=none` for `rp`: the redirect back to the client, with a code or an error.
    pub async fn authorize_silently(&self, rp: &RelyingParty) -> String {
        let response = self
            .get(&rp.authorize_url("openid", &[("prompt", "none")]))
            .await;
        assert_eq!(response.status(), StatusCode::FOUND);
        let back = location(&response);
        assert!(back.starts_with(REDIRECT), "{back}");
        back
    }

    /// Whether this browser's SSO session answers `prompt=none` for `rp` with a code.
    pub async fn is_logged_in(&self, rp: &RelyingParty) -> bool {
        query_param(&self.authorize_silently(rp).await, "code").is_some()
    }

    /// "Wachtwoord vergeten?": the page in `lang`, then the form posted for `address`.
    pub async fn forgot_password(&self, address: &str, lang: &str) -> Response {
        self.submit(
            &format!("/password/forgot?lang={lang}"),
            "/password/forgot",
            &[("lang", lang), ("email", address)],
        )
        .await
    }

    /// Opens an invitation link and registers as Marco van Basten.
    pub async fn register(&self, link: &str, password: &str) -> Response {
        self.post_form(
            link,
            &[
                ("password", password),
                ("password_confirm", password),
                ("first_name", "Marco"),
                ("last_name", "van Basten"),
            ],
        )
        .await
    }

    /// The secret the authenticator set-up page shows.
    pub async fn authenticator_secret(&self) -> TotpSecret {
        secret_from_page(&self.page("/otp/setup").await)
    }

    /// Confirms the authenticator on the set-up page with `code` (and e.g. a device name).
    pub async fn confirm_authenticator(&self, code: &str, fields: &[(&str, &str)]) -> Response {
        let mut form = vec![("otp_code", code)];
        form.extend_from_slice(fields);
        self.post_form("/otp/setup", &form).await
    }

    /// The whole set-up with the current code: the secret and the answer.
    pub async fn set_up_authenticator(&self) -> (TotpSecret, Response) {
        let secret = self.authenticator_secret().await;
        let code = secret.code_at(step_at(self.clock.now()));
        let response = self.confirm_authenticator(&code, &[]).await;
        (secret, response)
    }
}

/// Posts `count` wrong passwords at once, each from its own browser with its form ready, for
/// `addresses(i)`; the statuses.
pub async fn wrong_passwords_at_once(
    app: &TestApp,
    count: usize,
    addresses: impl Fn(usize) -> String,
) -> Vec<StatusCode> {
    let mut forms = Vec::new();
    for i in 0..count {
        let browser = app.browser();
        let csrf = csrf_token(&browser.page("/login").await);
        forms.push((browser, csrf, addresses(i)));
    }
    let posts: Vec<_> = forms
        .into_iter()
        .map(|(browser, csrf, email)| {
            tokio::spawn(async move {
                let form = [
                    ("csrf_token", csrf.as_str()),
                    ("email", email.as_str()),
                    ("password", WRONG),
                ];
                browser.post("/login", &form).await.status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for post in posts {
        statuses.push(post.await.unwrap());
    }
    statuses
}

/// How many of `statuses` are `status`.
pub fn count_of(statuses: &[StatusCode], status: StatusCode) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

pub fn location(response: &Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

pub fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Every Set-Cookie header of a response.
pub fn set_cookies(response: &Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The value of the cookie `name` that a response sets, if it sets one.
pub fn set_cookie(response: &Response, name: &str) -> Option<String> {
    set_cookies(response).iter().find_map(|c| {
        let (k, rest) = c.split_once('=')?;
        (k == name).then(|| rest.split(';').next().unwrap_or_default().to_owned())
    })
}

/// A 400 page: HTML, no redirect anywhere; its text.
pub async fn assert_error_page(response: Response, what: &str) -> String {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{what}");
    assert!(
        response.headers().get("location").is_none(),
        "{what}: no redirect"
    );
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("text/html"),
        "{what}: {content_type}"
    );
    response.text().await.unwrap()
}
