//! Typed settings: the embedded config/default.toml, then config/<profile>.toml, then `IDP_*`
//! environment variables (`__` separates levels). Secrets only come from the environment or files.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use base64::Engine;
use figment::Figment;
use figment::providers::{Format, Toml};
use hcc_ops::env::EnvVars;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

const DEFAULTS: &str = include_str!("../../../config/default.toml");

/// The prefix of the IdP's environment variables: `IDP_` + the key path, `__` between levels.
pub const ENV_PREFIX: &str = "IDP_";

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub profile: String,
    pub issuer: String,
    pub data_dir: PathBuf,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub mail: MailSettings,
    pub branding: BrandingSettings,
    pub invitation: InvitationSettings,
    pub password_reset: PasswordResetSettings,
    pub session: SessionSettings,
    pub account: AccountSettings,
    pub passkeys: PasskeySettings,
    pub secrets: SecretSettings,
    pub password: PasswordSettings,
    pub tokens: TokenSettings,
    pub keys: KeySettings,
    pub oidc: OidcSettings,
    pub throttle: ThrottleSettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ThrottleSettings {
    pub window_minutes: i64,
    pub password_free_attempts: i32,
    pub ip_free_attempts: i32,
    pub base_delay_seconds: i64,
    pub max_delay_seconds: i64,
    pub password_lock_after: i32,
    pub password_lock_minutes: i64,
    pub otp_free_attempts: i32,
    pub otp_lock_after: i32,
    pub otp_lock_minutes: i64,
    pub mail_per_address_per_hour: i32,
    pub mail_per_ip_per_hour: i32,
    pub parked_requests_per_ip_per_hour: i32,
    /// How long a device cookie entry counts (see `sessions::device`).
    pub device_cookie_days: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TokenSettings {
    pub authorization_code_seconds: i64,
    pub access_token_seconds: i64,
    pub id_token_seconds: i64,
    pub refresh_token_days: i64,
    /// The absolute lifetime of a refresh-token family, from the login that started it.
    pub refresh_token_max_days: i64,
    pub client_credentials_seconds: i64,
}

impl TokenSettings {
    /// The longest any signed token lives: a retired key stays in JWKS at least this long.
    pub fn longest_signed_lifetime(&self) -> i64 {
        self.access_token_seconds
            .max(self.id_token_seconds)
            .max(self.client_credentials_seconds)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct KeySettings {
    pub rsa_bits: usize,
    pub refresh_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OidcSettings {
    pub allow_http_loopback_redirects: bool,
    #[serde(default)]
    pub initial_access_token: Option<SecretString>,
    pub acr: String,
    pub backchannel_timeout_seconds: u64,
    /// Lets back-channel logout reach loopback and private addresses (test suites, a portal on
    /// the same machine in development). Off by default: see `outbound`.
    pub backchannel_allow_private_networks: bool,
    pub backchannel_claim_seconds: i64,
    pub backchannel_retry_base_seconds: i64,
    pub backchannel_retry_max_seconds: i64,
    /// After this long a notice is pointless: the relying party's own session limits applied.
    pub backchannel_give_up_hours: i64,
}

/// An address or a CIDR block (`server.trusted_proxies`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    base: IpAddr,
    prefix: u8,
}

impl Network {
    pub fn parse(s: &str) -> Option<Self> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, p.parse::<u8>().ok()?),
            None => {
                let a = s.trim().parse::<IpAddr>().ok()?;
                (a, if a.is_ipv4() { 32 } else { 128 })
            }
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Self { base: addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.base, ip) {
            (IpAddr::V4(b), IpAddr::V4(i)) => {
                masked(u128::from(u32::from(b)), 32, self.prefix)
                    == masked(u128::from(u32::from(i)), 32, self.prefix)
            }
            (IpAddr::V6(b), IpAddr::V6(i)) => {
                masked(u128::from(b), 128, self.prefix) == masked(u128::from(i), 128, self.prefix)
            }
            _ => false,
        }
    }
}

fn masked(value: u128, bits: u8, prefix: u8) -> u128 {
    if prefix == 0 {
        return 0;
    }
    let shift = u32::from(bits - prefix);
    (value >> shift) << shift
}

impl<'de> Deserialize<'de> for Network {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Network::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("{text:?} is not an address or CIDR block"))
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub workers: usize,
    #[serde(default)]
    pub trusted_proxies: Vec<Network>,
    /// Where `GET /metrics` (Prometheus) listens; empty: not served. Never the public address.
    #[serde(default)]
    pub metrics_address: String,
    /// After SIGTERM or SIGINT: how long requests in flight and background work may take
    /// before the process exits anyway.
    pub shutdown_grace_seconds: u64,
    /// How long a client may take to send its request head (408 and closed after).
    pub request_head_timeout_seconds: u64,
    /// How long a client may take to send its request body once the head is in (408 and
    /// closed after).
    pub request_body_timeout_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    pub url: String,
    pub pool_size: u32,
    /// How long a request waits for a pooled connection before it is answered 503.
    pub checkout_timeout_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransportKind {
    File,
    Smtp,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MailSettings {
    pub transport: MailTransportKind,
    pub file_dir: PathBuf,
    pub from: String,
    pub reply_to: String,
    pub help_address: String,
    pub poll_interval_ms: u64,
    pub retry_base_seconds: i64,
    pub retry_max_seconds: i64,
    pub claim_seconds: i64,
    /// The deadline of one whole delivery (connect, greeting, every command, the message).
    pub send_timeout_seconds: u64,
    /// How many mails one node delivers side by side.
    pub concurrency: usize,
    /// After a login from a browser without the account's device cookie: a notice mail with
    /// when, from which browser and platform, and from which address.
    pub new_device_notice: bool,
    pub smtp: SmtpSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    Starttls,
    Tls,
    None,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: String,
    #[serde(default)]
    pub password: Option<SecretString>,
    pub timeout_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BrandingSettings {
    pub company: String,
    pub portal_name: String,
    pub portal_url: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct InvitationSettings {
    pub ttl_hours: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PasswordResetSettings {
    pub ttl_minutes: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SessionSettings {
    pub cookie_name: String,
    pub idle_timeout_minutes: i64,
    pub absolute_lifetime_hours: i64,
    pub setup_lifetime_minutes: i64,
}

/// The person's own account page.
#[derive(Debug, Clone, Deserialize)]
pub struct AccountSettings {
    /// A change on the account page needs the second factor proven within this many minutes;
    /// older, it is asked again (step-up).
    pub step_up_minutes: i64,
}

/// WebAuthn (passkeys and security keys as a second factor).
#[derive(Debug, Clone, Deserialize)]
pub struct PasskeySettings {
    pub enabled: bool,
    /// The relying-party id; empty: the issuer's host.
    pub rp_id: String,
    /// The one origin accepted; empty: the issuer's.
    pub origin: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SecretSettings {
    #[serde(default)]
    pub encryption_key: Option<SecretString>,
    pub encryption_key_file: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PasswordSettings {
    pub min_length: usize,
    /// The lowest zxcvbn score (0–4) a new password may have; below it the password counts as
    /// easily guessed. 4 means zxcvbn expects more than 10^10 guesses.
    pub min_score: u8,
    pub hash_concurrency: usize,
    /// How many password checks may wait for a hasher; more are answered 503 at once.
    pub hash_queue_limit: usize,
}

/// The top of zxcvbn's scale: the highest `password.min_score` that can be met.
const MAX_PASSWORD_SCORE: u8 = 4;

impl Settings {
    /// Loads the layered configuration for a run of the binary, from the process environment.
    pub fn load() -> anyhow::Result<Self> {
        Self::from_env(EnvVars::process(ENV_PREFIX))
    }

    /// As [`Self::load`] with exactly these environment variables instead of the process's:
    /// a deployment's environment (docker-compose.yml) is checked without being set.
    pub fn from_env(env: EnvVars) -> anyhow::Result<Self> {
        let settings: Settings = Self::layers(env)
            .extract()
            .context("invalid configuration")?;
        settings.validate()?;
        Ok(settings)
    }

    /// The layers [`Self::from_env`] reads, merged: for a test that looks at what they hold
    /// beyond the settings (a variable no setting takes).
    pub fn layers(env: EnvVars) -> Figment {
        let profile = env.var("IDP_PROFILE").unwrap_or("dev").to_owned();
        let dir = env.var("IDP_CONFIG_DIR").unwrap_or("config").to_owned();
        Figment::new()
            .merge(Toml::string(DEFAULTS))
            .merge(Toml::file(Path::new(&dir).join(format!("{profile}.toml"))))
            .merge(env)
    }

    /// The built-in defaults alone: the starting point for tests.
    pub fn defaults() -> anyhow::Result<Self> {
        Ok(Figment::new().merge(Toml::string(DEFAULTS)).extract()?)
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        let issuer = url::Url::parse(&self.issuer).context("issuer is not a URL")?;
        if issuer.scheme() != "https" && !self.is_dev() {
            bail!("issuer must use https outside the dev profile");
        }
        if issuer.query().is_some() || issuer.fragment().is_some() {
            bail!("issuer must not have a query or fragment (OIDC Discovery 1.0 §3)");
        }
        if self.tokens.authorization_code_seconds > 60 {
            bail!("tokens.authorization_code_seconds may not exceed 60");
        }
        if self.keys.rsa_bits < 2048 {
            bail!("keys.rsa_bits may not be below 2048");
        }
        if self.password.min_length < 16 {
            bail!("password.min_length may not be below 16");
        }
        if self.password.min_score > MAX_PASSWORD_SCORE {
            bail!(
                "password.min_score must be a zxcvbn score from 0 to {MAX_PASSWORD_SCORE}, not {}",
                self.password.min_score
            );
        }
        Ok(())
    }

    pub fn is_dev(&self) -> bool {
        self.profile == "dev"
    }

    /// The issuer without a trailing slash, the base of every link the IdP sends.
    pub fn public_base(&self) -> &str {
        self.issuer.trim_end_matches('/')
    }

    /// Cookies carry `Secure` whenever the IdP is reached over https.
    pub fn secure_cookies(&self) -> bool {
        self.issuer.starts_with("https://")
    }

    /// A cookie's name: `__Host-` prefixed over https, so the browser only accepts it Secure,
    /// for this host alone and the whole path (a sibling subdomain cannot plant one).
    pub fn cookie_name(&self, base: &str) -> String {
        if self.secure_cookies() {
            format!("__Host-{base}")
        } else {
            base.to_owned()
        }
    }

    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            self.data_dir
                .join("idp.sqlite")
                .to_string_lossy()
                .into_owned()
        } else {
            self.database.url.clone()
        }
    }

    /// The 32-byte master key: from `secrets.encryption_key` (base64), else from the key file.
    /// In the dev profile a missing key file is created so the quick start needs no set-up.
    pub fn master_key(&self) -> anyhow::Result<[u8; 32]> {
        let encoded = match &self.secrets.encryption_key {
            Some(key) if !key.expose_secret().is_empty() => key.expose_secret().to_owned(),
            _ => self.read_or_create_key_file()?,
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .context("the encryption key is not valid base64")?;
        bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("the encryption key must be exactly 32 bytes"))
    }

    fn read_or_create_key_file(&self) -> anyhow::Result<String> {
        if self.secrets.encryption_key_file.is_empty() {
            bail!(
                "no encryption key: set IDP_SECRETS__ENCRYPTION_KEY or secrets.encryption_key_file"
            );
        }
        let path = Path::new(&self.secrets.encryption_key_file);
        match std::fs::read_to_string(path) {
            Ok(key) => Ok(key),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && self.is_dev() => {
                let key =
                    base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                write_private_file(path, &key)?;
                tracing::warn!(path = %path.display(), "created a development encryption key");
                Ok(key)
            }
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }
}

#[cfg(unix)]
fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_host_prefixed_over_https() {
        let mut settings = Settings::defaults().unwrap();
        assert_eq!(settings.cookie_name("hcc_csrf"), "hcc_csrf");
        settings.issuer = "https://login.portaalwerkgever.nl".into();
        assert!(settings.secure_cookies());
        assert_eq!(settings.cookie_name("hcc_csrf"), "__Host-hcc_csrf");
    }

    #[test]
    fn production_refuses_an_http_issuer() {
        let mut settings = Settings::defaults().unwrap();
        settings.profile = "production".into();
        assert!(settings.validate().is_err());
        settings.issuer = "https://login.portaalwerkgever.nl".into();
        assert!(settings.validate().is_ok());
    }

    #[test]
    fn a_password_score_beyond_zxcvbns_scale_stops_the_start() {
        let mut settings = Settings::defaults().unwrap();
        assert_eq!(settings.password.min_score, 4);
        assert!(settings.validate().is_ok());
        settings.password.min_score = 5;
        let error = settings.validate().unwrap_err().to_string();
        assert!(error.contains("password.min_score"), "{error}");
        settings.password.min_score = 0;
        assert!(settings.validate().is_ok());
    }
}
