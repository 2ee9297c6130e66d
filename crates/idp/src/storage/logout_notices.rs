//! Back-channel logout notices waiting for, or done with, delivery; worked by `crate::outbox` as
//! the mail outbox is, so several nodes deliver each notice once.

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

super::queue::queue_table!(logout_notices, LogoutNotice, delivered: delivered_at);

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
