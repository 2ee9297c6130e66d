//! What every request handler shares: settings, clock, the IdP as provider and admin API, the
//! sessions, the templates and the key of the CSRF tokens.

use std::sync::Arc;
use std::time::Duration;

use crate::admin_api::AdminApi;
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::oidc::provider::Provider;
use crate::sessions::Sessions;
use crate::templates::Templates;

pub struct PortalState {
    pub settings: Arc<Settings>,
    pub clock: SharedClock,
    pub http: reqwest::Client,
    pub provider: Provider,
    pub api: AdminApi,
    pub sessions: Sessions,
    pub templates: Templates,
    /// Signs CSRF form tokens; new at every start, like the sessions it protects.
    pub csrf_key: [u8; 32],
}

impl PortalState {
    pub fn build(settings: Settings, clock: SharedClock) -> anyhow::Result<Self> {
        let settings = Arc::new(settings);
        // No redirects: the IdP's endpoints answer directly, and a redirect would carry
        // credentials somewhere else.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(settings.idp.timeout_seconds.max(1)))
            .build()?;
        Ok(Self {
            provider: Provider::new(settings.clone(), http.clone()),
            api: AdminApi::new(http.clone(), settings.idp_backend()),
            sessions: Sessions::new(settings.session.clone()),
            templates: Templates::load()?,
            csrf_key: rand::random(),
            http,
            clock,
            settings,
        })
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}
