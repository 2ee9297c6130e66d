//! Ending sessions: logging out (RP-initiated or on the IdP), "Uitloggen op andere apparaten",
//! and the administrator's `idp admin user logout`. The sessions go, the refresh tokens issued
//! in them are revoked, and the clients that registered a back-channel logout URI are told.

use crate::error::Fault;
use crate::oidc::backchannel;
use crate::state::IdpState;
use crate::storage::audit::{self, AuditRecord};
use crate::storage::{DbConnection, DbError, authorization, clients, sessions, users};

/// What ending a set of sessions did.
#[derive(Debug, Default)]
pub struct Ended {
    /// The ended sessions (their keys).
    pub sessions: Vec<String>,
    /// Back-channel logout notices queued with them.
    pub notices: usize,
}

/// Why and when sessions end, and how long access tokens issued in them may still be live.
#[derive(Debug, Clone, Copy)]
pub struct Ending {
    pub reason: &'static str,
    pub now: i64,
    access_token_seconds: i64,
}

impl Ending {
    pub fn at(state: &IdpState, reason: &'static str, now: i64) -> Self {
        let tokens = &state.settings.tokens;
        Self {
            reason,
            now,
            // A code's token is minted up to a code lifetime after the code.
            access_token_seconds: tokens.access_token_seconds + tokens.authorization_code_seconds,
        }
    }
}

/// Ends `session_hashes` of `user_id` inside the caller's transaction: the sessions go, the
/// refresh tokens issued in them are revoked, the access tokens issued in them that may still
/// be live go on the revoked list (introspection and userinfo refuse them at once), and a
/// back-channel logout notice is queued for every client that received tokens in them and
/// registered a `backchannel_logout_uri`. Call [`notify`] after the transaction committed.
pub fn end_sessions(
    conn: &mut DbConnection,
    user_id: &str,
    session_hashes: &[String],
    ending: Ending,
) -> Result<Ended, DbError> {
    let Ending { reason, now, .. } = ending;
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
    let since = now - ending.access_token_seconds;
    let access_tokens = authorization::access_tokens_of_sessions(conn, session_hashes, since)?;
    for jti in &access_tokens {
        authorization::revoke_access_token(conn, jti, now + ending.access_token_seconds)?;
    }
    if !session_hashes.is_empty() {
        let organisation = users::find(conn, user_id)?.and_then(|u| u.organisation_id);
        audit::record(
            conn,
            AuditRecord::success(if reason == "logout" {
                "logout"
            } else {
                "sessions_ended"
            })
            .user(user_id)
            .organisation(organisation.as_deref())
            .details(serde_json::json!({
                "reason": reason,
                "sessions": session_hashes.len(),
                "revoked_refresh_tokens": revoked,
                "revoked_access_tokens": access_tokens.len(),
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
pub async fn logout(state: &IdpState, user_id: &str, session_hash: &str) -> Result<(), Fault> {
    let now = state.now();
    let (user, hash) = (user_id.to_owned(), session_hash.to_owned());
    let ending = Ending::at(state, "logout", now);
    let ended = state
        .db
        .transaction(move |conn| end_sessions(conn, &user, &[hash], ending))
        .await?;
    notify(state, user_id, ended);
    Ok(())
}
