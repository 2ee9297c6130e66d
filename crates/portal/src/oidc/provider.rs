//! What the portal knows of the IdP: its discovery document (OIDC Discovery 1.0 §4) and key set,
//! fetched when first needed (the IdP may start after the portal) and again when a token names
//! a key the portal has not seen (key rotation), at most every `jwks_refetch_seconds` so that
//! forged tokens cannot make the portal hammer the IdP.

use std::sync::Arc;
use std::time::{Duration, Instant};

use openidconnect::core::CoreJsonWebKeySet;
use openidconnect::{ClientId, ClientSecret, RedirectUrl, TokenUrl};
use secrecy::ExposeSecret;
use tokio::sync::{Mutex, RwLock};

use openidconnect::EndpointMaybeSet;

use super::{HccClient, HccClientWith, HccProviderMetadata, OidcError};
use crate::config::Settings;

/// One fetch of discovery and keys, and the client built from it.
pub struct Discovered {
    pub metadata: HccProviderMetadata,
    pub client: HccClient,
    /// The same key set for `jsonwebtoken` (logout tokens).
    pub keys: jsonwebtoken::jwk::JwkSet,
}

impl Discovered {
    /// The discovery document and key set as fetched; the issuer must be the configured one.
    pub fn from_documents(
        settings: &Settings,
        document: &[u8],
        jwks: &[u8],
    ) -> Result<Self, OidcError> {
        let metadata: HccProviderMetadata = serde_json::from_slice(document)
            .map_err(|e| OidcError::Unavailable(format!("discovery document: {e}")))?;
        if metadata.issuer().as_str() != settings.idp.issuer {
            return Err(OidcError::Unavailable(format!(
                "the discovery document names the issuer {} instead of {}",
                metadata.issuer().as_str(),
                settings.idp.issuer
            )));
        }
        let core_keys: CoreJsonWebKeySet = serde_json::from_slice(jwks)
            .map_err(|e| OidcError::Unavailable(format!("key set: {e}")))?;
        let keys: jsonwebtoken::jwk::JwkSet = serde_json::from_slice(jwks)
            .map_err(|e| OidcError::Unavailable(format!("key set: {e}")))?;
        let token_endpoint = metadata
            .token_endpoint()
            .ok_or_else(|| OidcError::Unavailable("no token endpoint".into()))?;
        let token_url = TokenUrl::new(settings.via_backend(token_endpoint.as_str()))
            .map_err(|e| OidcError::Unavailable(format!("token endpoint: {e}")))?;
        let redirect = RedirectUrl::new(settings.redirect_uri())
            .map_err(|e| OidcError::Unavailable(format!("redirect URI: {e}")))?;
        let metadata = metadata.set_jwks(core_keys);
        let client = HccClientWith::<EndpointMaybeSet>::from_provider_metadata(
            metadata.clone(),
            ClientId::new(settings.idp.client_id.clone()),
            Some(ClientSecret::new(
                settings.idp.client_secret.expose_secret().to_owned(),
            )),
        )
        .set_redirect_uri(redirect)
        .set_token_uri(token_url);
        Ok(Self {
            metadata,
            client,
            keys,
        })
    }

    pub fn end_session_endpoint(&self) -> Option<&str> {
        self.metadata
            .additional_metadata()
            .end_session_endpoint
            .as_deref()
    }

    pub fn issuer(&self) -> &str {
        self.metadata.issuer().as_str()
    }

    /// Whether the key set has a key with this id.
    pub fn knows_key(&self, kid: &str) -> bool {
        self.keys.find(kid).is_some()
    }
}

pub struct Provider {
    settings: Arc<Settings>,
    http: reqwest::Client,
    current: RwLock<Option<Arc<Discovered>>>,
    last_fetch: Mutex<Option<Instant>>,
}

impl Provider {
    pub fn new(settings: Arc<Settings>, http: reqwest::Client) -> Self {
        Self {
            settings,
            http,
            current: RwLock::new(None),
            last_fetch: Mutex::new(None),
        }
    }

    /// What is known, fetching it the first time.
    pub async fn current(&self) -> Result<Arc<Discovered>, OidcError> {
        if let Some(known) = self.current.read().await.clone() {
            return Ok(known);
        }
        self.fetch(None).await
    }

    /// A fresh fetch after `seen` named no matching key; `seen` again when the last fetch is too
    /// recent (or another request has fetched meanwhile, which is then returned).
    pub async fn refetch(&self, seen: &Arc<Discovered>) -> Result<Arc<Discovered>, OidcError> {
        self.fetch(Some(seen)).await
    }

    async fn fetch(&self, seen: Option<&Arc<Discovered>>) -> Result<Arc<Discovered>, OidcError> {
        let mut last = self.last_fetch.lock().await;
        if let Some(known) = self.current.read().await.clone() {
            let newer = seen.is_none_or(|s| !Arc::ptr_eq(s, &known));
            let recent = last.is_some_and(|at| {
                at.elapsed() < Duration::from_secs(self.settings.idp.jwks_refetch_seconds)
            });
            if newer || recent {
                return Ok(known);
            }
        }
        *last = Some(Instant::now());
        let discovered = Arc::new(self.discover().await?);
        *self.current.write().await = Some(discovered.clone());
        Ok(discovered)
    }

    async fn discover(&self) -> Result<Discovered, OidcError> {
        let settings = &self.settings;
        let url = format!(
            "{}/.well-known/openid-configuration",
            settings.idp_backend()
        );
        let document = self.get(&url).await?;
        let metadata: HccProviderMetadata = serde_json::from_slice(&document)
            .map_err(|e| OidcError::Unavailable(format!("discovery document: {e}")))?;
        let jwks = self
            .get(&settings.via_backend(metadata.jwks_uri().as_str()))
            .await?;
        let discovered = Discovered::from_documents(settings, &document, &jwks)?;
        tracing::info!(issuer = %settings.idp.issuer, keys = discovered.keys.keys.len(), "IdP discovered");
        Ok(discovered)
    }

    async fn get(&self, url: &str) -> Result<Vec<u8>, OidcError> {
        let response = self
            .http
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| OidcError::Unavailable(format!("{url}: {e}")))?;
        if !response.status().is_success() {
            return Err(OidcError::Unavailable(format!(
                "{url}: {}",
                response.status()
            )));
        }
        Ok(response
            .bytes()
            .await
            .map_err(|e| OidcError::Unavailable(format!("{url}: {e}")))?
            .to_vec())
    }
}
