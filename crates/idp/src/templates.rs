//! The tera templates and the nl/en message catalogues, embedded in the binary so it runs from
//! any folder. Tera fails on an undefined variable, and the context never holds a null, so a
//! mail or page with a missing value is an error a test catches, never the text "null".

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
    "pages/message.html",
    "pages/registration.html",
    "pages/otp_setup.html",
    "pages/login.html",
    "pages/login_otp.html",
    "pages/logout.html",
    "pages/consent.html",
    "pages/forgot_password.html",
    "pages/reset_password.html",
    "pages/error.html",
    "pages/account.html",
    "pages/account_password.html",
    "pages/account_codes.html",
    "pages/account_confirm.html",
    "pages/login_recovery.html",
    "mail/layout.html",
    "mail/invitation.nl.html",
    "mail/invitation.nl.txt",
    "mail/invitation.en.html",
    "mail/invitation.en.txt",
    "mail/password_reset.nl.html",
    "mail/password_reset.nl.txt",
    "mail/password_reset.en.html",
    "mail/password_reset.en.txt",
    "mail/notice.nl.html",
    "mail/notice.nl.txt",
    "mail/notice.en.html",
    "mail/notice.en.txt",
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

#[derive(Debug, thiserror::Error)]
#[error("template {name}: {source}")]
pub struct RenderError {
    name: String,
    #[source]
    source: tera::Error,
}

impl Templates {
    pub fn load() -> anyhow::Result<Self> {
        let mut tera = Tera::default();
        tera.add_raw_templates(TEMPLATES.iter().copied())?;
        tera.autoescape_on(vec![".html"]);
        let nl: Catalogue = toml_catalogue(CATALOGUE_NL)?;
        let en: Catalogue = toml_catalogue(CATALOGUE_EN)?;
        Ok(Self { tera, nl, en })
    }

    pub fn catalogue(&self, language: Language) -> &Catalogue {
        match language {
            Language::Nl => &self.nl,
            Language::En => &self.en,
        }
    }

    /// One message of a catalogue; a missing key is a bug caught by the catalogue test.
    pub fn text(&self, language: Language, key: &str) -> String {
        self.catalogue(language)
            .get(key)
            .cloned()
            .unwrap_or_else(|| key.to_owned())
    }

    pub fn render(&self, name: &str, context: &Context) -> Result<String, RenderError> {
        self.tera
            .render(name, context)
            .map_err(|source| RenderError {
                name: name.to_owned(),
                source,
            })
    }
}

fn toml_catalogue(source: &str) -> anyhow::Result<Catalogue> {
    use figment::Figment;
    use figment::providers::{Format, Toml};
    Ok(Figment::from(Toml::string(source)).extract()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogues_have_the_same_keys_and_no_empty_text() {
        let t = Templates::load().unwrap();
        let nl: Vec<_> = t.nl.keys().collect();
        let en: Vec<_> = t.en.keys().collect();
        assert_eq!(nl, en);
        for (k, v) in t.nl.iter().chain(t.en.iter()) {
            assert!(!v.trim().is_empty() && !v.contains("null"), "{k}");
        }
    }

    #[test]
    fn a_missing_value_is_an_error_not_null() {
        let t = Templates::load().unwrap();
        let err = t.render("mail/invitation.nl.txt", &Context::new());
        assert!(err.is_err());
    }
}
