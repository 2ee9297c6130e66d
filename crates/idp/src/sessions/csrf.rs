//! CSRF protection for every form: the signed double-submit pattern, bound to the session. A
//! random value lives in a cookie; the form carries a fresh nonce and an HMAC, under the server
//! key, of the cookie value, the session the page was shown in and that nonce. A cross-site
//! attacker can make the browser send the cookies but can neither read them nor compute the MAC.
//!
//! Binding the token to the session means a token from before a login (or from another person's
//! session in the same browser) no longer verifies once the session id changes; the nonce makes
//! the token differ on every page, so a page's token tells nothing about the next one.

use data_encoding::BASE64URL_NOPAD;

use crate::crypto::{Keyring, OpaqueToken};

pub const COOKIE: &str = "hcc_csrf";
pub const FIELD: &str = "csrf_token";
const LABEL: &str = "csrf/v2";
const NONCE_BYTES: usize = 12;

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

    /// A new token for a form shown in `session` (the session cookie's value, if any).
    pub fn form_token(&self, keyring: &Keyring, session: Option<&str>) -> String {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
        let nonce = BASE64URL_NOPAD.encode(&nonce);
        let tag = keyring.mac(LABEL, &signed_data(&self.value, session, &nonce));
        format!("{nonce}.{tag}")
    }
}

/// True when the form's token was made for this browser's cookie and this session.
pub fn verify(
    keyring: &Keyring,
    cookie: Option<&str>,
    session: Option<&str>,
    form_token: &str,
) -> bool {
    let (Some(value), Some((nonce, tag))) = (cookie, form_token.split_once('.')) else {
        return false;
    };
    !nonce.is_empty() && keyring.verify_mac(LABEL, &signed_data(value, session, nonce), tag)
}

/// `cookie \0 session-id-hash \0 nonce`: the session enters as the hash its row is keyed by.
fn signed_data(cookie: &str, session: Option<&str>, nonce: &str) -> Vec<u8> {
    let session = session
        .map(|value| OpaqueToken::from_presented(value).hash())
        .unwrap_or_default();
    [cookie, session.as_str(), nonce].join("\0").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyring() -> Keyring {
        Keyring::new(&[7u8; 32])
    }

    #[test]
    fn a_token_verifies_for_its_cookie_and_session_only() {
        let keyring = keyring();
        let cookie = CsrfCookie::from_cookie(None);
        let token = cookie.form_token(&keyring, Some("session-a"));
        let value = Some(cookie.value.as_str());
        assert!(verify(&keyring, value, Some("session-a"), &token));
        assert!(!verify(&keyring, value, Some("session-b"), &token));
        assert!(!verify(&keyring, value, None, &token));
        assert!(!verify(
            &keyring,
            Some(&"x".repeat(43)),
            Some("session-a"),
            &token
        ));
        assert!(!verify(&keyring, None, Some("session-a"), &token));
    }

    #[test]
    fn every_form_gets_a_different_token_and_each_verifies() {
        let keyring = keyring();
        let cookie = CsrfCookie::from_cookie(None);
        let first = cookie.form_token(&keyring, None);
        let second = cookie.form_token(&keyring, None);
        assert_ne!(first, second);
        for token in [&first, &second] {
            assert!(verify(&keyring, Some(&cookie.value), None, token));
        }
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let keyring = keyring();
        let cookie = CsrfCookie::from_cookie(None);
        let token = cookie.form_token(&keyring, None);
        let (_, tag) = token.split_once('.').unwrap();
        for bad in ["", ".", tag, &format!(".{tag}"), &format!("x{token}")] {
            assert!(!verify(&keyring, Some(&cookie.value), None, bad), "{bad}");
        }
    }
}
