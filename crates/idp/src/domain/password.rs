//! The password policy of the manual: at least 16 characters with a capital letter, a digit and
//! a special character, the confirmation matching, not the person's own address, and not easily
//! guessed. How guessable a password is, is zxcvbn's estimate (a score of 0 to 4); the estimator
//! is told the person's address, names and organisation, so a password built from those counts
//! as weak however long it is.

use secrecy::{ExposeSecret, SecretString};
use zxcvbn::Entropy;
use zxcvbn::feedback::{Suggestion, Warning};
use zxcvbn::matching::Match;
use zxcvbn::matching::patterns::MatchPattern;

#[derive(Debug, Clone, PartialEq)]
pub enum PasswordViolation {
    TooShort,
    TooLong,
    NoCapital,
    NoDigit,
    NoSpecial,
    /// zxcvbn scores it below the minimum; why, and what would help, go with it.
    Guessable(Guess),
    ContainsEmail,
    SameAsCurrent,
    /// Shown at the confirmation field.
    Mismatch,
}

impl PasswordViolation {
    /// Key of the message in the page catalogues (`password_error_<key>`).
    pub fn key(&self) -> &'static str {
        match self {
            PasswordViolation::TooShort => "too_short",
            PasswordViolation::TooLong => "too_long",
            PasswordViolation::NoCapital => "no_capital",
            PasswordViolation::NoDigit => "no_digit",
            PasswordViolation::NoSpecial => "no_special",
            PasswordViolation::Guessable(_) => "guessable",
            PasswordViolation::ContainsEmail => "contains_email",
            PasswordViolation::SameAsCurrent => "same_as_current",
            PasswordViolation::Mismatch => "mismatch",
        }
    }
}

/// Why zxcvbn finds a password easy to guess, and its suggestions for a better one: the
/// sentences shown after "too easy to guess", so the person knows what to change.
#[derive(Debug, Clone, PartialEq)]
pub struct Guess {
    pub reason: Option<Reason>,
    pub suggestions: Vec<Suggestion>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reason {
    /// zxcvbn's own warning about the weakest part it found.
    Warning(Warning),
    /// The weakest part is the person's own address, name or organisation; zxcvbn has no warning
    /// of its own for that.
    PersonalDetails,
}

impl Guess {
    /// The catalogue keys of the sentences, in the order shown: the reason, then each suggestion.
    pub fn keys(&self) -> Vec<&'static str> {
        self.reason
            .map(reason_key)
            .into_iter()
            .chain(self.suggestions.iter().copied().map(suggestion_key))
            .collect()
    }
}

/// The catalogue key of a reason. The match is exhaustive, so a zxcvbn upgrade with a new
/// warning does not build until the warning has a text.
pub fn reason_key(reason: Reason) -> &'static str {
    let Reason::Warning(warning) = reason else {
        return "password_reason_personal_details";
    };
    match warning {
        Warning::StraightRowsOfKeysAreEasyToGuess => "password_reason_straight_row",
        Warning::ShortKeyboardPatternsAreEasyToGuess => "password_reason_keyboard_pattern",
        Warning::RepeatsLikeAaaAreEasyToGuess => "password_reason_repeated_character",
        Warning::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess => "password_reason_repeated_part",
        Warning::ThisIsATop10Password => "password_reason_top_10",
        Warning::ThisIsATop100Password => "password_reason_top_100",
        Warning::ThisIsACommonPassword => "password_reason_common_password",
        Warning::ThisIsSimilarToACommonlyUsedPassword => "password_reason_similar_to_common",
        Warning::SequencesLikeAbcAreEasyToGuess => "password_reason_sequence",
        Warning::RecentYearsAreEasyToGuess => "password_reason_recent_year",
        Warning::AWordByItselfIsEasyToGuess => "password_reason_single_word",
        Warning::DatesAreOftenEasyToGuess => "password_reason_date",
        Warning::NamesAndSurnamesByThemselvesAreEasyToGuess => "password_reason_name",
        Warning::CommonNamesAndSurnamesAreEasyToGuess => "password_reason_common_name",
    }
}

