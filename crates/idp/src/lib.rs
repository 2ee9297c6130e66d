//! HCC Identity: an OpenID Connect identity provider with hosted login pages.
//! docs/ARCHITECTURE.md maps the modules below to the journeys of the manual.

pub mod admin;
pub mod background;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod email;
pub mod error;
pub mod fuzzing;
pub mod journeys;
pub mod keys;
pub mod metrics;
pub mod oidc;
pub mod outbound;
pub mod outbox;
pub mod passkeys;
pub mod sessions;
pub mod startup;
pub mod state;
pub mod storage;
pub mod telemetry;
pub mod templates;
pub mod throttle;
pub mod web;
