//! The IdP and the employer portal as a browser meets them: both at `localhost` (WebAuthn needs
//! a domain, and one host name keeps each one's cookies its own by port), the portal the
//! IdP's first-party client, the IdP's "Naar het werkgeverportaal" leading to it.

use idp::domain::{Language, Role};

use super::chrome::{Chrome, Launch};
use crate::driver::{Person, PortalApp, ReceivedMail, seed_person};
use crate::helpers::{Backend, Options, TestApp, spawn_app_with};

pub struct Stack {
    pub app: TestApp,
    pub portal: PortalApp,
    /// The IdP's address as the browser uses it (`http://localhost:<port>`).
    pub idp: String,
    /// EK88, the organisation of the people in the journeys.
    pub organisation: String,
}

impl Stack {
    pub async fn start() -> Self {
        let portal_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let portal_port = portal_listener.local_addr().unwrap().port();
        let app = spawn_app_with(
            Backend::Postgres,
            Options::settings(move |settings| {
                settings.issuer = settings.issuer.replace("127.0.0.1", "localhost");
                settings.branding.portal_url = format!("http://localhost:{portal_port}/");
            }),
        )
        .await;
        let portal = app.portal_on(portal_listener, |_| {}).await;
        let idp = app.state.settings.issuer.clone();
        let organisation = app.admin().create_organisation("EK88").await;
        Self {
            app,
            portal,
            idp,
            organisation,
        }
    }

    pub fn idp(&self, path: &str) -> String {
        format!("{}{path}", self.idp)
    }

    pub fn portal(&self, path: &str) -> String {
        format!("{}{path}", self.portal.address)
    }

    /// A Dutch browser at 1280 × 900 with JavaScript.
    pub async fn browser(&self) -> Chrome {
        Chrome::start(Launch::default()).await
    }

    /// A browser set to `language`.
    pub async fn browser_in(&self, language: &'static str) -> Chrome {
        Chrome::start(Launch {
            language,
            ..Launch::default()
        })
        .await
    }

    /// A browser started as `launch` says.
    pub async fn browser_with(&self, launch: Launch) -> Chrome {
        Chrome::start(launch).await
    }

    /// HCC staff invite `email` to EK88; the invitation mail.
    pub async fn invite(&self, email: &str, last_name: &str, language: Language) -> ReceivedMail {
        let before = self.mails_to(email);
        self.app
            .admin()
            .invite(&self.organisation, email, Some(last_name), language)
            .await
            .unwrap();
        self.mail_after(email, before).await
    }

    /// A person of EK88 with `role`, registered and with an authenticator, seeded.
    pub async fn person(&self, email: &str, role: Role) -> Person {
        seed_person(&self.app, &self.organisation, email, role).await
    }

    /// The link in `mail` (invitation or reset).
    pub fn link(&self, mail: &ReceivedMail) -> String {
        let link = mail.link();
        assert!(link.starts_with(&self.idp), "{link} is on the IdP");
        link
    }

    /// The next mail to `address` after the `before` it had.
    pub async fn mail_after(&self, address: &str, before: usize) -> ReceivedMail {
        self.app.mailbox().nth(address, before + 1).await
    }

    pub fn mails_to(&self, address: &str) -> usize {
        self.app.mailbox().mails_to(address).len()
    }

    /// The code `person`'s authenticator shows now, the clock moved a step on so that it is
    /// never a code already used.
    pub fn code(&self, person: &Person) -> String {
        person.fresh_code(&self.app.clock)
    }
}
