//! Server-side IdP sessions. The browser holds a random id; the row is keyed by its hash.

use diesel::prelude::*;

use super::models::Session;
use super::schema::sessions::dsl as s;
use super::{DbConnection, DbError};
use crate::clock::UnixTime;
use crate::domain::Stage;

pub fn insert(conn: &mut DbConnection, session: &Session) -> Result<(), DbError> {
    diesel::insert_into(s::sessions)
        .values(session)
        .execute(conn)?;
    Ok(())
}

/// The session if it has not expired.
pub fn find_live(
    conn: &mut DbConnection,
    id_hash: &str,
    now: UnixTime,
) -> Result<Option<Session>, DbError> {
    Ok(s::sessions
        .find(id_hash)
        .filter(s::expires_at.gt(now))
        .select(Session::as_select())
        .first(conn)
        .optional()?)
}

/// The last factor was proven: the session is authenticated from `now` (its `auth_time`) and
/// gets a new id (`new_id_hash`), so the id it had before stops working (ASVS V3.2.1). False
/// when the session is gone.
pub fn authenticate(
    conn: &mut DbConnection,
    id_hash: &str,
    new_id_hash: &str,
    amr: &str,
    now: UnixTime,
    expires_at: UnixTime,
) -> Result<bool, DbError> {
    Ok(diesel::update(s::sessions.find(id_hash))
        .set((
            s::id_hash.eq(new_id_hash),
            s::stage.eq(Stage::Authenticated),
            s::amr.eq(amr),
            s::auth_time.eq(now),
            s::expires_at.eq(expires_at),
            s::last_seen_at.eq(now),
        ))
        .execute(conn)?
        == 1)
}

/// The second factor was proven again (a step-up): `auth_time` becomes `now`. The id stays, so
/// the tokens issued in the session and the `sid` the applications hold stay linked to it.
pub fn reauthenticated(
    conn: &mut DbConnection,
    id_hash: &str,
    now: UnixTime,
) -> Result<bool, DbError> {
    Ok(diesel::update(
        s::sessions
            .find(id_hash)
            .filter(s::stage.eq(Stage::Authenticated)),
    )
    .set((s::auth_time.eq(now), s::last_seen_at.eq(now)))
    .execute(conn)?
        == 1)
}

pub fn touch(conn: &mut DbConnection, id_hash: &str, now: UnixTime) -> Result<(), DbError> {
    diesel::update(s::sessions.find(id_hash))
        .set(s::last_seen_at.eq(now))
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, id_hash: &str) -> Result<(), DbError> {
    diesel::delete(s::sessions.find(id_hash)).execute(conn)?;
    Ok(())
}

/// Every session of the user except `keep`.
pub fn other_sessions(
    conn: &mut DbConnection,
    user_id: &str,
    keep: &str,
) -> Result<Vec<String>, DbError> {
    Ok(s::sessions
        .filter(s::user_id.eq(user_id))
        .filter(s::id_hash.ne(keep))
        .select(s::id_hash)
        .load(conn)?)
}

pub fn list_for_user(conn: &mut DbConnection, user_id: &str) -> Result<Vec<Session>, DbError> {
    Ok(s::sessions
        .filter(s::user_id.eq(user_id))
        .order(s::created_at.asc())
        .select(Session::as_select())
        .load(conn)?)
}
