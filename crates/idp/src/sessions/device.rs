//! Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"): a browser
//! that completed a login for an account carries a signed entry for that account. A password
//! attempt from such a browser is throttled on that entry's own counter, so strangers guessing
//! at the account (or at the office's shared address) never hold the owner up; an attempt
//! without a valid entry is throttled per account and per client address as before.
//!
//! The cookie holds up to [`MAX_ENTRIES`] entries (a shared computer, several accounts), each
//! `account.nonce.issued.mac`: the account as the first 32 hex digits of the SHA-256 of the
//! lower-case address (the same key the account counter uses, so the address itself is not in
//! the cookie), a random nonce naming the device counter, the time of issue, and an HMAC over
//! the rest. A new login renews its entry with a new nonce.

use crate::clock::UnixTime;
use crate::crypto::{Keyring, OpaqueToken, hash_hex};

pub const COOKIE: &str = "hcc_device";
pub const MAX_ENTRIES: usize = 5;
const LABEL: &str = "device/v1";
const ENTRY_SEPARATOR: char = '~';

/// A browser that logged in to this account before; `nonce` names its counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedDevice {
    pub nonce: String,
}

#[derive(Debug, Clone)]
struct Entry {
    account: String,
    nonce: String,
    issued_at: UnixTime,
}

/// The valid entries of a browser's device cookie.
#[derive(Debug, Clone, Default)]
pub struct DeviceCookie {
    entries: Vec<Entry>,
}

/// The account key of an address as typed (trimmed, lower case).
fn account_key(email: &str) -> String {
    hash_hex(email.trim().to_lowercase().as_bytes())[..32].to_owned()
}

impl DeviceCookie {
    /// Keeps the entries whose MAC is right and that are younger than `max_age` seconds;
    /// anything else in the cookie is ignored.
    pub fn parse(value: Option<&str>, keyring: &Keyring, now: UnixTime, max_age: i64) -> Self {
        let entries = value
            .unwrap_or_default()
            .split(ENTRY_SEPARATOR)
            .take(MAX_ENTRIES)
            .filter_map(|raw| {
                let (signed, mac) = raw.rsplit_once('.')?;
                if !keyring.verify_mac(LABEL, signed.as_bytes(), mac) {
                    return None;
                }
                let mut parts = signed.split('.');
                let (account, nonce, issued) = (parts.next()?, parts.next()?, parts.next()?);
                let issued_at: UnixTime = issued.parse().ok()?;
                (issued_at <= now && now - issued_at < max_age).then(|| Entry {
                    account: account.to_owned(),
                    nonce: nonce.to_owned(),
                    issued_at,
                })
            })
            .collect();
        Self { entries }
    }

    /// The device entry for the address typed, if this browser logged in to it before.
    pub fn trusted_for(&self, email: &str) -> Option<TrustedDevice> {
        let account = account_key(email);
        self.entries
            .iter()
            .find(|e| e.account == account)
            .map(|e| TrustedDevice {
                nonce: e.nonce.clone(),
            })
    }

    /// The cookie value after a completed login to `email`: its entry renewed (a new nonce,
    /// so its counter starts afresh) and first; the oldest entries beyond the limit dropped.
    pub fn after_login(mut self, email: &str, keyring: &Keyring, now: UnixTime) -> String {
        let account = account_key(email);
        self.entries.retain(|e| e.account != account);
        self.entries.insert(
            0,
            Entry {
                account,
                nonce: hash_hex(OpaqueToken::generate().expose().as_bytes())[..32].to_owned(),
                issued_at: now,
            },
        );
        self.entries.truncate(MAX_ENTRIES);
        self.entries
            .iter()
            .map(|e| {
                let signed = format!("{}.{}.{}", e.account, e.nonce, e.issued_at);
                let mac = keyring.mac(LABEL, signed.as_bytes());
                format!("{signed}.{mac}")
            })
            .collect::<Vec<_>>()
            .join(&ENTRY_SEPARATOR.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    #[test]
    fn an_entry_is_trusted_for_its_account_only() {
        let keys = Keyring::new(&[3u8; 32]);
        let value = DeviceCookie::default().after_login("Marco@EK88.nl", &keys, 1000);
        let cookie = DeviceCookie::parse(Some(&value), &keys, 2000, 180 * DAY);
        assert!(cookie.trusted_for("marco@ek88.nl").is_some());
        assert!(cookie.trusted_for("ruud@ek88.nl").is_none());
        assert!(!value.to_lowercase().contains("marco"));
    }

    #[test]
    fn tampered_foreign_and_old_entries_are_ignored() {
        let keys = Keyring::new(&[3u8; 32]);
        let value = DeviceCookie::default().after_login("marco@ek88.nl", &keys, 1000);
        let tampered = value.replacen(".1000.", ".1001.", 1);
        let parse = |v: &str, k: &Keyring, now| DeviceCookie::parse(Some(v), k, now, 180 * DAY);
        assert!(
            parse(&tampered, &keys, 2000)
                .trusted_for("marco@ek88.nl")
                .is_none()
        );
        let other = Keyring::new(&[4u8; 32]);
        assert!(
            parse(&value, &other, 2000)
                .trusted_for("marco@ek88.nl")
                .is_none()
        );
        assert!(
            parse(&value, &keys, 1000 + 180 * DAY)
                .trusted_for("marco@ek88.nl")
                .is_none()
        );
        assert!(parse("garbage~a.b.c.d", &keys, 2000).entries.is_empty());
    }

    #[test]
    fn a_login_renews_its_entry_and_keeps_the_newest_five() {
        let keys = Keyring::new(&[3u8; 32]);
        let first = DeviceCookie::default().after_login("marco@ek88.nl", &keys, 1000);
        let nonce = |v: &str| {
            DeviceCookie::parse(Some(v), &keys, 5000, DAY)
                .trusted_for("marco@ek88.nl")
                .map(|d| d.nonce)
        };
        let mut value = first.clone();
        for i in 0..6 {
            value = DeviceCookie::parse(Some(&value), &keys, 1000, DAY).after_login(
                &format!("p{i}@ek88.nl"),
                &keys,
                1000,
            );
        }
        assert!(nonce(&value).is_none(), "the oldest entry went");
        let again = DeviceCookie::parse(Some(&first), &keys, 1000, DAY).after_login(
            "marco@ek88.nl",
            &keys,
            1000,
        );
        assert_ne!(nonce(&again), nonce(&first), "a new nonce");
    }
}
