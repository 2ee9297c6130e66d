//! OIDC clients: their registered metadata, how they authenticate at the token endpoint
//! (client_secret_basic, client_secret_post, none), and creating one (the CLI and RFC 7591
//! dynamic registration both call `register`).

use crate::clock::UnixTime;
use crate::crypto::{OpaqueToken, constant_time_eq, hash_hex};
use crate::domain::RedirectUri;
use crate::domain::scope::{ADMIN, SUPPORTED};
use crate::storage::models::ClientRow;
use crate::storage::{DbConnection, DbError, clients};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    None,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::None => "none",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "client_secret_basic" => Some(AuthMethod::ClientSecretBasic),
            "client_secret_post" => Some(AuthMethod::ClientSecretPost),
            "none" => Some(AuthMethod::None),
            _ => None,
        }
    }
}

pub const GRANT_AUTHORIZATION_CODE: &str = "authorization_code";
pub const GRANT_REFRESH_TOKEN: &str = "refresh_token";
pub const GRANT_CLIENT_CREDENTIALS: &str = "client_credentials";
pub const SUPPORTED_GRANTS: &[&str] = &[
    GRANT_AUTHORIZATION_CODE,
    GRANT_REFRESH_TOKEN,
    GRANT_CLIENT_CREDENTIALS,
];

/// OIDC Registration §2 `application_type`: a web application, or a native one that follows
/// RFC 8252 (loopback and private-use-scheme redirect URIs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ApplicationType {
    #[default]
    Web,
    Native,
}

impl ApplicationType {
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationType::Web => "web",
            ApplicationType::Native => "native",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "web" => Some(ApplicationType::Web),
            "native" => Some(ApplicationType::Native),
            _ => None,
        }
    }
}

/// What a client registered about itself to be shown to people (RFC 7591 §2): links to its
/// home page, logo, privacy policy and terms (https), and contact addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClientDisplay {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    secret_hash: Option<String>,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub grant_types: Vec<String>,
    pub auth_method: AuthMethod,
    pub scope: Vec<String>,
    pub first_party: bool,
    pub created_at: UnixTime,
    pub application_type: ApplicationType,
    pub display: ClientDisplay,
}

