//! The OpenID Connect / OAuth 2.0 endpoints, one module per endpoint, named after the spec.

pub mod authorize;
pub mod backchannel;
pub mod bearer;
pub mod claims;
pub mod client;
pub mod client_auth;
pub mod code;
pub mod consent;
pub mod discovery;
pub mod error;
pub mod form;
pub mod introspection;
pub mod logout;
pub mod registration;
pub mod revocation;
pub mod token;
pub mod userinfo;
