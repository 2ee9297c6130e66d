//! Back-Channel Logout 1.0: when a session ends, every client that received tokens in it and
//! registered a `backchannel_logout_uri` gets a signed logout token (§2.4) POSTed to it (§2.5).
//! The notice is committed with the session end (storage::logout_notices) and delivered by this
//! worker with retries and backoff; the token is signed at delivery, so it is fresh whenever
//! the relying party comes back. Each outcome is audited. Delivery goes through `outbound`: a
//! URI that resolves to a loopback, private or link-local address is never called (unless
//! `oidc.backchannel_allow_private_networks`), and such a notice is given up at once.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::Notify;

use super::claims::sid;
use crate::outbound::{OutboundClient, Outcome};
use crate::state::IdpState;
use crate::storage::audit::{self, AuditRecord};
use crate::storage::logout_notices::{self, LogoutNotice};
use crate::storage::models::new_id;
use crate::storage::{DbConnection, DbError};
use crate::telemetry::Untrusted;

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
const CLAIM_SECONDS: i64 = 60;
const RETRY_BASE_SECONDS: i64 = 2;
const RETRY_MAX_SECONDS: i64 = 3600;
/// After a day a notice is pointless: the relying party's own session limits have applied.
const GIVE_UP_AFTER_SECONDS: i64 = 86_400;

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

/// Delivers queued notices; woken when one is queued, and by a timer otherwise.
#[derive(Clone)]
pub struct BackchannelWorker {
    state: IdpState,
    http: OutboundClient,
    wake: Arc<Notify>,
}

impl BackchannelWorker {
    pub fn new(state: IdpState) -> anyhow::Result<Self> {
        let oidc = &state.settings.oidc;
        let http = OutboundClient::new(
            Duration::from_secs(oidc.backchannel_timeout_seconds),
            oidc.backchannel_allow_private_networks,
        )?;
        let wake = state.backchannel_wake.clone();
        Ok(Self { state, http, wake })
    }

    pub async fn run(self) {
        loop {
            match self.drain().await {
                Ok(0) => {}
                Ok(_) => continue,
                Err(e) => tracing::warn!(error = %e, "back-channel logout: database unavailable"),
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), self.wake.notified()).await;
        }
    }

    /// Delivers every notice that is due now; returns how many were attempted.
    pub async fn drain(&self) -> Result<usize, DbError> {
        let mut attempted = 0;
        loop {
            let now = self.state.now();
            let Some(notice) = self
                .state
                .db
                .run(move |conn| logout_notices::claim_due(conn, now, CLAIM_SECONDS))
                .await?
            else {
                return Ok(attempted);
            };
            attempted += 1;
            self.deliver(notice).await?;
        }
    }

    async fn deliver(&self, notice: LogoutNotice) -> Result<(), DbError> {
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
        // Err((why, retry)): not delivered; `retry` false when trying again cannot help.
        let outcome = match state.keys.sign(Some("logout+jwt"), &token) {
            Ok(jwt) => match self
                .http
                .post_form(&notice.uri, &[("logout_token", jwt.as_str())])
                .await
            {
                Outcome::Answered(status, _) if status.is_success() => Ok(()),
                Outcome::Answered(status, body) => Err((
                    format!("answered {status}: {}", Untrusted(body.trim())),
                    true,
                )),
                Outcome::Refused(why) => Err((format!("not called: {why}"), false)),
                Outcome::Failed(e) => Err((Untrusted(&e).to_string(), true)),
            },
            Err(e) => Err((format!("signing failed: {e}"), true)),
        };
        let (id, client_id, user_id) = (
            notice.id.clone(),
            notice.client_id.clone(),
            notice.user_id.clone(),
        );
        let attempts = notice.attempts + 1;
        let give_up =
            now - notice.created_at >= GIVE_UP_AFTER_SECONDS || matches!(outcome, Err((_, false)));
        let outcome = outcome.map_err(|(why, _)| why);
        // The notice's new state and its audit event together.
        state
            .db
            .transaction(move |conn| {
                let mut record = match &outcome {
                    Ok(()) => {
                        logout_notices::mark_delivered(conn, &id, now)?;
                        AuditRecord::success("backchannel_logout")
                            .details(serde_json::json!({ "attempts": attempts }))
                    }
                    Err(error) => {
                        let delay = RETRY_BASE_SECONDS.saturating_mul(1 << attempts.clamp(0, 20)).min(RETRY_MAX_SECONDS);
                        logout_notices::mark_failed(conn, &id, error, now + delay, give_up.then_some(now))?;
                        tracing::warn!(client_id = %client_id, attempts, error = %error, "back-channel logout not delivered");
                        if !give_up {
                            return Ok(());
                        }
                        AuditRecord::failure("backchannel_logout")
                            .details(serde_json::json!({ "attempts": attempts, "error": error }))
                    }
                };
                record = record.user(&user_id);
                record.client_id = Some(client_id);
                audit::record(conn, record, now)
            })
            .await
    }
}
