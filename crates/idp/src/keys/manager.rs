//! The key set every node holds in memory: the active key ready to sign, the published keys
//! ready to verify, and the JWKS document serialised once. Rebuilt only when the table changes;
//! a refresher re-reads the table so a rotation made on one node reaches the others.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use anyhow::Context;
use jsonwebtoken::{Algorithm, DecodingKey, Header, TokenData, Validation};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::material::{self, PublicJwk};
use super::{KeyError, install_crypto_provider};
use crate::clock::{SharedClock, UnixTime};
use crate::config::Settings;
use crate::crypto::Keyring;
use crate::storage::audit::{self, AuditRecord};
use crate::storage::signing_keys::{self, SigningKeyRow};
use crate::storage::{Db, DbError};

/// Holds the parsed keys of this node and swaps them when the table changes. Cheap to share:
/// keep it in an `Arc`.
pub struct KeyManager {
    db: Db,
    keyring: Keyring,
    clock: SharedClock,
    rsa_bits: usize,
    /// How long a retired key stays in JWKS: the longest token lifetime, plus the time other
    /// nodes may keep signing with it before their refresher sees the rotation, plus a minute
    /// for clock skew.
    retired_publish_seconds: i64,
    current: RwLock<Arc<KeySet>>,
    /// One refresh at a time, so a slow read cannot replace a newer set with an older one.
    refreshing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for KeyManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = self.current();
        f.debug_struct("KeyManager")
            .field("active_kid", &set.signing.kid)
            .field("published", &set.version)
            .finish_non_exhaustive()
    }
}

impl KeyManager {
    /// Reads the keys; when none is active (a new installation), generates and stores one.
    /// Two nodes starting together may both do so: the newest active key then signs everywhere
    /// once each node has refreshed.
    pub async fn load(
        db: &Db,
        keyring: &Keyring,
        clock: SharedClock,
        settings: &Settings,
    ) -> anyhow::Result<Arc<Self>> {
        install_crypto_provider();
        let refresh_seconds = i64::try_from(settings.keys.refresh_seconds)
            .context("keys.refresh_seconds is too large")?;
        let retired_publish_seconds =
            settings.tokens.longest_signed_lifetime() + refresh_seconds + 60;
        let rsa_bits = settings.keys.rsa_bits;

        let mut rows = read_publishable(db, clock.now()).await?;
        if !rows.iter().any(SigningKeyRow::is_active) {
            let row = generate(rsa_bits, keyring, &clock).await?;
            tracing::info!(kid = %row.kid, "generated the first signing key");
            let insert = row.clone();
            db.run(move |conn| signing_keys::insert(conn, &insert))
                .await?;
            rows = read_publishable(db, clock.now()).await?;
        }
        let set = KeySet::build(&rows, keyring).context(
            "the active signing key cannot be used: was the master key changed? see docs/keys.md",
        )?;
        Ok(Arc::new(Self {
            db: db.clone(),
            keyring: keyring.clone(),
            clock,
            rsa_bits,
            retired_publish_seconds,
            current: RwLock::new(Arc::new(set)),
            refreshing: tokio::sync::Mutex::new(()),
        }))
    }

    fn current(&self) -> Arc<KeySet> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Signs `claims` as a JWS with RS256 and the active key: header `kid` set, `typ` as given
    /// (RFC 9068 access tokens pass `Some("at+jwt")`) or "JWT".
    pub fn sign<T: Serialize>(&self, typ: Option<&str>, claims: &T) -> Result<String, KeyError> {
        self.current().sign(typ, claims)
    }

