//! RFC 7591 dynamic client registration (`POST /register`, the handler is `web::oidc`),
//! protected by the configured initial access token, and the one set of client-metadata rules
//! the `idp admin client` commands share.

use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::config::OidcSettings;
use crate::crypto::{constant_time_eq, hash_hex};
use crate::domain::redirect_uri::InvalidRedirectUri;
use crate::domain::scope::SUPPORTED;
use crate::domain::{Email, RedirectUri};
use crate::oidc::client::{
    self, ApplicationType, AuthMethod, ClientDisplay, GRANT_AUTHORIZATION_CODE, InvalidClient,
    NewClient, Registered,
};
use crate::oidc::error::{OAuthError, OAuthErrorCode};
use crate::state::IdpState;
use crate::storage::DbError;
use crate::storage::audit::{self, AuditRecord};

/// The name a client gets when it does not send one.
pub const DEFAULT_CLIENT_NAME: &str = "unnamed client";
pub const MAX_CLIENT_NAME_CHARS: usize = 200;

/// Client metadata as RFC 7591 §2 (and OIDC Registration / Front- and Back-Channel Logout) name
/// it, before any rule is applied. Unknown members are ignored, as RFC 7591 §2 requires.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ClientMetadata {
    pub redirect_uris: Option<Vec<String>>,
    pub token_endpoint_auth_method: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub response_types: Option<Vec<String>>,
    pub client_name: Option<String>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: Option<bool>,
    pub scope: Option<String>,
    pub application_type: Option<String>,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub tos_uri: Option<String>,
    pub contacts: Option<Vec<String>>,
}

/// The longest URL a client may register for people to follow (client_uri, logo_uri, …).
pub const MAX_DISPLAY_URI_BYTES: usize = 2048;
pub const MAX_CONTACTS: usize = 10;

/// What the deployment allows at registration (from `oidc.*`).
#[derive(Debug, Clone, Copy)]
pub struct RegistrationRules {
    /// `http` redirect URIs on loopback for web applications (RFC 8252 §7.3 in development).
    pub allow_http_loopback: bool,
    /// Back-channel logout URIs on loopback or private addresses (see `outbound`).
    pub allow_private_backchannel: bool,
}

impl RegistrationRules {
    pub fn from_settings(oidc: &OidcSettings) -> Self {
        Self {
            allow_http_loopback: oidc.allow_http_loopback_redirects,
            allow_private_backchannel: oidc.backchannel_allow_private_networks,
        }
    }
}

/// Why metadata was refused. `code()` gives the RFC 7591 §3.2.2 error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error("redirect URI {uri:?}: {reason}")]
    RedirectUri {
        uri: String,
        reason: InvalidRedirectUri,
    },
    #[error("post-logout redirect URI {uri:?}: {reason}")]
    PostLogoutRedirectUri {
        uri: String,
        reason: InvalidRedirectUri,
    },
    #[error("back-channel logout URI {uri:?}: {reason}")]
    BackchannelLogoutUri {
        uri: String,
        reason: InvalidRedirectUri,
    },
    #[error(
        "unsupported token_endpoint_auth_method {0:?} (client_secret_basic, client_secret_post or none)"
    )]
    AuthMethod(String),
    #[error("only the response type \"code\" is supported (no implicit or hybrid flow)")]
    ResponseTypes,
    #[error("the authorization_code grant needs the response type \"code\"")]
    CodeGrantWithoutResponseType,
    #[error("the response type \"code\" needs the authorization_code grant")]
    ResponseTypeWithoutCodeGrant,
    #[error("application_type {0:?} is not supported (\"web\" or \"native\")")]
    ApplicationType(String),
    #[error(
        "{field} {uri:?} must be an absolute https URL without credentials or fragment, at most \
         {MAX_DISPLAY_URI_BYTES} bytes"
    )]
    DisplayUri { field: &'static str, uri: String },
    #[error("contacts: {0:?} is not an e-mail address")]
    Contact(String),
    #[error("contacts may list at most {MAX_CONTACTS} addresses")]
    TooManyContacts,
    #[error(
        "back-channel logout URI {uri:?}: {reason}; this server does not call private networks"
    )]
    BackchannelNotPublic {
        uri: String,
        reason: crate::outbound::Refused,
    },
    #[error("grant_types must not be empty")]
    NoGrantTypes,
    #[error("the client name may have at most {MAX_CLIENT_NAME_CHARS} characters")]
    NameTooLong,
    #[error("the client name must not contain control characters")]
    NameControlCharacters,
    #[error("the scope names no supported value ({})", SUPPORTED.join(" "))]
    NoSupportedScope,
    #[error(transparent)]
    Client(#[from] InvalidClient),
}

