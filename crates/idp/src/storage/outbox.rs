//! The mail outbox table, worked by `crate::outbox` (claims are conditional updates, so several
//! IdP nodes can run the worker against one database and each mail goes out once).

use diesel::prelude::*;

use super::models::OutboxMail;
use super::schema::mail_outbox::dsl as m;
use super::{DbConnection, DbError};

pub fn enqueue(conn: &mut DbConnection, mail: &OutboxMail) -> Result<(), DbError> {
    diesel::insert_into(m::mail_outbox)
        .values(mail)
        .execute(conn)?;
    Ok(())
}

super::queue::queue_table!(mail_outbox, OutboxMail, delivered: sent_at);

/// The bodies carried one-time links: once the mail is sent they are not kept.
pub fn blank_bodies(conn: &mut DbConnection, id: &str) -> Result<(), DbError> {
    diesel::update(m::mail_outbox.find(id))
        .set((m::body_text.eq(""), m::body_html.eq("")))
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
        .filter(m::given_up_at.is_null())
        .count()
        .get_result(conn)?)
}