    /// Verifies a token signed by one of our published keys (chosen by the header's kid; RS256
    /// only, whatever `validation.algorithms` says) and returns its claims. `exp` and `nbf` are
    /// checked against the injected clock, with `validation`'s leeway; the other checks
    /// (`aud`, `iss`, required claims) are jsonwebtoken's.
    pub fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        validation: &Validation,
    ) -> Result<T, KeyError> {
        self.verify_with_header(token, validation)
            .map(|data| data.claims)
    }

    /// As [`Self::verify`], also returning the header (to check `typ`, for instance).
    pub fn verify_with_header<T: DeserializeOwned>(
        &self,
        token: &str,
        validation: &Validation,
    ) -> Result<TokenData<T>, KeyError> {
        self.current().verify(token, validation, self.clock.now())
    }

    /// The JWKS document (RFC 7517 §5), serialised when the key set last changed.
    pub fn jwks(&self) -> Arc<[u8]> {
        self.current().jwks_bytes()
    }

    pub fn active_kid(&self) -> String {
        self.current().signing.kid.clone()
    }

    /// Seconds since the signing key was made (what a rotation alert watches).
    pub fn active_age_seconds(&self, now: UnixTime) -> i64 {
        (now - self.current().signing.created_at).max(0)
    }

    /// Re-reads the table and rebuilds the set if a key was added, retired or dropped from JWKS.
    /// When the new set is unusable (no active key opens) the current one stays.
    pub async fn refresh(&self) -> anyhow::Result<()> {
        let _one_at_a_time = self.refreshing.lock().await;
        let rows = read_publishable(&self.db, self.clock.now()).await?;
        let current = self.current();
        if KeySet::version_of(&rows) == current.version {
            return Ok(());
        }
        let set = KeySet::build(&rows, &self.keyring)
            .context("the new signing key set is unusable; keeping the current one")?;
        if set.signing.kid != current.signing.kid {
            tracing::info!(kid = %set.signing.kid, "signing with a new key");
        }
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(set);
        Ok(())
    }

    /// Refreshes every `interval` until the manager is dropped, so this node picks up a rotation
    /// made on another within that time.
    pub fn spawn_refresher(self: &Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        let manager = Arc::downgrade(self);
        // tokio's interval panics on zero.
        let interval = interval.max(Duration::from_millis(10));
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The first tick completes at once; the set was just read.
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(manager) = manager.upgrade() else {
                    return;
                };
                if let Err(e) = manager.refresh().await {
                    tracing::warn!(
                        error = format!("{e:#}"),
                        "refreshing the signing keys failed"
                    );
                }
            }
        })
    }

    /// Generates a new key and makes it the signing key; the others stop signing now and stay in
    /// JWKS until every token they signed has expired. Audited as `key_rotated`. Returns the new
    /// kid. Other nodes follow within their refresh interval.
    pub async fn rotate(&self) -> anyhow::Result<String> {
        let row = generate(self.rsa_bits, &self.keyring, &self.clock).await?;
        let now = row.created_at;
        let kid = row.kid.clone();
        let publish_until = now + self.retired_publish_seconds;
        self.db
            .transaction(move |conn| {
                signing_keys::insert(conn, &row)?;
                let retired = signing_keys::retire_all_except(conn, &row.kid, now, publish_until)?;
                audit::record(
                    conn,
                    AuditRecord::success("key_rotated").details(serde_json::json!({
                        "kid": row.kid,
                        "retired": retired,
                        "publish_until": publish_until,
                    })),
                    now,
                )?;
                Ok::<_, anyhow::Error>(())
            })
            .await?;
        self.refresh().await?;
        Ok(kid)
    }

    /// For a compromised master key or signing key: generates a new key and removes every other
    /// from JWKS at once, so tokens they signed stop verifying. Works when the old keys cannot be
    /// opened (the master key was replaced), which is why it needs no loaded manager. Audited as
    /// `keys_revoked`. Returns the new kid.
    pub async fn revoke_all(
        db: &Db,
        keyring: &Keyring,
        clock: SharedClock,
        settings: &Settings,
    ) -> anyhow::Result<String> {
        install_crypto_provider();
        let row = generate(settings.keys.rsa_bits, keyring, &clock).await?;
        let now = row.created_at;
        let kid = row.kid.clone();
        db.transaction(move |conn| {
            signing_keys::insert(conn, &row)?;
            let revoked = signing_keys::revoke_all_except(conn, &row.kid, now)?;
            audit::record(
                conn,
                AuditRecord::success("keys_revoked").details(serde_json::json!({
                    "kid": row.kid,
                    "revoked": revoked,
                })),
                now,
            )?;
            Ok::<_, anyhow::Error>(())
        })
        .await?;
        Ok(kid)
    }
}

