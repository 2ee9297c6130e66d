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
pub fn reserve(
    conn: &mut DbConnection,
    key: &str,
    now: UnixTime,
    window_start: UnixTime,
) -> Result<i32, DbError> {
    let live = "throttle_counters.last_failure_at >= ?";
    upsert(
        conn,
        &format!(
            "failures = CASE WHEN {live} THEN throttle_counters.failures + 1 ELSE 1 END, \
             first_failure_at = CASE WHEN {live} THEN throttle_counters.first_failure_at ELSE excluded.first_failure_at END, \
             last_failure_at = CASE WHEN {live} THEN throttle_counters.last_failure_at ELSE excluded.last_failure_at END, \
             locked_until = CASE WHEN {live} THEN throttle_counters.locked_until ELSE NULL END"
        ),
        key,
        now,
        window_start,
    )
}

/// Counts one action in a fixed window that starts at the first action counted: the count
/// restarts once `window_seconds` have passed since then, however busy the key stays. For rate
/// limits on actions that are not guesses (mails sent, authorization requests parked). Returns
/// the count including this action.
pub fn count_in_window(
    conn: &mut DbConnection,
    key: &str,
    now: UnixTime,
    window_seconds: i64,
) -> Result<i32, DbError> {
    let live = "throttle_counters.first_failure_at > ?";
    upsert(
        conn,
        &format!(
            "failures = CASE WHEN {live} THEN throttle_counters.failures + 1 ELSE 1 END, \
             first_failure_at = CASE WHEN {live} THEN throttle_counters.first_failure_at ELSE excluded.first_failure_at END, \
             last_failure_at = excluded.last_failure_at, \
             locked_until = CASE WHEN {live} THEN throttle_counters.locked_until ELSE NULL END"
        ),
        key,
        now,
        now - window_seconds,
    )
}

/// One statement that creates the counter at one or applies `assignments` to the existing
/// one, and returns its count: atomic on both backends (ON CONFLICT … DO UPDATE … RETURNING),
/// and a single round trip where an update, a restart and an insert took three. Every `?` in
/// `assignments` is bound to `window_start`.
fn upsert(
    conn: &mut DbConnection,
    assignments: &str,
    key: &str,
    now: UnixTime,
    window_start: UnixTime,
) -> Result<i32, DbError> {
    use diesel::sql_types::{BigInt, Text};

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        failures: i32,
    }

    let template = format!(
        "INSERT INTO throttle_counters (key, failures, first_failure_at, last_failure_at) \
         VALUES (?, 1, ?, ?) ON CONFLICT (key) DO UPDATE SET {assignments} RETURNING failures"
    );
    let windows = assignments.matches('?').count();
    macro_rules! run {
        ($conn:expr, $sql:expr) => {{
            let mut query = diesel::sql_query($sql)
                .bind::<Text, _>(key)
                .bind::<BigInt, _>(now)
                .bind::<BigInt, _>(now)
                .into_boxed();
            for _ in 0..windows {
                query = query.bind::<BigInt, _>(window_start);
            }
            query.get_result::<Count>($conn)?.failures
        }};
    }
    Ok(match conn {
        DbConnection::Postgres(pg) => run!(pg, numbered_placeholders(&template)),
        DbConnection::Sqlite(sqlite) => run!(sqlite, template),
    })
}

/// PostgreSQL spells its placeholders `$1`, `$2`, …; SQLite takes `?`.
fn numbered_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
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
