//! OpenID Provider metadata (OIDC Discovery 1.0 §3, RFC 8414), serialised once at start-up
//! (`web::oidc` serves it with the JWKS, whose bytes the key manager prepares whenever the key
//! set changes).

use super::client::{AuthMethod, SUPPORTED_GRANTS};
use crate::config::Settings;
use crate::domain::scope::SUPPORTED;

/// The discovery document of these settings, as JSON bytes.
pub fn document(settings: &Settings) -> Vec<u8> {
    {
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
        document.to_string().into_bytes()
    }
}
