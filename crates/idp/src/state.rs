//! The services every journey and endpoint works with, built once at start-up and passed
//! explicitly (no globals), so tests build their own with a movable clock.

use std::sync::Arc;

use tokio::sync::Notify;

use crate::clock::SharedClock;
use crate::config::Settings;
use crate::crypto::{Keyring, PasswordHasherPool};
use crate::email::MailRenderer;
use crate::keys::KeyManager;
use crate::storage::Db;
use crate::templates::Templates;

#[derive(Clone)]
pub struct IdpState {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub clock: SharedClock,
    pub keyring: Keyring,
    pub hasher: PasswordHasherPool,
    pub templates: Arc<Templates>,
    pub mail: MailRenderer,
    /// The token signing keys, parsed once, refreshed from the database.
    pub keys: Arc<KeyManager>,
    /// Tracked background work (see `background`).
    pub background: crate::background::Background,
    /// Wakes the back-channel logout worker after a transaction that queued notices committed.
    pub backchannel_wake: Arc<Notify>,
    /// Wakes the outbox worker after a transaction that queued mail has committed.
    pub outbox_wake: Arc<Notify>,
    /// The WebAuthn relying party (passkeys and security keys).
    pub passkeys: crate::passkeys::Passkeys,
}

impl std::fmt::Debug for IdpState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdpState")
            .field("issuer", &self.settings.issuer)
            .finish_non_exhaustive()
    }
}

impl IdpState {
    /// Builds the services; loads (on a new installation: generates) the signing keys.
    pub async fn build(settings: Settings, db: Db, clock: SharedClock) -> anyhow::Result<Self> {
        let keyring = Keyring::new(&settings.master_key()?);
        let keys = KeyManager::load(&db, &keyring, clock.clone(), &settings).await?;
        let templates = Arc::new(Templates::load()?);
        let mail = MailRenderer::new(templates.clone(), &settings);
        let hasher = PasswordHasherPool::new(settings.password.hash_concurrency)
            .with_queue_limit(settings.password.hash_queue_limit);
        let passkeys = crate::passkeys::Passkeys::from_settings(&settings);
        Ok(Self {
            passkeys,
            settings: Arc::new(settings),
            db,
            clock,
            keyring,
            hasher,
            templates,
            mail,
            keys,
            background: crate::background::Background::default(),
            backchannel_wake: Arc::new(Notify::new()),
            outbox_wake: Arc::new(Notify::new()),
        })
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.settings.public_base())
    }
}
