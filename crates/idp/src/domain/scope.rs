//! Scopes the IdP knows (OIDC Core §5.4 plus the HCC `organisation` scope). Unknown scope values
//! are ignored, as OIDC Core §3.1.2.1 says, and never granted.

pub const OPENID: &str = "openid";
pub const PROFILE: &str = "profile";
pub const EMAIL: &str = "email";
pub const ORGANISATION: &str = "organisation";
pub const OFFLINE_ACCESS: &str = "offline_access";
/// The admin API (`/admin/api/v1`): only HCC's own (first-party) clients, and only for active
/// superusers and HCC staff.
pub const ADMIN: &str = "admin";

pub const SUPPORTED: &[&str] = &[OPENID, PROFILE, EMAIL, ORGANISATION, OFFLINE_ACCESS, ADMIN];

/// A set of granted scope values in a stable order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scope(Vec<String>);

impl Scope {
    /// The requested values that are known and allowed for the client.
    pub fn grant(requested: &str, allowed: &[String]) -> Self {
        let mut granted: Vec<String> = Vec::new();
        for value in requested.split(' ').filter(|v| !v.is_empty()) {
            if SUPPORTED.contains(&value)
                && allowed.iter().any(|a| a == value)
                && !granted.iter().any(|g| g == value)
            {
                granted.push(value.to_owned());
            }
        }
        Self(granted)
    }

    pub fn parse_stored(stored: &str) -> Self {
        Self(
            stored
                .split(' ')
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }

    pub fn contains(&self, value: &str) -> bool {
        self.0.iter().any(|v| v == value)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The subset of `self` that `requested` names (a narrowed refresh request).
    pub fn narrow(&self, requested: &str) -> Option<Self> {
        let wanted: Vec<&str> = requested.split(' ').filter(|v| !v.is_empty()).collect();
        if wanted.iter().all(|w| self.contains(w)) {
            Some(Self(
                self.0
                    .iter()
                    .filter(|v| wanted.contains(&v.as_str()))
                    .cloned()
                    .collect(),
            ))
        } else {
            None
        }
    }

    pub fn values(&self) -> &[String] {
        &self.0
    }

    /// Whether every value of `self` is in `other` (a request within an earlier grant).
    pub fn is_within(&self, other: &Scope) -> bool {
        self.0.iter().all(|v| other.contains(v))
    }

    /// The values of both, `self`'s first.
    pub fn union(&self, other: &Scope) -> Self {
        let mut values = self.0.clone();
        values.extend(other.0.iter().filter(|v| !self.contains(v)).cloned());
        Self(values)
    }

    pub fn without(&self, value: &str) -> Self {
        Self(self.0.iter().filter(|v| *v != value).cloned().collect())
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_disallowed_values_are_not_granted() {
        let allowed: Vec<String> = ["openid", "email", "profile"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let s = Scope::grant("openid  email unknown:thing offline_access email", &allowed);
        assert_eq!(s.to_string(), "openid email");
        assert_eq!(s.narrow("email").unwrap().to_string(), "email");
        assert!(s.narrow("profile").is_none());
        let wider = Scope::parse_stored("openid email profile");
        assert!(s.is_within(&wider) && !wider.is_within(&s));
        assert_eq!(s.union(&wider).to_string(), "openid email profile");
    }
}
