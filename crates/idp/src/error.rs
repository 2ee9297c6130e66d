//! The crate's error type. Pages turn it into a page in the user's language (web::page); the
//! protocol endpoints into the RFC's JSON errors.

use crate::crypto::HashError;
use crate::storage::DbError;
use crate::templates::RenderError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("the CSRF token is missing or wrong")]
    Csrf,
    #[error("no valid session")]
    SessionExpired,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        AppError::Db(DbError::Query(e))
    }
}
