//! The queries of an outbox table, written once (`crate::outbox` works them): claiming due rows
//! with a conditional update — a lease, so several nodes can work one table and a crashed
//! node's claim runs out —, marking a row delivered, and rescheduling or giving up a failure.
//! Every outbox table has `id`, `attempts`, `next_attempt_at`, `claimed_until`, `given_up_at`,
//! `last_error` and a delivered-at column named by the table.

macro_rules! queue_table {
    ($table:ident, $row:ty, delivered: $delivered:ident) => {
        /// Claims up to `limit` due rows until `now + lease_seconds`.
        pub fn claim_due(
            conn: &mut $crate::storage::DbConnection,
            now: $crate::clock::UnixTime,
            lease_seconds: i64,
            limit: i64,
        ) -> Result<Vec<$row>, $crate::storage::DbError> {
            use diesel::prelude::*;
            use $crate::storage::schema::$table::dsl as q;
            let open = || {
                q::$table
                    .filter(q::$delivered.is_null())
                    .filter(q::given_up_at.is_null())
                    .filter(q::claimed_until.is_null().or(q::claimed_until.lt(now)))
            };
            let candidates: Vec<String> = open()
                .filter(q::next_attempt_at.le(now))
                .order(q::next_attempt_at.asc())
                .limit(limit)
                .select(q::id)
                .load(conn)?;
            let mut claimed = Vec::with_capacity(candidates.len());
            for id in candidates {
                let won = diesel::update(open().filter(q::id.eq(&id)))
                    .set(q::claimed_until.eq(now + lease_seconds))
                    .execute(conn)?;
                if won == 1
                    && let Some(row) = q::$table
                        .find(&id)
                        .select(<$row>::as_select())
                        .first(conn)
                        .optional()?
                {
                    claimed.push(row);
                }
            }
            Ok(claimed)
        }

        pub fn mark_delivered(
            conn: &mut $crate::storage::DbConnection,
            id: &str,
            now: $crate::clock::UnixTime,
        ) -> Result<(), $crate::storage::DbError> {
            use diesel::prelude::*;
            use $crate::storage::schema::$table::dsl as q;
            diesel::update(q::$table.find(id))
                .set((
                    q::$delivered.eq(now),
                    q::claimed_until.eq(None::<i64>),
                    q::attempts.eq(q::attempts + 1),
                ))
                .execute(conn)?;
            Ok(())
        }

        /// A failed attempt: tried again at `next`, or given up at `given_up`.
        pub fn mark_failed(
            conn: &mut $crate::storage::DbConnection,
            id: &str,
            error: &str,
            next: $crate::clock::UnixTime,
            given_up: Option<$crate::clock::UnixTime>,
        ) -> Result<(), $crate::storage::DbError> {
            use diesel::prelude::*;
            use $crate::storage::schema::$table::dsl as q;
            diesel::update(q::$table.find(id))
                .set((
                    q::attempts.eq(q::attempts + 1),
                    q::last_error.eq(error),
                    q::next_attempt_at.eq(next),
                    q::given_up_at.eq(given_up),
                    q::claimed_until.eq(None::<i64>),
                ))
                .execute(conn)?;
            Ok(())
        }
    };
}

pub(crate) use queue_table;
