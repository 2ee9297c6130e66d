//! One mechanism for work a transaction commits and a worker does afterwards: the mail outbox
//! (`email`) and the back-channel logout notices (`oidc::backchannel`). A row is committed with
//! the change that causes it, so a crash or an outage loses nothing; every node's worker claims
//! due rows with a lease (`storage::queue`), delivers them, and marks each delivered, or
//! reschedules it with exponential backoff, or gives it up when its policy says so — the new
//! state and the queue's own record of it (an audit event, blanked bodies) in one transaction.
//! Woken at once when a transaction queued work, and by a timer otherwise.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::clock::{SharedClock, UnixTime};
use crate::config::{MailSettings, OidcSettings};
use crate::storage::{Db, DbConnection, DbError};

/// How a queue is worked (from the settings).
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// How long a node owns a row it is delivering.
    pub lease_seconds: i64,
    /// Backoff after a failure: base · 2^attempts, at most max.
    pub retry_base_seconds: i64,
    pub retry_max_seconds: i64,
    /// A row failing this long after it was queued is given up; `None`: never.
    pub give_up_after_seconds: Option<i64>,
    /// How often the worker looks for due rows when nobody wakes it.
    pub poll_interval: Duration,
    /// How many deliveries are under way side by side: one stuck delivery holds up no other.
    pub concurrency: usize,
    /// The deadline of one whole delivery; past it the attempt is a failure, retried later.
    pub deadline: Duration,
}

impl Policy {
    /// The mail outbox's (`mail.*`): a mail is never given up.
    pub fn mail(mail: &MailSettings) -> Self {
        let deadline = mail.send_timeout_seconds.max(1);
        Self {
            // A node owns a mail at least as long as its delivery may take.
            lease_seconds: mail
                .claim_seconds
                .max(i64::try_from(deadline).unwrap_or(i64::MAX) + 5),
            retry_base_seconds: mail.retry_base_seconds,
            retry_max_seconds: mail.retry_max_seconds,
            give_up_after_seconds: None,
            poll_interval: Duration::from_millis(mail.poll_interval_ms.max(10)),
            concurrency: mail.concurrency.max(1),
            deadline: Duration::from_secs(deadline),
        }
    }

    /// The back-channel logout notices' (`oidc.backchannel_*`).
    pub fn backchannel(oidc: &OidcSettings) -> Self {
        Self {
            lease_seconds: oidc.backchannel_claim_seconds.max(1),
            retry_base_seconds: oidc.backchannel_retry_base_seconds,
            retry_max_seconds: oidc.backchannel_retry_max_seconds,
            give_up_after_seconds: Some(oidc.backchannel_give_up_hours.saturating_mul(3600)),
            poll_interval: Duration::from_secs(1),
            concurrency: 8,
            // The HTTP client has its own timeout; this bounds the rest of the attempt.
            deadline: Duration::from_secs(oidc.backchannel_timeout_seconds.saturating_add(2)),
        }
    }

    /// Seconds until the next attempt after `attempts` failed ones.
    pub fn backoff(&self, attempts: i32) -> i64 {
        self.retry_base_seconds
            .max(1)
            .saturating_mul(1_i64 << attempts.clamp(0, 20))
            .min(self.retry_max_seconds.max(1))
    }
}

/// What one delivery attempt came to.
#[derive(Debug, Clone)]
pub enum Attempt {
    Delivered,
    /// Failed; tried again after the backoff.
    Failed(String),
    /// Refused for good by the other side (a permanent SMTP rejection): tried again only after
    /// this many seconds, the row kept for the operator.
    Rejected {
        error: String,
        retry_after: i64,
    },
    /// Must not be tried again (the target is not allowed): given up now.
    Refused(String),
}

/// An item's state after an attempt, as the queue records it.
#[derive(Debug, Clone)]
pub enum Settled<'a> {
    Delivered {
        attempts: i32,
    },
    Retrying {
        error: &'a str,
        attempts: i32,
        next: UnixTime,
    },
    GivenUp {
        error: &'a str,
        attempts: i32,
    },
}

/// A table of queued work (`storage::queue` writes the queries).
pub trait Queue: Send + Sync + 'static {
    type Item: Send + Sync + 'static;
    fn claim(
        conn: &mut DbConnection,
        now: UnixTime,
        lease: i64,
    ) -> Result<Vec<Self::Item>, DbError>;
    fn id(item: &Self::Item) -> &str;
    fn attempts(item: &Self::Item) -> i32;
    fn created_at(item: &Self::Item) -> UnixTime;
    fn mark_delivered(conn: &mut DbConnection, id: &str, now: UnixTime) -> Result<(), DbError>;
    fn mark_failed(
        conn: &mut DbConnection,
        id: &str,
        error: &str,
        next: UnixTime,
        given_up: Option<UnixTime>,
    ) -> Result<(), DbError>;
}

/// Does one queue's work.
pub trait Delivery: Clone + Send + Sync + 'static {
    type Queue: Queue;
    /// The queue's name in the log.
    const NAME: &'static str;

    fn deliver(&self, item: &<Self::Queue as Queue>::Item) -> impl Future<Output = Attempt> + Send;

    /// Written with the item's new state, in its transaction.
    fn record(
        &self,
        conn: &mut DbConnection,
        item: &<Self::Queue as Queue>::Item,
        settled: &Settled<'_>,
        now: UnixTime,
    ) -> Result<(), DbError>;
}

