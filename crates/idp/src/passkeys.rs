//! WebAuthn (Level 2) for passkeys and security keys as a second factor, with webauthn-rs. The
//! relying party is the issuer: its host is the RP id and its origin the one origin accepted
//! (`passkeys.rp_id` and `passkeys.origin` override both, e.g. behind a proxy). User
//! verification is *preferred*: a key that can verify its holder does, one that cannot still
//! counts as the second factor after the password. Attestation is not asked for, so any
//! authenticator is accepted.
//!
//! The ceremony state (challenge, allowed credentials) lives in the database between its two
//! requests and is taken exactly once (`storage::security_keys::take_ceremony`). The
//! signature counter is checked against the stored one as well as by webauthn-rs: a clone of
//! a key that counts is refused.

use std::sync::Arc;

use base64::Engine;
use webauthn_rs::prelude::{
    AuthenticationResult, PublicKeyCredential, RegisterPublicKeyCredential, SecurityKey,
    SecurityKeyAuthentication, SecurityKeyRegistration, Url, Uuid, Webauthn, WebauthnBuilder,
};

use crate::config::Settings;

/// How long a ceremony may take between its options and its answer.
pub const CEREMONY_SECONDS: i64 = 300;
pub const REGISTER: &str = "register";
pub const AUTHENTICATE: &str = "authenticate";

/// The WebAuthn relying party, or nothing when the issuer cannot be one.
#[derive(Clone)]
pub struct Passkeys(Option<Arc<Webauthn>>);

/// Why a ceremony was refused.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    #[error("passkeys are not available on this server")]
    Unavailable,
    #[error("the answer is not a WebAuthn credential: {0}")]
    Malformed(String),
    #[error("the authenticator's answer was refused: {0}")]
    Refused(String),
    #[error("the key's signature counter went back: a cloned authenticator")]
    Cloned,
}

impl Passkeys {
    /// From the settings: the RP id is `passkeys.rp_id` or the issuer's host, the origin
    /// `passkeys.origin` or the issuer's. A host that is an IP address cannot be an RP id
    /// (browsers refuse it too): passkeys are then off, and say why in the log.
    pub fn from_settings(settings: &Settings) -> Self {
        match Self::build(settings) {
            Ok(webauthn) => Self(Some(Arc::new(webauthn))),
            Err(why) => {
                tracing::warn!(%why, "passkeys are off");
                Self(None)
            }
        }
    }

    fn build(settings: &Settings) -> anyhow::Result<Webauthn> {
        let p = &settings.passkeys;
        if !p.enabled {
            anyhow::bail!("passkeys.enabled is false");
        }
        let origin = if p.origin.is_empty() {
            &settings.issuer
        } else {
            &p.origin
        };
        let origin = Url::parse(origin)?;
        let host = origin.domain().map(str::to_owned);
        let rp_id = if p.rp_id.is_empty() {
            host.ok_or_else(|| anyhow::anyhow!("the origin {origin} has no domain name"))?
        } else {
            p.rp_id.clone()
        };
        Ok(WebauthnBuilder::new(&rp_id, &origin)?
            .rp_name(&settings.branding.company)
            .build()?)
    }

    pub fn available(&self) -> bool {
        self.0.is_some()
    }

    fn webauthn(&self) -> Result<&Webauthn, PasskeyError> {
        self.0.as_deref().ok_or(PasskeyError::Unavailable)
    }

