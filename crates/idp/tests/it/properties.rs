//! Properties of the domain types, over generated input: e-mail normalisation, the password
//! policy, exact redirect-URI matching, the TOTP window and its replay step, scope parsing.

use idp::domain::password::{NewPassword, PasswordPolicy, PasswordViolation, PersonalDetails};
use idp::domain::totp::{SKEW, TotpSecret, step_at};
use idp::domain::{Email, RedirectUri, Scope};
use proptest::prelude::*;

fn local_part() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9][a-zA-Z0-9._+-]{0,20}[a-zA-Z0-9]"
        .prop_filter("no double dots", |s| !s.contains(".."))
}

fn domain() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9]{1,12}(\\.[a-zA-Z0-9]{1,8}){1,2}"
}

/// The policy at its defaults, for Marco.
fn marcos_policy() -> PasswordPolicy<'static> {
    let person = PersonalDetails {
        email: "marco@ek88.nl",
        ..PersonalDetails::default()
    };
    PasswordPolicy {
        min_length: 16,
        min_score: 4,
        person,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// An address parses to its trimmed, lower-cased self, and parsing that again changes nothing.
    #[test]
    fn email_normalisation_is_idempotent(local in local_part(), domain in domain(),
                                         pad in "[ \t]{0,3}") {
        let typed = format!("{pad}{local}@{domain}{pad}");
        let email = Email::parse(&typed).unwrap();
        prop_assert_eq!(email.as_str(), format!("{local}@{domain}").to_lowercase());
        let again = Email::parse(email.as_str()).unwrap();
        prop_assert_eq!(again.as_str(), email.as_str());
    }

    /// Whatever the input, parsing never panics, and what parses has one `@` between a local
    /// part and a dotted domain, with no whitespace.
    #[test]
    fn email_parse_accepts_only_well_formed_addresses(input in ".{0,80}") {
        if let Ok(email) = Email::parse(&input) {
            let (local, domain) = email.as_str().rsplit_once('@').unwrap();
            prop_assert!(!local.is_empty() && domain.contains('.'));
            prop_assert!(!email.as_str().chars().any(char::is_whitespace));
        }
    }

    /// A password shorter than the minimum, or without a capital, a digit or a special
    /// character, is refused with that reason; the policy never accepts what it says it refuses.
    #[test]
    fn the_password_policy_names_each_missing_rule(password in ".{0,40}") {
        let policy = marcos_policy();
        match NewPassword::parse(&password, &password, &policy) {
            Ok(_) => {
                prop_assert!(password.chars().count() >= 16);
                prop_assert!(password.chars().any(char::is_uppercase));
                prop_assert!(password.chars().any(|c| c.is_ascii_digit()));
                prop_assert!(!password.chars().all(char::is_alphanumeric));
            }
            Err(violations) => {
                prop_assert!(!violations.is_empty());
                if password.chars().count() < 16 {
                    prop_assert!(violations.contains(&PasswordViolation::TooShort));
                }
                if !password.chars().any(|c| c.is_ascii_digit()) {
                    prop_assert!(violations.contains(&PasswordViolation::NoDigit));
                }
            }
        }
    }

    /// The confirmation must be the same string.
    #[test]
    fn a_different_confirmation_is_a_mismatch(password in "[A-Z][a-z]{10}[0-9]{3}[!#%]{2}",
                                              other in "[A-Z][a-z]{10}[0-9]{3}[!#%]{2}") {
        prop_assume!(password != other);
        let policy = marcos_policy();
        let refused = NewPassword::parse(&password, &other, &policy).unwrap_err();
        prop_assert!(refused.contains(&PasswordViolation::Mismatch));
    }

    /// A registered redirect URI matches itself exactly and nothing that differs from it.
    #[test]
    fn redirect_uris_match_exactly(path in "/[a-z]{1,10}", extra in "[a-zA-Z0-9/._~-]{1,6}") {
        let registered = RedirectUri::parse(&format!("https://portal.example{path}"), false).unwrap();
        let same = RedirectUri::parse(registered.as_str(), false).unwrap();
        prop_assert_eq!(same.as_str(), registered.as_str());
        let longer = format!("{}{extra}", registered.as_str());
        prop_assert_ne!(longer.as_str(), registered.as_str());
        if let Ok(other) = RedirectUri::parse(&longer, false) {
            prop_assert_ne!(other.as_str(), registered.as_str());
        }
    }

    /// A code is accepted only within one step either side of now, only after the last step
    /// used, and the step it returns is the one it was made for.
    #[test]
    fn totp_codes_hold_for_their_window_and_never_twice(now in 1_000_000_000_i64..4_000_000_000,
                                                      offset in -3_i64..=3) {
        let secret = TotpSecret::from_bytes(vec![7; 20]);
        let step = step_at(now) + offset;
        let code = secret.code_at(step);
        let accepted = secret.verify(&code, now, None);
        if offset.abs() <= SKEW {
            // Another step in the window may share the code (one in a million): it is then
            // that step that is returned, never one outside the window.
            let got = accepted.unwrap();
            prop_assert!((got - step_at(now)).abs() <= SKEW);
            // Replay: with that step recorded as used, the same code is refused.
            prop_assert_eq!(secret.verify(&code, now, Some(got)), None);
        } else if let Some(got) = accepted {
            prop_assert!((got - step_at(now)).abs() <= SKEW);
        }
    }

    /// Narrowing a scope gives a subset of it, or nothing when something outside was asked for.
    #[test]
    fn a_narrowed_scope_stays_within_the_grant(granted in proptest::collection::vec("[a-z_]{1,8}", 1..5),
                                               asked in proptest::collection::vec("[a-z_]{1,8}", 1..5)) {
        let grant = Scope::parse_stored(&granted.join(" "));
        match grant.narrow(&asked.join(" ")) {
            Some(narrowed) => {
                prop_assert!(narrowed.is_within(&grant));
                prop_assert!(asked.iter().all(|a| grant.contains(a)));
            }
            None => prop_assert!(asked.iter().any(|a| !grant.contains(a))),
        }
        // Parsing what a scope prints gives the same scope.
        prop_assert_eq!(Scope::parse_stored(&grant.to_string()).to_string(), grant.to_string());
    }
}
