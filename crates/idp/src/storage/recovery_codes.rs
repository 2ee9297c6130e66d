//! Recovery codes: ten single-use codes per person, stored only as keyed hashes
//! (`journeys::own_account::recovery_code_hash`). A new set replaces the old one.

use diesel::prelude::*;

use super::models::RecoveryCode;
use super::schema::recovery_codes::dsl as r;
use super::{DbConnection, DbError};
use crate::clock::UnixTime;

/// Replaces every code of the person with `hashes`. Call it in a transaction.
pub fn replace(
    conn: &mut DbConnection,
    user_id: &str,
    hashes: &[String],
    now: UnixTime,
) -> Result<(), DbError> {
    diesel::delete(r::recovery_codes.filter(r::user_id.eq(user_id))).execute(conn)?;
    for hash in hashes {
        diesel::insert_into(r::recovery_codes)
            .values(&RecoveryCode {
                id: super::models::new_id(),
                user_id: user_id.to_owned(),
                code_hash: hash.clone(),
                created_at: now,
                used_at: None,
            })
            .execute(conn)?;
    }
    Ok(())
}

/// Uses the person's unused code with this hash; true if there was one. The condition makes it
/// atomic: of two requests with the same code, one wins.
pub fn use_code(
    conn: &mut DbConnection,
    user_id: &str,
    hash: &str,
    now: UnixTime,
) -> Result<bool, DbError> {
    Ok(diesel::update(
        r::recovery_codes
            .filter(r::user_id.eq(user_id))
            .filter(r::code_hash.eq(hash))
            .filter(r::used_at.is_null()),
    )
    .set(r::used_at.eq(now))
    .execute(conn)?
        == 1)
}

/// How many codes the person has, and how many of them are still unused.
pub fn counts(conn: &mut DbConnection, user_id: &str) -> Result<(i64, i64), DbError> {
    let all: Vec<Option<i64>> = r::recovery_codes
        .filter(r::user_id.eq(user_id))
        .select(r::used_at)
        .load(conn)?;
    let unused = all.iter().filter(|u| u.is_none()).count();
    Ok((all.len() as i64, unused as i64))
}