impl MetadataError {
    pub fn code(&self) -> OAuthErrorCode {
        match self {
            MetadataError::RedirectUri { .. }
            | MetadataError::Client(InvalidClient::NoRedirectUri) => {
                OAuthErrorCode::InvalidRedirectUri
            }
            _ => OAuthErrorCode::InvalidClientMetadata,
        }
    }
}

impl From<MetadataError> for OAuthError {
    fn from(e: MetadataError) -> Self {
        OAuthError::new(e.code(), e.to_string())
    }
}

fn unique(values: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in values {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// Which redirect URIs a client may register: web rules or RFC 8252's native rules.
#[derive(Debug, Clone, Copy)]
struct RedirectRules {
    application_type: ApplicationType,
    allow_http_loopback: bool,
}

impl RedirectRules {
    fn parse(self, uri: &str) -> Result<RedirectUri, InvalidRedirectUri> {
        match self.application_type {
            ApplicationType::Web => RedirectUri::parse(uri, self.allow_http_loopback),
            ApplicationType::Native => RedirectUri::parse_native(uri),
        }
    }
}

fn parse_uris(
    uris: Option<&[String]>,
    rules: RedirectRules,
    error: impl Fn(String, InvalidRedirectUri) -> MetadataError,
) -> Result<Vec<RedirectUri>, MetadataError> {
    let mut parsed: Vec<RedirectUri> = Vec::new();
    for uri in uris.unwrap_or_default() {
        let p = rules
            .parse(uri)
            .map_err(|reason| error(uri.clone(), reason))?;
        if !parsed.contains(&p) {
            parsed.push(p);
        }
    }
    Ok(parsed)
}

/// A link for people to follow: absolute https, no credentials, no fragment, bounded.
fn display_uri(field: &'static str, value: Option<&str>) -> Result<Option<String>, MetadataError> {
    let Some(uri) = value.map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(None);
    };
    let refused = || MetadataError::DisplayUri {
        field,
        uri: uri.chars().take(100).collect(),
    };
    let url = url::Url::parse(uri).map_err(|_| refused())?;
    if url.scheme() != "https"
        || url.host_str().is_none_or(str::is_empty)
        || !url.username().is_empty()
        || url.password().is_some()
        || url.fragment().is_some()
        || uri.len() > MAX_DISPLAY_URI_BYTES
    {
        return Err(refused());
    }
    Ok(Some(url.to_string()))
}

fn display_metadata(metadata: &ClientMetadata) -> Result<ClientDisplay, MetadataError> {
    let contacts = metadata.contacts.clone().unwrap_or_default();
    if contacts.len() > MAX_CONTACTS {
        return Err(MetadataError::TooManyContacts);
    }
    let contacts = contacts
        .iter()
        .map(|c| {
            Email::parse(c)
                .map(|e| e.as_str().to_owned())
                .map_err(|_| MetadataError::Contact(c.chars().take(100).collect()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ClientDisplay {
        client_uri: display_uri("client_uri", metadata.client_uri.as_deref())?,
        logo_uri: display_uri("logo_uri", metadata.logo_uri.as_deref())?,
        policy_uri: display_uri("policy_uri", metadata.policy_uri.as_deref())?,
        tos_uri: display_uri("tos_uri", metadata.tos_uri.as_deref())?,
        contacts: unique(contacts),
    })
}

/// RFC 7591 §2.1: the response types must fit the grant types. Only "code" exists here; it
/// belongs to the authorization_code grant and to no other.
fn check_response_types(
    response_types: Option<&[String]>,
    grant_types: &[String],
) -> Result<(), MetadataError> {
    let code_grant = grant_types.iter().any(|g| g == GRANT_AUTHORIZATION_CODE);
    let Some(response_types) = response_types else {
        return Ok(()); // derived from the grant types
    };
    let response_types = unique(response_types.iter().cloned());
    // RFC 9700 §2.1.2: no implicit flow, and no hybrid flow either.
    if response_types.iter().any(|r| r != "code") {
        return Err(MetadataError::ResponseTypes);
    }
    match (code_grant, response_types.is_empty()) {
        (true, true) => Err(MetadataError::CodeGrantWithoutResponseType),
        (false, false) => Err(MetadataError::ResponseTypeWithoutCodeGrant),
        _ => Ok(()),
    }
}

/// Applies every rule for a new client, however it is being registered (RFC 7591 endpoint or
/// CLI), and gives the client to store. The result is never first-party: only the CLI may say so.
pub fn validate_metadata(
    metadata: &ClientMetadata,
    rules: RegistrationRules,
) -> Result<NewClient, MetadataError> {
    let application_type = match metadata.application_type.as_deref() {
        None => ApplicationType::Web,
        Some(t) => ApplicationType::parse(t)
            .ok_or_else(|| MetadataError::ApplicationType(t.chars().take(50).collect()))?,
    };
    let redirect_rules = RedirectRules {
        application_type,
        allow_http_loopback: rules.allow_http_loopback,
    };
    let redirect_uris = parse_uris(
        metadata.redirect_uris.as_deref(),
        redirect_rules,
        |uri, reason| MetadataError::RedirectUri { uri, reason },
    )?;
    let post_logout_redirect_uris = parse_uris(
        metadata.post_logout_redirect_uris.as_deref(),
        redirect_rules,
        |uri, reason| MetadataError::PostLogoutRedirectUri { uri, reason },
    )?;
    // Back-Channel Logout 1.0 §2.2: an absolute URL without fragment; the same scheme rules as a
    // redirect URI (https, or http on loopback when allowed) keep logout tokens off the clear.
    // The server calls it itself, so a loopback or private address is refused unless allowed
    // (checked again, after DNS, at every delivery).
    let backchannel_logout_uri = metadata
        .backchannel_logout_uri
        .as_deref()
        .map(|uri| {
            let parsed = RedirectUri::parse(uri, rules.allow_http_loopback).map_err(|reason| {
                MetadataError::BackchannelLogoutUri {
                    uri: uri.to_owned(),
                    reason,
                }
            })?;
            let url = url::Url::parse(parsed.as_str()).map_err(|_| {
                MetadataError::BackchannelLogoutUri {
                    uri: uri.to_owned(),
                    reason: InvalidRedirectUri::NotAbsolute,
                }
            })?;
            crate::outbound::check_url(&url, rules.allow_private_backchannel).map_err(
                |reason| MetadataError::BackchannelNotPublic {
                    uri: uri.to_owned(),
                    reason,
                },
            )?;
            Ok::<_, MetadataError>(parsed.as_str().to_owned())
        })
        .transpose()?;

    let auth_method = match metadata.token_endpoint_auth_method.as_deref() {
        None => AuthMethod::ClientSecretBasic,
        Some(m) => AuthMethod::parse(m).ok_or_else(|| MetadataError::AuthMethod(m.to_owned()))?,
    };

    let grant_types = match &metadata.grant_types {
        None => vec![GRANT_AUTHORIZATION_CODE.to_owned()],
        Some(g) if g.is_empty() => return Err(MetadataError::NoGrantTypes),
        Some(g) => unique(g.iter().cloned()),
    };

    check_response_types(metadata.response_types.as_deref(), &grant_types)?;
    let display = display_metadata(metadata)?;

    let name = match metadata.client_name.as_deref().map(str::trim) {
        None | Some("") => DEFAULT_CLIENT_NAME.to_owned(),
        Some(n) if n.chars().count() > MAX_CLIENT_NAME_CHARS => {
            return Err(MetadataError::NameTooLong);
        }
        Some(n) if n.chars().any(char::is_control) => {
            return Err(MetadataError::NameControlCharacters);
        }
        Some(n) => n.to_owned(),
    };

    // Unknown scope values are dropped (OIDC Core §3.1.2.1 treats them the same way at the
    // authorization endpoint). An asked-for scope with nothing left is refused rather than
    // widened to the default, which is every supported scope.
    let scope = match metadata.scope.as_deref() {
        None => Vec::new(),
        Some(s) => {
            let known = unique(
                s.split(' ')
                    .filter(|v| SUPPORTED.contains(v))
                    .map(str::to_owned),
            );
            if known.is_empty() {
                return Err(MetadataError::NoSupportedScope);
            }
            known
        }
    };

    let new = NewClient {
        name,
        redirect_uris,
        post_logout_redirect_uris,
        backchannel_logout_uri,
        grant_types,
        auth_method,
        scope,
        // Only HCC staff mark a client first-party (the CLI); everyone else's client asks the
        // person for consent.
        first_party: false,
        application_type,
        display,
    };
    new.check()?;
    Ok(new)
}

/// Who registered a client, recorded in the audit event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    DynamicRegistration,
    Cli,
    AdminApi,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::DynamicRegistration => "dynamic_registration",
            Via::Cli => "cli",
            Via::AdminApi => "admin_api",
        }
    }
}

/// Stores a checked client and its `client_registered` audit event in one transaction.
pub async fn create_client(
    state: &IdpState,
    new: NewClient,
    via: Via,
    ip_address: Option<String>,
) -> Result<Registered, DbError> {
    let now = state.now();
    state
        .db
        .transaction(move |conn| {
            let registered = client::register(conn, new, now)?;
            let c = &registered.client;
            let mut record = AuditRecord::success("client_registered")
                .ip(ip_address.as_deref())
                .details(serde_json::json!({
                    "name": c.name,
                    "auth_method": c.auth_method.as_str(),
                    "via": via.as_str(),
                }));
            record.client_id = Some(c.client_id.clone());
            audit::record(conn, record, now)?;
            Ok(registered)
        })
        .await
}

/// The registration response (RFC 7591 §3.2.1): the credentials and the metadata as stored.
#[derive(Debug, Serialize)]
struct RegistrationResponse<'a> {
    client_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<&'a str>,
    client_id_issued_at: i64,
    /// 0: the secret does not expire (RFC 7591 §3.2.1); only sent with a secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret_expires_at: Option<i64>,
    client_name: &'a str,
    redirect_uris: &'a [String],
    post_logout_redirect_uris: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    backchannel_logout_uri: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    backchannel_logout_session_required: Option<bool>,
    grant_types: &'a [String],
    response_types: &'a [&'static str],
    token_endpoint_auth_method: &'static str,
    scope: String,
    application_type: &'static str,
    #[serde(flatten)]
    display: &'a ClientDisplay,
}

