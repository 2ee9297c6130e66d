//! Pending authorization requests, authorization codes, refresh tokens and revoked access
//! tokens: the rows behind the OAuth grants. Single use is enforced by conditional updates.

use diesel::prelude::*;

use super::models::{AuthorizationCodeRow, AuthorizationRequestRow, RefreshTokenRow};
use super::schema::authorization_codes::dsl as ac;
use super::schema::authorization_requests::dsl as ar;
use super::schema::refresh_tokens::dsl as rt;
use super::schema::revoked_access_tokens::dsl as rv;
use super::{DbConnection, DbError};
use crate::clock::UnixTime;

pub fn insert_request(
    conn: &mut DbConnection,
    row: &AuthorizationRequestRow,
) -> Result<(), DbError> {
    diesel::insert_into(ar::authorization_requests)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find_request(
    conn: &mut DbConnection,
    id_hash: &str,
    now: UnixTime,
) -> Result<Option<AuthorizationRequestRow>, DbError> {
    Ok(ar::authorization_requests
        .find(id_hash)
        .filter(ar::expires_at.gt(now))
        .select(AuthorizationRequestRow::as_select())
        .first(conn)
        .optional()?)
}

/// Removes the request; true if this call removed it (so it is answered once).
pub fn take_request(conn: &mut DbConnection, id_hash: &str) -> Result<bool, DbError> {
    Ok(diesel::delete(ar::authorization_requests.find(id_hash)).execute(conn)? == 1)
}

pub fn insert_code(conn: &mut DbConnection, row: &AuthorizationCodeRow) -> Result<(), DbError> {
    diesel::insert_into(ac::authorization_codes)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find_code(
    conn: &mut DbConnection,
    code_hash: &str,
) -> Result<Option<AuthorizationCodeRow>, DbError> {
    Ok(ac::authorization_codes
        .find(code_hash)
        .select(AuthorizationCodeRow::as_select())
        .first(conn)
        .optional()?)
}

/// Marks a code used; false when it was used already (a replay).
/// Marks a code used and remembers the access token it produces, so a replay of the code can
/// revoke it; false when it was used already. One conditional statement: of two exchanges
/// racing with the same code, exactly one wins.
pub fn use_code(
    conn: &mut DbConnection,
    code_hash: &str,
    access_token_jti: &str,
    now: UnixTime,
) -> Result<bool, DbError> {
    Ok(diesel::update(
        ac::authorization_codes
            .find(code_hash)
            .filter(ac::used_at.is_null()),
    )
    .set((
        ac::used_at.eq(now),
        ac::access_token_jti.eq(access_token_jti),
    ))
    .execute(conn)?
        == 1)
}

/// The clients that received codes in a session: those to notify when it ends.
pub fn clients_of_session(
    conn: &mut DbConnection,
    session_id_hash: &str,
) -> Result<Vec<String>, DbError> {
    Ok(ac::authorization_codes
        .filter(ac::session_id_hash.eq(session_id_hash))
        .select(ac::client_id)
        .distinct()
        .load(conn)?)
}

pub fn insert_refresh(conn: &mut DbConnection, row: &RefreshTokenRow) -> Result<(), DbError> {
    diesel::insert_into(rt::refresh_tokens)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find_refresh(
    conn: &mut DbConnection,
    token_hash: &str,
) -> Result<Option<RefreshTokenRow>, DbError> {
    Ok(rt::refresh_tokens
        .find(token_hash)
        .select(RefreshTokenRow::as_select())
        .first(conn)
        .optional()?)
}

/// Marks a refresh token rotated; false when it was already rotated or revoked (a reuse).
pub fn rotate_refresh(
    conn: &mut DbConnection,
    token_hash: &str,
    now: UnixTime,
) -> Result<bool, DbError> {
    Ok(diesel::update(
        rt::refresh_tokens
            .find(token_hash)
            .filter(rt::rotated_at.is_null())
            .filter(rt::revoked_at.is_null()),
    )
    .set(rt::rotated_at.eq(now))
    .execute(conn)?
        == 1)
}

pub fn revoke_family(
    conn: &mut DbConnection,
    family_id: &str,
    now: UnixTime,
) -> Result<usize, DbError> {
    Ok(diesel::update(
        rt::refresh_tokens
            .filter(rt::family_id.eq(family_id))
            .filter(rt::revoked_at.is_null()),
    )
    .set(rt::revoked_at.eq(now))
    .execute(conn)?)
}

/// Revokes what a code produced (RFC 6749 §4.1.2: a code used twice).
pub fn revoke_by_code(
    conn: &mut DbConnection,
    code_hash: &str,
    now: UnixTime,
) -> Result<usize, DbError> {
    Ok(diesel::update(
        rt::refresh_tokens
            .filter(rt::code_hash.eq(code_hash))
            .filter(rt::revoked_at.is_null()),
    )
    .set(rt::revoked_at.eq(now))
    .execute(conn)?)
}

pub fn revoke_for_user(
    conn: &mut DbConnection,
    user_id: &str,
    now: UnixTime,
) -> Result<usize, DbError> {
    Ok(diesel::update(
        rt::refresh_tokens
            .filter(rt::user_id.eq(user_id))
            .filter(rt::revoked_at.is_null()),
    )
    .set(rt::revoked_at.eq(now))
    .execute(conn)?)
}

/// Every refresh token the user's consent gave one client (the consent was withdrawn).
pub fn revoke_for_user_and_client(
    conn: &mut DbConnection,
    user_id: &str,
    client_id: &str,
    now: UnixTime,
) -> Result<usize, DbError> {
    Ok(diesel::update(
        rt::refresh_tokens
            .filter(rt::user_id.eq(user_id))
            .filter(rt::client_id.eq(client_id))
            .filter(rt::revoked_at.is_null()),
    )
    .set(rt::revoked_at.eq(now))
    .execute(conn)?)
}

/// Every refresh token of the user except those issued in the session `keep`.
pub fn revoke_for_user_except_session(
    conn: &mut DbConnection,
    user_id: &str,
    keep: &str,
    now: UnixTime,
) -> Result<usize, DbError> {
    Ok(diesel::update(
        rt::refresh_tokens
            .filter(rt::user_id.eq(user_id))
            .filter(rt::revoked_at.is_null())
            .filter(
                rt::session_id_hash
                    .is_null()
                    .or(rt::session_id_hash.ne(keep)),
            ),
    )
    .set(rt::revoked_at.eq(now))
    .execute(conn)?)
}

pub fn revoke_for_sessions(
    conn: &mut DbConnection,
    session_hashes: &[String],
    now: UnixTime,
) -> Result<usize, DbError> {
    Ok(diesel::update(
        rt::refresh_tokens
            .filter(rt::session_id_hash.eq_any(session_hashes))
            .filter(rt::revoked_at.is_null()),
    )
    .set(rt::revoked_at.eq(now))
    .execute(conn)?)
}

/// The ids of access tokens issued in these sessions after `since` (the code exchanges and the
/// refresh grants that produced them).
pub fn access_tokens_of_sessions(
    conn: &mut DbConnection,
    session_hashes: &[String],
    since: UnixTime,
) -> Result<Vec<String>, DbError> {
    let from_codes: Vec<Option<String>> = ac::authorization_codes
        .filter(ac::session_id_hash.eq_any(session_hashes))
        .filter(ac::created_at.gt(since))
        .filter(ac::access_token_jti.is_not_null())
        .select(ac::access_token_jti)
        .load(conn)?;
    let from_refreshes: Vec<Option<String>> = rt::refresh_tokens
        .filter(rt::session_id_hash.eq_any(session_hashes))
        .filter(rt::created_at.gt(since))
        .filter(rt::access_token_jti.is_not_null())
        .select(rt::access_token_jti)
        .load(conn)?;
    Ok(from_codes
        .into_iter()
        .chain(from_refreshes)
        .flatten()
        .collect())
}

pub fn revoke_access_token(
    conn: &mut DbConnection,
    jti: &str,
    expires_at: UnixTime,
) -> Result<(), DbError> {
    // Insert once; a second revocation of the same token changes nothing.
    let exists = rv::revoked_access_tokens
        .find(jti)
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if !exists {
        diesel::insert_into(rv::revoked_access_tokens)
            .values((rv::jti.eq(jti), rv::expires_at.eq(expires_at)))
            .execute(conn)?;
    }
    Ok(())
}

pub fn is_access_token_revoked(conn: &mut DbConnection, jti: &str) -> Result<bool, DbError> {
    Ok(rv::revoked_access_tokens
        .find(jti)
        .count()
        .get_result::<i64>(conn)?
        > 0)
}
