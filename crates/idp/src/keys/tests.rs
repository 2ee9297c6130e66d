use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::manager::KeySet;
use super::material::{self, seal_context};
use super::*;
use crate::crypto::Keyring;
use crate::storage::signing_keys::SigningKeyRow;

const NOW: i64 = 1_800_000_000;

/// Two keys for the whole test binary: generation takes a while.
fn fixture() -> &'static (Keyring, SigningKeyRow, SigningKeyRow) {
    static KEYS: OnceLock<(Keyring, SigningKeyRow, SigningKeyRow)> = OnceLock::new();
    KEYS.get_or_init(|| {
        install_crypto_provider();
        let keyring = Keyring::new(&[3u8; 32]);
        let a = material::generate(2048, &keyring, NOW - 1000).unwrap();
        let b = material::generate(2048, &keyring, NOW - 10).unwrap();
        (keyring, a, b)
    })
}

fn retired(row: &SigningKeyRow, publish_until: i64) -> SigningKeyRow {
    SigningKeyRow {
        retired_at: Some(NOW - 10),
        publish_until: Some(publish_until),
        ..row.clone()
    }
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
}

fn claims() -> Claims {
    Claims {
        sub: "user-1".into(),
        exp: NOW + 600,
    }
}

fn validation() -> Validation {
    let mut v = Validation::new(Algorithm::RS256);
    v.validate_aud = false;
    v
}

#[test]
fn thumbprint_matches_the_rfc_7638_example() {
    let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
    assert_eq!(
        thumbprint(n, "AQAB"),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
}

#[test]
fn a_generated_key_is_published_as_an_rs256_signing_jwk() {
    let (keyring, a, _) = fixture();
    let jwk: serde_json::Value = serde_json::from_str(&a.public_jwk).unwrap();
    let members: Vec<&str> = jwk
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(members.len(), 6, "{jwk}");
    assert_eq!(jwk["kty"], "RSA");
    assert_eq!(jwk["use"], "sig");
    assert_eq!(jwk["alg"], "RS256");
    assert_eq!(jwk["e"], "AQAB");
    assert_eq!(jwk["kid"], a.kid.as_str());
    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    assert_eq!(
        n.len(),
        256,
        "a 2048-bit modulus without leading zero octets"
    );
    assert_ne!(n[0], 0);
    assert_eq!(
        a.kid,
        thumbprint(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())
    );
    assert_eq!(a.kid.len(), 43, "base64url of a SHA-256");
    assert_eq!(a.algorithm, "RS256");
    // Sealed, and only for this kid.
    assert!(
        keyring
            .open(&a.private_sealed, &seal_context(&a.kid))
            .is_ok()
    );
    assert!(
        keyring
            .open(&a.private_sealed, "signing-key:other")
            .is_err()
    );
    let checked = material::open(a, keyring).unwrap();
    assert!(!format!("{checked:?}").contains(&URL_SAFE_NO_PAD.encode(&checked.pkcs1_der[..])));
    assert!(!format!("{a:?}").contains(&format!("{:?}", &a.private_sealed[..8])));
}

#[test]
fn a_signed_token_verifies_and_names_its_key() {
    let (keyring, a, _) = fixture();
    let set = KeySet::build(std::slice::from_ref(a), keyring).unwrap();

    let token = set.sign(Some("at+jwt"), &claims()).unwrap();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.kid.as_deref(), Some(a.kid.as_str()));
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let verified = set.verify::<Claims>(&token, &validation(), NOW).unwrap();
    assert_eq!(verified.claims, claims());
    assert_eq!(verified.header.typ.as_deref(), Some("at+jwt"));

    let plain = set.sign(None, &claims()).unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(&plain).unwrap().typ.as_deref(),
        Some("JWT")
    );
}

#[test]
fn a_retired_key_verifies_while_published_and_not_after() {
    let (keyring, a, b) = fixture();
    let old = KeySet::build(std::slice::from_ref(a), keyring).unwrap();
    let token = old.sign(None, &claims()).unwrap();

    let rotated = KeySet::build(&[b.clone(), retired(a, NOW + 100)], keyring).unwrap();
    assert!(rotated.verify::<Claims>(&token, &validation(), NOW).is_ok());
    assert!(matches!(
        rotated.verify::<Claims>(&token, &validation(), NOW + 100),
        Err(KeyError::UnknownKey)
    ));
    let new_token = rotated.sign(None, &claims()).unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(&new_token).unwrap().kid,
        Some(b.kid.clone())
    );

    let jwks: serde_json::Value = serde_json::from_slice(&rotated.jwks_bytes()).unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, [b.kid.as_str(), a.kid.as_str()]);

    // Once the refresh no longer reads the old key, it is gone from the set as well.
    let later = KeySet::build(std::slice::from_ref(b), keyring).unwrap();
    assert!(matches!(
        later.verify::<Claims>(&token, &validation(), NOW),
        Err(KeyError::UnknownKey)
    ));
}

