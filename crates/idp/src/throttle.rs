//! Brute-force protection without handing attackers a lockout lever. Failures are counted in
//! the database (limits hold across nodes), per account and per client address, separately for
//! the password and the one-time-code stage. Past a few free attempts each further failure
//! doubles the wait; only the code stage (reachable only with the right password) locks the
//! account for a while, and the password stage only if configured. Unknown addresses are
//! counted like known ones, so the answers never tell whether an account exists.
//!
//! Only failures count toward a delay. A browser with a device cookie for the account
//! (`sessions::device`) is throttled on its own counter alone, so strangers' failures never hold
//! the owner up. Every attempt is *reserved* (counted) before its secret is checked, so a burst
//! of parallel guesses cannot all pass a check made before any of them counted, and the
//! reservation is given back when the secret was right. Account and device counters are
//! reserved when the request arrives ([`begin`]). The client address — many people behind one
//! office address log in at once — is reserved only at the moment its secret is checked
//! ([`check`], while holding a hashing slot), so at any time only the few attempts being checked
//! are in flight on it, and a burst of correct logins never reaches its limit.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::UnixTime;
use crate::config::ThrottleSettings;
use crate::crypto::hash_hex;
use crate::sessions::device::TrustedDevice;
use crate::storage::throttle::{self, Counter};
use crate::storage::{Db, DbConnection, DbError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Password,
    Otp,
}

/// What is counted.
#[derive(Debug, Clone)]
pub struct Subject {
    key: String,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    PasswordAccount,
    OtpAccount,
    Device,
    Address,
}

impl Subject {
    /// The account by the address typed (known or not): stored as a hash.
    pub fn password_account(email: &str) -> Self {
        Self {
            key: format!(
                "pwd:acct:{}",
                hash_hex(email.trim().to_lowercase().as_bytes())
            ),
            kind: Kind::PasswordAccount,
        }
    }

    pub fn otp_account(user_id: &str) -> Self {
        Self {
            key: format!("otp:acct:{user_id}"),
            kind: Kind::OtpAccount,
        }
    }

    /// A browser that logged in to the account before (its device cookie entry).
    pub fn device(device: &TrustedDevice) -> Self {
        Self {
            key: format!("pwd:dev:{}", device.nonce),
            kind: Kind::Device,
        }
    }

    pub fn client_address(stage: Stage, ip: Option<&str>) -> Self {
        let stage = match stage {
            Stage::Password => "pwd",
            Stage::Otp => "otp",
        };
        Self {
            key: format!("{stage}:ip:{}", ip.unwrap_or("unknown")),
            kind: Kind::Address,
        }
    }

    /// The password stage's subjects: the trusted device alone, or the account and the client
    /// address.
    pub fn password_attempt(
        email: &str,
        device: Option<&TrustedDevice>,
        ip: Option<&str>,
    ) -> Vec<Self> {
        match device {
            Some(device) => vec![Self::device(device)],
            None => vec![
                Self::password_account(email),
                Self::client_address(Stage::Password, ip),
            ],
        }
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// Whether the attempt is reserved when the request arrives ([`begin`]) rather than when
    /// its secret is checked ([`check`]).
    fn reserved_early(&self) -> bool {
        self.kind != Kind::Address
    }
}

/// Seconds to wait before the next attempt is taken; 0 when one may try now.
pub fn wait_seconds(
    settings: &ThrottleSettings,
    subject: &Subject,
    counter: Option<&Counter>,
    now: UnixTime,
) -> i64 {
    let Some(counter) = counter else { return 0 };
    if let Some(until) = counter.locked_until
        && until > now
    {
        return until - now;
    }
    if counter.last_failure_at < now - settings.window_minutes * 60 {
        return 0;
    }
    let beyond = counter.failures - subject.free_attempts(settings);
    if beyond < 0 {
        return 0;
    }
    let delay = settings
        .base_delay_seconds
        .max(1)
        .saturating_mul(1_i64 << beyond.clamp(0, 30))
        .min(settings.max_delay_seconds);
    (counter.last_failure_at + delay - now).max(0)
}

/// Whether an attempt may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    Allowed,
    /// Refused without checking the secret; try again after this many seconds.
    Throttled(i64),
}

impl Subject {
    fn free_attempts(&self, settings: &ThrottleSettings) -> i32 {
        match self.kind {
            Kind::PasswordAccount | Kind::Device => settings.password_free_attempts,
            Kind::OtpAccount => settings.otp_free_attempts,
            Kind::Address => settings.ip_free_attempts,
        }
    }
}

/// The failures each subject has in the window, or `Err(wait)`: the seconds to wait before
/// any attempt may go ahead.
fn snapshot(
    conn: &mut DbConnection,
    settings: &ThrottleSettings,
    subjects: &[&Subject],
    now: UnixTime,
) -> Result<Result<Vec<i32>, i64>, DbError> {
    let window_start = now - settings.window_minutes * 60;
    let mut seen = Vec::with_capacity(subjects.len());
    for subject in subjects {
        let counter = throttle::find(conn, subject.key())?;
        let wait = wait_seconds(settings, subject, counter.as_ref(), now);
        if wait > 0 {
            return Ok(Err(wait));
        }
        seen.push(
            counter
                .filter(|c| c.last_failure_at >= window_start)
                .map_or(0, |c| c.failures),
        );
    }
    Ok(Ok(seen))
}

