//! The tera pages and the nl/en catalogues, embedded in the binary. Tera fails on an undefined
//! variable, so a page with a missing value is an error a test catches, never an empty text.

use std::collections::BTreeMap;

use tera::{Context, Tera};

use crate::domain::Language;

macro_rules! embedded {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../templates/", $name)))),*]
    };
}

const TEMPLATES: &[(&str, &str)] = embedded![
    "layout.html",
    "macros.html",
    "pages/landing.html",
    "pages/dashboard.html",
    "pages/organisations.html",
    "pages/manage.html",
    "pages/activity.html",
    "pages/message.html",
];

const CATALOGUE_NL: &str = include_str!("../locales/nl.toml");
const CATALOGUE_EN: &str = include_str!("../locales/en.toml");

pub type Catalogue = BTreeMap<String, String>;

#[derive(Debug)]
pub struct Templates {
    tera: Tera,
    nl: Catalogue,
    en: Catalogue,
}

impl Templates {
    pub fn load() -> anyhow::Result<Self> {
        let mut tera = Tera::default();
        tera.add_raw_templates(TEMPLATES.iter().copied())?;
        tera.autoescape_on(vec![".html"]);
        let parse = |source: &str| -> anyhow::Result<Catalogue> {
            use figment::providers::{Format, Toml};
            Ok(figment::Figment::from(Toml::string(source)).extract()?)
        };
        Ok(Self {
            tera,
            nl: parse(CATALOGUE_NL)?,
            en: parse(CATALOGUE_EN)?,
        })
    }

    pub fn catalogue(&self, language: Language) -> &Catalogue {
        match language {
            Language::Nl => &self.nl,
            Language::En => &self.en,
        }
    }

    /// One message; a missing key is a bug the catalogue test catches.
    pub fn text(&self, language: Language, key: &str) -> String {
        self.catalogue(language)
            .get(key)
            .cloned()
            .unwrap_or_else(|| key.to_owned())
    }

    /// Whether the catalogue has `key` (event names the portal does not know yet).
    pub fn has(&self, key: &str) -> bool {
        self.nl.contains_key(key)
    }

    pub fn render(&self, name: &str, context: &Context) -> Result<String, tera::Error> {
        self.tera.render(name, context)
    }
}

/// `text` with each `{name}` replaced by its value.
pub fn fill(text: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(text.to_owned(), |t, (name, value)| {
        t.replace(&format!("{{{name}}}"), value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogues_have_the_same_keys_and_no_empty_text() {
        let t = Templates::load().unwrap();
        assert_eq!(
            t.nl.keys().collect::<Vec<_>>(),
            t.en.keys().collect::<Vec<_>>()
        );
        for (k, v) in t.nl.iter().chain(t.en.iter()) {
            assert!(!v.trim().is_empty(), "{k}");
        }
    }

    #[test]
    fn a_missing_value_is_an_error() {
        let t = Templates::load().unwrap();
        assert!(t.render("pages/message.html", &Context::new()).is_err());
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            fill("{email} is {role}", &[("email", "a@b.nl"), ("role", "x")]),
            "a@b.nl is x"
        );
    }
}
