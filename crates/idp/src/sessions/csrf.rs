//! CSRF protection for every form: the signed double-submit pattern. A random value lives in a
//! cookie; the form carries an HMAC of it under the server key. A cross-site attacker can make
//! the browser send the cookie but can neither read it nor compute the MAC.

use crate::crypto::{Keyring, OpaqueToken};

pub const COOKIE: &str = "hcc_csrf";
pub const FIELD: &str = "csrf_token";
const LABEL: &str = "csrf/v1";

/// The cookie value for this browser (existing, or new and to be set on the response).
#[derive(Debug, Clone)]
pub struct CsrfCookie {
    pub value: String,
    pub is_new: bool,
}

impl CsrfCookie {
    pub fn from_cookie(existing: Option<String>) -> Self {
        match existing.filter(|v| v.len() >= 32 && v.len() <= 64) {
            Some(value) => Self {
                value,
                is_new: false,
            },
            None => Self {
                value: OpaqueToken::generate().expose().to_owned(),
                is_new: true,
            },
        }
    }

    pub fn form_token(&self, keyring: &Keyring) -> String {
        keyring.mac(LABEL, self.value.as_bytes())
    }
}

/// True when the form's token matches the cookie.
pub fn verify(keyring: &Keyring, cookie: Option<&str>, form_token: &str) -> bool {
    match cookie {
        Some(value) if !form_token.is_empty() => {
            keyring.verify_mac(LABEL, value.as_bytes(), form_token)
        }
        _ => false,
    }
}
