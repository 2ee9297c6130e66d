//! What the IdP's and the portal's binaries share about running in a deployment: their settings
//! from environment variables ([`env`]), and the health probe a container image runs
//! ([`health`]), so both behave the same under one orchestrator.

pub mod env;
pub mod health;
