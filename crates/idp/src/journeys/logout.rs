//! Ending sessions: logging out (RP-initiated or on the IdP), "Uitloggen op andere apparaten",
//! and the administrator's `idp admin user logout`. The sessions go, the refresh tokens issued
//! in them are revoked, and the clients that registered a back-channel logout URI are told.

use crate::error::AppError;
use crate::oidc::backchannel;
use crate::state::IdpState;
use crate::storage::audit::{self, AuditRecord};
use crate::storage::{DbConnection, DbError, authorization, clients, sessions};

/// What ending a set of sessions did.
#[derive(Debug, Default)]
pub struct Ended {
    /// The ended sessions (their keys).
    pub sessions: Vec<String>,
    /// Back-channel logout notices queued with them.
    pub notices: usize,
}

/// Ends `session_hashes` of `user_id` inside the caller's transaction, and queues a
/// back-channel logout notice for every client that received tokens in them and registered a
/// `backchannel_logout_uri`. Call [`notify`] after the transaction committed.
pub fn end_sessions(
    conn: &mut DbConnection,
    user_id: &str,
    session_hashes: &[String],
    reason: &'static str,
    now: i64,
) -> Result<Ended, DbError> {
    let mut ended = Ended::default();
    for hash in session_hashes {
        let client_ids = authorization::clients_of_session(conn, hash)?;
        for client in clients::find_many(conn, &client_ids)? {
            if let Some(uri) = &client.backchannel_logout_uri {
                backchannel::enqueue(conn, &client.client_id, uri, user_id, hash, now)?;
                ended.notices += 1;
            }
        }
        sessions::delete(conn, hash)?;
        ended.sessions.push(hash.clone());
    }
    let revoked = authorization::revoke_for_sessions(conn, session_hashes, now)?;
    if !session_hashes.is_empty() {
        audit::record(
            conn,
            AuditRecord::success(if reason == "logout" {
                "logout"
            } else {
                "sessions_ended"
            })
            .user(user_id)
            .details(serde_json::json!({
                "reason": reason,
                "sessions": session_hashes.len(),
                "revoked_refresh_tokens": revoked,
            })),
            now,
        )?;
    }
    Ok(ended)
}

/// Wakes the back-channel worker for the notices [`end_sessions`] queued.
pub fn notify(state: &IdpState, _user_id: &str, ended: Ended) {
    if ended.notices > 0 {
        state.backchannel_wake.notify_one();
    }
}

/// Logs out one session (the browser's own).
pub async fn logout(state: &IdpState, user_id: &str, session_hash: &str) -> Result<(), AppError> {
    let now = state.now();
    let (user, hash) = (user_id.to_owned(), session_hash.to_owned());
    let ended = state
        .db
        .transaction(move |conn| end_sessions(conn, &user, &[hash], "logout", now))
        .await?;
    notify(state, user_id, ended);
    Ok(())
}
