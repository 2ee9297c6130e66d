//! The HumanCapitalCare employer portal: a relying party that trusts only HCC Identity's signed
//! tokens, with the dashboard and the organisation administration (through the IdP's admin API).

pub mod admin_api;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod oidc;
pub mod sessions;
pub mod startup;
pub mod state;
pub mod templates;
pub mod web;