/// The reservations an attempt holds until it is settled ([`failed`] or [`succeeded`]). An
/// attempt that ends unsettled — a database error between its reservation and its check, a
/// request cancelled half-way, a panic — gives them back when this is dropped, retrying until
/// the database answers again, so an outage never counts against anyone afterwards.
pub struct Reservations {
    held: Held,
    db: Db,
}

/// The keys reserved and not yet settled; shared with the database work that reserves them.
#[derive(Debug, Clone, Default)]
pub struct Held(Arc<Mutex<Vec<String>>>);

impl Held {
    fn keys(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn add(&self, key: &str) {
        self.keys().push(key.to_owned());
    }

    fn remove(&self, key: &str) {
        let mut keys = self.keys();
        if let Some(at) = keys.iter().position(|k| k == key) {
            keys.swap_remove(at);
        }
    }

    fn settle(&self) {
        self.keys().clear();
    }
}

/// How often and how long unsettled reservations are retried while the database is away.
const GIVE_BACK_INTERVAL: Duration = Duration::from_secs(2);
const GIVE_BACK_TRIES: u32 = 300;

impl Reservations {
    pub fn new(db: &Db) -> Self {
        Self {
            held: Held::default(),
            db: db.clone(),
        }
    }

    pub fn held(&self) -> &Held {
        &self.held
    }
}

impl Drop for Reservations {
    fn drop(&mut self) {
        let keys = std::mem::take(&mut *self.held.keys());
        if keys.is_empty() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(count = keys.len(), "throttle reservations left unsettled");
            return;
        };
        let db = self.db.clone();
        runtime.spawn(async move {
            let count = keys.len();
            for _ in 0..GIVE_BACK_TRIES {
                let keys = keys.clone();
                let given_back = db
                    .run(move |conn| {
                        for key in &keys {
                            throttle::release(conn, key)?;
                        }
                        Ok::<_, DbError>(())
                    })
                    .await;
                if given_back.is_ok() {
                    tracing::info!(count, "unsettled throttle reservations given back");
                    return;
                }
                tokio::time::sleep(GIVE_BACK_INTERVAL).await;
            }
            tracing::warn!(count, "throttle reservations could not be given back");
        });
    }
}

/// Decides an attempt when the request arrives: any subject still in its delay refuses it, and
/// the account (or device) counters are reserved: each is incremented atomically first, and the
/// count that increment returned decides. Past the free attempts only the first reservation
/// after a waited delay goes ahead; later ones in a burst saw a snapshot that is already out of
/// date (the race behind lockout bypasses). Attempts refused unchecked give their reservations
/// back, so waiting out a delay is never punished.
pub fn begin(
    conn: &mut DbConnection,
    settings: &ThrottleSettings,
    subjects: &[Subject],
    now: UnixTime,
    held: &Held,
) -> Result<Attempt, DbError> {
    let early: Vec<&Subject> = subjects.iter().filter(|s| s.reserved_early()).collect();
    let late: Vec<&Subject> = subjects.iter().filter(|s| !s.reserved_early()).collect();
    if let Err(wait) = snapshot(conn, settings, &late, now)? {
        return Ok(Attempt::Throttled(wait));
    }
    reserve(conn, settings, &early, now, held)
}

/// Decides the client address at the moment the secret is checked (the caller holds a hashing
/// slot, see `crypto::HashSlot`), reserving it as [`begin`] does the account. Refused, it gives
/// back every reservation of the attempt.
pub fn check(
    conn: &mut DbConnection,
    settings: &ThrottleSettings,
    subjects: &[Subject],
    now: UnixTime,
    held: &Held,
) -> Result<Attempt, DbError> {
    let late: Vec<&Subject> = subjects.iter().filter(|s| !s.reserved_early()).collect();
    let attempt = reserve(conn, settings, &late, now, held)?;
    if attempt != Attempt::Allowed {
        for subject in subjects.iter().filter(|s| s.reserved_early()) {
            throttle::release(conn, subject.key())?;
            held.remove(subject.key());
        }
    }
    Ok(attempt)
}

/// Reserves one attempt on each subject (see [`begin`]); refused, the reservations go back.
fn reserve(
    conn: &mut DbConnection,
    settings: &ThrottleSettings,
    subjects: &[&Subject],
    now: UnixTime,
    held: &Held,
) -> Result<Attempt, DbError> {
    let window_start = now - settings.window_minutes * 60;
    let before = match snapshot(conn, settings, subjects, now)? {
        Ok(seen) => seen,
        Err(wait) => return Ok(Attempt::Throttled(wait)),
    };
    let mut refused = false;
    for (subject, seen) in subjects.iter().zip(before) {
        let count = throttle::reserve(conn, subject.key(), now, window_start)?;
        held.add(subject.key());
        if count > subject.free_attempts(settings) && count != seen + 1 {
            refused = true;
        }
    }
    if refused {
        for subject in subjects {
            throttle::release(conn, subject.key())?;
            held.remove(subject.key());
        }
        return Ok(Attempt::Throttled(settings.base_delay_seconds.max(1)));
    }
    Ok(Attempt::Allowed)
}

