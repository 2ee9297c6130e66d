//! Small cryptographic building blocks: random tokens stored as hashes, AES-256-GCM sealing of
//! secrets at rest, keyed MACs, constant-time comparison, and the bounded argon2id hasher.

use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, Params};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

/// A bearer secret handed to a person or client (invitation link, reset link, session cookie).
/// 256 random bits, URL-safe; only its hash is stored.
pub struct OpaqueToken(SecretString);

impl OpaqueToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(SecretString::from(URL_SAFE_NO_PAD.encode(bytes)))
    }

    pub fn from_presented(value: &str) -> Self {
        Self(SecretString::from(value.to_owned()))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The value stored in the database: hex SHA-256. The tokens carry 256 bits of entropy, so
    /// a fast hash is enough (no dictionary to attack), and lookups stay indexable.
    pub fn hash(&self) -> String {
        hash_hex(self.0.expose_secret().as_bytes())
    }
}

impl std::fmt::Debug for OpaqueToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OpaqueToken(<redacted>)")
    }
}

pub fn hash_hex(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    data_encoding::HEXLOWER.encode(&digest)
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Key material derived from the configured master key, one key per purpose.
#[derive(Clone)]
pub struct Keyring {
    sealing: Arc<Aes256Gcm>,
    mac_key: Arc<[u8; 32]>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keyring(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("sealed data could not be opened (wrong key or tampered)")]
pub struct UnsealError;

const NONCE_LEN: usize = 12;

impl Keyring {
    pub fn new(master: &[u8; 32]) -> Self {
        let sealing_key = derive(master, b"hcc-identity/seal/v1");
        let mac_key = derive(master, b"hcc-identity/mac/v1");
        Self {
            sealing: Arc::new(Aes256Gcm::new(&sealing_key.into())),
            mac_key: Arc::new(mac_key),
        }
    }

    /// AES-256-GCM with a random nonce; `context` is bound as associated data so a sealed value
    /// cannot be moved to another row or purpose. Output: nonce || ciphertext+tag.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let payload = Payload {
            msg: plaintext,
            aad: context.as_bytes(),
        };
        let mut out = nonce.to_vec();
        // Encryption with a valid key and nonce length cannot fail.
        if let Ok(ciphertext) = self.sealing.encrypt(Nonce::from_slice(&nonce), payload) {
            out.extend_from_slice(&ciphertext);
        }
        out
    }

    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Vec<u8>, UnsealError> {
        if sealed.len() < NONCE_LEN + 16 {
            return Err(UnsealError);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        self.sealing
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| UnsealError)
    }

    /// HMAC-SHA256 of `data` under the purpose-labelled MAC key, URL-safe base64.
    pub fn mac(&self, label: &str, data: &[u8]) -> String {
        let tag = hmac_sha256(&derive(&self.mac_key, label.as_bytes()), data);
        URL_SAFE_NO_PAD.encode(tag)
    }

    pub fn verify_mac(&self, label: &str, data: &[u8], presented: &str) -> bool {
        constant_time_eq(self.mac(label, data).as_bytes(), presented.as_bytes())
    }
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn derive(master: &[u8; 32], label: &[u8]) -> [u8; 32] {
    hmac_sha256(master, label)
}

/// argon2id with OWASP's parameters (m = 19 MiB, t = 2, p = 1). At most `concurrency` hashes run
/// at once on the blocking pool; further requests queue, so a burst of logins cannot starve the
/// machine of memory or the async workers of threads.
#[derive(Clone)]
pub struct PasswordHasherPool {
    permits: Arc<Semaphore>,
    params: Params,
}

impl std::fmt::Debug for PasswordHasherPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasherPool")
            .field("available", &self.permits.available_permits())
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("the hashing pool is shut down")]
    Closed,
}

