//! IdP sessions: a random id in an HttpOnly cookie, the row keyed by the id's hash. A session
//! moves through stages: `otp_setup` (password proven, authenticator still to be set up),
//! `otp` (password proven, code still to be entered), `authenticated`.

pub mod csrf;
pub mod device;
pub mod user_agent;

use crate::clock::UnixTime;
use crate::config::SessionSettings;
use crate::crypto::OpaqueToken;
use crate::error::Fault;
use crate::storage::models::Session;
use crate::storage::{Db, DbConnection, DbError, sessions};

pub use crate::domain::Stage;

/// Where the request came from, for the session row and the audit log.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
}

/// Starts a session in `stage` and returns the cookie value (shown once, stored hashed).
pub fn start(
    conn: &mut DbConnection,
    settings: &SessionSettings,
    user_id: &str,
    stage: Stage,
    amr: &str,
    client: &ClientInfo,
    now: UnixTime,
) -> Result<(OpaqueToken, Session), DbError> {
    let token = OpaqueToken::generate();
    let session = Session {
        id_hash: token.hash(),
        user_id: user_id.to_owned(),
        stage,
        amr: amr.to_owned(),
        auth_time: now,
        created_at: now,
        last_seen_at: now,
        expires_at: now + lifetime(settings, stage),
        ip_address: client.ip_address.clone(),
        user_agent: client
            .user_agent
            .as_ref()
            .map(|ua| ua.chars().take(300).collect()),
    };
    sessions::insert(conn, &session)?;
    Ok((token, session))
}

/// Absolute lifetime: short while the person is between steps, longer once authenticated.
pub fn lifetime(settings: &SessionSettings, stage: Stage) -> i64 {
    match stage {
        Stage::Authenticated => settings.absolute_lifetime_hours * 3600,
        Stage::OtpSetup | Stage::Otp => settings.setup_lifetime_minutes * 60,
    }
}

const TOUCH_INTERVAL: i64 = 60;

/// The live session behind a cookie value, if it has neither expired nor been idle too long.
pub async fn current(
    db: &Db,
    settings: &SessionSettings,
    now: UnixTime,
    cookie_value: Option<String>,
) -> Result<Option<Session>, Fault> {
    let Some(value) = cookie_value else {
        return Ok(None);
    };
    let hash = OpaqueToken::from_presented(&value).hash();
    let idle = settings.idle_timeout_minutes * 60;
    let session = db
        .run(move |conn| {
            let Some(session) = sessions::find_live(conn, &hash, now)? else {
                return Ok::<_, DbError>(None);
            };
            if session.last_seen_at + idle <= now {
                return Ok(None);
            }
            // Activity keeps the session alive up to its absolute lifetime; a write per minute
            // at most.
            if now - session.last_seen_at >= TOUCH_INTERVAL {
                sessions::touch(conn, &session.id_hash, now)?;
            }
            Ok(Some(session))
        })
        .await?;
    Ok(session)
}
