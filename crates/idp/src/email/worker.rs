//! The outbox worker: claims due mails, sends them, and reschedules failures with exponential
//! backoff. Woken at once when a mail is queued, and by a timer otherwise.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::transport::{MailTransport, SendError, build_message};
use crate::clock::SharedClock;
use crate::config::MailSettings;
use crate::crypto::Keyring;
use crate::storage::models::OutboxMail;
use crate::storage::{Db, DbError, outbox};

/// Mails are claimed one at a time, just before sending: a claim never outlives a slow batch.
const BATCH: i64 = 1;

#[derive(Clone)]
pub struct OutboxWorker {
    db: Db,
    transport: MailTransport,
    clock: SharedClock,
    settings: Arc<MailSettings>,
    keyring: Keyring,
    wake: Arc<Notify>,
}

impl OutboxWorker {
    /// `wake` is notified by whoever queues a mail, after the transaction committed.
    pub fn with_waker(
        db: Db,
        transport: MailTransport,
        clock: SharedClock,
        settings: MailSettings,
        keyring: Keyring,
        wake: Arc<Notify>,
    ) -> Self {
        Self {
            db,
            transport,
            clock,
            settings: Arc::new(settings),
            keyring,
            wake,
        }
    }

    /// Runs until the task is dropped.
    pub async fn run(self) {
        let interval = Duration::from_millis(self.settings.poll_interval_ms.max(10));
        loop {
            match self.drain().await {
                Ok(0) => {}
                Ok(_) => continue,
                Err(e) => tracing::warn!(error = %e, "outbox: database unavailable"),
            }
            let _ = tokio::time::timeout(interval, self.wake.notified()).await;
        }
    }

    /// Sends every mail that is due now; returns how many were attempted.
    pub async fn drain(&self) -> Result<usize, DbError> {
        let now = self.clock.now();
        let claim = self.settings.claim_seconds;
        let due = self
            .db
            .run(move |conn| outbox::claim_due(conn, now, claim, BATCH))
            .await?;
        let count = due.len();
        for mail in due {
            self.deliver(mail).await?;
        }
        Ok(count)
    }

    async fn deliver(&self, mail: OutboxMail) -> Result<(), DbError> {
        let result = match super::open_bodies(&self.keyring, &mail)
            .map_err(|e| SendError::Build(e.to_string()))
            .and_then(|(text, html)| {
                build_message(
                    &mail,
                    &text,
                    &html,
                    &self.settings.from,
                    &self.settings.reply_to,
                )
            }) {
            Ok(message) => self.transport.send(message).await,
            Err(e) => Err(e),
        };
        let now = self.clock.now();
        let id = mail.id.clone();
        match result {
            Ok(()) => {
                tracing::info!(mail_id = %id, kind = %mail.kind, "mail sent");
                self.db
                    .run(move |conn| outbox::mark_sent(conn, &id, now))
                    .await
            }
            Err(e) => {
                let next = if e.is_permanent() {
                    // Keep the row for the operator; retry only daily.
                    now + 86_400
                } else {
                    now + self.backoff(mail.attempts)
                };
                tracing::warn!(mail_id = %id, kind = %mail.kind, attempts = mail.attempts + 1,
                    retry_in = next - now, error = %e, "mail not sent, will retry");
                let error = e.to_string();
                self.db
                    .run(move |conn| outbox::mark_failed(conn, &id, &error, next))
                    .await
            }
        }
    }

    /// base · 2^attempts, capped.
    fn backoff(&self, attempts: i32) -> i64 {
        let exp = attempts.clamp(0, 20) as u32;
        self.settings
            .retry_base_seconds
            .max(1)
            .saturating_mul(1_i64 << exp)
            .min(self.settings.retry_max_seconds.max(1))
    }
}
