//! Structured logging. `RUST_LOG` filters; `IDP_LOG_FORMAT=json` switches to JSON lines. Values
//! from requests are logged through [`Untrusted`].

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn"));
    let json = std::env::var("IDP_LOG_FORMAT").is_ok_and(|v| v == "json");
    // Colours only on a terminal: a log file or collector gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// A value that came from a request (a `client_id`, a parameter name, a peer's answer), made
/// safe to log: control characters (newlines, ESC, …) are escaped, so one request can never
/// write a line of its own or drive the terminal, and it is cut at [`Untrusted::MAX_CHARS`].
/// Use it with `%` in log fields and in messages that may be logged.
#[derive(Clone, Copy)]
pub struct Untrusted<'a>(pub &'a str);

impl Untrusted<'_> {
    pub const MAX_CHARS: usize = 200;
}

impl std::fmt::Display for Untrusted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut chars = self.0.chars();
        for c in chars.by_ref().take(Self::MAX_CHARS) {
            if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
                write!(f, "{}", c.escape_unicode())?;
            } else {
                f.write_fmt(format_args!("{c}"))?;
            }
        }
        if chars.next().is_some() {
            f.write_str("…")?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for Untrusted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "\"{self}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::Untrusted;

    #[test]
    fn control_characters_are_escaped_and_long_values_cut() {
        let forged = "x\nINFO audit: forged\u{1b}[31m\r";
        let shown = Untrusted(forged).to_string();
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        assert_eq!(shown, "x\\u{a}INFO audit: forged\\u{1b}[31m\\u{d}");
        let long = "a".repeat(500);
        assert_eq!(Untrusted(&long).to_string().chars().count(), 201);
        assert_eq!(Untrusted("ek88-portal").to_string(), "ek88-portal");
    }
}