#[test]
fn only_rs256_is_accepted() {
    let (keyring, a, _) = fixture();
    let set = KeySet::build(std::slice::from_ref(a), keyring).unwrap();
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims()).unwrap());

    let none_header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"none","kid":"{}"}}"#, a.kid));
    let unsigned = format!("{none_header}.{body}.");
    assert!(set.verify::<Claims>(&unsigned, &validation(), NOW).is_err());

    // The classic confusion: HMAC keyed with the public key.
    let jwk: serde_json::Value = serde_json::from_str(&a.public_jwk).unwrap();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(a.kid.clone());
    let hs = jsonwebtoken::encode(
        &header,
        &claims(),
        &EncodingKey::from_secret(jwk["n"].as_str().unwrap().as_bytes()),
    )
    .unwrap();
    let mut lenient = validation();
    lenient.algorithms = vec![Algorithm::HS256, Algorithm::RS256];
    assert!(matches!(
        set.verify::<Claims>(&hs, &lenient, NOW),
        Err(KeyError::Algorithm)
    ));
}

#[test]
fn tampered_and_unknown_tokens_are_rejected() {
    let (keyring, a, b) = fixture();
    let set = KeySet::build(std::slice::from_ref(a), keyring).unwrap();
    let token = set.sign(None, &claims()).unwrap();

    let (signed, _) = token.rsplit_once('.').unwrap();
    let other = KeySet::build(std::slice::from_ref(b), keyring).unwrap();
    let foreign = other.sign(None, &claims()).unwrap();
    let (_, foreign_signature) = foreign.rsplit_once('.').unwrap();
    let forged = format!("{signed}.{foreign_signature}");
    assert!(matches!(
        set.verify::<Claims>(&forged, &validation(), NOW),
        Err(KeyError::Rejected(_))
    ));
    assert!(matches!(
        set.verify::<Claims>(&foreign, &validation(), NOW),
        Err(KeyError::UnknownKey)
    ));
    assert!(matches!(
        set.verify::<Claims>("not a token", &validation(), NOW),
        Err(KeyError::Malformed)
    ));
}

#[test]
fn expiry_follows_the_injected_clock() {
    let (keyring, a, _) = fixture();
    let set = KeySet::build(std::slice::from_ref(a), keyring).unwrap();
    let token = set.sign(None, &claims()).unwrap();
    let v = validation();
    assert!(set.verify::<Claims>(&token, &v, NOW + 600 + 60).is_ok());
    assert!(matches!(
        set.verify::<Claims>(&token, &v, NOW + 600 + 61),
        Err(KeyError::Expired)
    ));

    #[derive(Serialize, Deserialize)]
    struct Later {
        exp: i64,
        nbf: i64,
    }
    let later = set
        .sign(
            None,
            &Later {
                exp: NOW + 1000,
                nbf: NOW + 500,
            },
        )
        .unwrap();
    let mut v = validation();
    v.validate_nbf = true;
    v.leeway = 0;
    assert!(matches!(
        set.verify::<Later>(&later, &v, NOW),
        Err(KeyError::NotYetValid)
    ));
    assert!(set.verify::<Later>(&later, &v, NOW + 500).is_ok());
}

#[test]
fn a_key_that_does_not_belong_together_is_never_published() {
    let (keyring, a, b) = fixture();
    // B's public half under A's kid: the private key does not match.
    let swapped = SigningKeyRow {
        public_jwk: b.public_jwk.replace(&b.kid, &a.kid),
        ..a.clone()
    };
    assert!(matches!(
        material::open(&swapped, keyring),
        Err(KeyError::BadRow { .. })
    ));
    // Sealed under another master key.
    let other_master = Keyring::new(&[4u8; 32]);
    assert!(material::open(a, &other_master).is_err());
    assert!(matches!(
        KeySet::build(std::slice::from_ref(a), &other_master),
        Err(KeyError::NoActiveKey)
    ));
    // A bad active row is left out; the next usable active key signs and is the only one published.
    let set = KeySet::build(&[swapped, b.clone()], keyring).unwrap();
    let jwks: serde_json::Value = serde_json::from_slice(&set.jwks_bytes()).unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert_eq!(jwks["keys"][0]["kid"], b.kid.as_str());
}

#[test]
fn the_manager_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<KeyManager>();
}
