//! The crate's errors, one type per layer: the domain's parse errors (`domain`), what a journey
//! refuses (`journeys::JourneyError`), what a protocol endpoint refuses
//! (`oidc::error::OAuthError`). Each carries a [`Fault`] when the system, not the request,
//! failed. Exactly two places turn them into answers, chosen by the route: `web::page` (a page in
//! the person's language) and `web::oidc` (the RFC's JSON). A fault is logged once, with the
//! request id, by `web::request_span`.

use crate::crypto::{HashError, UnsealError};
use crate::keys::KeyError;
use crate::storage::DbError;
use crate::templates::RenderError;

/// Something the system could not do: the database, a template, hashing, signing, opening
/// sealed data. Never the person's or the client's doing; answered with 500 (503 for the
/// database) and logged.
#[derive(Debug, thiserror::Error)]
pub enum Fault {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error(transparent)]
    Unsealed(#[from] UnsealError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// What a 503 asks the client to wait before trying again (`Retry-After`, seconds).
pub const RETRY_AFTER_SECONDS: u32 = 5;

impl Fault {
    /// The database is unreachable, or too many password checks are waiting: answered 503 with
    /// `Retry-After`, not 500.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Fault::Db(e) if e.is_unavailable())
            || matches!(self, Fault::Hash(crate::crypto::HashError::Busy))
    }
}

impl From<diesel::result::Error> for Fault {
    fn from(e: diesel::result::Error) -> Self {
        Fault::Db(DbError::Query(e))
    }
}
