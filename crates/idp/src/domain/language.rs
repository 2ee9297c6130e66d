//! The two languages of the hosted pages and mails. Dutch is the default.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Language {
    #[default]
    Nl,
    En,
}

impl From<Language> for hcc_time::Language {
    fn from(language: Language) -> Self {
        match language {
            Language::Nl => hcc_time::Language::Nl,
            Language::En => hcc_time::Language::En,
        }
    }
}

impl Language {
    pub const ALL: [Language; 2] = [Language::Nl, Language::En];

    pub fn code(self) -> &'static str {
        match self {
            Language::Nl => "nl",
            Language::En => "en",
        }
    }

    /// Exact code, or a tag such as `en-GB`.
    pub fn from_tag(tag: &str) -> Option<Self> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "nl" => Some(Language::Nl),
            "en" => Some(Language::En),
            _ => None,
        }
    }

    /// The first supported language of a space-separated list (OIDC `ui_locales`).
    pub fn from_ui_locales(list: &str) -> Option<Self> {
        list.split_whitespace().find_map(Self::from_tag)
    }

    /// The supported language with the highest q-value of an `Accept-Language` header.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut best: Option<(f32, Language)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or_default();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(lang) = Self::from_tag(tag)
                && q > 0.0
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, lang));
            }
        }
        best.map(|(_, lang)| lang)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        assert_eq!(
            Language::from_accept_language("en-GB,en;q=0.9,nl;q=0.8"),
            Some(Language::En)
        );
        assert_eq!(
            Language::from_accept_language("de, nl;q=0.5, en;q=0.4"),
            Some(Language::Nl)
        );
        assert_eq!(Language::from_accept_language("fr"), None);
        assert_eq!(Language::from_ui_locales("de en-US nl"), Some(Language::En));
    }
}