/// RFC 6750 §2.1: the initial access token as a bearer token, compared in constant time (of
/// equal-length digests, so the comparison reveals nothing about the configured token's length
/// either). `presented` is the bearer token of the request, if it carried one.
fn authorize(presented: Option<&str>, oidc: &OidcSettings) -> Result<(), OAuthError> {
    let refused = || OAuthError::invalid_token("a valid initial access token is required");
    let expected = oidc
        .initial_access_token
        .as_ref()
        .map(|t| t.expose_secret())
        .filter(|t| !t.is_empty())
        .ok_or_else(refused)?;
    let presented = presented.ok_or_else(refused)?;
    if constant_time_eq(
        hash_hex(presented.as_bytes()).as_bytes(),
        hash_hex(expected.as_bytes()).as_bytes(),
    ) {
        Ok(())
    } else {
        Err(refused())
    }
}

/// A registration request as it arrived.
#[derive(Debug)]
pub struct RegistrationRequest<'a> {
    /// The bearer token of the request (`Authorization: Bearer …`).
    pub initial_access_token: Option<&'a str>,
    /// Whether the body was sent as `application/json`.
    pub json: bool,
    pub body: &'a [u8],
    pub ip_address: Option<String>,
}

/// RFC 7591 §3: checks the initial access token and the metadata, stores the client, and
/// gives the response body (§3.2.1).
pub async fn register(
    state: &IdpState,
    request: RegistrationRequest<'_>,
) -> Result<serde_json::Value, OAuthError> {
    if let Err(e) = authorize(request.initial_access_token, &state.settings.oidc) {
        tracing::warn!(
            ip = request.ip_address.as_deref(),
            "client registration without a valid initial access token"
        );
        return Err(e);
    }
    if !request.json {
        return Err(OAuthError::new(
            OAuthErrorCode::InvalidClientMetadata,
            "the client metadata must be sent as application/json",
        ));
    }
    let metadata: ClientMetadata = serde_json::from_slice(request.body).map_err(|e| {
        OAuthError::new(
            OAuthErrorCode::InvalidClientMetadata,
            format!("the client metadata is not valid: {e}"),
        )
    })?;
    let new = validate_metadata(
        &metadata,
        RegistrationRules::from_settings(&state.settings.oidc),
    )?;
    let registered =
        create_client(state, new, Via::DynamicRegistration, request.ip_address).await?;
    Ok(registration_response(&registered))
}

