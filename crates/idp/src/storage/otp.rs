//! Authenticator-app (TOTP) credentials. Secrets are sealed with AES-GCM before they get here.

use diesel::prelude::*;

use super::models::OtpCredential;
use super::schema::otp_credentials::dsl as o;
use super::{DbConnection, DbError};
use crate::clock::UnixTime;

/// Starts a set-up: replaces any earlier unconfirmed secret of the user.
pub fn insert_pending(conn: &mut DbConnection, credential: &OtpCredential) -> Result<(), DbError> {
    diesel::delete(
        o::otp_credentials
            .filter(o::user_id.eq(&credential.user_id))
            .filter(o::confirmed_at.is_null()),
    )
    .execute(conn)?;
    diesel::insert_into(o::otp_credentials)
        .values(credential)
        .execute(conn)?;
    Ok(())
}

pub fn find_pending(
    conn: &mut DbConnection,
    user_id: &str,
) -> Result<Option<OtpCredential>, DbError> {
    Ok(o::otp_credentials
        .filter(o::user_id.eq(user_id))
        .filter(o::confirmed_at.is_null())
        .order(o::created_at.desc())
        .select(OtpCredential::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_confirmed(
    conn: &mut DbConnection,
    user_id: &str,
) -> Result<Option<OtpCredential>, DbError> {
    Ok(o::otp_credentials
        .filter(o::user_id.eq(user_id))
        .filter(o::confirmed_at.is_not_null())
        .order(o::confirmed_at.desc())
        .select(OtpCredential::as_select())
        .first(conn)
        .optional()?)
}

/// Records `step` as used, only if it is later than the last used step. The condition makes
/// the replay check atomic: of two requests with the same code, one wins.
pub fn use_step(conn: &mut DbConnection, id: &str, step: i64) -> Result<bool, DbError> {
    let updated = diesel::update(
        o::otp_credentials
            .find(id)
            .filter(o::last_used_step.is_null().or(o::last_used_step.lt(step))),
    )
    .set(o::last_used_step.eq(step))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Confirms a pending credential as the user's one authenticator; older ones are removed.
pub fn confirm(
    conn: &mut DbConnection,
    id: &str,
    user_id: &str,
    device_name: Option<&str>,
    now: UnixTime,
) -> Result<(), DbError> {
    diesel::delete(
        o::otp_credentials
            .filter(o::user_id.eq(user_id))
            .filter(o::id.ne(id)),
    )
    .execute(conn)?;
    diesel::update(o::otp_credentials.find(id))
        .set((
            o::confirmed_at.eq(now),
            o::device_name.eq(device_name),
            o::last_used_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Removes every authenticator of the user (reset by an administrator).
pub fn delete_all(conn: &mut DbConnection, user_id: &str) -> Result<usize, DbError> {
    Ok(diesel::delete(o::otp_credentials.filter(o::user_id.eq(user_id))).execute(conn)?)
}

/// Which of these people have a confirmed authenticator.
pub fn confirmed_among(
    conn: &mut DbConnection,
    user_ids: &[String],
) -> Result<std::collections::HashSet<String>, DbError> {
    Ok(o::otp_credentials
        .filter(o::user_id.eq_any(user_ids))
        .filter(o::confirmed_at.is_not_null())
        .select(o::user_id)
        .load::<String>(conn)?
        .into_iter()
        .collect())
}

/// Every confirmed authenticator of the user, the oldest first.
pub fn list_confirmed(
    conn: &mut DbConnection,
    user_id: &str,
) -> Result<Vec<OtpCredential>, DbError> {
    Ok(o::otp_credentials
        .filter(o::user_id.eq(user_id))
        .filter(o::confirmed_at.is_not_null())
        .order((o::confirmed_at.asc(), o::id.asc()))
        .select(OtpCredential::as_select())
        .load(conn)?)
}

/// Confirms a pending credential as an authenticator beside the ones the user has.
pub fn confirm_beside(
    conn: &mut DbConnection,
    id: &str,
    device_name: Option<&str>,
    now: UnixTime,
) -> Result<bool, DbError> {
    Ok(diesel::update(
        o::otp_credentials
            .find(id)
            .filter(o::confirmed_at.is_null()),
    )
    .set((
        o::confirmed_at.eq(now),
        o::device_name.eq(device_name),
        o::last_used_at.eq(now),
    ))
    .execute(conn)?
        == 1)
}

/// Records that a code of the authenticator was just used.
pub fn mark_used(conn: &mut DbConnection, id: &str, now: UnixTime) -> Result<(), DbError> {
    diesel::update(o::otp_credentials.find(id))
        .set(o::last_used_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// Renames one of the user's confirmed authenticators; false if it is not theirs.
pub fn rename(
    conn: &mut DbConnection,
    user_id: &str,
    id: &str,
    device_name: Option<&str>,
) -> Result<bool, DbError> {
    Ok(diesel::update(
        o::otp_credentials
            .find(id)
            .filter(o::user_id.eq(user_id))
            .filter(o::confirmed_at.is_not_null()),
    )
    .set(o::device_name.eq(device_name))
    .execute(conn)?
        == 1)
}

/// Removes one of the user's confirmed authenticators; false if it is not theirs.
pub fn delete_one(conn: &mut DbConnection, user_id: &str, id: &str) -> Result<bool, DbError> {
    Ok(diesel::delete(
        o::otp_credentials
            .find(id)
            .filter(o::user_id.eq(user_id))
            .filter(o::confirmed_at.is_not_null()),
    )
    .execute(conn)?
        == 1)
}
