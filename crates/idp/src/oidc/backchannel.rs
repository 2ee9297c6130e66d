//! Back-Channel Logout 1.0: when a session ends, every client that received tokens in it and
//! registered a `backchannel_logout_uri` gets a signed logout token (§2.4) POSTed to it (§2.5).
//! The notice is committed with the session end (storage::logout_notices) and delivered through
//! `crate::outbox` with retries and backoff (`oidc.backchannel_*`); the token is signed at
//! delivery, so it is fresh whenever the relying party comes back. Each outcome is audited. Delivery goes through `outbound`: a
//! URI that resolves to a loopback, private or link-local address is never called (unless
//! `oidc.backchannel_allow_private_networks`), and such a notice is given up at once.

use std::time::Duration;

use serde::Serialize;

use super::claims::sid;
use crate::outbound::{OutboundClient, Outcome};
use crate::outbox::{Attempt, Delivery, Queue, Settled, Worker};
use crate::state::IdpState;
use crate::storage::audit::{self, AuditRecord};
use crate::storage::logout_notices::{self, LogoutNotice};
use crate::storage::models::new_id;
use crate::storage::{DbConnection, DbError};
use crate::telemetry::Untrusted;

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

#[derive(Debug, Serialize)]
struct LogoutToken {
    iss: String,
    aud: String,
    iat: i64,
    exp: i64,
    jti: String,
    sub: String,
    sid: String,
    events: serde_json::Value,
}

/// Queues a notice for `client_id` at `uri` in the caller's transaction.
pub fn enqueue(
    conn: &mut DbConnection,
    client_id: &str,
    uri: &str,
    user_id: &str,
    session_id_hash: &str,
    now: i64,
) -> Result<(), DbError> {
    logout_notices::enqueue(
        conn,
        &LogoutNotice {
            id: new_id(),
            client_id: client_id.to_owned(),
            uri: uri.to_owned(),
            user_id: user_id.to_owned(),
            session_id_hash: session_id_hash.to_owned(),
            created_at: now,
            attempts: 0,
            next_attempt_at: now,
            claimed_until: None,
            delivered_at: None,
            given_up_at: None,
            last_error: None,
        },
    )
}

/// The back-channel logout notices table.
pub struct LogoutQueue;

impl Queue for LogoutQueue {
    type Item = LogoutNotice;

    fn claim(conn: &mut DbConnection, now: i64, lease: i64) -> Result<Vec<LogoutNotice>, DbError> {
        logout_notices::claim_due(conn, now, lease, 1)
    }

    fn id(item: &LogoutNotice) -> &str {
        &item.id
    }

    fn attempts(item: &LogoutNotice) -> i32 {
        item.attempts
    }

    fn created_at(item: &LogoutNotice) -> i64 {
        item.created_at
    }

    fn mark_delivered(conn: &mut DbConnection, id: &str, now: i64) -> Result<(), DbError> {
        logout_notices::mark_delivered(conn, id, now)
    }

    fn mark_failed(
        conn: &mut DbConnection,
        id: &str,
        error: &str,
        next: i64,
        given_up: Option<i64>,
    ) -> Result<(), DbError> {
        logout_notices::mark_failed(conn, id, error, next, given_up)
    }
}

/// Signs a logout token at delivery and POSTs it (through `outbound`).
#[derive(Clone)]
pub struct LogoutDelivery {
    state: IdpState,
    http: OutboundClient,
}

/// This node's back-channel logout worker.
pub fn worker(state: &IdpState) -> anyhow::Result<Worker<LogoutDelivery>> {
    let oidc = &state.settings.oidc;
    let http = OutboundClient::new(
        Duration::from_secs(oidc.backchannel_timeout_seconds),
        oidc.backchannel_allow_private_networks,
    )?;
    Ok(Worker::new(
        state.db.clone(),
        state.clock.clone(),
        crate::outbox::Policy::backchannel(oidc),
        state.backchannel_wake.clone(),
        LogoutDelivery {
            state: state.clone(),
            http,
        },
    ))
}

impl Delivery for LogoutDelivery {
    type Queue = LogoutQueue;
    const NAME: &'static str = "backchannel_logout";

    async fn deliver(&self, notice: &LogoutNotice) -> Attempt {
        let state = &self.state;
        let now = state.now();
        let token = LogoutToken {
            iss: state.settings.issuer.clone(),
            aud: notice.client_id.clone(),
            iat: now,
            exp: now + 120,
            jti: uuid::Uuid::new_v4().to_string(),
            sub: notice.user_id.clone(),
            sid: sid(state, &notice.session_id_hash),
            events: serde_json::json!({ EVENT: {} }),
        };
        let jwt = match state.keys.sign(Some("logout+jwt"), &token) {
            Ok(jwt) => jwt,
            Err(e) => return Attempt::Failed(format!("signing failed: {e}")),
        };
        match self
            .http
            .post_form(&notice.uri, &[("logout_token", jwt.as_str())])
            .await
        {
            Outcome::Answered(status, _) if status.is_success() => Attempt::Delivered,
            Outcome::Answered(status, body) => {
                Attempt::Failed(format!("answered {status}: {}", Untrusted(body.trim())))
            }
            Outcome::Refused(why) => Attempt::Refused(format!("not called: {why}")),
            Outcome::Failed(e) => Attempt::Failed(Untrusted(&e).to_string()),
        }
    }

    /// Every delivery, and every notice given up, is audited.
    fn record(
        &self,
        conn: &mut DbConnection,
        notice: &LogoutNotice,
        settled: &Settled<'_>,
        now: i64,
    ) -> Result<(), DbError> {
        let mut record = match settled {
            Settled::Delivered { attempts } => AuditRecord::success("backchannel_logout")
                .details(serde_json::json!({ "attempts": attempts })),
            Settled::GivenUp { error, attempts } => AuditRecord::failure("backchannel_logout")
                .details(serde_json::json!({ "attempts": attempts, "error": error })),
            Settled::Retrying { .. } => return Ok(()),
        };
        record = record.user(&notice.user_id);
        record.client_id = Some(notice.client_id.clone());
        audit::record(conn, record, now)
    }
}
