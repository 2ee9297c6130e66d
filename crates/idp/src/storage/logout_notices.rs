//! Back-channel logout notices waiting for, or done with, delivery. Claimed with a conditional
//! update (as the mail outbox), so several nodes deliver each notice once.

use diesel::prelude::*;

use super::schema::logout_notices::dsl as n;
use super::{DbConnection, DbError};
use crate::clock::UnixTime;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = super::schema::logout_notices)]
pub struct LogoutNotice {
    pub id: String,
    pub client_id: String,
    pub uri: String,
    pub user_id: String,
    pub session_id_hash: String,
    pub created_at: i64,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub claimed_until: Option<i64>,
    pub delivered_at: Option<i64>,
    pub given_up_at: Option<i64>,
    pub last_error: Option<String>,
}

pub fn enqueue(conn: &mut DbConnection, notice: &LogoutNotice) -> Result<(), DbError> {
    diesel::insert_into(n::logout_notices)
        .values(notice)
        .execute(conn)?;
    Ok(())
}

/// Claims one due notice until `now + claim_seconds`, if there is one.
pub fn claim_due(
    conn: &mut DbConnection,
    now: UnixTime,
    claim_seconds: i64,
) -> Result<Option<LogoutNotice>, DbError> {
    let open = || {
        n::logout_notices
            .filter(n::delivered_at.is_null())
            .filter(n::given_up_at.is_null())
            .filter(n::claimed_until.is_null().or(n::claimed_until.lt(now)))
    };
    let candidates: Vec<String> = open()
        .filter(n::next_attempt_at.le(now))
        .order(n::next_attempt_at.asc())
        .limit(5)
        .select(n::id)
        .load(conn)?;
    for id in candidates {
        let won = diesel::update(open().filter(n::id.eq(&id)))
            .set(n::claimed_until.eq(now + claim_seconds))
            .execute(conn)?;
        if won == 1 {
            return Ok(n::logout_notices
                .find(&id)
                .select(LogoutNotice::as_select())
                .first(conn)
                .optional()?);
        }
    }
    Ok(None)
}

pub fn mark_delivered(conn: &mut DbConnection, id: &str, now: UnixTime) -> Result<(), DbError> {
    diesel::update(n::logout_notices.find(id))
        .set((
            n::delivered_at.eq(now),
            n::claimed_until.eq(None::<i64>),
            n::attempts.eq(n::attempts + 1),
        ))
        .execute(conn)?;
    Ok(())
}

/// A failed attempt: retried at `next`, or given up when `give_up` (the session end is long
/// past; the relying party's own session limits apply).
pub fn mark_failed(
    conn: &mut DbConnection,
    id: &str,
    error: &str,
    next: UnixTime,
    give_up: Option<UnixTime>,
) -> Result<(), DbError> {
    diesel::update(n::logout_notices.find(id))
        .set((
            n::attempts.eq(n::attempts + 1),
            n::last_error.eq(error),
            n::next_attempt_at.eq(next),
            n::given_up_at.eq(give_up),
            n::claimed_until.eq(None::<i64>),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<LogoutNotice>, DbError> {
    Ok(n::logout_notices
        .find(id)
        .select(LogoutNotice::as_select())
        .first(conn)
        .optional()?)
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<LogoutNotice>, DbError> {
    Ok(n::logout_notices
        .order(n::created_at.asc())
        .select(LogoutNotice::as_select())
        .load(conn)?)
}

/// Delivered or given-up notices older than `before` (housekeeping).
pub fn prune(conn: &mut DbConnection, before: UnixTime) -> Result<usize, DbError> {
    Ok(diesel::delete(
        n::logout_notices.filter(n::delivered_at.lt(before).or(n::given_up_at.lt(before))),
    )
    .execute(conn)?)
}