/// The catalogue key of a suggestion; exhaustive for the same reason as [`reason_key`].
pub fn suggestion_key(suggestion: Suggestion) -> &'static str {
    match suggestion {
        Suggestion::UseAFewWordsAvoidCommonPhrases => "password_suggestion_few_words",
        Suggestion::NoNeedForSymbolsDigitsOrUppercaseLetters => {
            "password_suggestion_no_symbols_needed"
        }
        Suggestion::AddAnotherWordOrTwo => "password_suggestion_add_words",
        Suggestion::CapitalizationDoesntHelpVeryMuch => "password_suggestion_capitals",
        Suggestion::AllUppercaseIsAlmostAsEasyToGuessAsAllLowercase => {
            "password_suggestion_all_capitals"
        }
        Suggestion::ReversedWordsArentMuchHarderToGuess => "password_suggestion_reversed",
        Suggestion::PredictableSubstitutionsDontHelpVeryMuch => "password_suggestion_substitutions",
        Suggestion::UseALongerKeyboardPatternWithMoreTurns => "password_suggestion_keyboard_turns",
        Suggestion::AvoidRepeatedWordsAndCharacters => "password_suggestion_repeats",
        Suggestion::AvoidSequences => "password_suggestion_sequences",
        Suggestion::AvoidRecentYears => "password_suggestion_recent_years",
        Suggestion::AvoidYearsThatAreAssociatedWithYou => "password_suggestion_own_years",
        Suggestion::AvoidDatesAndYearsThatAreAssociatedWithYou => "password_suggestion_own_dates",
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
    /// The lowest zxcvbn score accepted (`password.min_score`, 0 to 4).
    pub min_score: u8,
    pub person: PersonalDetails<'a>,
}

/// What is known of the person choosing the password (empty: not known). The local part of the
/// address may not appear in the password at all; all of it is given to zxcvbn, because a
/// guesser who targets the person tries these first.
#[derive(Debug, Clone, Copy, Default)]
pub struct PersonalDetails<'a> {
    pub email: &'a str,
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub organisation: &'a str,
}

/// Pieces shorter than this tell zxcvbn nothing a guesser would not try anyway ("de", "jr").
const MIN_INPUT_CHARS: usize = 3;

impl PersonalDetails<'_> {
    /// The address's local part (all of `email` when it has no `@`).
    fn local_part(&self) -> &str {
        self.email
            .rsplit_once('@')
            .map_or(self.email, |(local, _)| local)
    }

    /// What zxcvbn is told: the address whole; its local part and domain name (without the
    /// top-level domain); each name, the full name and the organisation; each of these as typed,
    /// run together and word by word, since people write `JanJansen` as well as `Jan-Jansen`.
    fn user_inputs(&self) -> Vec<String> {
        let domain = self.email.rsplit_once('@').map_or("", |(_, domain)| domain);
        let domain_name = domain.rsplit_once('.').map_or(domain, |(name, _)| name);
        let full_name = format!("{} {}", self.given_name, self.family_name);
        let texts = [
            self.local_part(),
            domain_name,
            self.given_name,
            self.family_name,
            &full_name,
            self.organisation,
        ];
        let mut inputs = vec![self.email.to_lowercase()];
        for variant in texts.into_iter().flat_map(variants) {
            if variant.chars().count() >= MIN_INPUT_CHARS && !inputs.contains(&variant) {
                inputs.push(variant);
            }
        }
        inputs
    }
}

/// A text in lower case (as zxcvbn compares): as typed, without its spaces and punctuation, and
/// each of its words.
fn variants(text: &str) -> Vec<String> {
    let lower = text.trim().to_lowercase();
    let joined: String = lower.chars().filter(|c| c.is_alphanumeric()).collect();
    let words = lower
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_owned);
    [lower.clone(), joined].into_iter().chain(words).collect()
}

pub const MAX_LENGTH: usize = 256;

