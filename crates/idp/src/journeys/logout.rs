//! Ending sessions: logging out (RP-initiated or on the IdP), "Uitloggen op andere apparaten",
//! and the administrator's `idp admin user logout`. The sessions go, the refresh tokens issued
//! in them are revoked, and the clients that registered a back-channel logout URI are told.

use crate::error::AppError;
use crate::oidc::backchannel;
use crate::oidc::client::Client;
use crate::state::IdpState;
use crate::storage::audit::{self, AuditRecord};
use crate::storage::{DbConnection, DbError, authorization, clients, sessions};

/// What ending a set of sessions touched, for the back-channel notifications.
#[derive(Debug, Default)]
pub struct Ended {
    pub sessions: Vec<(String, Vec<Client>)>,
}

/// Ends `session_hashes` of `user_id` inside the caller's transaction. Call [`notify`] after
/// the transaction committed.
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
        let involved = clients::find_many(conn, &client_ids)?
            .into_iter()
            .map(Client::from_row)
            .collect();
        sessions::delete(conn, hash)?;
        ended.sessions.push((hash.clone(), involved));
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

/// Sends the back-channel logout tokens for what [`end_sessions`] ended.
pub fn notify(state: &IdpState, user_id: &str, ended: Ended) {
    for (hash, clients) in ended.sessions {
        backchannel::notify(state, user_id, &hash, clients);
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
