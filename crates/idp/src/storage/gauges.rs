//! What the database holds now, for the operators' gauges (`crate::metrics`): the outboxes'
//! depth and the age of their oldest pending row, and the live sessions.

use diesel::dsl::{count_star, min};
use diesel::prelude::*;

use super::schema::{logout_notices as n, mail_outbox as m, sessions as s};
use super::{DbConnection, DbError};
use crate::clock::UnixTime;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub mail_pending: i64,
    pub mail_oldest_seconds: i64,
    pub notices_pending: i64,
    pub notices_oldest_seconds: i64,
    pub sessions_live: i64,
}

pub fn snapshot(conn: &mut DbConnection, now: UnixTime) -> Result<Snapshot, DbError> {
    let (mail_pending, mail_oldest): (i64, Option<i64>) = m::table
        .filter(m::sent_at.is_null())
        .filter(m::given_up_at.is_null())
        .select((count_star(), min(m::created_at)))
        .first(conn)?;
    let (notices_pending, notices_oldest): (i64, Option<i64>) = n::table
        .filter(n::delivered_at.is_null())
        .filter(n::given_up_at.is_null())
        .select((count_star(), min(n::created_at)))
        .first(conn)?;
    let sessions_live = s::table
        .filter(s::expires_at.gt(now))
        .count()
        .get_result(conn)?;
    let age = |oldest: Option<i64>| oldest.map_or(0, |t| (now - t).max(0));
    Ok(Snapshot {
        mail_pending,
        mail_oldest_seconds: age(mail_oldest),
        notices_pending,
        notices_oldest_seconds: age(notices_oldest),
        sessions_live,
    })
}