/// The attempt was wrong: its reservations stay as failures, its delay runs from now, and the
/// account locks where the policy says so. Returns whether a lock was set.
pub fn failed(
    conn: &mut DbConnection,
    settings: &ThrottleSettings,
    subjects: &[Subject],
    now: UnixTime,
    held: &Held,
) -> Result<bool, DbError> {
    let mut locked = false;
    for subject in subjects {
        let Some(failures) = throttle::mark_failed(conn, subject.key(), now)? else {
            continue;
        };
        let (after, minutes) = match subject.kind {
            Kind::PasswordAccount => (settings.password_lock_after, settings.password_lock_minutes),
            Kind::OtpAccount => (settings.otp_lock_after, settings.otp_lock_minutes),
            Kind::Device | Kind::Address => (0, 0),
        };
        if after > 0 && failures >= after {
            throttle::lock(conn, subject.key(), now + minutes * 60)?;
            locked = true;
        }
    }
    held.settle();
    Ok(locked)
}

/// The attempt was right: the account's (or device's) counter is cleared; the client address
/// only gets its reservation back (one valid account must not wipe what an address did against
/// others).
pub fn succeeded(
    conn: &mut DbConnection,
    subjects: &[Subject],
    held: &Held,
) -> Result<(), DbError> {
    for subject in subjects {
        if subject.reserved_early() {
            throttle::reset(conn, subject.key())?;
        } else {
            throttle::release(conn, subject.key())?;
        }
        held.remove(subject.key());
    }
    held.settle();
    Ok(())
}

const HOUR: i64 = 3600;

/// Mail sending limits: true when one more mail for `email` (from `ip`) is within the hourly
/// limits; counts the request either way.
pub fn allow_mail(
    conn: &mut DbConnection,
    settings: &ThrottleSettings,
    email: &str,
    ip: Option<&str>,
    now: UnixTime,
) -> Result<bool, DbError> {
    let account = throttle::count_in_window(
        conn,
        &format!(
            "mail:acct:{}",
            hash_hex(email.trim().to_lowercase().as_bytes())
        ),
        now,
        HOUR,
    )?;
    // Without a client address (an administrator's action) only the address is limited.
    let address_ok = match ip {
        Some(ip) => {
            throttle::count_in_window(conn, &format!("mail:ip:{ip}"), now, HOUR)?
                <= settings.mail_per_ip_per_hour
        }
        None => true,
    };
    Ok(account <= settings.mail_per_address_per_hour && address_ok)
}

/// The limit on authorization requests parked for people who have not logged in yet: true
/// when one more from `ip` fits in this hour; counts it either way. Requests answered from a
/// live session are not parked and not counted.
pub fn allow_parked_request(
    conn: &mut DbConnection,
    settings: &ThrottleSettings,
    ip: Option<&str>,
    now: UnixTime,
) -> Result<bool, DbError> {
    let key = format!("authreq:ip:{}", ip.unwrap_or("unknown"));
    Ok(throttle::count_in_window(conn, &key, now, HOUR)?
        <= settings.parked_requests_per_ip_per_hour)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ThrottleSettings {
        crate::config::Settings::defaults().unwrap().throttle
    }

    fn counter(failures: i32, last: i64) -> Counter {
        Counter {
            key: String::new(),
            failures,
            first_failure_at: last,
            last_failure_at: last,
            locked_until: None,
        }
    }

    #[test]
    fn delays_grow_after_the_free_attempts_and_forget_old_failures() {
        let s = settings();
        let acct = Subject::password_account("a@b.nl");
        assert_eq!(wait_seconds(&s, &acct, Some(&counter(4, 1000)), 1000), 0);
        assert_eq!(wait_seconds(&s, &acct, Some(&counter(5, 1000)), 1000), 2);
        assert_eq!(wait_seconds(&s, &acct, Some(&counter(7, 1000)), 1000), 8);
        assert_eq!(wait_seconds(&s, &acct, Some(&counter(7, 1000)), 1005), 3);
        assert_eq!(
            wait_seconds(&s, &acct, Some(&counter(40, 1000)), 1000),
            900,
            "capped"
        );
        assert_eq!(
            wait_seconds(&s, &acct, Some(&counter(40, 1000)), 1000 + 3601),
            0,
            "forgotten"
        );
    }

    #[test]
    fn the_address_is_hashed_and_case_insensitive() {
        let a = Subject::password_account("Marco@EK88.nl");
        assert_eq!(a.key(), Subject::password_account("marco@ek88.nl").key());
        assert!(!a.key().contains("marco"));
    }
}
