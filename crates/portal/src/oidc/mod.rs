//! The portal as an OpenID Connect relying party of HCC Identity: discovery and the key set
//! ([`provider`]), the authorization code flow with PKCE and the ID token checks of OIDC Core
//! §3.1.3.7 ([`login`]), refreshing the access token ([`login::refresh`]) and Back-Channel
//! Logout 1.0 tokens ([`logout_token`]).

pub mod login;
pub mod logout_token;
pub mod provider;

#[cfg(test)]
mod fixtures;

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreClaimName, CoreClaimType, CoreClientAuthMethod,
    CoreErrorResponseType, CoreGenderClaim, CoreGrantType, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm,
    CoreResponseMode, CoreResponseType, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreSubjectIdentifierType, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AdditionalProviderMetadata, Client, EmptyExtraTokenFields, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IdToken, IdTokenFields, ProviderMetadata, StandardErrorResponse,
    StandardTokenResponse,
};
use serde::{Deserialize, Serialize};

/// The organisation claim of HCC Identity's `organisation` scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganisationClaim {
    pub id: String,
    pub name: String,
}

/// The claims HCC Identity adds to the standard ones.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HccClaims {
    #[serde(default)]
    pub organisation: Option<OrganisationClaim>,
    #[serde(default)]
    pub role: Option<String>,
    /// The IdP session (OIDC Back-Channel Logout 1.0 §2.1), named again in logout tokens.
    #[serde(default)]
    pub sid: Option<String>,
}

impl AdditionalClaims for HccClaims {}

/// The discovery fields the portal reads beyond the core ones.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HccMetadata {
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
    /// RFC 9207: when true, every authorization response must carry `iss`.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

impl AdditionalProviderMetadata for HccMetadata {}

pub type HccProviderMetadata = ProviderMetadata<
    HccMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

pub type HccIdToken =
    IdToken<HccClaims, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;

type HccIdTokenFields = IdTokenFields<
    HccClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

pub type HccTokenResponse = StandardTokenResponse<HccIdTokenFields, CoreTokenType>;

/// The client as built from discovery, with the token endpoint in state `T`.
pub type HccClientWith<T> = Client<
    HccClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    HccTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    T,
    EndpointMaybeSet,
>;

/// The client with its authorization and token endpoints set.
pub type HccClient = HccClientWith<EndpointSet>;

/// Why the IdP's answer gives no session. The person sees a page saying so in words; the detail
/// goes to the log.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the IdP cannot be reached or answers nonsense: {0}")]
    Unavailable(String),
    #[error("the login is unknown, used already or too old")]
    UnknownLogin,
    #[error("the authorization response does not belong to this login: {0}")]
    Mismatch(&'static str),
    #[error("the IdP refused: {0}")]
    Refused(String),
    #[error("the ID token is not acceptable: {0}")]
    InvalidIdToken(String),
    #[error("the refresh failed: {0}")]
    RefreshFailed(String),
}
