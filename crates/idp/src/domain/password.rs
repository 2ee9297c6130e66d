//! The password policy of the manual: at least 16 characters with a capital letter, a digit and
//! a special character, the confirmation matching, and nothing guessable (a common word padded
//! with digits and symbols, the person's own address, one character repeated).

use secrecy::{ExposeSecret, SecretString};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordViolation {
    TooShort,
    TooLong,
    NoCapital,
    NoDigit,
    NoSpecial,
    Guessable,
    ContainsEmail,
    SameAsCurrent,
    /// Shown at the confirmation field.
    Mismatch,
}

impl PasswordViolation {
    /// Key of the message in the page catalogues (`password_error_<key>`).
    pub fn key(self) -> &'static str {
        match self {
            PasswordViolation::TooShort => "too_short",
            PasswordViolation::TooLong => "too_long",
            PasswordViolation::NoCapital => "no_capital",
            PasswordViolation::NoDigit => "no_digit",
            PasswordViolation::NoSpecial => "no_special",
            PasswordViolation::Guessable => "guessable",
            PasswordViolation::ContainsEmail => "contains_email",
            PasswordViolation::SameAsCurrent => "same_as_current",
            PasswordViolation::Mismatch => "mismatch",
        }
    }
}

/// A password that passed the policy. Never logged: `Debug` redacts.
pub struct NewPassword(SecretString);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

pub struct PasswordPolicy<'a> {
    pub min_length: usize,
    /// The account's address: its local part may not appear in the password.
    pub email_local_part: &'a str,
}

pub const MAX_LENGTH: usize = 256;

/// Words that make a password guessable however much padding surrounds them. A real breached
/// list cannot be queried offline; these are the base words such lists are built from.
const COMMON_WORDS: &[&str] = &[
    "password",
    "passw0rd",
    "wachtwoord",
    "welkom",
    "welcome",
    "qwerty",
    "azerty",
    "letmein",
    "admin",
    "administrator",
    "geheim",
    "secret",
    "iloveyou",
    "monkey",
    "dragon",
    "football",
    "voetbal",
    "sunshine",
    "princess",
    "abc",
    "abcdef",
    "asdf",
    "zxcvbn",
    "humancapitalcare",
    "werkgever",
    "werkgeverportaal",
    "portaal",
    "inloggen",
    "login",
    "zomer",
    "winter",
    "lente",
    "herfst",
    "summer",
    "spring",
    "autumn",
    "changeme",
    "default",
    "test",
    "ajax",
    "feyenoord",
];

impl NewPassword {
    /// Checks every rule and returns all violations, so each can be shown at its field.
    pub fn parse(
        password: &str,
        confirmation: &str,
        policy: &PasswordPolicy<'_>,
    ) -> Result<Self, Vec<PasswordViolation>> {
        let mut violations = Vec::new();
        let length = password.chars().count();
        if length < policy.min_length {
            violations.push(PasswordViolation::TooShort);
        }
        if length > MAX_LENGTH {
            violations.push(PasswordViolation::TooLong);
        }
        if !password.chars().any(char::is_uppercase) {
            violations.push(PasswordViolation::NoCapital);
        }
        if !password.chars().any(|c| c.is_ascii_digit()) {
            violations.push(PasswordViolation::NoDigit);
        }
        if password.chars().all(char::is_alphanumeric) {
            violations.push(PasswordViolation::NoSpecial);
        }
        if violations.is_empty() && is_guessable(password) {
            violations.push(PasswordViolation::Guessable);
        }
        let local = policy.email_local_part.to_lowercase();
        if local.chars().count() >= 4 && password.to_lowercase().contains(&local) {
            violations.push(PasswordViolation::ContainsEmail);
        }
        if password != confirmation {
            violations.push(PasswordViolation::Mismatch);
        }
        if violations.is_empty() {
            Ok(Self(SecretString::from(password.to_owned())))
        } else {
            Err(violations)
        }
    }

    pub fn secret(&self) -> SecretString {
        self.0.clone()
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

/// Guessable: fewer than 6 distinct characters, or nothing but common words, digits and symbols
/// (e.g. `Welkom2026!!Welkom`), or a keyboard/alphabet run making up most of it.
fn is_guessable(password: &str) -> bool {
    let lower = password.to_lowercase();
    let mut distinct: Vec<char> = lower.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 6 {
        return true;
    }
    let mut letters: String = lower.chars().filter(|c| c.is_alphabetic()).collect();
    for word in COMMON_WORDS
        .iter()
        .copied()
        .chain(["qwertyuiop", "abcdefghijklmnopqrstuvwxyz"])
    {
        letters = letters.replace(word, "");
    }
    letters.chars().count() < 3
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(password: &str) -> Result<NewPassword, Vec<PasswordViolation>> {
        let policy = PasswordPolicy {
            min_length: 16,
            email_local_part: "marco",
        };
        NewPassword::parse(password, password, &policy)
    }

    #[test]
    fn manual_rules() {
        assert!(check("Zeer-Sterk-Wachtw00rd-Tulp").is_ok());
        assert!(check("Lang genoeg met 1 Spatie").is_ok());
        assert_eq!(
            check("Kort-1a").unwrap_err(),
            vec![PasswordViolation::TooShort]
        );
        assert_eq!(
            check("zonder-hoofdletter-1").unwrap_err(),
            vec![PasswordViolation::NoCapital]
        );
        assert_eq!(
            check("Zonder-Cijfer-Hierin").unwrap_err(),
            vec![PasswordViolation::NoDigit]
        );
        assert_eq!(
            check("ZonderSpeciaalTeken12").unwrap_err(),
            vec![PasswordViolation::NoSpecial]
        );
        assert_eq!(
            check("kort").unwrap_err(),
            vec![
                PasswordViolation::TooShort,
                PasswordViolation::NoCapital,
                PasswordViolation::NoDigit,
                PasswordViolation::NoSpecial
            ]
        );
    }

    #[test]
    fn guessable_and_personal_passwords() {
        assert_eq!(
            check("Welkom2026!Welkom2026!").unwrap_err(),
            vec![PasswordViolation::Guessable]
        );
        assert_eq!(
            check("Password123456789!").unwrap_err(),
            vec![PasswordViolation::Guessable]
        );
        assert_eq!(
            check("Aaaaaaaaaaaaaaaa1!").unwrap_err(),
            vec![PasswordViolation::Guessable]
        );
        assert_eq!(
            check("Marco-Tulpen-2026-Zon").unwrap_err(),
            vec![PasswordViolation::ContainsEmail]
        );
    }

    #[test]
    fn confirmation_must_match() {
        let policy = PasswordPolicy {
            min_length: 16,
            email_local_part: "marco",
        };
        let err = NewPassword::parse(
            "Zeer-Sterk-Wachtw00rd-Tulp",
            "Zeer-Sterk-Wachtw00rd-Tul",
            &policy,
        );
        assert_eq!(err.unwrap_err(), vec![PasswordViolation::Mismatch]);
    }
}
