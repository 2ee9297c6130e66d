//! The portal's two languages. Dutch is the default.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Language {
    #[default]
    Nl,
    En,
}

impl Language {
    pub fn code(self) -> &'static str {
        match self {
            Language::Nl => "nl",
            Language::En => "en",
        }
    }

    /// Exact code, or a tag such as `en-GB`.
    pub fn from_tag(tag: &str) -> Option<Self> {
        match tag
            .trim()
            .split(['-', '_'])
            .next()?
            .to_ascii_lowercase()
            .as_str()
        {
            "nl" => Some(Language::Nl),
            "en" => Some(Language::En),
            _ => None,
        }
    }

    /// The supported language with the highest q-value of an `Accept-Language` header (the
    /// first of equals).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_headers() {
        assert_eq!(Language::from_tag("en-GB"), Some(Language::En));
        assert_eq!(Language::from_tag("de"), None);
        assert_eq!(
            Language::from_accept_language("de-DE, en;q=0.8, nl;q=0.5"),
            Some(Language::En)
        );
        assert_eq!(
            Language::from_accept_language("en;q=0, nl"),
            Some(Language::Nl)
        );
    }
}