async fn read_publishable(db: &Db, now: UnixTime) -> Result<Vec<SigningKeyRow>, DbError> {
    db.run(move |conn| signing_keys::list_publishable(conn, now))
        .await
}

/// Key generation can take a second or more of CPU: on the blocking pool, off the async
/// workers. The key is dated when it is ready.
async fn generate(
    bits: usize,
    keyring: &Keyring,
    clock: &SharedClock,
) -> Result<SigningKeyRow, KeyError> {
    let keyring = keyring.clone();
    let clock = clock.clone();
    tokio::task::spawn_blocking(move || {
        let mut row = material::generate(bits, &keyring, 0)?;
        row.created_at = clock.now();
        Ok(row)
    })
    .await
    .map_err(|_| KeyError::Generate("the generating task was cancelled".to_owned()))?
}

/// What one refresh read: the published keys, parsed once.
pub(super) struct KeySet {
    /// kid, retired_at and publish_until of the rows the set was built from, in the order read:
    /// a refresh that reads the same skips the rebuild.
    version: Vec<(String, Option<UnixTime>, Option<UnixTime>)>,
    signing: ActiveKey,
    verifying: HashMap<String, PublishedKey>,
    jwks: Arc<[u8]>,
}

/// The signing key, parsed and checked once when the set is built: jsonwebtoken's aws-lc
/// signer parses (and validates) the DER again on every token, which cost as much as the
/// signature itself.
struct ActiveKey {
    kid: String,
    key: aws_lc_rs::signature::RsaKeyPair,
    created_at: UnixTime,
}

struct PublishedKey {
    key: DecodingKey,
    publish_until: Option<UnixTime>,
}

#[derive(Serialize)]
struct Jwks<'a> {
    keys: Vec<&'a PublicJwk>,
}

impl KeySet {
    fn version_of(rows: &[SigningKeyRow]) -> Vec<(String, Option<UnixTime>, Option<UnixTime>)> {
        rows.iter()
            .map(|r| (r.kid.clone(), r.retired_at, r.publish_until))
            .collect()
    }

    /// Builds the set from the publishable rows, newest first. A row that fails its checks is
    /// logged and left out (never published); the newest usable active row signs.
    pub(super) fn build(rows: &[SigningKeyRow], keyring: &Keyring) -> Result<Self, KeyError> {
        let mut signing = None;
        let mut verifying = HashMap::new();
        let mut published = Vec::new();
        for row in rows {
            let checked = match material::open(row, keyring) {
                Ok(checked) => checked,
                Err(e) => {
                    tracing::error!(error = %e, "signing key left out");
                    continue;
                }
            };
            if signing.is_none() && row.is_active() {
                match aws_lc_rs::signature::RsaKeyPair::from_der(&checked.pkcs1_der) {
                    Ok(key) => {
                        signing = Some(ActiveKey {
                            kid: row.kid.clone(),
                            key,
                            created_at: row.created_at,
                        });
                    }
                    Err(e) => tracing::error!(kid = %row.kid, error = %e, "signing key unusable"),
                }
            }
            let key =
                DecodingKey::from_rsa_components(&checked.jwk.n, &checked.jwk.e).map_err(|_| {
                    KeyError::BadRow {
                        kid: row.kid.clone(),
                        why: "n or e is not base64url".to_owned(),
                    }
                })?;
            verifying.insert(
                row.kid.clone(),
                PublishedKey {
                    key,
                    publish_until: row.publish_until,
                },
            );
            published.push(checked.jwk);
        }
        let signing = signing.ok_or(KeyError::NoActiveKey)?;
        let jwks = serde_json::to_vec(&Jwks {
            keys: published.iter().collect(),
        })
        .map_err(KeyError::Claims)?;
        Ok(Self {
            version: Self::version_of(rows),
            signing,
            verifying,
            jwks: jwks.into(),
        })
    }

