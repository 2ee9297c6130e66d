//! The test driver: who uses the IdP in a test, each written once — a [`Browser`] (cookies,
//! forms with their CSRF token, the login pages), a [`RelyingParty`] (authorization URL, code
//! exchange, refresh, introspection, revocation, userinfo, registration) with its back-channel
//! logout endpoint, the [`Admin`] (staff actions and what staff read), the [`Mailbox`] (the SMTP
//! sink and the outbox), the [`Person`]s they act for, and the binary itself as an
//! [`IdpProcess`] when a test reads what the server logs. Test modules use these and nothing
//! of each other.

mod account;
mod admin;
mod admin_api;
mod backchannel;
mod browser;
mod crowd;
mod html;
mod mailbox;
mod passkey;
mod people;
mod portal;
mod process;
mod relying_party;

pub use account::*;
pub use admin::*;
pub use admin_api::*;
pub use backchannel::*;
pub use browser::*;
pub use crowd::*;
pub use html::*;
pub use mailbox::*;
pub use passkey::*;
pub use people::*;
pub use portal::*;
pub use process::*;
pub use relying_party::*;
