//! Invitation links. Only the hash of a link's token is stored.

use diesel::prelude::*;

use super::models::Invitation;
use super::schema::invitations::dsl as i;
use super::{DbConnection, DbError};
use crate::clock::UnixTime;

/// Stores a new invitation and kills every earlier unused link of the same person.
pub fn replace(conn: &mut DbConnection, invitation: &Invitation) -> Result<(), DbError> {
    diesel::update(
        i::invitations
            .filter(i::user_id.eq(&invitation.user_id))
            .filter(i::used_at.is_null())
            .filter(i::revoked_at.is_null()),
    )
    .set(i::revoked_at.eq(invitation.created_at))
    .execute(conn)?;
    diesel::insert_into(i::invitations)
        .values(invitation)
        .execute(conn)?;
    Ok(())
}

pub fn find_by_token_hash(
    conn: &mut DbConnection,
    token_hash: &str,
) -> Result<Option<Invitation>, DbError> {
    Ok(i::invitations
        .filter(i::token_hash.eq(token_hash))
        .select(Invitation::as_select())
        .first(conn)
        .optional()?)
}

/// Marks the invitation used if it still is usable at `now`. Returns false when another request
/// got there first (the update is conditional, so two registrations cannot both succeed).
pub fn consume(conn: &mut DbConnection, id: &str, now: UnixTime) -> Result<bool, DbError> {
    let updated = diesel::update(
        i::invitations
            .find(id)
            .filter(i::used_at.is_null())
            .filter(i::revoked_at.is_null())
            .filter(i::expires_at.gt(now)),
    )
    .set(i::used_at.eq(now))
    .execute(conn)?;
    Ok(updated == 1)
}

/// The invitations of one organisation, oldest first, `limit` at most after `after`.
pub fn list_in_organisation(
    conn: &mut DbConnection,
    organisation_id: &str,
    after: Option<&super::users::After>,
    limit: i64,
) -> Result<Vec<Invitation>, DbError> {
    let mut query = i::invitations
        .filter(i::organisation_id.eq(organisation_id))
        .order((i::created_at.asc(), i::id.asc()))
        .limit(limit)
        .select(Invitation::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(
            i::created_at.gt(after.created_at).or(i::created_at
                .eq(after.created_at)
                .and(i::id.gt(after.id.clone()))),
        );
    }
    Ok(query.load(conn)?)
}

/// The invitation `id`, if it is one of `organisation_id`'s (see
/// `users::find_in_organisation`).
pub fn find_in_organisation(
    conn: &mut DbConnection,
    organisation_id: &str,
    id: &str,
) -> Result<Option<Invitation>, DbError> {
    Ok(i::invitations
        .find(id)
        .filter(i::organisation_id.eq(organisation_id))
        .select(Invitation::as_select())
        .first(conn)
        .optional()?)
}

/// The invitation `id` if within `reach` (`None`: any organisation's, or none's; else only
/// that organisation's): both are conditions of the one query.
pub fn find_within(
    conn: &mut DbConnection,
    reach: Option<&str>,
    id: &str,
) -> Result<Option<Invitation>, DbError> {
    let mut query = i::invitations
        .find(id.to_owned())
        .select(Invitation::as_select())
        .into_boxed();
    if let Some(own) = reach {
        query = query.filter(i::organisation_id.eq(own.to_owned()));
    }
    Ok(query.first(conn).optional()?)
}

/// Withdraws a link that is still open; false when it was used or withdrawn already.
pub fn revoke(conn: &mut DbConnection, id: &str, now: UnixTime) -> Result<bool, DbError> {
    Ok(diesel::update(
        i::invitations
            .find(id)
            .filter(i::used_at.is_null())
            .filter(i::revoked_at.is_null()),
    )
    .set(i::revoked_at.eq(now))
    .execute(conn)?
        == 1)
}
