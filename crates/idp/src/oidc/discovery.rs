//! OpenID Provider metadata (OIDC Discovery 1.0 §3, RFC 8414) and the JWKS (RFC 7517). The
//! metadata is serialised once at start-up; the JWKS bytes are prepared by the key manager
//! whenever the key set changes.

use actix_web::{HttpResponse, web};

use super::client::{AuthMethod, SUPPORTED_GRANTS};
use crate::config::Settings;
use crate::domain::scope::SUPPORTED;
use crate::state::IdpState;

/// The discovery document, ready to send.
#[derive(Debug, Clone)]
pub struct Discovery(pub web::Bytes);

impl Discovery {
    pub fn build(settings: &Settings) -> Self {
        let base = settings.public_base();
        let endpoint = |path: &str| format!("{base}{path}");
        let auth_methods = [
            AuthMethod::ClientSecretBasic,
            AuthMethod::ClientSecretPost,
            AuthMethod::None,
        ]
        .map(AuthMethod::as_str);
        let document = serde_json::json!({
            "issuer": settings.issuer,
            "authorization_endpoint": endpoint("/authorize"),
            "token_endpoint": endpoint("/token"),
            "userinfo_endpoint": endpoint("/userinfo"),
            "jwks_uri": endpoint("/jwks"),
            "registration_endpoint": endpoint("/register"),
            "revocation_endpoint": endpoint("/revoke"),
            "introspection_endpoint": endpoint("/introspect"),
            "end_session_endpoint": endpoint("/logout"),
            "scopes_supported": SUPPORTED,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": SUPPORTED_GRANTS,
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "userinfo_signing_alg_values_supported": ["none"],
            "token_endpoint_auth_methods_supported": auth_methods,
            "revocation_endpoint_auth_methods_supported": auth_methods,
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": [
                "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "azp",
                "at_hash", "email", "email_verified", "given_name", "family_name", "name",
                "organisation", "role"
            ],
            "acr_values_supported": [settings.oidc.acr],
            "prompt_values_supported": ["none", "login", "consent"],
            "ui_locales_supported": ["nl", "en"],
            "claims_parameter_supported": false,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
            "backchannel_logout_supported": true,
            "backchannel_logout_session_supported": true,
            "frontchannel_logout_supported": false,
            "authorization_response_iss_parameter_supported": true,
        });
        let mut document = document;
        // Registration is advertised only when it is enabled (an initial access token is set).
        let registration_enabled = settings
            .oidc
            .initial_access_token
            .as_ref()
            .is_some_and(|t| !secrecy::ExposeSecret::expose_secret(t).is_empty());
        if !registration_enabled && let Some(map) = document.as_object_mut() {
            map.remove("registration_endpoint");
        }
        Self(web::Bytes::from(document.to_string()))
    }
}

pub async fn openid_configuration(discovery: web::Data<Discovery>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .body(discovery.0.clone())
}

pub async fn jwks(state: web::Data<IdpState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/jwk-set+json")
        .insert_header(("Cache-Control", "public, max-age=300"))
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .body(web::Bytes::copy_from_slice(&state.keys.jwks()))
}