/// The registration response (RFC 7591 §3.2.1): the credentials and the metadata as stored.
fn registration_response(registered: &Registered) -> serde_json::Value {
    let Registered { client, secret } = registered;
    let response_types: &[&str] = if client.allows_grant(GRANT_AUTHORIZATION_CODE) {
        &["code"]
    } else {
        &[]
    };
    let body = RegistrationResponse {
        client_id: &client.client_id,
        client_secret: secret.as_ref().map(|s| s.expose()),
        client_id_issued_at: client.created_at,
        client_secret_expires_at: secret.as_ref().map(|_| 0),
        client_name: &client.name,
        redirect_uris: &client.redirect_uris,
        post_logout_redirect_uris: &client.post_logout_redirect_uris,
        backchannel_logout_uri: client.backchannel_logout_uri.as_deref(),
        // Logout tokens always carry `sid`, whatever the client asked for.
        backchannel_logout_session_required: client.backchannel_logout_uri.as_ref().map(|_| true),
        grant_types: &client.grant_types,
        response_types,
        token_endpoint_auth_method: client.auth_method.as_str(),
        scope: client.scope.join(" "),
        application_type: client.application_type.as_str(),
        display: &client.display,
    };
    serde_json::to_value(body).unwrap_or_else(|_| serde_json::json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn meta(json: serde_json::Value) -> ClientMetadata {
        serde_json::from_value(json).unwrap()
    }

    fn rules(allow_http_loopback: bool) -> RegistrationRules {
        RegistrationRules {
            allow_http_loopback,
            allow_private_backchannel: false,
        }
    }

    #[test]
    fn defaults_for_a_minimal_client() {
        let new = validate_metadata(
            &meta(json!({"redirect_uris": ["https://rp.example/cb"]})),
            rules(false),
        )
        .unwrap();
        assert_eq!(new.name, DEFAULT_CLIENT_NAME);
        assert_eq!(new.auth_method, AuthMethod::ClientSecretBasic);
        assert_eq!(new.grant_types, ["authorization_code"]);
        assert_eq!(new.redirect_uris[0].as_str(), "https://rp.example/cb");
        assert!(new.scope.is_empty() && !new.first_party);
    }

    #[test]
    fn unknown_members_and_scope_values_are_dropped() {
        let new = validate_metadata(
            &meta(json!({
                "redirect_uris": ["http://127.0.0.1:49152/cb", "http://127.0.0.1:49152/cb"],
                "client_name": "  Portaal  ",
                "scope": "openid  email made:up",
                "software_statement_version": "ignored",
                "response_types": ["code"],
                "grant_types": ["authorization_code", "refresh_token"],
            })),
            rules(true),
        )
        .unwrap();
        assert_eq!(new.name, "Portaal");
        assert_eq!(new.scope, ["openid", "email"]);
        assert_eq!(new.redirect_uris.len(), 1);
        assert_eq!(new.grant_types, ["authorization_code", "refresh_token"]);
    }

    #[test]
    fn each_rule_has_its_error() {
        let refused = |json: serde_json::Value, allow: bool| {
            validate_metadata(&meta(json), rules(allow)).unwrap_err()
        };
        let cb = "https://rp.example/cb";
        let e = refused(json!({"redirect_uris": ["http://127.0.0.1/cb"]}), false);
        assert_eq!(e.code(), OAuthErrorCode::InvalidRedirectUri);
        assert_eq!(
            refused(json!({"redirect_uris": ["https://rp.example/cb#x"]}), true),
            MetadataError::RedirectUri {
                uri: "https://rp.example/cb#x".into(),
                reason: InvalidRedirectUri::Fragment
            }
        );
        let e = refused(json!({}), true);
        assert_eq!(
            (e.code(), e),
            (
                OAuthErrorCode::InvalidRedirectUri,
                InvalidClient::NoRedirectUri.into()
            )
        );
        for (json, expected) in [
            (
                json!({"redirect_uris": [cb], "response_types": ["token"]}),
                MetadataError::ResponseTypes,
            ),
            (
                json!({"redirect_uris": [cb], "response_types": ["code", "code id_token"]}),
                MetadataError::ResponseTypes,
            ),
            (
                json!({"redirect_uris": [cb], "response_types": []}),
                MetadataError::CodeGrantWithoutResponseType,
            ),
            (
                json!({"grant_types": ["client_credentials"], "response_types": ["code"]}),
                MetadataError::ResponseTypeWithoutCodeGrant,
            ),
            (
                json!({"redirect_uris": [cb], "application_type": "desktop"}),
                MetadataError::ApplicationType("desktop".into()),
            ),
            (
                json!({"redirect_uris": [cb], "logo_uri": "http://rp.example/logo.png"}),
                MetadataError::DisplayUri {
                    field: "logo_uri",
                    uri: "http://rp.example/logo.png".into(),
                },
            ),
            (
                json!({"redirect_uris": [cb], "contacts": ["not an address"]}),
                MetadataError::Contact("not an address".into()),
            ),
            (
                json!({"redirect_uris": [cb], "token_endpoint_auth_method": "private_key_jwt"}),
                MetadataError::AuthMethod("private_key_jwt".into()),
            ),
            (
                json!({"redirect_uris": [cb], "grant_types": []}),
                MetadataError::NoGrantTypes,
            ),
            (
                json!({"redirect_uris": [cb], "grant_types": ["implicit"]}),
                InvalidClient::GrantType("implicit".into()).into(),
            ),
            (
                json!({"redirect_uris": [cb], "grant_types": ["refresh_token"]}),
                InvalidClient::RefreshWithoutCode.into(),
            ),
            (
                json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}),
                InvalidClient::PublicClientCredentials.into(),
            ),
            (
                json!({"redirect_uris": [cb], "client_name": "x".repeat(201)}),
                MetadataError::NameTooLong,
            ),
            (
                json!({"redirect_uris": [cb], "client_name": "a\u{7}b"}),
                MetadataError::NameControlCharacters,
            ),
            (
                json!({"redirect_uris": [cb], "scope": "made:up"}),
                MetadataError::NoSupportedScope,
            ),
        ] {
            let e = refused(json, true);
            assert_eq!(e.code(), OAuthErrorCode::InvalidClientMetadata, "{e}");
            assert_eq!(e, expected);
        }
        let e = refused(
            json!({"redirect_uris": [cb], "post_logout_redirect_uris": ["http://rp.example/"]}),
            true,
        );
        assert!(matches!(
            e,
            MetadataError::PostLogoutRedirectUri {
                reason: InvalidRedirectUri::Scheme,
                ..
            }
        ));
        assert_eq!(e.code(), OAuthErrorCode::InvalidClientMetadata);
        let e = refused(
            json!({"redirect_uris": [cb], "backchannel_logout_uri": "https://rp.example/bc#f"}),
            true,
        );
        assert!(matches!(
            e,
            MetadataError::BackchannelLogoutUri {
                reason: InvalidRedirectUri::Fragment,
                ..
            }
        ));
    }

    #[test]
    fn display_metadata_is_kept() {
        let new = validate_metadata(
            &meta(json!({
                "redirect_uris": ["https://rp.example/cb"],
                "client_uri": "https://rp.example/",
                "logo_uri": "https://rp.example/logo.png",
                "policy_uri": "https://rp.example/privacy",
                "tos_uri": "https://rp.example/terms",
                "contacts": ["Ops@RP.example", "ops@rp.example"],
            })),
            rules(false),
        )
        .unwrap();
        assert_eq!(
            new.display.logo_uri.as_deref(),
            Some("https://rp.example/logo.png")
        );
        assert_eq!(new.display.contacts, ["ops@rp.example"]);
    }

    #[test]
    fn a_service_client_with_no_response_types_is_consistent() {
        let new = validate_metadata(
            &meta(json!({"grant_types": ["client_credentials"], "response_types": []})),
            rules(false),
        )
        .unwrap();
        assert_eq!(new.grant_types, ["client_credentials"]);
    }

    #[test]
    fn a_back_channel_uri_on_a_private_address_is_refused() {
        let e = validate_metadata(
            &meta(json!({
                "redirect_uris": ["http://127.0.0.1/cb"],
                "backchannel_logout_uri": "http://127.0.0.1:18999/internal/admin/delete?all=1",
            })),
            rules(true),
        )
        .unwrap_err();
        assert!(
            matches!(e, MetadataError::BackchannelNotPublic { .. }),
            "{e}"
        );
        assert_eq!(e.code(), OAuthErrorCode::InvalidClientMetadata);
    }

    #[test]
    fn a_native_application_registers_loopback_and_private_use_schemes() {
        let new = validate_metadata(
            &meta(json!({
                "application_type": "native",
                "token_endpoint_auth_method": "none",
                "redirect_uris": ["http://127.0.0.1/cb", "com.example.app:/oauth2redirect"],
            })),
            rules(false),
        )
        .unwrap();
        assert_eq!(new.application_type, ApplicationType::Native);
        let e = validate_metadata(
            &meta(json!({"application_type": "native", "redirect_uris": ["myapp:/cb"]})),
            rules(false),
        )
        .unwrap_err();
        assert_eq!(e.code(), OAuthErrorCode::InvalidRedirectUri);
    }

    #[test]
    fn a_service_client_needs_no_redirect_uri() {
        let new = validate_metadata(
            &meta(json!({"grant_types": ["client_credentials"]})),
            rules(false),
        )
        .unwrap();
        assert!(new.redirect_uris.is_empty());
        assert_eq!(new.grant_types, ["client_credentials"]);
    }
}
