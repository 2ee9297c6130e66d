//! The browser suite: Debian's Chromium, headless, driven through chromedriver against the real
//! IdP and employer portal (random ports, PostgreSQL, the SMTP sink), walking the manual's
//! journeys in Dutch and once in English, with every control found by its accessible name.
//! `cargo xtask e2e` runs only these; `cargo xtask test` runs them with everything else.

mod accessibility;
mod account;
mod administration;
mod chrome;
mod journeys;
mod screens;
mod stack;
mod words;
