//! Failure counters. Every change is one atomic statement, so N concurrent failures count N
//! (a read-modify-write here is how lockouts get bypassed).

use std::sync::LazyLock;

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
    static RESERVE: LazyLock<Statement> =
        LazyLock::new(|| Statement::new("throttle_counters.last_failure_at >= ?", false));
    RESERVE.run(conn, key, now, window_start)
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
    static COUNT: LazyLock<Statement> =
        LazyLock::new(|| Statement::new("throttle_counters.first_failure_at > ?", true));
    COUNT.run(conn, key, now, now - window_seconds)
}

/// One statement that creates the counter at one, or adds one to it while `live` (the counter's
/// window, `?` bound to its start) holds and starts it again at one otherwise, and returns its
/// count: atomic on both backends (ON CONFLICT … DO UPDATE … RETURNING), and a single round
/// trip where an update, a restart and an insert took three. Written once per backend, when
/// first used.
struct Statement {
    sqlite: String,
    postgres: String,
    windows: usize,
}

impl Statement {
    fn new(live: &str, touches_last_failure: bool) -> Self {
        let kept = |column: &str| {
            format!("CASE WHEN {live} THEN throttle_counters.{column} ELSE excluded.{column} END")
        };
        let last_failure = if touches_last_failure {
            "excluded.last_failure_at".to_owned()
        } else {
            kept("last_failure_at")
        };
        let sqlite = format!(
            "INSERT INTO throttle_counters (key, failures, first_failure_at, last_failure_at) \
             VALUES (?, 1, ?, ?) ON CONFLICT (key) DO UPDATE SET \
             failures = CASE WHEN {live} THEN throttle_counters.failures + 1 ELSE 1 END, \
             first_failure_at = {}, last_failure_at = {last_failure}, \
             locked_until = CASE WHEN {live} THEN throttle_counters.locked_until ELSE NULL END \
             RETURNING failures",
            kept("first_failure_at"),
        );
        Self {
            postgres: numbered_placeholders(&sqlite),
            windows: sqlite.matches('?').count() - 3,
            sqlite,
        }
    }

    fn run(
        &self,
        conn: &mut DbConnection,
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

        macro_rules! run {
            ($conn:expr, $sql:expr) => {{
                let mut query = diesel::sql_query($sql.as_str())
                    .bind::<Text, _>(key)
                    .bind::<BigInt, _>(now)
                    .bind::<BigInt, _>(now)
                    .into_boxed();
                for _ in 0..self.windows {
                    query = query.bind::<BigInt, _>(window_start);
                }
                query.get_result::<Count>($conn)?.failures
            }};
        }
        Ok(match conn {
            DbConnection::Postgres(pg) => run!(pg, self.postgres),
            DbConnection::Sqlite(sqlite) => run!(sqlite, self.sqlite),
        })
    }
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
