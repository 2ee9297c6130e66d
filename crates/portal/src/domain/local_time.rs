//! Times as people in the Netherlands read them (Europe/Amsterdam), in the page's language:
//! the rules live in `hcc-time`, shared with the IdP's mails so a page and a mail never
//! disagree about the same moment.

use super::Language;

impl From<Language> for hcc_time::Language {
    fn from(language: Language) -> Self {
        match language {
            Language::Nl => hcc_time::Language::Nl,
            Language::En => hcc_time::Language::En,
        }
    }
}

/// An RFC 3339 time from the IdP as `4 december 2026, 14:30`; the text as given when it is not
/// one.
pub fn format_rfc3339(value: &str, language: Language) -> String {
    hcc_time::format_rfc3339(value, language.into())
}

/// The short month name of a month (1–12), for chart labels.
pub fn month_abbreviation(month: u32, language: Language) -> String {
    hcc_time::month_abbreviation(month, language.into())
}
