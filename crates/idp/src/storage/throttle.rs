//! Failure counters. Every change is one atomic statement, so N concurrent failures count N
//! (a read-modify-write here is how lockouts get bypassed).

use diesel::prelude::*;

use super::schema::throttle_counters::dsl as t;
use super::{DbConnection, DbError};
use crate::clock::UnixTime;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = super::schema::throttle_counters)]
pub struct Counter {
    pub key: String,
    pub failures: i32,
    pub first_failure_at: i64,
    pub last_failure_at: i64,
    pub locked_until: Option<i64>,
}

pub fn find(conn: &mut DbConnection, key: &str) -> Result<Option<Counter>, DbError> {
    Ok(t::throttle_counters
        .find(key)
        .select(Counter::as_select())
        .first(conn)
        .optional()?)
}

/// Reserves one attempt before a secret is checked: adds one to the counter atomically and
/// returns the count this reservation made (stale counters start again at one). It leaves the
/// time of the last failure alone; [`mark_failed`] sets it when the attempt turns out wrong.
/// Call it outside a transaction: on PostgreSQL a refused insert would abort the surrounding
/// one.
pub fn reserve(
    conn: &mut DbConnection,
    key: &str,
    now: UnixTime,
    window_start: UnixTime,
) -> Result<i32, DbError> {
    for _ in 0..3 {
        let counted: Option<i32> = diesel::update(
            t::throttle_counters
                .find(key)
                .filter(t::last_failure_at.ge(window_start)),
        )
        .set(t::failures.eq(t::failures + 1))
        .returning(t::failures)
        .get_result(conn)
        .optional()?;
        if let Some(count) = counted {
            return Ok(count);
        }
        let restarted = diesel::update(
            t::throttle_counters
                .find(key)
                .filter(t::last_failure_at.lt(window_start)),
        )
        .set((
            t::failures.eq(1),
            t::first_failure_at.eq(now),
            t::last_failure_at.eq(now),
            t::locked_until.eq(None::<i64>),
        ))
        .execute(conn)?;
        if restarted == 1 {
            return Ok(1);
        }
        let inserted = diesel::insert_into(t::throttle_counters)
            .values((
                t::key.eq(key),
                t::failures.eq(1),
                t::first_failure_at.eq(now),
                t::last_failure_at.eq(now),
            ))
            .execute(conn);
        match inserted {
            Ok(_) => return Ok(1),
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(DbError::Query(diesel::result::Error::NotFound))
}

/// Counts one action in a fixed window that starts at the first action counted: the count
/// restarts once `window_seconds` have passed since then, however busy the key stays. For rate
/// limits on actions that are not guesses (mails sent, authorization requests parked). Returns
/// the count including this action. Call it outside a transaction (see [`reserve`]).
pub fn count_in_window(
    conn: &mut DbConnection,
    key: &str,
    now: UnixTime,
    window_seconds: i64,
) -> Result<i32, DbError> {
    let window_start = now - window_seconds;
    for _ in 0..3 {
        let counted: Option<i32> = diesel::update(
            t::throttle_counters
                .find(key)
                .filter(t::first_failure_at.gt(window_start)),
        )
        .set((t::failures.eq(t::failures + 1), t::last_failure_at.eq(now)))
        .returning(t::failures)
        .get_result(conn)
        .optional()?;
        if let Some(count) = counted {
            return Ok(count);
        }
        let restarted = diesel::update(
            t::throttle_counters
                .find(key)
                .filter(t::first_failure_at.le(window_start)),
        )
        .set((
            t::failures.eq(1),
            t::first_failure_at.eq(now),
            t::last_failure_at.eq(now),
            t::locked_until.eq(None::<i64>),
        ))
        .execute(conn)?;
        if restarted == 1 {
            return Ok(1);
        }
        let inserted = diesel::insert_into(t::throttle_counters)
            .values((
                t::key.eq(key),
                t::failures.eq(1),
                t::first_failure_at.eq(now),
                t::last_failure_at.eq(now),
            ))
            .execute(conn);
        match inserted {
            Ok(_) => return Ok(1),
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(DbError::Query(diesel::result::Error::NotFound))
}

/// Gives a reservation back (the attempt succeeded).
pub fn release(conn: &mut DbConnection, key: &str) -> Result<(), DbError> {
    diesel::update(t::throttle_counters.find(key).filter(t::failures.gt(0)))
        .set(t::failures.eq(t::failures - 1))
        .execute(conn)?;
    Ok(())
}

/// The reserved attempt was wrong: the delay counts from now. Returns the current count.
pub fn mark_failed(
    conn: &mut DbConnection,
    key: &str,
    now: UnixTime,
) -> Result<Option<i32>, DbError> {
    Ok(diesel::update(t::throttle_counters.find(key))
        .set(t::last_failure_at.eq(now))
        .returning(t::failures)
        .get_result(conn)
        .optional()?)
}

pub fn lock(conn: &mut DbConnection, key: &str, until: UnixTime) -> Result<(), DbError> {
    diesel::update(t::throttle_counters.find(key))
        .set(t::locked_until.eq(until))
        .execute(conn)?;
    Ok(())
}

pub fn reset(conn: &mut DbConnection, key: &str) -> Result<(), DbError> {
    diesel::delete(t::throttle_counters.find(key)).execute(conn)?;
    Ok(())
}

/// Drops counters nobody has failed on for a while (housekeeping).
pub fn prune(conn: &mut DbConnection, before: UnixTime) -> Result<usize, DbError> {
    Ok(diesel::delete(
        t::throttle_counters
            .filter(t::last_failure_at.lt(before))
            .filter(t::locked_until.is_null().or(t::locked_until.lt(before))),
    )
    .execute(conn)?)
}
