//! `idp admin keys …`: rotate the token signing key, list the keys, and the emergency revocation
//! for a leaked key (docs/keys.md).

use std::sync::Arc;

use clap::Subcommand;

use crate::admin::cli::staff;
use crate::admin::output::Output;
use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::crypto::Keyring;
use crate::journeys::administration;
use crate::keys::KeyManager;
use crate::state::IdpState;
use crate::storage::Db;
use crate::storage::signing_keys::{self, SigningKeyRow};
use crate::web::admin_api::wire::KeyJson;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Start signing with a new key; older keys stay published until their tokens expired.
    Rotate,
    /// List the signing keys.
    List,
    /// Emergency: a new key, and every other key leaves JWKS at once (a leaked key).
    RevokeAll,
}

/// Runs one `idp admin keys …` command.
pub async fn run(state: &IdpState, command: KeysCommand, out: Output) -> anyhow::Result<()> {
    match command {
        KeysCommand::Rotate => rotate(state, out).await,
        KeysCommand::List => list(state, out).await,
        KeysCommand::RevokeAll => revoke_all(&state.settings, out).await,
    }
}

/// `idp admin keys rotate`: a new key signs from now on; running nodes follow within
/// `keys.refresh_seconds`.
pub async fn rotate(state: &IdpState, out: Output) -> anyhow::Result<()> {
    let kid = administration::rotate_signing_key(state, &staff()).await?;
    let now = state.now();
    let rows = administration::signing_keys(state, &staff()).await?;
    let still_published: Vec<String> = rows
        .iter()
        .filter(|r| r.kid != kid && r.is_published_at(now))
        .map(|r| {
            format!(
                "Key {} stays published until unix time {}.",
                r.kid,
                time(r.publish_until)
            )
        })
        .collect();
    let refresh = state.settings.keys.refresh_seconds;
    let key = the_key(rows, &kid, now)?;
    out.answer(&key, || {
        println!("New signing key {kid}.");
        still_published.iter().for_each(|l| println!("{l}"));
        println!("Running nodes sign with the new key within {refresh} seconds.");
    })
}

/// `idp admin keys list`: every key, newest first.
pub async fn list(state: &IdpState, out: Output) -> anyhow::Result<()> {
    let now = state.now();
    let rows = administration::signing_keys(state, &staff()).await?;
    let lines: Vec<String> = rows
        .iter()
        .map(|row| {
            format!(
                "{}\t{}\t{}\t{}\t{}",
                row.kid,
                row.created_at,
                time(row.retired_at),
                time(row.publish_until),
                status(row, now)
            )
        })
        .collect();
    let json: Vec<KeyJson> = rows.into_iter().map(|r| KeyJson::of(r, now)).collect();
    out.answer(&json, || {
        println!("kid\tcreated\tretired\tpublish_until\tstatus");
        lines.iter().for_each(|l| println!("{l}"));
    })
}

fn status(row: &SigningKeyRow, now: i64) -> &'static str {
    if row.is_active() {
        "signing"
    } else if row.is_published_at(now) {
        "published"
    } else {
        "expired"
    }
}

/// `idp admin keys revoke-all`: for a leaked master key or signing key. A new key signs and every
/// other key leaves JWKS at once, so tokens they signed stop verifying (people sign in again).
/// Run it with the new master key: it does not open (or load) the old keys.
pub async fn revoke_all(settings: &Settings, out: Output) -> anyhow::Result<()> {
    let db = crate::startup::open_database(settings).await?;
    let keyring = Keyring::new(&settings.master_key()?);
    let kid = KeyManager::revoke_all(&db, &keyring, Arc::new(SystemClock), settings).await?;
    let key = the_key(all_keys(&db).await?, &kid, SystemClock.now())?;
    out.answer(&key, || {
        println!("New signing key {kid}; every other key is revoked and no longer published.");
        println!(
            "Restart every node with the current master key; tokens signed before now are rejected."
        );
    })
}

async fn all_keys(db: &Db) -> anyhow::Result<Vec<SigningKeyRow>> {
    Ok(db.run(signing_keys::list).await?)
}

/// The key `kid` among `rows`, as the admin API shows it.
fn the_key(rows: Vec<SigningKeyRow>, kid: &str, now: i64) -> anyhow::Result<KeyJson> {
    rows.into_iter()
        .find(|r| r.kid == kid)
        .map(|r| KeyJson::of(r, now))
        .ok_or_else(|| anyhow::anyhow!("the new key {kid} is not stored"))
}

fn time(at: Option<i64>) -> String {
    at.map_or_else(|| "-".to_owned(), |t| t.to_string())
}
