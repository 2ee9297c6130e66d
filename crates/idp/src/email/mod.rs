//! Mail: rendering from tera templates, the transactional outbox, and the worker that hands
//! queued mails to SMTP (or to .eml files, the embedded default) with retries and backoff.

pub mod render;
pub mod transport;
pub mod worker;

pub use render::{MailRenderer, RenderedMail};
pub use transport::MailTransport;
pub use worker::OutboxWorker;

use crate::clock::UnixTime;
use crate::domain::Email;
use crate::storage::models::{OutboxMail, new_id};
use crate::storage::{DbConnection, DbError, outbox};

/// Queues a rendered mail in the caller's transaction: it is sent only if that transaction
/// commits, and it is never lost once it has.
pub fn enqueue(
    conn: &mut DbConnection,
    kind: &str,
    to: &Email,
    mail: RenderedMail,
    now: UnixTime,
) -> Result<String, DbError> {
    let id = new_id();
    outbox::enqueue(
        conn,
        &OutboxMail {
            id: id.clone(),
            kind: kind.to_owned(),
            recipient: to.as_str().to_owned(),
            subject: mail.subject,
            body_text: mail.text,
            body_html: mail.html,
            created_at: now,
            attempts: 0,
            next_attempt_at: now,
            claimed_until: None,
            sent_at: None,
            last_error: None,
        },
    )?;
    Ok(id)
}
