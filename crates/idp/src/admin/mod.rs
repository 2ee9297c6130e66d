//! Administration by HCC staff: the `idp admin …` commands (and, with the portal issue, the
//! admin API). Both call the same journey functions as the hosted pages.

pub mod cli;
pub mod clients;
pub mod keys;
