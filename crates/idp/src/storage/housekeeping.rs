//! Removing rows nobody needs any more: expired sessions, parked requests, codes, refresh
//! tokens, revoked-token entries, idle throttle counters, long-sent mails and expired WebAuthn
//! ceremonies. The audit log is kept. Runs on every node now and then; the deletes are
//! idempotent, so nodes may overlap.

use diesel::prelude::*;

use super::schema::{
    authorization_codes as ac, authorization_requests as ar, mail_outbox as m,
    refresh_tokens as rt, revoked_access_tokens as rv, sessions as s,
};
use super::{DbConnection, DbError, throttle};
use crate::clock::UnixTime;

/// How long spent rows stay: used or expired codes stay a day (a replay within it still
/// revokes what the code issued), sent mails a month (for the operator).
const CODE_GRACE: i64 = 86_400;
const MAIL_KEEP: i64 = 30 * 86_400;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub sessions: usize,
    pub requests: usize,
    pub codes: usize,
    pub refresh_tokens: usize,
    pub revoked_access_tokens: usize,
    pub throttle_counters: usize,
    pub mails: usize,
    pub logout_notices: usize,
    pub webauthn_ceremonies: usize,
}

pub fn prune(
    conn: &mut DbConnection,
    now: UnixTime,
    throttle_window: i64,
) -> Result<Pruned, DbError> {
    Ok(Pruned {
        sessions: diesel::delete(s::table.filter(s::expires_at.lt(now))).execute(conn)?,
        requests: diesel::delete(ar::table.filter(ar::expires_at.lt(now))).execute(conn)?,
        codes: diesel::delete(ac::table.filter(ac::expires_at.lt(now - CODE_GRACE)))
            .execute(conn)?,
        refresh_tokens: diesel::delete(rt::table.filter(rt::expires_at.lt(now))).execute(conn)?,
        revoked_access_tokens: diesel::delete(rv::table.filter(rv::expires_at.lt(now)))
            .execute(conn)?,
        throttle_counters: throttle::prune(conn, now - throttle_window)?,
        mails: diesel::delete(m::table.filter(m::sent_at.lt(now - MAIL_KEEP))).execute(conn)?,
        logout_notices: super::logout_notices::prune(conn, now - MAIL_KEEP)?,
        webauthn_ceremonies: super::security_keys::prune_ceremonies(conn, now)?,
    })
}
