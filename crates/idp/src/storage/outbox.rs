//! The mail outbox. Rows are claimed with a conditional update (not a backend-specific lock), so
//! several IdP nodes can run the worker against one database and each mail goes out once.

use diesel::prelude::*;

use super::models::OutboxMail;
use super::schema::mail_outbox::dsl as m;
use super::{DbConnection, DbError};
use crate::clock::UnixTime;

pub fn enqueue(conn: &mut DbConnection, mail: &OutboxMail) -> Result<(), DbError> {
    diesel::insert_into(m::mail_outbox)
        .values(mail)
        .execute(conn)?;
    Ok(())
}

/// Claims up to `limit` due mails until `now + claim_seconds`. A claim left by a crashed node
/// expires, and another node picks the mail up.
pub fn claim_due(
    conn: &mut DbConnection,
    now: UnixTime,
    claim_seconds: i64,
    limit: i64,
) -> Result<Vec<OutboxMail>, DbError> {
    let candidates: Vec<String> = m::mail_outbox
        .filter(m::sent_at.is_null())
        .filter(m::next_attempt_at.le(now))
        .filter(m::claimed_until.is_null().or(m::claimed_until.lt(now)))
        .order(m::next_attempt_at.asc())
        .limit(limit)
        .select(m::id)
        .load(conn)?;
    let mut claimed = Vec::with_capacity(candidates.len());
    for id in candidates {
        let won = diesel::update(
            m::mail_outbox
                .find(&id)
                .filter(m::sent_at.is_null())
                .filter(m::claimed_until.is_null().or(m::claimed_until.lt(now))),
        )
        .set(m::claimed_until.eq(now + claim_seconds))
        .execute(conn)?;
        if won == 1
            && let Some(mail) = m::mail_outbox
                .find(&id)
                .select(OutboxMail::as_select())
                .first(conn)
                .optional()?
        {
            claimed.push(mail);
        }
    }
    Ok(claimed)
}

pub fn mark_sent(conn: &mut DbConnection, id: &str, now: UnixTime) -> Result<(), DbError> {
    diesel::update(m::mail_outbox.find(id))
        .set((
            m::sent_at.eq(now),
            // The bodies carried one-time links: once sent they are not kept.
            m::body_text.eq(""),
            m::body_html.eq(""),
            m::claimed_until.eq(None::<i64>),
            m::attempts.eq(m::attempts + 1),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn mark_failed(
    conn: &mut DbConnection,
    id: &str,
    error: &str,
    next_attempt_at: UnixTime,
) -> Result<(), DbError> {
    diesel::update(m::mail_outbox.find(id))
        .set((
            m::attempts.eq(m::attempts + 1),
            m::last_error.eq(error),
            m::next_attempt_at.eq(next_attempt_at),
            m::claimed_until.eq(None::<i64>),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<OutboxMail>, DbError> {
    Ok(m::mail_outbox
        .find(id)
        .select(OutboxMail::as_select())
        .first(conn)
        .optional()?)
}

pub fn list_for_recipient(
    conn: &mut DbConnection,
    recipient: &str,
) -> Result<Vec<OutboxMail>, DbError> {
    Ok(m::mail_outbox
        .filter(m::recipient.eq(recipient))
        .order(m::created_at.asc())
        .select(OutboxMail::as_select())
        .load(conn)?)
}

/// Mails waiting to be sent: for the readiness report and the operator.
pub fn pending_count(conn: &mut DbConnection) -> Result<i64, DbError> {
    Ok(m::mail_outbox
        .filter(m::sent_at.is_null())
        .count()
        .get_result(conn)?)
}
