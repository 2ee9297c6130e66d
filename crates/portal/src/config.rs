//! Typed settings: the embedded config/portal.toml, then `PORTAL_*` environment variables (`__`
//! separates levels). The client secret only comes from the environment.

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Format, Toml};
use hcc_ops::env::EnvVars;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

const DEFAULTS: &str = include_str!("../../../config/portal.toml");

/// The prefix of the portal's environment variables: `PORTAL_` + the key path, `__` between
/// levels.
pub const ENV_PREFIX: &str = "PORTAL_";

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub profile: String,
    pub public_url: String,
    pub server: ServerSettings,
    pub idp: IdpSettings,
    pub session: SessionSettings,
    pub support: SupportSettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub workers: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct IdpSettings {
    pub issuer: String,
    pub backend_url: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub scope: String,
    pub timeout_seconds: u64,
    pub jwks_refetch_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SessionSettings {
    pub idle_minutes: i64,
    pub absolute_hours: i64,
    pub login_minutes: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SupportSettings {
    pub help_address: String,
}

impl Settings {
    /// Loads the settings for a run of the binary, from the process environment.
    pub fn load() -> anyhow::Result<Self> {
        Self::from_env(EnvVars::process(ENV_PREFIX))
    }

    /// As [`Self::load`] with exactly these environment variables instead of the process's:
    /// a deployment's environment (docker-compose.yml) is checked without being set.
    pub fn from_env(env: EnvVars) -> anyhow::Result<Self> {
        let settings: Settings = Self::layers(env)
            .extract()
            .context("invalid portal configuration")?;
        settings.validate()?;
        Ok(settings)
    }

    /// The layers [`Self::from_env`] reads, merged: for a test that looks at what they hold
    /// beyond the settings (a variable no setting takes).
    pub fn layers(env: EnvVars) -> Figment {
        Figment::new().merge(Toml::string(DEFAULTS)).merge(env)
    }

    /// The built-in defaults alone: the starting point for tests.
    pub fn defaults() -> anyhow::Result<Self> {
        Ok(Figment::new().merge(Toml::string(DEFAULTS)).extract()?)
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        let dev = self.profile == "dev";
        for (name, value) in [
            ("public_url", &self.public_url),
            ("idp.issuer", &self.idp.issuer),
        ] {
            let url = Url::parse(value).with_context(|| format!("{name} is not a URL"))?;
            if url.scheme() != "https" && !dev {
                bail!("{name} must use https outside the dev profile");
            }
        }
        if !self.idp.backend_url.is_empty() {
            Url::parse(&self.idp.backend_url).context("idp.backend_url is not a URL")?;
        }
        if self.idp.client_id.trim().is_empty() {
            bail!(
                "set PORTAL_IDP__CLIENT_ID and PORTAL_IDP__CLIENT_SECRET: register the portal with \
                 `idp admin client create --first-party …` (cargo xtask demo does it for you)"
            );
        }
        if self.idp.client_secret.expose_secret().is_empty() {
            bail!("set PORTAL_IDP__CLIENT_SECRET (the portal is a confidential client)");
        }
        Ok(())
    }

    pub fn public_base(&self) -> &str {
        self.public_url.trim_end_matches('/')
    }

    pub fn redirect_uri(&self) -> String {
        format!("{}/callback", self.public_base())
    }

    /// Where the IdP sends people back after logging out: the landing page.
    pub fn post_logout_redirect_uri(&self) -> String {
        format!("{}/", self.public_base())
    }

    /// Cookies carry `Secure` whenever the portal is reached over https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// A cookie's name: `__Host-` prefixed over https (this host alone, Secure, whole path).
    pub fn cookie_name(&self, base: &str) -> String {
        if self.secure_cookies() {
            format!("__Host-{base}")
        } else {
            base.to_owned()
        }
    }

    /// The IdP's address as the portal's back end reaches it.
    pub fn idp_backend(&self) -> &str {
        if self.idp.backend_url.is_empty() {
            self.idp.issuer.trim_end_matches('/')
        } else {
            self.idp.backend_url.trim_end_matches('/')
        }
    }

    /// `url` (an endpoint the discovery document names) as the back end reaches it.
    pub fn via_backend(&self, url: &str) -> String {
        let issuer = self.idp.issuer.trim_end_matches('/');
        match url.strip_prefix(issuer) {
            Some(rest) if self.idp_backend() != issuer => format!("{}{rest}", self.idp_backend()),
            _ => url.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_need_a_client() {
        let settings = Settings::defaults().unwrap();
        assert!(settings.validate().is_err(), "no client id yet");
        let mut settings = settings;
        settings.idp.client_id = "portal".into();
        settings.idp.client_secret = "secret".to_owned().into();
        settings.validate().unwrap();
    }

    #[test]
    fn http_only_in_dev() {
        let mut settings = Settings::defaults().unwrap();
        settings.idp.client_id = "portal".into();
        settings.idp.client_secret = "secret".to_owned().into();
        settings.profile = "production".into();
        assert!(settings.validate().is_err());
        settings.public_url = "https://portal.example".into();
        settings.idp.issuer = "https://id.example".into();
        settings.validate().unwrap();
        assert!(settings.secure_cookies());
        assert_eq!(settings.cookie_name("s"), "__Host-s");
    }

    #[test]
    fn endpoints_through_the_backend_address() {
        let mut settings = Settings::defaults().unwrap();
        settings.idp.issuer = "http://localhost:8080".into();
        assert_eq!(
            settings.via_backend("http://localhost:8080/token"),
            "http://localhost:8080/token"
        );
        settings.idp.backend_url = "http://idp:8080/".into();
        assert_eq!(
            settings.via_backend("http://localhost:8080/token"),
            "http://idp:8080/token"
        );
        assert_eq!(
            settings.via_backend("https://elsewhere/token"),
            "https://elsewhere/token"
        );
    }
}
