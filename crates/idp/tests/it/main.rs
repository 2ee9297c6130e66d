//! Integration tests: the real server on a random port, real PostgreSQL and SQLite databases
//! (a fresh one per test), real SMTP to an in-process sink, real HTTP with cookies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod account;
mod admin_api;
mod cli;
mod consent;
mod deployment;
mod driver;
mod e2e;
mod errors;
mod faults;
mod forms;
mod fuzz_corpus;
mod hardening;
mod helpers;
mod hostile_input;
mod http_limits;
mod keys;
mod load;
mod multi_node;
mod new_device;
mod oidc;
mod oidc_rules;
mod onboarding;
mod operations;
mod outbox;
mod passkeys;
mod portal;
mod properties;
mod recovery;
mod registration;
mod security_headers;
mod sessions;
mod storage;
mod throttling;
