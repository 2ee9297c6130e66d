//! Signing keys: made at first start, sealed at rest, rotated with a grace period in JWKS, and
//! followed by a second node on the same database.

use std::sync::Arc;
use std::time::Duration;

use idp::crypto::Keyring;
use idp::keys::{KeyError, KeyManager};
use idp::storage::signing_keys::{self, SigningKeyRow};
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::*;

async fn load(app: &TestApp) -> Arc<KeyManager> {
    load_with(app, &app.state.keyring).await.unwrap()
}

async fn load_with(app: &TestApp, keyring: &Keyring) -> anyhow::Result<Arc<KeyManager>> {
    KeyManager::load(
        &app.state.db,
        keyring,
        app.state.clock.clone(),
        &app.state.settings,
    )
    .await
}

async fn rows(app: &TestApp) -> Vec<SigningKeyRow> {
    app.state.db.run(signing_keys::list).await.unwrap()
}

async fn audit(app: &TestApp, event: &str) -> Vec<Value> {
    app.admin()
        .audit_log()
        .await
        .into_iter()
        .filter(|e| e.event == event)
        .map(|e| serde_json::from_str(&e.details).unwrap())
        .collect()
}

fn published(keys: &KeyManager) -> Vec<String> {
    let jwks: Value = serde_json::from_slice(&keys.jwks()).unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

/// An hour-long token, so it outlives the grace period the tests move the clock through.
fn claims(app: &TestApp) -> Value {
    json!({"iss": app.state.settings.issuer, "sub": "user-1", "exp": app.state.now() + 3600})
}

fn validation(app: &TestApp) -> Validation {
    let mut v = Validation::new(Algorithm::RS256);
    v.set_issuer(&[&app.state.settings.issuer]);
    v.validate_aud = false;
    v
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn the_first_start_creates_one_sealed_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let keys = load(&app).await;

    let stored = rows(&app).await;
    assert_eq!(stored.len(), 1);
    let row = &stored[0];
    assert_eq!(row.kid, keys.active_kid());
    assert_eq!((row.retired_at, row.publish_until), (None, None));
    assert_eq!(published(&keys), std::slice::from_ref(&row.kid));

    // The column holds ciphertext: no stretch of the DER appears in it.
    let der = app
        .state
        .keyring
        .open(&row.private_sealed, &format!("signing-key:{}", row.kid))
        .unwrap();
    assert!(der.len() > 1000, "a PKCS#8 RSA key");
    assert!(!contains(&row.private_sealed, &der[..32]));
    assert!(!contains(&row.private_sealed, &der[200..232]));
    assert!(!format!("{keys:?}").contains(&format!("{:?}", &der[200..208])));

    // A restart (or a second node) reuses it.
    let again = load(&app).await;
    assert_eq!(again.active_kid(), keys.active_kid());
    assert_eq!(rows(&app).await.len(), 1);
}

async fn a_rotation_publishes_both_keys_until_old_tokens_have_expired(backend: Backend) {
    let app = spawn_app(backend).await;
    let keys = load(&app).await;
    let old_kid = keys.active_kid();
    let old_token = keys.sign(Some("at+jwt"), &claims(&app)).unwrap();

    let rotated_at = app.state.now();
    let new_kid = keys.rotate().await.unwrap();
    assert_ne!(new_kid, old_kid);
    assert_eq!(keys.active_kid(), new_kid);
    assert_eq!(published(&keys), [new_kid.clone(), old_kid.clone()]);
    let new_token = keys.sign(None, &claims(&app)).unwrap();
    assert_eq!(kid_of(&new_token), new_kid);
    for token in [&old_token, &new_token] {
        let verified: Value = keys.verify(token, &validation(&app)).unwrap();
        assert_eq!(verified["sub"], "user-1");
    }

    let settings = &app.state.settings;
    let grace = settings.tokens.longest_signed_lifetime()
        + i64::try_from(settings.keys.refresh_seconds).unwrap()
        + 60;
    let old_row = rows(&app)
        .await
        .into_iter()
        .find(|r| r.kid == old_kid)
        .unwrap();
    let retired_at = old_row.retired_at.unwrap();
    assert!((rotated_at..=rotated_at + 5).contains(&retired_at));
    assert_eq!(old_row.publish_until, Some(retired_at + grace));
    assert_eq!(
        audit(&app, "key_rotated").await,
        [json!({"kid": new_kid, "retired": [old_kid], "publish_until": retired_at + grace})]
    );

    // Past the grace period the old key leaves JWKS and its tokens stop verifying.
    app.clock.advance(grace + 1);
    keys.refresh().await.unwrap();
    assert_eq!(published(&keys), std::slice::from_ref(&new_kid));
    assert!(matches!(
        keys.verify::<Value>(&old_token, &validation(&app)),
        Err(KeyError::UnknownKey)
    ));
    assert!(keys.verify::<Value>(&new_token, &validation(&app)).is_ok());
}

async fn a_second_node_follows_a_rotation(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = load(&app).await;
    let second = load(&app).await;
    let old_kid = first.active_kid();
    assert_eq!(second.active_kid(), old_kid);

    let new_kid = first.rotate().await.unwrap();
    let token = first.sign(None, &claims(&app)).unwrap();
    // Until it refreshes, the second node signs with the old key and does not know the new one.
    assert_eq!(second.active_kid(), old_kid);
    assert!(matches!(
        second.verify::<Value>(&token, &validation(&app)),
        Err(KeyError::UnknownKey)
    ));
    second.refresh().await.unwrap();
    assert_eq!(second.active_kid(), new_kid);
    assert_eq!(published(&second), [new_kid.clone(), old_kid.clone()]);
    assert!(second.verify::<Value>(&token, &validation(&app)).is_ok());

    // The refresher does the same on its own.
    let refresher = second.spawn_refresher(Duration::from_millis(50));
    let newest = first.rotate().await.unwrap();
    let mut waited = Duration::ZERO;
    while second.active_kid() != newest {
        assert!(
            waited < Duration::from_secs(10),
            "the refresher did not pick up the rotation"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += Duration::from_millis(50);
    }
    // Retired keys may have been made in the same second: their order is not the point.
    let mut seen = published(&second);
    assert_eq!(seen[0], newest);
    seen[1..].sort();
    let mut retired = [new_kid, old_kid];
    retired.sort();
    assert_eq!(seen[1..], retired);
    refresher.abort();
}

async fn a_leaked_master_key_is_answered_by_revoking_every_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let keys = load(&app).await;
    let old_kid = keys.active_kid();
    let token = keys.sign(None, &claims(&app)).unwrap();

    // With a new master key the old keys cannot be opened, so the IdP will not start on them.
    let new_master = Keyring::new(&rand::random::<[u8; 32]>());
    let refused = load_with(&app, &new_master).await.unwrap_err();
    assert!(
        format!("{refused:#}").contains("docs/keys.md"),
        "{refused:#}"
    );

    let new_kid = KeyManager::revoke_all(
        &app.state.db,
        &new_master,
        app.state.clock.clone(),
        &app.state.settings,
    )
    .await
    .unwrap();
    let restarted = load_with(&app, &new_master).await.unwrap();
    assert_eq!(restarted.active_kid(), new_kid);
    assert_eq!(published(&restarted), std::slice::from_ref(&new_kid));
    assert!(matches!(
        restarted.verify::<Value>(&token, &validation(&app)),
        Err(KeyError::UnknownKey)
    ));
    let old_row = rows(&app)
        .await
        .into_iter()
        .find(|r| r.kid == old_kid)
        .unwrap();
    assert!(old_row.retired_at.is_some());
    assert!(old_row.publish_until.unwrap() <= app.state.now());
    assert_eq!(
        audit(&app, "keys_revoked").await,
        [json!({"kid": new_kid, "revoked": [old_kid]})]
    );

    // A node still on the old master key cannot use the new key: it keeps its set and says so.
    assert!(keys.refresh().await.is_err());
}

both_backends!(
    the_first_start_creates_one_sealed_key,
    a_rotation_publishes_both_keys_until_old_tokens_have_expired,
    a_second_node_follows_a_rotation,
    a_leaked_master_key_is_answered_by_revoking_every_key,
);
