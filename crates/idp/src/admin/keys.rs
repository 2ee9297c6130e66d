//! `idp admin keys …`: rotate the token signing key, list the keys, and the emergency revocation
//! for a leaked key (docs/keys.md).

use std::sync::Arc;

use crate::clock::SystemClock;
use crate::config::Settings;
use crate::crypto::Keyring;
use crate::keys::KeyManager;
use crate::state::IdpState;
use crate::storage::signing_keys::{self, SigningKeyRow};

/// `idp admin keys rotate`: a new key signs from now on; running nodes follow within
/// `keys.refresh_seconds`.
pub async fn rotate(state: &IdpState, keys: &KeyManager) -> anyhow::Result<()> {
    let kid = keys.rotate().await?;
    println!("New signing key {kid}.");
    let rows = all_keys(state).await?;
    for row in rows
        .iter()
        .filter(|r| r.kid != kid && r.is_published_at(state.now()))
    {
        println!(
            "Key {} stays published until unix time {}.",
            row.kid,
            time(row.publish_until)
        );
    }
    println!(
        "Running nodes sign with the new key within {} seconds.",
        state.settings.keys.refresh_seconds
    );
    Ok(())
}

/// `idp admin keys list`: every key, newest first.
pub async fn list(state: &IdpState) -> anyhow::Result<()> {
    let now = state.now();
    println!("kid\tcreated\tretired\tpublish_until\tstatus");
    for row in all_keys(state).await? {
        let status = if row.is_active() {
            "signing"
        } else if row.is_published_at(now) {
            "published"
        } else {
            "expired"
        };
        println!(
            "{}\t{}\t{}\t{}\t{status}",
            row.kid,
            row.created_at,
            time(row.retired_at),
            time(row.publish_until)
        );
    }
    Ok(())
}

/// `idp admin keys revoke-all`: for a leaked master key or signing key. A new key signs and every
/// other key leaves JWKS at once, so tokens they signed stop verifying (people sign in again).
/// Run it with the new master key: it does not open (or load) the old keys.
pub async fn revoke_all(settings: &Settings) -> anyhow::Result<()> {
    let db = crate::startup::open_database(settings).await?;
    let keyring = Keyring::new(&settings.master_key()?);
    let kid = KeyManager::revoke_all(&db, &keyring, Arc::new(SystemClock), settings).await?;
    println!("New signing key {kid}; every other key is revoked and no longer published.");
    println!(
        "Restart every node with the current master key; tokens signed before now are rejected."
    );
    Ok(())
}

async fn all_keys(state: &IdpState) -> anyhow::Result<Vec<SigningKeyRow>> {
    Ok(state.db.run(signing_keys::list).await?)
}

fn time(at: Option<i64>) -> String {
    at.map_or_else(|| "-".to_owned(), |t| t.to_string())
}