    pub(super) fn jwks_bytes(&self) -> Arc<[u8]> {
        self.jwks.clone()
    }

    pub(super) fn sign<T: Serialize>(
        &self,
        typ: Option<&str>,
        claims: &T,
    ) -> Result<String, KeyError> {
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.signing.kid.clone());
        header.typ = Some(typ.unwrap_or("JWT").to_owned());
        fn part<T: Serialize>(value: &T) -> Result<String, KeyError> {
            let json = serde_json::to_vec(value).map_err(KeyError::Claims)?;
            Ok(URL_SAFE_NO_PAD.encode(json))
        }
        let mut token = part(&header)?;
        token.push('.');
        token.push_str(&part(claims)?);
        let key = &self.signing.key;
        let mut signature = vec![0; key.public_modulus_len()];
        key.sign(
            &aws_lc_rs::signature::RSA_PKCS1_SHA256,
            &aws_lc_rs::rand::SystemRandom::new(),
            token.as_bytes(),
            &mut signature,
        )
        .map_err(|_| KeyError::SigningFailed)?;
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature));
        Ok(token)
    }

    pub(super) fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        validation: &Validation,
        now: UnixTime,
    ) -> Result<TokenData<T>, KeyError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| KeyError::Malformed)?;
        if header.alg != Algorithm::RS256 {
            return Err(KeyError::Algorithm);
        }
        let published = header
            .kid
            .as_deref()
            .and_then(|kid| self.verifying.get(kid))
            .filter(|k| k.publish_until.is_none_or(|until| until > now))
            .ok_or(KeyError::UnknownKey)?;
        // jsonwebtoken would read the system clock for exp and nbf; those two are checked below
        // against the injected one instead.
        let mut checks = validation.clone();
        checks.algorithms = vec![Algorithm::RS256];
        checks.validate_exp = false;
        checks.validate_nbf = false;
        let data = jsonwebtoken::decode::<serde_json::Value>(token, &published.key, &checks)
            .map_err(KeyError::Rejected)?;
        check_times(&data.claims, validation, now)?;
        Ok(TokenData {
            header: data.header,
            claims: serde_json::from_value(data.claims).map_err(KeyError::Claims)?,
        })
    }
}

/// `exp` and `nbf` as jsonwebtoken checks them (RFC 7519 §4.1.4–5, with leeway), at `now`.
/// Whether they must be present is `validation.required_spec_claims`'s business.
fn check_times(
    claims: &serde_json::Value,
    validation: &Validation,
    now: UnixTime,
) -> Result<(), KeyError> {
    let leeway = i64::try_from(validation.leeway).unwrap_or(i64::MAX);
    let margin = i64::try_from(validation.reject_tokens_expiring_in_less_than).unwrap_or(i64::MAX);
    let time = |name: &'static str| -> Result<Option<i64>, KeyError> {
        match claims.get(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(value) => value
                .as_i64()
                .or_else(|| value.as_f64().map(|f| f as i64))
                .map(Some)
                .ok_or(KeyError::BadClaim(name)),
        }
    };
    if validation.validate_exp
        && let Some(exp) = time("exp")?
        && exp.saturating_sub(margin) < now.saturating_sub(leeway)
    {
        return Err(KeyError::Expired);
    }
    if validation.validate_nbf
        && let Some(nbf) = time("nbf")?
        && nbf > now.saturating_add(leeway)
    {
        return Err(KeyError::NotYetValid);
    }
    Ok(())
}
