//! Administration by HCC staff on the server: the `idp admin …` commands. They offer the admin
//! API's operations (and a few only the server has), call the same journey functions, and
//! answer in text or, with `--json`, in the API's JSON (`output.rs`).

pub mod audit;
pub mod cli;
pub mod clients;
pub mod invitations;
pub mod keys;
pub mod organisations;
pub mod output;
pub mod people;
