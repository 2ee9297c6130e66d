//! Token signing keys: RS256 key pairs generated here, sealed at rest under the master key, kept
//! parsed in memory, published as JWKS (RFC 7517) and rotated with a grace period so tokens
//! signed before a rotation keep verifying until they expire. docs/keys.md is the operator's
//! view.

mod manager;
pub mod material;

pub use manager::KeyManager;
pub use material::{ALGORITHM, PublicJwk, thumbprint};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token is not signed with RS256")]
    Algorithm,
    #[error("the token's kid names no published signing key")]
    UnknownKey,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token's {0} claim is malformed")]
    BadClaim(&'static str),
    #[error("the token was rejected: {0}")]
    Rejected(#[source] jsonwebtoken::errors::Error),
    #[error("the token's claims do not have the expected shape: {0}")]
    Claims(#[source] serde_json::Error),
    #[error("signing failed: {0}")]
    Signing(#[source] jsonwebtoken::errors::Error),
    #[error("the RS256 signature could not be made")]
    SigningFailed,
    #[error("key generation failed: {0}")]
    Generate(String),
    #[error("signing key {kid} is unusable: {why}")]
    BadRow { kid: String, why: String },
    #[error("no usable active signing key")]
    NoActiveKey,
}

/// Selects aws-lc-rs as jsonwebtoken's crypto provider for the process. Idempotent: when a
/// provider is installed already (by an earlier call), that one stays.
pub fn install_crypto_provider() {
    // Err only says a provider is installed already, which is all this function wants.
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
}

#[cfg(test)]
mod tests;
