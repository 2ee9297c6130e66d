//! Time-based one-time passwords (RFC 6238) the way the authenticator apps of the manual support
//! them: SHA-1, 6 digits, 30-second steps. A code is accepted within ±1 step, and only for a step
//! later than the last one accepted, so a code cannot be used twice.

use data_encoding::BASE32_NOPAD;
use rand::RngCore;
use sha1::Sha1;

use subtle::ConstantTimeEq;

pub const PERIOD: u64 = 30;
pub const DIGITS: u32 = 6;
/// Steps of clock drift tolerated either way.
pub const SKEW: i64 = 1;

/// The TOTP step index (unix time / 30).
pub type TotpStep = i64;

pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

impl TotpSecret {
    /// 160 bits, the size RFC 4226 recommends for SHA-1.
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; 20];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The key as the apps want it typed ("Scannen mislukt?"): base32, in groups of four.
    pub fn display_key(&self) -> String {
        let encoded = BASE32_NOPAD.encode(&self.0);
        encoded
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The `otpauth://` URI of the Key Uri Format that every listed app reads from the QR code.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let label = format!("{}:{}", enc(issuer), enc(account)).replace('+', "%20");
        format!(
            "otpauth://totp/{label}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={PERIOD}",
            BASE32_NOPAD.encode(&self.0),
            enc(issuer).replace('+', "%20"),
        )
    }

    pub fn code_at(&self, step: TotpStep) -> String {
        let time = (step.max(0) as u64) * PERIOD;
        totp_lite::totp_custom::<Sha1>(PERIOD, DIGITS, &self.0, time)
    }

    /// The step whose code matches, if any within the skew window and after `last_used`.
    pub fn verify(&self, code: &str, now: i64, last_used: Option<TotpStep>) -> Option<TotpStep> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let current = now.div_euclid(PERIOD as i64);
        let mut matched = None;
        // Check every candidate step, so the time taken does not depend on which one matches.
        for step in (current - SKEW)..=(current + SKEW) {
            if bool::from(self.code_at(step).as_bytes().ct_eq(code.as_bytes()))
                && last_used.is_none_or(|last| step > last)
            {
                matched = Some(step);
            }
        }
        matched
    }
}

pub fn step_at(now: i64) -> TotpStep {
    now.div_euclid(PERIOD as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_vector() {
        // RFC 6238 Appendix B, SHA-1 seed "12345678901234567890", T = 59 s → 94287082 (8 digits).
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        let eight = totp_lite::totp_custom::<Sha1>(30, 8, secret.as_bytes(), 59);
        assert_eq!(eight, "94287082");
        assert_eq!(secret.code_at(1), "287082");
    }

    #[test]
    fn window_and_replay() {
        let secret = TotpSecret::generate();
        let now = 1_800_000_000;
        let step = step_at(now);
        assert_eq!(secret.verify(&secret.code_at(step), now, None), Some(step));
        assert_eq!(
            secret.verify(&secret.code_at(step - 1), now, None),
            Some(step - 1)
        );
        assert_eq!(
            secret.verify(&secret.code_at(step + 1), now, None),
            Some(step + 1)
        );
        assert_eq!(secret.verify(&secret.code_at(step - 2), now, None), None);
        assert_eq!(
            secret.verify(&secret.code_at(step), now, Some(step)),
            None,
            "replay"
        );
        assert_eq!(secret.verify("12345", now, None), None);
        assert_eq!(secret.verify("abcdef", now, None), None);
    }

    #[test]
    fn uri_and_key() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        let uri = secret.otpauth_uri("HumanCapitalCare", "marco@ek88.nl");
        assert_eq!(
            uri,
            "otpauth://totp/HumanCapitalCare:marco%40ek88.nl?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=HumanCapitalCare&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(
            secret.display_key(),
            "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ"
        );
    }
}
