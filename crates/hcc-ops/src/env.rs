//! Environment variables as a figment layer: `<PREFIX><KEY>__<SUBKEY>` sets `key.subkey`, read
//! as figment's `Env::prefixed(PREFIX).split("__")` reads them (the prefix in any case, the rest
//! lowercased, each value parsed as a number, a boolean, an array … or else kept as text), but
//! from a list the caller gives. The binaries give the process environment; a test gives the one
//! a deployment file sets, without changing the environment of the process it runs in.

use figment::value::{Dict, Map, Value};
use figment::{Error, Metadata, Profile, Provider};

/// What separates the levels of a key path in a variable's name.
const SEPARATOR: &str = "__";

/// The variables of one prefix, a layer of a [`figment::Figment`].
#[derive(Debug, Clone)]
pub struct EnvVars {
    prefix: String,
    vars: Vec<(String, String)>,
}

impl EnvVars {
    /// The process environment; a name or value that is not UTF-8 is read lossily.
    pub fn process(prefix: &str) -> Self {
        let vars = std::env::vars_os().map(|(name, value)| {
            (
                name.to_string_lossy().into_owned(),
                value.to_string_lossy().into_owned(),
            )
        });
        Self::from_pairs(prefix, vars)
    }

    /// Exactly these variables, in this order (a later one of the same name wins).
    pub fn from_pairs<K, V>(prefix: &str, vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        Self {
            prefix: prefix.to_owned(),
            vars: vars
                .into_iter()
                .map(|(name, value)| (name.into(), value.into()))
                .collect(),
        }
    }

    /// The value of the variable spelt exactly `name`: for the variables that choose what else
    /// is read (a profile, a folder), before any layer is merged.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .rev()
            .find(|(candidate, _)| candidate == name)
            .map(|(_, value)| value.as_str())
    }

    /// The key path a variable sets (`IDP_MAIL__SMTP__HOST` → `mail.smtp.host`); `None` for a
    /// name without the prefix or with an empty level, which figment's `Env` skips as well.
    pub fn key_path(&self, name: &str) -> Option<String> {
        let name = name.trim();
        let head = name.get(..self.prefix.len())?;
        if !head.eq_ignore_ascii_case(&self.prefix) {
            return None;
        }
        let path = name[self.prefix.len()..].replace(SEPARATOR, ".");
        let path = path.trim();
        if path.split('.').any(str::is_empty) {
            return None;
        }
        Some(path.to_ascii_lowercase())
    }
}

impl Provider for EnvVars {
    /// Names the variables in error messages as they are spelt (`IDP_SERVER__PORT`), so an
    /// operator finds the one to fix.
    fn metadata(&self) -> Metadata {
        let prefix = self.prefix.to_ascii_uppercase();
        Metadata::named(format!("`{prefix}` environment variable(s)")).interpolater(
            move |_: &Profile, keys: &[&str]| {
                format!("{prefix}{}", keys.join(SEPARATOR).to_ascii_uppercase())
            },
        )
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        let mut dict = Dict::new();
        for (name, value) in &self.vars {
            if let Some(path) = self.key_path(name) {
                let Ok(value) = value.parse::<Value>();
                let levels: Vec<&str> = path.split('.').collect();
                insert(&mut dict, &levels, value);
            }
        }
        Ok(Profile::Default.collect(dict))
    }
}

/// Puts `value` at `levels` in `dict`, making the tables on the way; a value already there is
/// replaced, as a later variable overrides an earlier one.
fn insert(dict: &mut Dict, levels: &[&str], value: Value) {
    match levels {
        [] => {}
        [leaf] => {
            dict.insert((*leaf).to_owned(), value);
        }
        [table, rest @ ..] => {
            let entry = dict
                .entry((*table).to_owned())
                .or_insert_with(|| Value::from(Dict::new()));
            if !matches!(entry, Value::Dict(..)) {
                *entry = Value::from(Dict::new());
            }
            if let Value::Dict(_, inner) = entry {
                insert(inner, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use figment::Figment;
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Server {
        host: String,
        port: u16,
        tls: bool,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Settings {
        issuer: String,
        server: Server,
    }

    fn layers(vars: &[(&str, &str)]) -> Figment {
        Figment::new().merge(EnvVars::from_pairs("APP_", vars.iter().copied()))
    }

    fn extract(vars: &[(&str, &str)]) -> Settings {
        layers(vars).extract().unwrap()
    }

    #[test]
    fn levels_are_separated_by_two_underscores_and_values_parsed() {
        let settings = extract(&[
            ("APP_ISSUER", "http://localhost:8080"),
            ("APP_SERVER__HOST", "0.0.0.0"),
            ("APP_SERVER__PORT", "8080"),
            ("APP_SERVER__TLS", "true"),
            ("OTHER_SERVER__PORT", "1"),
        ]);
        assert_eq!(
            settings,
            Settings {
                issuer: "http://localhost:8080".into(),
                server: Server {
                    host: "0.0.0.0".into(),
                    port: 8080,
                    tls: true
                },
            }
        );
    }

    #[test]
    fn a_later_variable_of_the_same_name_wins() {
        let vars = [
            ("APP_ISSUER", "a"),
            ("APP_SERVER__HOST", "h"),
            ("APP_SERVER__PORT", "1"),
            ("APP_SERVER__TLS", "false"),
            ("APP_SERVER__PORT", "2"),
        ];
        assert_eq!(extract(&vars).server.port, 2);
        let env = EnvVars::from_pairs("APP_", vars);
        assert_eq!(env.var("APP_SERVER__PORT"), Some("2"));
        assert_eq!(env.var("app_server__port"), None, "exactly so spelt");
    }

    #[test]
    fn key_paths_as_figment_env_reads_them() {
        let env = EnvVars::from_pairs("APP_", Vec::<(String, String)>::new());
        assert_eq!(
            env.key_path("APP_MAIL__SMTP__HOST").as_deref(),
            Some("mail.smtp.host")
        );
        assert_eq!(env.key_path("app_Issuer").as_deref(), Some("issuer"));
        assert_eq!(env.key_path(" APP_DATA_DIR ").as_deref(), Some("data_dir"));
        assert_eq!(env.key_path("APP_"), None);
        assert_eq!(env.key_path("APP_MAIL____HOST"), None);
        assert_eq!(env.key_path("APP_MAIL__"), None);
        assert_eq!(env.key_path("AP"), None);
        assert_eq!(env.key_path("OTHER_ISSUER"), None);
    }

    #[test]
    fn an_error_names_the_variable() {
        let error = layers(&[
            ("APP_ISSUER", "x"),
            ("APP_SERVER__HOST", "h"),
            ("APP_SERVER__PORT", "not a port"),
            ("APP_SERVER__TLS", "false"),
        ])
        .extract::<Settings>()
        .unwrap_err();
        assert!(error.to_string().contains("APP_SERVER__PORT"), "{error}");
    }
}