impl PasswordHasherPool {
    /// Also computes the dummy hash now, so the first login for an unknown address takes no
    /// longer than any other.
    pub fn new(concurrency: usize) -> Self {
        let _ = dummy_hash();
        let concurrency = if concurrency == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            concurrency
        };
        Self {
            permits: Arc::new(Semaphore::new(concurrency)),
            params: Params::default(),
        }
    }

    fn argon2(params: Params) -> Argon2<'static> {
        Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
    }

    pub async fn hash(&self, password: SecretString) -> Result<String, HashError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| HashError::Closed)?;
        let params = self.params.clone();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut rand::rngs::OsRng);
            Self::argon2(params)
                .hash_password(password.expose_secret().as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| HashError::Hash(e.to_string()))
        })
        .await
        .map_err(|_| HashError::Closed)?
    }

    /// Verifies against a stored PHC string. With `None` (unknown account) a dummy hash is
    /// verified so the response takes as long as for a real account.
    pub async fn verify(
        &self,
        password: SecretString,
        stored: Option<String>,
    ) -> Result<bool, HashError> {
        self.slot().await?.verify(password, stored).await
    }

    /// Waits for the right to run one hash. Whoever holds the slot may decide, just before the
    /// hash, whether it should still run (the throttle's view of the client address at that
    /// moment), and record its outcome before the next waiting attempt decides.
    pub async fn slot(&self) -> Result<HashSlot, HashError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| HashError::Closed)?;
        Ok(HashSlot {
            _permit: permit,
            params: self.params.clone(),
        })
    }
}

/// One of the pool's hashing slots (see [`PasswordHasherPool::slot`]); released when dropped.
pub struct HashSlot {
    _permit: tokio::sync::OwnedSemaphorePermit,
    params: Params,
}

impl HashSlot {
    /// As [`PasswordHasherPool::verify`], in this slot.
    pub async fn verify(
        &self,
        password: SecretString,
        stored: Option<String>,
    ) -> Result<bool, HashError> {
        let params = self.params.clone();
        tokio::task::spawn_blocking(move || {
            let (phc, real) = match stored {
                Some(phc) => (phc, true),
                None => (dummy_hash().to_owned(), false),
            };
            let parsed = PasswordHash::new(&phc).map_err(|e| HashError::Hash(e.to_string()))?;
            let ok = PasswordHasherPool::argon2(params)
                .verify_password(password.expose_secret().as_bytes(), &parsed)
                .is_ok();
            Ok(ok && real)
        })
        .await
        .map_err(|_| HashError::Closed)?
    }
}

fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        PasswordHasherPool::argon2(Params::default())
            .hash_password(b"not a real password, only for timing", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_in_their_context() {
        let keys = Keyring::new(&[7u8; 32]);
        let sealed = keys.seal(b"JBSWY3DPEHPK3PXP", "otp:1");
        assert_eq!(
            keys.open(&sealed, "otp:1").ok(),
            Some(b"JBSWY3DPEHPK3PXP".to_vec())
        );
        assert!(keys.open(&sealed, "otp:2").is_err());
        assert!(Keyring::new(&[8u8; 32]).open(&sealed, "otp:1").is_err());
    }

    #[test]
    fn tokens_are_long_and_stored_hashed() {
        let token = OpaqueToken::generate();
        assert!(token.expose().len() >= 43);
        assert_eq!(token.hash().len(), 64);
        assert_ne!(token.hash(), token.expose());
        assert!(!format!("{token:?}").contains(token.expose()));
    }

    #[tokio::test]
    async fn argon2id_with_owasp_parameters() {
        let pool = PasswordHasherPool::new(1);
        let phc = pool
            .hash(SecretString::from("Correct-Horse-Battery-9"))
            .await
            .unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(
            pool.verify(
                SecretString::from("Correct-Horse-Battery-9"),
                Some(phc.clone())
            )
            .await
            .unwrap()
        );
        assert!(
            !pool
                .verify(SecretString::from("wrong"), Some(phc))
                .await
                .unwrap()
        );
        assert!(
            !pool
                .verify(SecretString::from("anything"), None)
                .await
                .unwrap()
        );
    }
}