fn json_list(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

impl Client {
    pub fn from_row(row: ClientRow) -> Self {
        Self {
            auth_method: AuthMethod::parse(&row.token_endpoint_auth_method)
                .unwrap_or(AuthMethod::ClientSecretBasic),
            redirect_uris: json_list(&row.redirect_uris),
            post_logout_redirect_uris: json_list(&row.post_logout_redirect_uris),
            grant_types: json_list(&row.grant_types),
            scope: row
                .scope
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            client_id: row.client_id,
            secret_hash: row.secret_hash,
            name: row.name,
            backchannel_logout_uri: row.backchannel_logout_uri,
            first_party: row.first_party,
            created_at: row.created_at,
            application_type: ApplicationType::parse(&row.application_type).unwrap_or_default(),
            display: serde_json::from_str(&row.metadata).unwrap_or_default(),
        }
    }

    pub fn is_public(&self) -> bool {
        self.auth_method == AuthMethod::None
    }

    pub fn allows_grant(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }

    /// Exact string comparison against the registered redirect URIs (RFC 9700 §2.1). A native
    /// application's loopback redirect URI matches on any port (RFC 8252 §7.3): the app
    /// listens on whichever port is free when the person logs in.
    pub fn redirect_uri(&self, presented: &str) -> Option<RedirectUri> {
        if let Some(exact) = self
            .redirect_uris
            .iter()
            .find(|r| r.as_str() == presented)
            .and_then(|r| RedirectUri::parse_registered(r).ok())
        {
            return Some(exact);
        }
        if self.application_type != ApplicationType::Native {
            return None;
        }
        let presented = RedirectUri::parse_native(presented).ok()?;
        self.redirect_uris
            .iter()
            .filter_map(|r| RedirectUri::parse_native(r).ok())
            .any(|r| r.same_loopback_target(&presented))
            .then_some(presented)
    }

    pub fn post_logout_redirect_uri(&self, presented: &str) -> Option<RedirectUri> {
        self.post_logout_redirect_uris
            .iter()
            .find(|r| r.as_str() == presented)
            .and_then(|r| RedirectUri::parse_registered(r).ok())
    }

    /// Whether people are asked before this client gets anything (see `oidc::consent`): HCC's
    /// own applications, registered by staff with `--first-party`, are not.
    pub fn needs_consent(&self) -> bool {
        !self.first_party
    }

    /// Constant-time check of a presented secret against the stored hash.
    pub fn secret_matches(&self, presented: &str) -> bool {
        match &self.secret_hash {
            Some(stored) => {
                constant_time_eq(stored.as_bytes(), hash_hex(presented.as_bytes()).as_bytes())
            }
            None => false,
        }
    }
}

/// What a new client asks for, already checked.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub name: String,
    pub redirect_uris: Vec<RedirectUri>,
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    pub backchannel_logout_uri: Option<String>,
    pub grant_types: Vec<String>,
    pub auth_method: AuthMethod,
    pub scope: Vec<String>,
    pub first_party: bool,
    pub application_type: ApplicationType,
    pub display: ClientDisplay,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidClient {
    #[error("unsupported grant type {0}")]
    GrantType(String),
    #[error("a client using the authorization code grant needs at least one redirect URI")]
    NoRedirectUri,
    #[error("a public client (token_endpoint_auth_method none) cannot use client_credentials")]
    PublicClientCredentials,
    #[error("refresh_token needs authorization_code")]
    RefreshWithoutCode,
}

impl NewClient {
    /// The rules every client follows, however it was registered.
    pub fn check(&self) -> Result<(), InvalidClient> {
        if let Some(g) = self
            .grant_types
            .iter()
            .find(|g| !SUPPORTED_GRANTS.contains(&g.as_str()))
        {
            return Err(InvalidClient::GrantType(g.clone()));
        }
        let has = |g: &str| self.grant_types.iter().any(|x| x == g);
        if has(GRANT_AUTHORIZATION_CODE) && self.redirect_uris.is_empty() {
            return Err(InvalidClient::NoRedirectUri);
        }
        if has(GRANT_REFRESH_TOKEN) && !has(GRANT_AUTHORIZATION_CODE) {
            return Err(InvalidClient::RefreshWithoutCode);
        }
        if self.auth_method == AuthMethod::None && has(GRANT_CLIENT_CREDENTIALS) {
            return Err(InvalidClient::PublicClientCredentials);
        }
        Ok(())
    }
}

/// A registered client and, for a confidential one, its secret (shown once, stored hashed).
#[derive(Debug)]
pub struct Registered {
    pub client: Client,
    pub secret: Option<OpaqueToken>,
}

/// Stores a new client with a random id and (unless public) a random secret.
pub fn register(
    conn: &mut DbConnection,
    new: NewClient,
    now: UnixTime,
) -> Result<Registered, DbError> {
    let secret = (new.auth_method != AuthMethod::None).then(OpaqueToken::generate);
    // Only HCC's own applications may ask for the admin API.
    let allowed = |s: &str| SUPPORTED.contains(&s) && (new.first_party || s != ADMIN);
    let scope: Vec<String> = if new.scope.is_empty() {
        SUPPORTED
            .iter()
            .filter(|s| allowed(s))
            .map(|s| (*s).to_owned())
            .collect()
    } else {
        new.scope.iter().filter(|s| allowed(s)).cloned().collect()
    };
    let list = |v: &[RedirectUri]| {
        serde_json::to_string(&v.iter().map(RedirectUri::as_str).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let row = ClientRow {
        client_id: uuid::Uuid::new_v4().simple().to_string(),
        secret_hash: secret.as_ref().map(OpaqueToken::hash),
        name: new.name,
        redirect_uris: list(&new.redirect_uris),
        post_logout_redirect_uris: list(&new.post_logout_redirect_uris),
        backchannel_logout_uri: new.backchannel_logout_uri,
        grant_types: serde_json::to_string(&new.grant_types).unwrap_or_default(),
        token_endpoint_auth_method: new.auth_method.as_str().to_owned(),
        scope: scope.join(" "),
        first_party: new.first_party,
        created_at: now,
        application_type: new.application_type.as_str().to_owned(),
        metadata: serde_json::to_string(&new.display).unwrap_or_else(|_| "{}".to_owned()),
    };
    clients::insert(conn, &row)?;
    Ok(Registered {
        client: Client::from_row(row),
        secret,
    })
}

pub fn find(conn: &mut DbConnection, client_id: &str) -> Result<Option<Client>, DbError> {
    Ok(clients::find(conn, client_id)?.map(Client::from_row))
}
