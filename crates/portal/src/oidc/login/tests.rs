//! The ID token checks, each with a token that breaks exactly one rule.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::Nonce;
use sha2::{Digest, Sha256};

use serde_json::{Value, json};

use super::{Expect, Person, VerifyError, verify};
use crate::oidc::fixtures::{CLIENT_ID, ISSUER, KID, discovered, sign};

const NOW: i64 = 1_800_000_000;
const ACCESS_TOKEN: &str = "the-access-token";

fn claims() -> Value {
    let digest = Sha256::digest(ACCESS_TOKEN.as_bytes());
    json!({
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "azp": CLIENT_ID,
        "sub": "person-1",
        "iat": NOW - 10,
        "exp": NOW + 290,
        "nonce": "n-1",
        "at_hash": URL_SAFE_NO_PAD.encode(&digest[..16]),
        "name": "Marco van Basten",
        "email": "marco@ek88.nl",
        "organisation": {"id": "org-1", "name": "EK88"},
        "role": "superuser",
        "sid": "sid-1",
    })
}

fn check(claims: &Value, foreign: bool, kid: &str) -> Result<Person, VerifyError> {
    let raw = sign(claims, foreign, kid, Some("JWT"));
    let nonce = Nonce::new("n-1".into());
    verify(
        &discovered(),
        &raw,
        ACCESS_TOKEN,
        &Expect::Nonce(&nonce),
        NOW,
    )
}

fn refused(claims: &Value, why: &str) {
    match check(claims, false, KID) {
        Err(VerifyError::Claims(e)) => assert!(e.contains(why), "{why}: {e}"),
        Err(VerifyError::UnknownKey) => panic!("{why}: unknown key"),
        Ok(p) => panic!("{why}: accepted for {}", p.sub),
    }
}

fn with(key: &str, value: Value) -> Value {
    let mut c = claims();
    c[key] = value;
    c
}

fn without(key: &str) -> Value {
    let mut c = claims();
    c.as_object_mut().unwrap().remove(key);
    c
}

#[test]
fn a_valid_id_token_names_the_person_and_organisation() {
    let person = check(&claims(), false, KID).unwrap();
    assert_eq!(person.sub, "person-1");
    assert_eq!(person.sid.as_deref(), Some("sid-1"));
    assert_eq!(person.name, "Marco van Basten");
    assert_eq!(person.email, "marco@ek88.nl");
    assert_eq!(person.organisation.unwrap().name, "EK88");
    assert_eq!(person.role.as_deref(), Some("superuser"));
}

#[test]
fn a_token_signed_by_another_key_with_a_known_kid_is_refused() {
    match check(&claims(), true, KID) {
        Err(VerifyError::Claims(e)) => assert!(e.to_lowercase().contains("signature"), "{e}"),
        other => panic!("{:?}", other.map(|p| p.sub).map_err(|e| e.to_string())),
    }
}

#[test]
fn an_unknown_kid_asks_for_the_key_set_again() {
    assert!(matches!(
        check(&claims(), true, "another-key"),
        Err(VerifyError::UnknownKey)
    ));
}

#[test]
fn a_tampered_payload_is_refused() {
    let raw = sign(&claims(), false, KID, None);
    let mut parts: Vec<String> = raw.split('.').map(str::to_owned).collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    payload["sub"] = json!("someone-else");
    parts[1] = URL_SAFE_NO_PAD.encode(payload.to_string());
    let nonce = Nonce::new("n-1".into());
    let result = verify(
        &discovered(),
        &parts.join("."),
        ACCESS_TOKEN,
        &Expect::Nonce(&nonce),
        NOW,
    );
    assert!(matches!(result, Err(VerifyError::Claims(_))));
}

#[test]
fn a_foreign_issuer_is_refused() {
    refused(&with("iss", json!("https://evil.example")), "ssuer");
}

#[test]
fn another_audience_is_refused() {
    refused(&with("aud", json!("another-client")), "udience");
}

#[test]
fn an_extra_audience_is_refused() {
    refused(
        &with("aud", json!([CLIENT_ID, "another-client"])),
        "udience",
    );
}

#[test]
fn an_azp_of_another_client_is_refused() {
    let mut c = with("aud", json!([CLIENT_ID]));
    c["azp"] = json!("another-client");
    assert!(check(&c, false, KID).is_err());
}

#[test]
fn a_missing_azp_is_refused() {
    refused(&without("azp"), "azp");
}

#[test]
fn an_expired_token_is_refused() {
    let mut c = with("exp", json!(NOW - 1));
    c["iat"] = json!(NOW - 400);
    refused(&c, "xpire");
}

#[test]
fn a_wrong_nonce_is_refused() {
    refused(&with("nonce", json!("n-2")), "once");
}

#[test]
fn a_missing_nonce_is_refused() {
    refused(&without("nonce"), "once");
}

#[test]
fn an_at_hash_of_another_access_token_is_refused() {
    refused(&with("at_hash", json!("AAAAAAAAAAAAAAAAAAAAAA")), "at_hash");
}

#[test]
fn an_unsigned_token_is_refused() {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims().to_string());
    let nonce = Nonce::new("n-1".into());
    let result = verify(
        &discovered(),
        &format!("{header}.{payload}."),
        ACCESS_TOKEN,
        &Expect::Nonce(&nonce),
        NOW,
    );
    assert!(result.is_err());
}

#[test]
fn a_refreshed_token_must_name_the_same_person() {
    let before = check(&claims(), false, KID).unwrap();
    let raw = sign(&with("sub", json!("person-2")), false, KID, None);
    let result = verify(
        &discovered(),
        &raw,
        ACCESS_TOKEN,
        &Expect::Subject(&before),
        NOW,
    );
    match result {
        Err(VerifyError::Claims(e)) => assert!(e.contains("someone else"), "{e}"),
        _ => panic!("a refresh for someone else was accepted"),
    }
    let raw = sign(&without("nonce"), false, KID, None);
    let same = verify(
        &discovered(),
        &raw,
        ACCESS_TOKEN,
        &Expect::Subject(&before),
        NOW,
    );
    assert_eq!(same.unwrap().sub, "person-1");
}
