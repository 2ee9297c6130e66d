//! Delivering the mail outbox (worked by `crate::outbox`): each claimed mail is opened, built
//! and handed to the transport; once sent its bodies are blanked. A permanent rejection is
//! retried only daily and the row kept for the operator; other failures back off.

use std::sync::Arc;

use super::transport::{MailTransport, build_message};
use crate::clock::UnixTime;
use crate::config::MailSettings;
use crate::crypto::Keyring;
use crate::outbox::{Attempt, Delivery, Queue, Settled};
use crate::storage::models::OutboxMail;
use crate::storage::{DbConnection, DbError, outbox};

/// The mail outbox table.
pub struct MailQueue;

impl Queue for MailQueue {
    type Item = OutboxMail;

    fn claim(
        conn: &mut DbConnection,
        now: UnixTime,
        lease: i64,
    ) -> Result<Vec<OutboxMail>, DbError> {
        outbox::claim_due(conn, now, lease, 1)
    }

    fn id(item: &OutboxMail) -> &str {
        &item.id
    }

    fn attempts(item: &OutboxMail) -> i32 {
        item.attempts
    }

    fn created_at(item: &OutboxMail) -> UnixTime {
        item.created_at
    }

    fn mark_delivered(conn: &mut DbConnection, id: &str, now: UnixTime) -> Result<(), DbError> {
        outbox::mark_delivered(conn, id, now)
    }

    fn mark_failed(
        conn: &mut DbConnection,
        id: &str,
        error: &str,
        next: UnixTime,
        given_up: Option<UnixTime>,
    ) -> Result<(), DbError> {
        outbox::mark_failed(conn, id, error, next, given_up)
    }
}

/// How long a permanently rejected mail waits before it is tried again.
const REJECTED_RETRY_SECONDS: i64 = 86_400;

/// Sends mail through the configured transport.
#[derive(Clone)]
pub struct MailDelivery {
    transport: MailTransport,
    settings: Arc<MailSettings>,
    keyring: Keyring,
}

impl MailDelivery {
    pub fn new(transport: MailTransport, settings: MailSettings, keyring: Keyring) -> Self {
        Self {
            transport,
            settings: Arc::new(settings),
            keyring,
        }
    }
}

impl Delivery for MailDelivery {
    type Queue = MailQueue;
    const NAME: &'static str = "mail";

    async fn deliver(&self, mail: &OutboxMail) -> Attempt {
        let built = super::open_bodies(&self.keyring, mail)
            .map_err(|e| super::transport::SendError::Build(e.to_string()))
            .and_then(|(text, html)| {
                build_message(
                    mail,
                    &text,
                    &html,
                    &self.settings.from,
                    &self.settings.reply_to,
                )
            });
        let sent = match built {
            Ok(message) => self.transport.send(message).await,
            Err(e) => Err(e),
        };
        match sent {
            Ok(()) => Attempt::Delivered,
            Err(e) if e.is_permanent() => Attempt::Rejected {
                error: e.to_string(),
                retry_after: REJECTED_RETRY_SECONDS,
            },
            Err(e) => Attempt::Failed(e.to_string()),
        }
    }

    fn record(
        &self,
        conn: &mut DbConnection,
        mail: &OutboxMail,
        settled: &Settled<'_>,
        _now: UnixTime,
    ) -> Result<(), DbError> {
        if let Settled::Delivered { .. } = settled {
            outbox::blank_bodies(conn, &mail.id)?;
        }
        Ok(())
    }
}