impl NewPassword {
    /// Checks every rule and returns all violations, so each can be shown at its field. The
    /// estimate comes only after the stated rules pass: a password that is too short already has
    /// its reason, and a second one would only crowd it.
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
        if violations.is_empty()
            && let Some(guess) = weakness(password, policy)
        {
            violations.push(PasswordViolation::Guessable(guess));
        }
        let local = policy.person.local_part().to_lowercase();
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

/// zxcvbn's verdict on the password: `None` when it scores at least `min_score`.
fn weakness(password: &str, policy: &PasswordPolicy<'_>) -> Option<Guess> {
    let inputs = policy.person.user_inputs();
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let entropy = zxcvbn::zxcvbn(password, &inputs);
    (u8::from(entropy.score()) < policy.min_score).then(|| explain(&entropy, &inputs))
}

/// Why a refused password is weak. zxcvbn gives its feedback only for scores up to 2; a password
/// refused at 3 (the default minimum is 4) is explained the same way from the weakest part zxcvbn
/// found, so the person never gets a refusal without a reason to act on.
fn explain(entropy: &Entropy, inputs: &[&str]) -> Guess {
    let weakest = weakest_part(entropy.sequence());
    let personal = weakest.is_some_and(|part| is_personal(part, inputs));
    let (warning, mut suggestions) = match (entropy.feedback(), weakest) {
        (Some(feedback), _) => (feedback.warning(), feedback.suggestions().to_vec()),
        // What zxcvbn would say of the person's own name as a word means nothing to them.
        (None, Some(part)) if !personal => part_feedback(part),
        (None, _) => (None, Vec::new()),
    };
    if suggestions.is_empty() {
        suggestions.push(Suggestion::AddAnotherWordOrTwo);
    }
    let reason = if personal {
        Some(Reason::PersonalDetails)
    } else {
        warning.map(Reason::Warning)
    };
    Guess {
        reason,
        suggestions,
    }
}

/// The longest part zxcvbn recognised (rather than brute-forced), which is the part it explains
/// a password by.
fn weakest_part(sequence: &[Match]) -> Option<&Match> {
    sequence
        .iter()
        .filter(|part| !matches!(part.pattern, MatchPattern::BruteForce))
        .max_by_key(|part| part.token.chars().count())
}

/// Whether the part is one of the person's own details.
fn is_personal(part: &Match, inputs: &[&str]) -> bool {
    matches!(&part.pattern, MatchPattern::Dictionary(word) if inputs.contains(&word.matched_word.as_str()))
}

/// zxcvbn's feedback for one part, as zxcvbn 3.1 words it for a password made of that part: a
/// dictionary word is put to zxcvbn on its own (only zxcvbn can say which of its lists holds
/// it); the other patterns get the warning zxcvbn gives them.
fn part_feedback(part: &Match) -> (Option<Warning>, Vec<Suggestion>) {
    let (warning, suggestions): (Warning, &[Suggestion]) = match &part.pattern {
        MatchPattern::Dictionary(_) => return word_feedback(&part.token),
        MatchPattern::Spatial(keys) if keys.turns == 1 => (
            Warning::StraightRowsOfKeysAreEasyToGuess,
            &[Suggestion::UseALongerKeyboardPatternWithMoreTurns],
        ),
        MatchPattern::Spatial(_) => (
            Warning::ShortKeyboardPatternsAreEasyToGuess,
            &[Suggestion::UseALongerKeyboardPatternWithMoreTurns],
        ),
        MatchPattern::Repeat(repeat) if repeat.base_token.chars().count() == 1 => (
            Warning::RepeatsLikeAaaAreEasyToGuess,
            &[Suggestion::AvoidRepeatedWordsAndCharacters],
        ),
        MatchPattern::Repeat(_) => (
            Warning::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess,
            &[Suggestion::AvoidRepeatedWordsAndCharacters],
        ),
        MatchPattern::Sequence(_) => (
            Warning::SequencesLikeAbcAreEasyToGuess,
            &[Suggestion::AvoidSequences],
        ),
        MatchPattern::Regex(regex) if regex.regex_name == "recent_year" => (
            Warning::RecentYearsAreEasyToGuess,
            &[
                Suggestion::AvoidRecentYears,
                Suggestion::AvoidYearsThatAreAssociatedWithYou,
            ],
        ),
        MatchPattern::Date(_) => (
            Warning::DatesAreOftenEasyToGuess,
            &[Suggestion::AvoidDatesAndYearsThatAreAssociatedWithYou],
        ),
        _ => return (None, vec![Suggestion::AddAnotherWordOrTwo]),
    };
    let suggestions =
        std::iter::once(Suggestion::AddAnotherWordOrTwo).chain(suggestions.iter().copied());
    (Some(warning), suggestions.collect())
}

/// zxcvbn's feedback for a dictionary word alone (which it always scores low enough to explain).
fn word_feedback(word: &str) -> (Option<Warning>, Vec<Suggestion>) {
    zxcvbn::zxcvbn(word, &[])
        .feedback()
        .map(|feedback| (feedback.warning(), feedback.suggestions().to_vec()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Language;
    use crate::templates::Templates;

    /// Jan Jansen of Bakkerij Vermeulen, at the default minimum score.
    const JAN: PersonalDetails<'static> = PersonalDetails {
        email: "jan@example.nl",
        given_name: "Jan",
        family_name: "Jansen",
        organisation: "Bakkerij Vermeulen",
    };

    fn policy(person: PersonalDetails<'_>, min_score: u8) -> PasswordPolicy<'_> {
        PasswordPolicy {
            min_length: 16,
            min_score,
            person,
        }
    }

    fn check_as(
        person: PersonalDetails<'_>,
        min_score: u8,
        password: &str,
    ) -> Result<NewPassword, Vec<PasswordViolation>> {
        NewPassword::parse(password, password, &policy(person, min_score))
    }

    fn check(password: &str) -> Result<NewPassword, Vec<PasswordViolation>> {
        let marco = PersonalDetails {
            email: "marco@ek88.nl",
            ..PersonalDetails::default()
        };
        check_as(marco, 4, password)
    }

    /// The one guess refused, or a panic naming what came back instead.
    fn guess(result: Result<NewPassword, Vec<PasswordViolation>>) -> Guess {
        match result.map(|_| ()).unwrap_err().as_slice() {
            [PasswordViolation::Guessable(guess)] => guess.clone(),
            other => panic!("not refused as guessable alone: {other:?}"),
        }
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
        assert_eq!(
            check("Marco-Tulpen-2026-Zon").unwrap_err(),
            vec![PasswordViolation::ContainsEmail]
        );
    }

    /// 19 characters with a capital, a digit and a special character, and no word zxcvbn knows
    /// as common: accepted, whoever chooses it.
    #[test]
    fn a_password_that_keeps_the_stated_rules_and_is_not_common_is_accepted() {
        assert!(check_as(JAN, 4, "Zomer2026!Werkgever").is_ok());
        assert!(check_as(PersonalDetails::default(), 4, "Zomer2026!Werkgever").is_ok());
    }

    #[test]
    fn a_weak_password_is_refused_with_zxcvbns_reason_and_suggestions() {
        // Scored 2: zxcvbn's own feedback.
        let keyboard = guess(check_as(JAN, 4, "Qwertyuiop123456!"));
        assert_eq!(
            keyboard.reason,
            Some(Reason::Warning(
                Warning::ThisIsSimilarToACommonlyUsedPassword
            ))
        );
        assert_eq!(
            keyboard.suggestions,
            [
                Suggestion::AddAnotherWordOrTwo,
                Suggestion::CapitalizationDoesntHelpVeryMuch
            ]
        );
        // Scored 3: explained from the weakest part, as zxcvbn explains lower scores.
        let repeated = guess(check_as(JAN, 4, "Welkom2026!Welkom2026!"));
        assert_eq!(
            repeated.reason,
            Some(Reason::Warning(
                Warning::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess
            ))
        );
        assert!(
            repeated
                .suggestions
                .contains(&Suggestion::AvoidRepeatedWordsAndCharacters)
        );
        let common = guess(check_as(JAN, 4, "Wachtwoord12345!!"));
        assert!(
            matches!(common.reason, Some(Reason::Warning(_))),
            "{common:?}"
        );
        assert!(!common.suggestions.is_empty());
        assert!(check_as(JAN, 4, "Aaaaaaaaaaaaaaaa1!").is_err());
        assert!(check_as(JAN, 4, "Password123456789!").is_err());
    }

    /// The organisation's name and the person's own names make a password weak that zxcvbn
    /// would otherwise let through.
    #[test]
    fn the_persons_own_details_count_against_a_password() {
        for password in ["Vermeulen2026!Bakkerij", "JanJansen12345678!"] {
            assert!(
                check_as(PersonalDetails::default(), 4, password).is_ok(),
                "{password} is strong to a stranger"
            );
            let own = guess(check_as(JAN, 4, password));
            assert_eq!(own.reason, Some(Reason::PersonalDetails), "{password}");
        }
        let inputs = JAN.user_inputs();
        for expected in [
            "jan@example.nl",
            "example",
            "jansen",
            "janjansen",
            "bakkerij",
            "bakkerijvermeulen",
        ] {
            assert!(
                inputs.iter().any(|i| i == expected),
                "{expected}: {inputs:?}"
            );
        }
        assert!(inputs.iter().all(|i| i.chars().count() >= MIN_INPUT_CHARS));
    }

    #[test]
    fn the_minimum_score_is_respected() {
        // zxcvbn scores this one 3, and the keyboard run 2.
        assert!(check_as(JAN, 3, "Wachtwoord12345!!").is_ok());
        assert!(check_as(JAN, 4, "Wachtwoord12345!!").is_err());
        assert!(check_as(JAN, 2, "Qwertyuiop123456!").is_ok());
        assert!(check_as(JAN, 3, "Qwertyuiop123456!").is_err());
        // 0 turns the estimate off; the stated rules still hold.
        assert!(check_as(JAN, 0, "Aaaaaaaaaaaaaaaa1!").is_ok());
        assert_eq!(
            check_as(JAN, 0, "aaaaaaaaaaaaaaaa1!")
                .map(|_| ())
                .unwrap_err(),
            vec![PasswordViolation::NoCapital]
        );
    }

    #[test]
    fn confirmation_must_match() {
        let err = NewPassword::parse(
            "Zeer-Sterk-Wachtw00rd-Tulp",
            "Zeer-Sterk-Wachtw00rd-Tul",
            &policy(JAN, 4),
        );
        assert_eq!(err.unwrap_err(), vec![PasswordViolation::Mismatch]);
    }

    /// Every reason and suggestion zxcvbn can give, and the personal one, has its own text in
    /// both page catalogues.
    #[test]
    fn every_reason_and_suggestion_has_a_text_in_both_catalogues() {
        let warnings = [
            Warning::StraightRowsOfKeysAreEasyToGuess,
            Warning::ShortKeyboardPatternsAreEasyToGuess,
            Warning::RepeatsLikeAaaAreEasyToGuess,
            Warning::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess,
            Warning::ThisIsATop10Password,
            Warning::ThisIsATop100Password,
            Warning::ThisIsACommonPassword,
            Warning::ThisIsSimilarToACommonlyUsedPassword,
            Warning::SequencesLikeAbcAreEasyToGuess,
            Warning::RecentYearsAreEasyToGuess,
            Warning::AWordByItselfIsEasyToGuess,
            Warning::DatesAreOftenEasyToGuess,
            Warning::NamesAndSurnamesByThemselvesAreEasyToGuess,
            Warning::CommonNamesAndSurnamesAreEasyToGuess,
        ];
        let suggestions = [
            Suggestion::UseAFewWordsAvoidCommonPhrases,
            Suggestion::NoNeedForSymbolsDigitsOrUppercaseLetters,
            Suggestion::AddAnotherWordOrTwo,
            Suggestion::CapitalizationDoesntHelpVeryMuch,
            Suggestion::AllUppercaseIsAlmostAsEasyToGuessAsAllLowercase,
            Suggestion::ReversedWordsArentMuchHarderToGuess,
            Suggestion::PredictableSubstitutionsDontHelpVeryMuch,
            Suggestion::UseALongerKeyboardPatternWithMoreTurns,
            Suggestion::AvoidRepeatedWordsAndCharacters,
            Suggestion::AvoidSequences,
            Suggestion::AvoidRecentYears,
            Suggestion::AvoidYearsThatAreAssociatedWithYou,
            Suggestion::AvoidDatesAndYearsThatAreAssociatedWithYou,
        ];
        let mut keys: Vec<&str> = warnings
            .into_iter()
            .map(Reason::Warning)
            .chain([Reason::PersonalDetails])
            .map(reason_key)
            .chain(suggestions.into_iter().map(suggestion_key))
            .collect();
        let templates = Templates::load().unwrap();
        for language in [Language::Nl, Language::En] {
            let catalogue = templates.catalogue(language);
            for key in &keys {
                assert!(catalogue.contains_key(*key), "{key} in {language:?}");
            }
        }
        let count = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), count, "each has a key of its own");
    }
}
