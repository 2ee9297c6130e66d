//! Making an RS256 key pair and moving it in and out of a `signing_keys` row: PKCS#8 DER sealed
//! with the keyring (bound to the kid), the public half as a JWK whose kid is its RFC 7638
//! thumbprint.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::pkcs1::der::Decode;
use rsa::pkcs8::EncodePrivateKey;
use rsa::traits::PublicKeyParts;
use secrecy::zeroize::Zeroizing;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::KeyError;
use crate::clock::UnixTime;
use crate::crypto::Keyring;
use crate::storage::signing_keys::SigningKeyRow;

pub const ALGORITHM: &str = "RS256";

/// The public half as published in JWKS (RFC 7517 §4, RFC 7518 §6.3.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicJwk {
    pub kty: String,
    #[serde(rename = "use")]
    pub use_: String,
    pub alg: String,
    pub kid: String,
    pub n: String,
    pub e: String,
}

impl PublicJwk {
    /// The JWK of an RSA public key given as unsigned big-endian modulus and exponent.
    pub fn rsa(n: &[u8], e: &[u8]) -> Self {
        let n = URL_SAFE_NO_PAD.encode(n);
        let e = URL_SAFE_NO_PAD.encode(e);
        Self {
            kty: "RSA".to_owned(),
            use_: "sig".to_owned(),
            alg: ALGORITHM.to_owned(),
            kid: thumbprint(&n, &e),
            n,
            e,
        }
    }
}

/// RFC 7638 §3: SHA-256 over the required members in lexicographic order without whitespace,
/// base64url. The values are base64url already, so nothing needs JSON escaping.
pub fn thumbprint(n: &str, e: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// The associated data the private key is sealed with: a sealed key cannot be moved to
/// another row (or mistaken for another kind of secret).
pub fn seal_context(kid: &str) -> String {
    format!("signing-key:{kid}")
}

/// Generates a key pair of `bits` and returns its row, active from `now`. CPU-heavy (a second
/// or more): call it on the blocking pool.
pub fn generate(bits: usize, keyring: &Keyring, now: UnixTime) -> Result<SigningKeyRow, KeyError> {
    let private = rsa::RsaPrivateKey::new(&mut SystemRng, bits)
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    let der = private
        .to_pkcs8_der()
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    let jwk = PublicJwk::rsa(&private.n_bytes(), &private.e_bytes());
    let public_jwk = serde_json::to_string(&jwk).map_err(|e| KeyError::Generate(e.to_string()))?;
    Ok(SigningKeyRow {
        private_sealed: keyring.seal(der.as_bytes(), &seal_context(&jwk.kid)),
        kid: jwk.kid,
        algorithm: ALGORITHM.to_owned(),
        public_jwk,
        created_at: now,
        retired_at: None,
        publish_until: None,
    })
}

/// A row whose halves belong together: the private key opened under the master key matches the
/// published JWK, and the kid is that JWK's thumbprint. Someone with write access to the
/// database but without the master key cannot slip a verification key in.
pub struct CheckedKey {
    pub jwk: PublicJwk,
    /// PKCS#1 `RSAPrivateKey` DER, the form `aws_lc_rs::signature::RsaKeyPair::from_der` takes.
    pub pkcs1_der: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for CheckedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckedKey")
            .field("kid", &self.jwk.kid)
            .field("private", &"<redacted>")
            .finish()
    }
}

pub fn open(row: &SigningKeyRow, keyring: &Keyring) -> Result<CheckedKey, KeyError> {
    let bad = |why: &str| KeyError::BadRow {
        kid: row.kid.clone(),
        why: why.to_owned(),
    };
    if row.algorithm != ALGORITHM {
        return Err(bad("unsupported algorithm"));
    }
    let jwk: PublicJwk = serde_json::from_str(&row.public_jwk).map_err(|_| bad("JWK not JSON"))?;
    if jwk.kty != "RSA" || jwk.alg != ALGORITHM || jwk.use_ != "sig" {
        return Err(bad("JWK is not an RS256 signing key"));
    }
    if jwk.kid != row.kid || thumbprint(&jwk.n, &jwk.e) != row.kid {
        return Err(bad("kid is not the thumbprint of the JWK"));
    }
    let pkcs8 = Zeroizing::new(
        keyring
            .open(&row.private_sealed, &seal_context(&row.kid))
            .map_err(|_| bad("the private key does not open with this master key"))?,
    );
    let info = rsa::pkcs8::PrivateKeyInfoRef::from_der(&pkcs8)
        .map_err(|_| bad("private key is not PKCS#8"))?;
    if info.algorithm.oid != rsa::pkcs1::ALGORITHM_OID {
        return Err(bad("private key is not RSA"));
    }
    let pkcs1 = info.private_key.as_bytes();
    let parsed = rsa::pkcs1::RsaPrivateKeyRef::from_der(pkcs1)
        .map_err(|_| bad("private key is not PKCS#1"))?;
    let n = URL_SAFE_NO_PAD.encode(parsed.modulus.as_bytes());
    let e = URL_SAFE_NO_PAD.encode(parsed.public_exponent.as_bytes());
    if n != jwk.n || e != jwk.e {
        return Err(bad("private key does not match the published JWK"));
    }
    Ok(CheckedKey {
        jwk,
        pkcs1_der: Zeroizing::new(pkcs1.to_vec()),
    })
}

/// rsa 0.10 draws from an infallible rand_core 0.10 RNG; its own OS adapter
/// (`getrandom::SysRng`) is not a dependency of ours, so this forwards to the same OS RNG the
/// rest of the crate uses. An operating system that cannot give random bytes cannot make a
/// key at all: that panics, as `OsRng` itself does.
struct SystemRng;

impl rsa::rand_core::TryRng for SystemRng {
    type Error = std::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut bytes = [0u8; 4];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u32::from_le_bytes(bytes))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut bytes = [0u8; 8];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, dst);
        Ok(())
    }
}

impl rsa::rand_core::TryCryptoRng for SystemRng {}