    /// Options for `navigator.credentials.create()` and the state to keep. The person's own
    /// keys are excluded (the same key twice).
    pub fn start_registration(
        &self,
        user_id: &str,
        email: &str,
        display_name: &str,
        existing: &[String],
    ) -> Result<(String, String), PasskeyError> {
        let webauthn = self.webauthn()?;
        let handle = Uuid::parse_str(user_id).unwrap_or_else(|_| Uuid::new_v4());
        let exclude = existing
            .iter()
            .map(|json| serde_json::from_str::<SecurityKey>(json).map(|k| k.cred_id().clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| PasskeyError::Malformed(e.to_string()))?;
        let (mut options, state) = webauthn
            .start_securitykey_registration(handle, email, display_name, Some(exclude), None, None)
            .map_err(|e| PasskeyError::Refused(e.to_string()))?;
        // webauthn-rs asks for credProtect "userVerificationRequired" (not enforced) with a
        // key that need not be discoverable; browsers refuse that combination outright
        // ("protection policy is inconsistent"). User verification stays preferred without it.
        if let Some(extensions) = options.public_key.extensions.as_mut() {
            extensions.cred_protect = None;
        }
        Ok((json(&options)?, json(&state)?))
    }

    /// Checks the authenticator's answer to a registration: the new key (its credential id as
    /// base64url, the key as JSON, whether it is backed up / synced).
    pub fn finish_registration(&self, answer: &str, state: &str) -> Result<NewKey, PasskeyError> {
        let webauthn = self.webauthn()?;
        let answer: RegisterPublicKeyCredential =
            serde_json::from_str(answer).map_err(|e| PasskeyError::Malformed(e.to_string()))?;
        let state: SecurityKeyRegistration =
            serde_json::from_str(state).map_err(|e| PasskeyError::Malformed(e.to_string()))?;
        let key = webauthn
            .finish_securitykey_registration(&answer, &state)
            .map_err(|e| PasskeyError::Refused(e.to_string()))?;
        let credential = json(&key)?;
        let stored: serde_json::Value = serde_json::from_str(&credential)
            .map_err(|e| PasskeyError::Malformed(e.to_string()))?;
        Ok(NewKey {
            credential_id: credential_id(key.cred_id()),
            counter: i64::from(stored["cred"]["counter"].as_u64().unwrap_or(0) as u32),
            backup_eligible: stored["cred"]["backup_eligible"].as_bool().unwrap_or(false),
            credential,
        })
    }

    /// Options for `navigator.credentials.get()` over the person's keys, and the state.
    pub fn start_authentication(&self, keys: &[String]) -> Result<(String, String), PasskeyError> {
        let webauthn = self.webauthn()?;
        let keys = keys
            .iter()
            .map(|json| serde_json::from_str::<SecurityKey>(json))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| PasskeyError::Malformed(e.to_string()))?;
        let (options, state) = webauthn
            .start_securitykey_authentication(&keys)
            .map_err(|e| PasskeyError::Refused(e.to_string()))?;
        Ok((json(&options)?, json(&state)?))
    }

    /// Checks the answer to an authentication against the state and the stored key it names
    /// (`stored`: credential id → (key JSON, stored counter)). The used key's credential id,
    /// its updated JSON and new counter.
    pub fn finish_authentication(
        &self,
        answer: &str,
        state: &str,
        stored: impl Fn(&str) -> Option<(String, i64)>,
    ) -> Result<UsedKey, PasskeyError> {
        let webauthn = self.webauthn()?;
        let answer: PublicKeyCredential =
            serde_json::from_str(answer).map_err(|e| PasskeyError::Malformed(e.to_string()))?;
        let state: SecurityKeyAuthentication =
            serde_json::from_str(state).map_err(|e| PasskeyError::Malformed(e.to_string()))?;
        let result: AuthenticationResult = webauthn
            .finish_securitykey_authentication(&answer, &state)
            .map_err(|e| match e {
                webauthn_rs::prelude::WebauthnError::CredentialPossibleCompromise => {
                    PasskeyError::Cloned
                }
                other => PasskeyError::Refused(other.to_string()),
            })?;
        let id = credential_id(result.cred_id());
        let (json_key, stored_counter) =
            stored(&id).ok_or_else(|| PasskeyError::Refused("unknown credential".into()))?;
        let counter = i64::from(result.counter());
        // webauthn-rs compares with the counter in the state, taken when the ceremony began;
        // a key that counts must also be past the counter stored now.
        if (counter > 0 || stored_counter > 0) && counter <= stored_counter {
            return Err(PasskeyError::Cloned);
        }
        let mut key: SecurityKey =
            serde_json::from_str(&json_key).map_err(|e| PasskeyError::Malformed(e.to_string()))?;
        key.update_credential(&result);
        Ok(UsedKey {
            credential_id: id,
            credential: json(&key)?,
            counter,
            read_counter: stored_counter,
            user_verified: result.user_verified(),
        })
    }
}

/// A key just registered.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub credential_id: String,
    pub credential: String,
    pub counter: i64,
    pub backup_eligible: bool,
}

/// A key just used to log in.
#[derive(Debug, Clone)]
pub struct UsedKey {
    pub credential_id: String,
    pub credential: String,
    pub counter: i64,
    /// The counter stored when the answer was checked (the update is conditional on it).
    pub read_counter: i64,
    pub user_verified: bool,
}

fn json(value: &impl serde::Serialize) -> Result<String, PasskeyError> {
    serde_json::to_string(value).map_err(|e| PasskeyError::Malformed(e.to_string()))
}

/// A credential id as stored and listed: unpadded base64url, as the browser's `id` spells it.
pub fn credential_id(raw: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}
