//! Password credentials (argon2id PHC strings).

use diesel::prelude::*;

use super::models::PasswordCredential;
use super::schema::password_credentials::dsl as p;
use super::{DbConnection, DbError};
use crate::clock::UnixTime;

pub fn set(
    conn: &mut DbConnection,
    user_id: &str,
    hash: &str,
    now: UnixTime,
) -> Result<(), DbError> {
    // No ON CONFLICT through MultiConnection: replace explicitly inside the caller's transaction.
    diesel::delete(p::password_credentials.find(user_id)).execute(conn)?;
    diesel::insert_into(p::password_credentials)
        .values(&PasswordCredential {
            user_id: user_id.to_owned(),
            hash: hash.to_owned(),
            changed_at: now,
        })
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, user_id: &str) -> Result<Option<PasswordCredential>, DbError> {
    Ok(p::password_credentials
        .find(user_id)
        .select(PasswordCredential::as_select())
        .first(conn)
        .optional()?)
}
