//! The employer portal as a second server beside the IdP: registered at the IdP as HCC's
//! first-party client (redirect `{portal}/callback`, post-logout `{portal}/`, back-channel
//! `{portal}/backchannel-logout`), on a random port, with a clock that follows the IdP's and
//! can run ahead of it. A [`Browser`] visits both; the login through the green button is
//! written here once.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use idp::clock::{Clock, ShiftedClock};
use idp::domain::RedirectUri;
use idp::oidc::client::{AuthMethod, NewClient};
use reqwest::{Response, StatusCode};

use super::browser::{Browser, location};
use super::html::csrf_token;

/// The `action` of every form on a page (entities decoded, as a browser reads them).
pub fn form_actions(html: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let forms = scraper::Selector::parse("form[action]").unwrap();
    doc.select(&forms)
        .filter_map(|f| f.value().attr("action").map(str::to_owned))
        .collect()
}
use super::people::Person;
use super::relying_party::CODE_AND_REFRESH;
use crate::helpers::TestApp;

/// The portal's clock: the IdP's test clock plus an offset of its own.
#[derive(Clone)]
pub struct PortalClock {
    idp: ShiftedClock,
    ahead: Arc<AtomicI64>,
}

impl PortalClock {
    /// Moves the portal's clock (and only the portal's) `seconds` ahead.
    pub fn run_ahead(&self, seconds: i64) {
        self.ahead.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl portal::clock::Clock for PortalClock {
    fn now(&self) -> i64 {
        self.idp.now() + self.ahead.load(Ordering::SeqCst)
    }
}

pub struct PortalApp {
    pub address: String,
    pub client_id: String,
    pub state: actix_web::web::Data<portal::state::PortalState>,
    pub clock: PortalClock,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for PortalApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestApp {
    /// The portal, registered at this IdP and started.
    pub async fn portal(&self) -> PortalApp {
        self.portal_with(|_| {}).await
    }

    /// As [`Self::portal`], with `change` applied to the portal's settings last.
    pub async fn portal_with(
        &self,
        change: impl FnOnce(&mut portal::config::Settings),
    ) -> PortalApp {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        self.portal_on(listener, change).await
    }

    /// As [`Self::portal_with`], on `listener`, at the IdP's host name (`127.0.0.1`, or
    /// `localhost` where a browser needs a domain).
    pub async fn portal_on(
        &self,
        listener: std::net::TcpListener,
        change: impl FnOnce(&mut portal::config::Settings),
    ) -> PortalApp {
        let issuer = url::Url::parse(&self.state.settings.issuer).unwrap();
        let host = issuer.host_str().unwrap().to_owned();
        let address = format!("http://{host}:{}", listener.local_addr().unwrap().port());
        let (client_id, secret) = self.register_portal(&address).await;
        let mut settings = portal::config::Settings::defaults().unwrap();
        settings.public_url = address.clone();
        settings.server.workers = 1;
        settings.idp.issuer = self.state.settings.issuer.clone();
        // Its back end calls the IdP where it listens (a browser's `localhost` may be ::1).
        settings.idp.backend_url = self.address.clone();
        settings.idp.client_id = client_id.clone();
        settings.idp.client_secret = secret.into();
        settings.idp.jwks_refetch_seconds = 0;
        change(&mut settings);
        let clock = PortalClock {
            idp: self.clock.clone(),
            ahead: Arc::default(),
        };
        let app = portal::startup::Application::build_with_listener(
            settings,
            Some(Arc::new(clock.clone())),
            listener,
        )
        .expect("the portal starts");
        let state = app.state().clone();
        let server = tokio::spawn(app.run_until_stopped());
        PortalApp {
            address,
            client_id,
            state,
            clock,
            server,
        }
    }

    async fn register_portal(&self, address: &str) -> (String, String) {
        let uri = |path: &str| RedirectUri::parse(&format!("{address}{path}"), true).unwrap();
        let new = NewClient {
            name: "Werkgeverportaal".into(),
            redirect_uris: vec![uri("/callback")],
            post_logout_redirect_uris: vec![uri("/")],
            backchannel_logout_uri: Some(format!("{address}/backchannel-logout")),
            grant_types: CODE_AND_REFRESH.iter().map(|g| g.to_string()).collect(),
            auth_method: AuthMethod::ClientSecretBasic,
            scope: vec![],
            first_party: true,
            application_type: Default::default(),
            display: Default::default(),
        };
        let now = self.state.now();
        let registered = self
            .state
            .db
            .run(move |c| idp::oidc::client::register(c, new, now))
            .await
            .unwrap();
        (
            registered.client.client_id,
            registered.secret.unwrap().expose().to_owned(),
        )
    }
}

impl PortalApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// The green button on the landing page: the redirect to the IdP's authorization endpoint.
    pub async fn press_login(&self, browser: &Browser) -> String {
        let response = browser
            .submit(&self.url("/"), &self.url("/login"), &[])
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "the green button");
        location(&response)
    }

    /// From the green button through the IdP's login as `person` to the callback: the
    /// portal's answer to the callback.
    pub async fn log_in(&self, browser: &Browser, person: &Person) -> Response {
        let authorize = self.press_login(browser).await;
        let back = browser.authorize(&authorize, person).await;
        assert!(back.starts_with(&self.url("/callback")), "{back}");
        browser.get(&back).await
    }

    /// [`Self::log_in`], which must end on the dashboard: its page.
    pub async fn sign_in(&self, browser: &Browser, person: &Person) -> String {
        let response = self.log_in(browser, person).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "{:?}",
            response.text().await
        );
        assert_eq!(location(&response), "/dashboard");
        let dashboard = browser.get(&self.url("/dashboard")).await;
        assert_eq!(dashboard.status(), StatusCode::OK);
        dashboard.text().await.unwrap()
    }

    /// Posts the form with `action` found on the portal page at `page` (with its CSRF token);
    /// the answer.
    pub async fn act(
        &self,
        browser: &Browser,
        page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> Response {
        let html = browser.page(&self.url(page)).await;
        assert!(
            form_actions(&html).iter().any(|a| a == action),
            "no form for {action} on {page}: {:?}",
            form_actions(&html)
        );
        let csrf = csrf_token(&html);
        let mut form = vec![("csrf_token", csrf.as_str())];
        form.extend_from_slice(fields);
        browser.post(&self.url(action), &form).await
    }

    /// Whether `browser` holds a live portal session (the dashboard opens).
    pub async fn is_signed_in(&self, browser: &Browser) -> bool {
        browser.get(&self.url("/dashboard")).await.status() == StatusCode::OK
    }
}
