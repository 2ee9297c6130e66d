//! Passkeys and security keys (WebAuthn credentials) of people, and the state of a ceremony
//! between its two requests.

use diesel::prelude::*;

use super::models::{CeremonyRow, SecurityKeyRow};
use super::schema::security_keys::dsl as k;
use super::schema::webauthn_ceremonies::dsl as c;
use super::{DbConnection, DbError};
use crate::clock::UnixTime;

pub fn insert(conn: &mut DbConnection, row: &SecurityKeyRow) -> Result<(), DbError> {
    diesel::insert_into(k::security_keys)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The person's keys, the oldest first.
pub fn list_for_user(
    conn: &mut DbConnection,
    user_id: &str,
) -> Result<Vec<SecurityKeyRow>, DbError> {
    Ok(k::security_keys
        .filter(k::user_id.eq(user_id))
        .order((k::created_at.asc(), k::id.asc()))
        .select(SecurityKeyRow::as_select())
        .load(conn)?)
}

pub fn count_for_user(conn: &mut DbConnection, user_id: &str) -> Result<i64, DbError> {
    Ok(k::security_keys
        .filter(k::user_id.eq(user_id))
        .count()
        .get_result(conn)?)
}

/// Whether any account holds this credential already.
pub fn credential_exists(conn: &mut DbConnection, credential_id: &str) -> Result<bool, DbError> {
    Ok(k::security_keys
        .filter(k::credential_id.eq(credential_id))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// Records a use: the new counter and credential, only if the counter read before is still
/// the stored one. False when another login with the same key got there first.
pub fn record_use(
    conn: &mut DbConnection,
    id: &str,
    read_counter: i64,
    counter: i64,
    credential: &str,
    now: UnixTime,
) -> Result<bool, DbError> {
    Ok(diesel::update(
        k::security_keys
            .find(id)
            .filter(k::counter.eq(read_counter)),
    )
    .set((
        k::counter.eq(counter),
        k::credential.eq(credential),
        k::last_used_at.eq(now),
    ))
    .execute(conn)?
        == 1)
}

pub fn rename(
    conn: &mut DbConnection,
    user_id: &str,
    id: &str,
    name: Option<&str>,
) -> Result<bool, DbError> {
    Ok(
        diesel::update(k::security_keys.find(id).filter(k::user_id.eq(user_id)))
            .set(k::name.eq(name))
            .execute(conn)?
            == 1,
    )
}

pub fn delete_one(conn: &mut DbConnection, user_id: &str, id: &str) -> Result<bool, DbError> {
    Ok(
        diesel::delete(k::security_keys.find(id).filter(k::user_id.eq(user_id))).execute(conn)?
            == 1,
    )
}

/// Removes every key of the person (an administrator's reset of the second factor).
pub fn delete_all(conn: &mut DbConnection, user_id: &str) -> Result<usize, DbError> {
    Ok(diesel::delete(k::security_keys.filter(k::user_id.eq(user_id))).execute(conn)?)
}

/// Starts a ceremony of the session: replaces any earlier one with the same purpose.
pub fn put_ceremony(conn: &mut DbConnection, row: &CeremonyRow) -> Result<(), DbError> {
    diesel::delete(
        c::webauthn_ceremonies
            .filter(c::session_id_hash.eq(&row.session_id_hash))
            .filter(c::purpose.eq(&row.purpose)),
    )
    .execute(conn)?;
    diesel::insert_into(c::webauthn_ceremonies)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Takes the session's ceremony state once: read and deleted, so an answer cannot be replayed
/// against it. `None` when there is none, or it expired.
pub fn take_ceremony(
    conn: &mut DbConnection,
    session_id_hash: &str,
    purpose: &str,
    now: UnixTime,
) -> Result<Option<String>, DbError> {
    let found: Option<CeremonyRow> = c::webauthn_ceremonies
        .filter(c::session_id_hash.eq(session_id_hash))
        .filter(c::purpose.eq(purpose))
        .select(CeremonyRow::as_select())
        .first(conn)
        .optional()?;
    let Some(found) = found else {
        return Ok(None);
    };
    let deleted = diesel::delete(
        c::webauthn_ceremonies
            .filter(c::session_id_hash.eq(session_id_hash))
            .filter(c::purpose.eq(purpose))
            .filter(c::state.eq(&found.state)),
    )
    .execute(conn)?;
    Ok((deleted == 1 && found.expires_at > now).then_some(found.state))
}

/// Expired ceremonies (housekeeping).
pub fn prune_ceremonies(conn: &mut DbConnection, now: UnixTime) -> Result<usize, DbError> {
    Ok(diesel::delete(c::webauthn_ceremonies.filter(c::expires_at.le(now))).execute(conn)?)
}
