//! Back-Channel Logout 1.0: when a session ends, every client that received tokens in it and
//! registered a `backchannel_logout_uri` gets a signed logout token (§2.4) POSTed to it (§2.5).
//! Delivery happens in the background with a few retries; each result is audited.

use std::time::Duration;

use serde::Serialize;

use super::claims::sid;
use super::client::Client;
use crate::state::IdpState;
use crate::storage::audit::{self, AuditRecord};

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
const ATTEMPTS: u32 = 3;

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

/// Notifies `clients` that the session `session_id_hash` of `user_id` ended.
pub fn notify(state: &IdpState, user_id: &str, session_id_hash: &str, clients: Vec<Client>) {
    let targets: Vec<(Client, String)> = clients
        .into_iter()
        .filter_map(|c| c.backchannel_logout_uri.clone().map(|uri| (c, uri)))
        .collect();
    if targets.is_empty() {
        return;
    }
    let state = state.clone();
    let user_id = user_id.to_owned();
    let session_sid = sid(&state, session_id_hash);
    state.background.clone().spawn(async move {
        let http = match reqwest::Client::builder()
            .timeout(Duration::from_secs(
                state.settings.oidc.backchannel_timeout_seconds,
            ))
            .redirect(reqwest::redirect::Policy::none())
            .build()
        {
            Ok(http) => http,
            Err(e) => {
                tracing::error!(error = %e, "back-channel logout: no HTTP client");
                return;
            }
        };
        for (client, uri) in targets {
            let now = state.now();
            let token = LogoutToken {
                iss: state.settings.issuer.clone(),
                aud: client.client_id.clone(),
                iat: now,
                exp: now + 120,
                jti: uuid::Uuid::new_v4().to_string(),
                sub: user_id.clone(),
                sid: session_sid.clone(),
                events: serde_json::json!({ EVENT: {} }),
            };
            let Ok(jwt) = state.keys.sign(Some("logout+jwt"), &token) else {
                continue;
            };
            let mut delivered = false;
            for attempt in 0..ATTEMPTS {
                if attempt > 0 {
                    tokio::time::sleep(Duration::from_millis(500 * 2u64.pow(attempt))).await;
                }
                match http
                    .post(&uri)
                    .form(&[("logout_token", jwt.as_str())])
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => {
                        delivered = true;
                        break;
                    }
                    Ok(r) => {
                        tracing::warn!(client_id = %client.client_id, status = %r.status(), "back-channel logout refused")
                    }
                    Err(e) => {
                        tracing::warn!(client_id = %client.client_id, error = %e, "back-channel logout failed")
                    }
                }
            }
            let (client_id, user) = (client.client_id.clone(), user_id.clone());
            let _ = state
                .db
                .run(move |conn| {
                    let base = if delivered {
                        AuditRecord::success("backchannel_logout")
                    } else {
                        AuditRecord::failure("backchannel_logout")
                    };
                    let mut record = base.user(&user);
                    record.client_id = Some(client_id);
                    audit::record(conn, record, now)
                })
                .await;
        }
    });
}
