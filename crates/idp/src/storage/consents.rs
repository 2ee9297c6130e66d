//! Consents people gave to third-party clients: one row per person and client with the scope
//! values granted.

use diesel::prelude::*;

use super::models::Consent;
use super::schema::consents::dsl as c;
use super::{DbConnection, DbError};
use crate::clock::UnixTime;

pub fn find(
    conn: &mut DbConnection,
    user_id: &str,
    client_id: &str,
) -> Result<Option<Consent>, DbError> {
    Ok(c::consents
        .find((user_id, client_id))
        .select(Consent::as_select())
        .first(conn)
        .optional()?)
}

/// Records `scope` as the person's grant to the client (replacing an earlier one). Call it in
/// a transaction: the row is updated, or inserted when there was none.
pub fn grant(
    conn: &mut DbConnection,
    user_id: &str,
    client_id: &str,
    scope: &str,
    now: UnixTime,
) -> Result<(), DbError> {
    let updated = diesel::update(c::consents.find((user_id, client_id)))
        .set((c::scope.eq(scope), c::updated_at.eq(now)))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(c::consents)
            .values(&Consent {
                user_id: user_id.to_owned(),
                client_id: client_id.to_owned(),
                scope: scope.to_owned(),
                granted_at: now,
                updated_at: now,
            })
            .execute(conn)?;
    }
    Ok(())
}

/// Removes the grant; true if there was one.
pub fn revoke(conn: &mut DbConnection, user_id: &str, client_id: &str) -> Result<bool, DbError> {
    Ok(diesel::delete(c::consents.find((user_id, client_id))).execute(conn)? == 1)
}

pub fn list_for_user(conn: &mut DbConnection, user_id: &str) -> Result<Vec<Consent>, DbError> {
    Ok(c::consents
        .filter(c::user_id.eq(user_id))
        .order(c::granted_at.asc())
        .select(Consent::as_select())
        .load(conn)?)
}
