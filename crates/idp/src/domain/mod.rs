//! Pure types and rules, parsed once at the edge and trusted inside. No I/O here.

pub mod email;
pub mod language;
pub mod names;
pub mod password;
pub mod redirect_uri;
pub mod scope;
pub mod totp;
pub mod user;

pub use email::Email;
pub use language::Language;
pub use names::{OrganisationName, PersonName};
pub use password::{NewPassword, PasswordViolation};
pub use redirect_uri::RedirectUri;
pub use scope::Scope;
pub use totp::{TotpSecret, TotpStep};
pub use user::{Role, Stage, UserStatus};
