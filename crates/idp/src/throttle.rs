//! Brute-force protection without handing attackers a lockout lever. Failures are counted in
//! the database (limits hold across nodes), per account and per client address, separately for
//! the password and the one-time-code stage. Past a few free attempts each further failure
//! doubles the wait; only the code stage (reachable only with the right password) locks the
//! account for a while, and the password stage only if configured. Unknown addresses are
//! counted like known ones, so the answers never tell whether an account exists.

use crate::clock::UnixTime;
use crate::config::ThrottleSettings;
use crate::crypto::hash_hex;
use crate::storage::throttle::{self, Counter};
use crate::storage::{DbConnection, DbError};

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

    pub fn key(&self) -> &str {
        &self.key
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
            Kind::PasswordAccount => settings.password_free_attempts,
            Kind::OtpAccount => settings.otp_free_attempts,
            Kind::Address => settings.ip_free_attempts,
        }
    }
}

/// Decides an attempt *before* the secret is checked, and reserves it: each subject's counter
/// is incremented atomically first, and the count that increment returned decides. So a burst
/// of parallel requests cannot all pass a check made before any of them counted (the race
/// behind lockout bypasses): past the free attempts, only the first reservation after a waited
/// delay goes ahead. Checked attempts all count (N parallel wrong ones count N); attempts
/// refused unchecked give their reservation back, so waiting out a delay is never punished.
pub fn begin(
    conn: &mut DbConnection,
    settings: &ThrottleSettings,
    subjects: &[Subject],
    now: UnixTime,
) -> Result<Attempt, DbError> {
    let window_start = now - settings.window_minutes * 60;
    let mut before = Vec::with_capacity(subjects.len());
    for subject in subjects {
        let counter = throttle::find(conn, subject.key())?;
        let wait = wait_seconds(settings, subject, counter.as_ref(), now);
        if wait > 0 {
            return Ok(Attempt::Throttled(wait));
        }
        before.push(
            counter
                .filter(|c| c.last_failure_at >= window_start)
                .map_or(0, |c| c.failures),
        );
    }
    let mut refused = false;
    for (subject, seen) in subjects.iter().zip(before) {
        let count = throttle::reserve(conn, subject.key(), now, window_start)?;
        // Beyond the free attempts only the reservation right after the (waited) snapshot may
        // proceed; later ones in a burst saw a snapshot that is already out of date.
        if count > subject.free_attempts(settings) && count != seen + 1 {
            refused = true;
        }
    }
    if refused {
        // Refused unchecked: give the reservations back, so only checked attempts count.
        for subject in subjects {
            throttle::release(conn, subject.key())?;
        }
        return Ok(Attempt::Throttled(settings.base_delay_seconds.max(1)));
    }
    Ok(Attempt::Allowed)
}

/// The attempt was wrong: its delay runs from now, and the account locks where the policy
/// says so. Returns whether a lock was set.
pub fn failed(
    conn: &mut DbConnection,
    settings: &ThrottleSettings,
    subjects: &[Subject],
    now: UnixTime,
) -> Result<bool, DbError> {
    let mut locked = false;
    for subject in subjects {
        let Some(failures) = throttle::mark_failed(conn, subject.key(), now)? else {
            continue;
        };
        let (after, minutes) = match subject.kind {
            Kind::PasswordAccount => (settings.password_lock_after, settings.password_lock_minutes),
            Kind::OtpAccount => (settings.otp_lock_after, settings.otp_lock_minutes),
            Kind::Address => (0, 0),
        };
        if after > 0 && failures >= after {
            throttle::lock(conn, subject.key(), now + minutes * 60)?;
            locked = true;
        }
    }
    Ok(locked)
}

/// The attempt was right: the account's counter is cleared; the client address only gets its
/// reservation back (one valid account must not wipe what an address did against others).
pub fn succeeded(conn: &mut DbConnection, subjects: &[Subject]) -> Result<(), DbError> {
    for subject in subjects {
        match subject.kind {
            Kind::PasswordAccount | Kind::OtpAccount => throttle::reset(conn, subject.key())?,
            Kind::Address => throttle::release(conn, subject.key())?,
        }
    }
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
