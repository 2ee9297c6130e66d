//! Password-reset links. Only the hash of a link's token is stored; a newer link kills older ones.

use diesel::prelude::*;

use super::schema::password_resets::dsl as r;
use super::{DbConnection, DbError};
use crate::clock::UnixTime;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = super::schema::password_resets)]
pub struct PasswordReset {
    pub id: String,
    pub user_id: String,
    pub token_hash: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

pub fn replace(conn: &mut DbConnection, reset: &PasswordReset) -> Result<(), DbError> {
    diesel::update(
        r::password_resets
            .filter(r::user_id.eq(&reset.user_id))
            .filter(r::used_at.is_null())
            .filter(r::revoked_at.is_null()),
    )
    .set(r::revoked_at.eq(reset.created_at))
    .execute(conn)?;
    diesel::insert_into(r::password_resets)
        .values(reset)
        .execute(conn)?;
    Ok(())
}

pub fn find_by_token_hash(
    conn: &mut DbConnection,
    token_hash: &str,
) -> Result<Option<PasswordReset>, DbError> {
    Ok(r::password_resets
        .filter(r::token_hash.eq(token_hash))
        .select(PasswordReset::as_select())
        .first(conn)
        .optional()?)
}

/// Marks the link used if it still is usable at `now`; false if another request won.
pub fn consume(conn: &mut DbConnection, id: &str, now: UnixTime) -> Result<bool, DbError> {
    Ok(diesel::update(
        r::password_resets
            .find(id)
            .filter(r::used_at.is_null())
            .filter(r::revoked_at.is_null())
            .filter(r::expires_at.gt(now)),
    )
    .set(r::used_at.eq(now))
    .execute(conn)?
        == 1)
}

/// Kills every open link of the user (the password changed another way, or the account was
/// disabled).
pub fn revoke_open(conn: &mut DbConnection, user_id: &str, now: UnixTime) -> Result<(), DbError> {
    diesel::update(
        r::password_resets
            .filter(r::user_id.eq(user_id))
            .filter(r::used_at.is_null())
            .filter(r::revoked_at.is_null()),
    )
    .set(r::revoked_at.eq(now))
    .execute(conn)?;
    Ok(())
}
