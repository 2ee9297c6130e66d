//! The signing keys of the token endpoint. The private part arrives sealed (AES-256-GCM under the
//! master key, bound to its kid) and is never stored in the clear; see `keys/` and docs/keys.md.

use diesel::prelude::*;

use super::schema::signing_keys;
use super::schema::signing_keys::dsl as k;
use super::{DbConnection, DbError};
use crate::clock::UnixTime;

/// One row of `signing_keys`. Active while `retired_at` is NULL; published in JWKS while
/// `publish_until` is NULL or later than now.
#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
pub struct SigningKeyRow {
    pub kid: String,
    pub algorithm: String,
    pub private_sealed: Vec<u8>,
    pub public_jwk: String,
    pub created_at: UnixTime,
    pub retired_at: Option<UnixTime>,
    pub publish_until: Option<UnixTime>,
}

impl std::fmt::Debug for SigningKeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRow")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("private_sealed", &"<redacted>")
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .field("publish_until", &self.publish_until)
            .finish()
    }
}

impl SigningKeyRow {
    pub fn is_active(&self) -> bool {
        self.retired_at.is_none()
    }

    pub fn is_published_at(&self, now: UnixTime) -> bool {
        self.publish_until.is_none_or(|until| until > now)
    }
}

pub fn insert(conn: &mut DbConnection, row: &SigningKeyRow) -> Result<(), DbError> {
    diesel::insert_into(k::signing_keys)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Every key, newest first (for the operator's list).
pub fn list(conn: &mut DbConnection) -> Result<Vec<SigningKeyRow>, DbError> {
    Ok(k::signing_keys
        .order((k::created_at.desc(), k::kid.desc()))
        .select(SigningKeyRow::as_select())
        .load(conn)?)
}

/// The keys in JWKS at `now`: active ones (newest first, as `newest_active` picks them), then
/// retired ones still in their grace period.
pub fn list_publishable(
    conn: &mut DbConnection,
    now: UnixTime,
) -> Result<Vec<SigningKeyRow>, DbError> {
    Ok(k::signing_keys
        .filter(k::publish_until.is_null().or(k::publish_until.gt(now)))
        .order((
            k::retired_at.is_null().desc(),
            k::created_at.desc(),
            k::kid.desc(),
        ))
        .select(SigningKeyRow::as_select())
        .load(conn)?)
}

/// The key that signs: the newest active one. Ties (two nodes creating a key in the same second)
/// are broken by kid, so every node picks the same one.
pub fn newest_active(conn: &mut DbConnection) -> Result<Option<SigningKeyRow>, DbError> {
    Ok(k::signing_keys
        .filter(k::retired_at.is_null())
        .order((k::created_at.desc(), k::kid.desc()))
        .select(SigningKeyRow::as_select())
        .first(conn)
        .optional()?)
}

/// Retires every active key except `keep`: it stops signing at `now` and stays published until
/// `publish_until`. Returns the kids retired. Call it in the transaction that inserts `keep`.
pub fn retire_all_except(
    conn: &mut DbConnection,
    keep: &str,
    now: UnixTime,
    publish_until: UnixTime,
) -> Result<Vec<String>, DbError> {
    let active: Vec<String> = k::signing_keys
        .filter(k::retired_at.is_null())
        .filter(k::kid.ne(keep))
        .order(k::created_at.asc())
        .select(k::kid)
        .load(conn)?;
    if active.is_empty() {
        return Ok(active);
    }
    // The retired_at condition again: a key another node retired meanwhile keeps its dates.
    diesel::update(
        k::signing_keys
            .filter(k::kid.eq_any(&active))
            .filter(k::retired_at.is_null()),
    )
    .set((k::retired_at.eq(now), k::publish_until.eq(publish_until)))
    .execute(conn)?;
    Ok(active)
}

/// Takes every key except `keep` out of service and out of JWKS at `now`, for a compromised key.
/// Returns the kids that were still published.
pub fn revoke_all_except(
    conn: &mut DbConnection,
    keep: &str,
    now: UnixTime,
) -> Result<Vec<String>, DbError> {
    diesel::update(
        k::signing_keys
            .filter(k::kid.ne(keep))
            .filter(k::retired_at.is_null()),
    )
    .set(k::retired_at.eq(now))
    .execute(conn)?;
    let published: Vec<String> = k::signing_keys
        .filter(k::kid.ne(keep))
        .filter(k::publish_until.is_null().or(k::publish_until.gt(now)))
        .order(k::created_at.asc())
        .select(k::kid)
        .load(conn)?;
    diesel::update(k::signing_keys.filter(k::kid.eq_any(&published)))
        .set(k::publish_until.eq(now))
        .execute(conn)?;
    Ok(published)
}
