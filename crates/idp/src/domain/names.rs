//! Names people type: first and last names, organisation names. Trimmed, bounded, no control
//! characters (they end up in mail headers and subjects).

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidName {
    #[error("required")]
    Empty,
    #[error("too long")]
    TooLong,
    #[error("contains characters that are not allowed")]
    Forbidden,
}

fn clean(input: &str, max: usize) -> Result<String, InvalidName> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(InvalidName::Empty);
    }
    if trimmed.chars().count() > max {
        return Err(InvalidName::TooLong);
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() || matches!(c, '<' | '>'))
    {
        return Err(InvalidName::Forbidden);
    }
    Ok(trimmed.to_owned())
}

impl PersonName {
    pub const MAX: usize = 100;

    pub fn parse(input: &str) -> Result<Self, InvalidName> {
        clean(input, Self::MAX).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganisationName(String);

impl OrganisationName {
    pub fn parse(input: &str) -> Result<Self, InvalidName> {
        clean(input, 200).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Names are unique regardless of case: "EK88" and "ek88" are one organisation.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            PersonName::parse("  van Basten ").unwrap().as_str(),
            "van Basten"
        );
        assert_eq!(PersonName::parse(" "), Err(InvalidName::Empty));
        assert_eq!(PersonName::parse("a\nb"), Err(InvalidName::Forbidden));
        assert_eq!(
            PersonName::parse(&"x".repeat(101)),
            Err(InvalidName::TooLong)
        );
        assert_eq!(OrganisationName::parse("EK88").unwrap().key(), "ek88");
    }
}
