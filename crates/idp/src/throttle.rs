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
    let free = match subject.kind {
        Kind::PasswordAccount => settings.password_free_attempts,
        Kind::OtpAccount => settings.otp_free_attempts,
        Kind::Address => settings.ip_free_attempts,
    };
    let beyond = counter.failures - free;
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

/// The longest wait among `subjects`.
pub fn check(
    conn: &mut DbConnection,
    settings: &ThrottleSettings,
    subjects: &[Subject],
    now: UnixTime,
) -> Result<i64, DbError> {
    let mut wait = 0;
    for subject in subjects {
        let counter = throttle::find(conn, subject.key())?;
        wait = wait.max(wait_seconds(settings, subject, counter.as_ref(), now));
    }
    Ok(wait)
}

/// Counts a failure against each subject (each an atomic increment) and locks the account
/// where the policy says so. Returns whether a lock was set.
pub fn fail(
    conn: &mut DbConnection,
    settings: &ThrottleSettings,
    subjects: &[Subject],
    now: UnixTime,
) -> Result<bool, DbError> {
    let window_start = now - settings.window_minutes * 60;
    let mut locked = false;
    for subject in subjects {
        let counter = throttle::record(conn, subject.key(), now, window_start)?;
        let (after, minutes) = match subject.kind {
            Kind::PasswordAccount => (settings.password_lock_after, settings.password_lock_minutes),
            Kind::OtpAccount => (settings.otp_lock_after, settings.otp_lock_minutes),
            Kind::Address => (0, 0),
        };
        if after > 0 && counter.failures >= after && counter.locked_until.is_none_or(|u| u <= now) {
            throttle::lock(conn, subject.key(), now + minutes * 60)?;
            locked = true;
        }
    }
    Ok(locked)
}

/// A success clears the account's counter (not the client address's: one valid account must
/// not reset what an address did against others).
pub fn succeed(conn: &mut DbConnection, subject: &Subject) -> Result<(), DbError> {
    throttle::reset(conn, subject.key())
}

/// Mail sending limits: true when one more mail to/for `subjects` is within the hourly limits;
/// counts the request either way.
pub fn allow_mail(
    conn: &mut DbConnection,
    settings: &ThrottleSettings,
    email: &str,
    ip: Option<&str>,
    now: UnixTime,
) -> Result<bool, DbError> {
    let window_start = now - 3600;
    let account = throttle::record(
        conn,
        &format!(
            "mail:acct:{}",
            hash_hex(email.trim().to_lowercase().as_bytes())
        ),
        now,
        window_start,
    )?;
    let address = throttle::record(
        conn,
        &format!("mail:ip:{}", ip.unwrap_or("unknown")),
        now,
        window_start,
    )?;
    Ok(account.failures <= settings.mail_per_address_per_hour
        && address.failures <= settings.mail_per_ip_per_hour)
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