/// Works one queue on this node.
#[derive(Clone)]
pub struct Worker<D: Delivery> {
    db: Db,
    clock: SharedClock,
    policy: Policy,
    wake: Arc<Notify>,
    delivery: D,
}

impl<D: Delivery> Worker<D> {
    /// `wake` is notified by whoever queues work, after the transaction committed.
    pub fn new(db: Db, clock: SharedClock, policy: Policy, wake: Arc<Notify>, delivery: D) -> Self {
        Self {
            db,
            clock,
            policy,
            wake,
            delivery,
        }
    }

    /// Runs until the task is dropped.
    pub async fn run(self) {
        loop {
            match self.drain().await {
                Ok(0) => {}
                Ok(_) => continue,
                Err(e) => {
                    tracing::warn!(queue = D::NAME, error = %e, "outbox: database unavailable")
                }
            }
            let _ = tokio::time::timeout(self.policy.poll_interval, self.wake.notified()).await;
        }
    }

    /// Delivers everything that is due now, up to `policy.concurrency` side by side, each
    /// claimed on its own just before it starts (a claim never waits behind another delivery)
    /// and bounded by `policy.deadline`; returns how many were attempted.
    pub async fn drain(&self) -> Result<usize, DbError> {
        let mut attempted = 0;
        let mut running = tokio::task::JoinSet::new();
        let mut failure = None;
        let mut exhausted = false;
        loop {
            while !exhausted && failure.is_none() && running.len() < self.policy.concurrency {
                let now = self.clock.now();
                let lease = self.policy.lease_seconds;
                match self
                    .db
                    .run(move |conn| D::Queue::claim(conn, now, lease))
                    .await
                {
                    Ok(claimed) if claimed.is_empty() => exhausted = true,
                    Ok(claimed) => {
                        for item in claimed {
                            attempted += 1;
                            let worker = self.clone();
                            running.spawn(async move { worker.attempt(item).await });
                        }
                    }
                    Err(e) => failure = Some(e),
                }
            }
            match running.join_next().await {
                None => break,
                Some(Ok(Ok(()))) => {}
                Some(Ok(Err(e))) => failure = failure.or(Some(e)),
                Some(Err(e)) => {
                    tracing::error!(queue = D::NAME, error = %e, "outbox: a delivery task failed")
                }
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(attempted),
        }
    }

    /// One delivery within the deadline, then its outcome recorded. A delivery that overran
    /// is dropped (its connection closed) and retried after the backoff.
    async fn attempt(&self, item: <D::Queue as Queue>::Item) -> Result<(), DbError> {
        let deadline = self.policy.deadline;
        let attempt = match tokio::time::timeout(deadline, self.delivery.deliver(&item)).await {
            Ok(attempt) => attempt,
            Err(_) => Attempt::Failed(format!(
                "no answer within {} s; the delivery was abandoned",
                deadline.as_secs()
            )),
        };
        self.settle(item, attempt).await
    }

    async fn settle(
        &self,
        item: <D::Queue as Queue>::Item,
        attempt: Attempt,
    ) -> Result<(), DbError> {
        let now = self.clock.now();
        let attempts = D::Queue::attempts(&item) + 1;
        let expired = self
            .policy
            .give_up_after_seconds
            .is_some_and(|limit| now - D::Queue::created_at(&item) >= limit);
        let (error, next, give_up) = match attempt {
            Attempt::Delivered => (None, now, false),
            Attempt::Failed(error) => {
                let next = now + self.policy.backoff(attempts - 1);
                (Some(error), next, expired)
            }
            Attempt::Rejected { error, retry_after } => (Some(error), now + retry_after, expired),
            Attempt::Refused(error) => (Some(error), now, true),
        };
        let id = D::Queue::id(&item).to_owned();
        if error.is_some() {
            crate::metrics::delivery_failed(D::NAME);
        }
        match &error {
            None => tracing::info!(queue = D::NAME, id = %id, attempts, "delivered"),
            Some(error) => tracing::warn!(queue = D::NAME, id = %id, attempts, given_up = give_up,
                retry_in = next - now, error = %error, "not delivered"),
        }
        let delivery = self.delivery.clone();
        self.db
            .transaction(move |conn| {
                let settled = match &error {
                    None => {
                        D::Queue::mark_delivered(conn, &id, now)?;
                        Settled::Delivered { attempts }
                    }
                    Some(error) if give_up => {
                        D::Queue::mark_failed(conn, &id, error, next, Some(now))?;
                        Settled::GivenUp { error, attempts }
                    }
                    Some(error) => {
                        D::Queue::mark_failed(conn, &id, error, next, None)?;
                        Settled::Retrying {
                            error,
                            attempts,
                            next,
                        }
                    }
                };
                delivery.record(conn, &item, &settled, now)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let policy = Policy {
            lease_seconds: 60,
            retry_base_seconds: 5,
            retry_max_seconds: 900,
            give_up_after_seconds: None,
            poll_interval: Duration::from_secs(1),
            concurrency: 1,
            deadline: Duration::from_secs(1),
        };
        assert_eq!(
            (0..10).map(|a| policy.backoff(a)).collect::<Vec<_>>(),
            [5, 10, 20, 40, 80, 160, 320, 640, 900, 900]
        );
    }
}
