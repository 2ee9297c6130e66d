//! One module per journey of the manual, named as the manual names it. A journey takes parsed
//! input, applies the rules, and writes its rows (and mails, and audit events) in one transaction.

pub mod account;
pub mod administration;
pub mod invitation;
pub mod login;
pub mod logout;
pub mod otp_setup;
pub mod own_account;
pub mod password_reset;
pub mod registration;
pub mod second_factor;

use crate::domain::{Email, PasswordViolation};
use crate::error::Fault;

/// A field of a form that broke a rule; `message_key` names the text in the page catalogues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message_key: String,
}

impl FieldError {
    pub fn new(field: &'static str, message_key: impl Into<String>) -> Self {
        Self {
            field,
            message_key: message_key.into(),
        }
    }

    /// A broken password rule, at the field it belongs to (a mismatch at the confirmation).
    pub fn password(violation: PasswordViolation) -> Self {
        let field = if violation == PasswordViolation::Mismatch {
            "password_confirm"
        } else {
            "password"
        };
        Self::new(field, format!("password_error_{}", violation.key()))
    }
}

/// Why a journey (or a page's check of its request) did not go ahead, in the reader's words.
/// `web::page` turns each into the page the person sees.
#[derive(Debug, thiserror::Error)]
pub enum JourneyError {
    #[error("the form's CSRF token is missing or wrong")]
    Csrf,
    #[error("there is no such page")]
    NotFound,
    #[error("the request is not what this page takes: {0}")]
    BadRequest(String),
    #[error("the form was not sent in time")]
    TooSlow,
    #[error("the body is not of a media type this endpoint takes")]
    UnsupportedMediaType,
    #[error("there is no login session at this step (ended, expired, or never started)")]
    SessionExpired,
    #[error("the e-mail address or password is wrong")]
    InvalidCredentials,
    #[error("the one-time code is wrong")]
    WrongCode,
    #[error("the login is not recent enough for this change; the second factor is asked again")]
    StepUpRequired,
    #[error("the last authenticator cannot be removed")]
    LastAuthenticator,
    #[error("too many failed attempts; the next may come after {0} s")]
    Throttled(i64),
    #[error("the invitation link is unknown, used, expired or replaced")]
    InvalidInvitation,
    #[error("the reset link is unknown, used, expired or replaced")]
    InvalidResetLink,
    #[error("the form has errors")]
    Form(Vec<FieldError>),
    #[error("no account with that e-mail address")]
    UnknownUser,
    #[error("not allowed to manage this account")]
    NotAllowed,
    #[error("{0} has already registered; reset their password or authenticator instead")]
    AlreadyRegistered(Email),
    #[error("unknown organisation")]
    UnknownOrganisation,
    /// Said exactly as [`JourneyError::AlreadyRegistered`]: a superuser learns nothing about
    /// other organisations.
    #[error("{0} already has an account")]
    OtherOrganisation(Email),
    #[error("everyone but HCC staff belongs to an organisation")]
    OrganisationMismatch,
    #[error("too many mails for this address in the last hour")]
    MailLimit,
    #[error("the organisation's last active superuser cannot be demoted or blocked")]
    LastSuperuser,
    #[error("HCC staff blocked this account; only HCC staff can unblock it")]
    BlockedByStaff,
    #[error("that role cannot be given this way (HCC staff are invited as such)")]
    RoleNotAssignable,
    #[error("the invitation was used or withdrawn already")]
    InvitationClosed,
    #[error("the access token is missing, invalid, expired or revoked")]
    InvalidToken,
    #[error("the client metadata is not valid: {0}")]
    InvalidClientMetadata(String),
    #[error(transparent)]
    Fault(#[from] Fault),
}

impl JourneyError {
    /// One field error.
    pub fn field(field: &'static str, message_key: impl Into<String>) -> Self {
        JourneyError::Form(vec![FieldError::new(field, message_key)])
    }
}

macro_rules! faults_are_journey_errors {
    ($($source:ty),* $(,)?) => {$(
        impl From<$source> for JourneyError {
            fn from(e: $source) -> Self {
                JourneyError::Fault(e.into())
            }
        }
    )*};
}

faults_are_journey_errors!(
    crate::storage::DbError,
    diesel::result::Error,
    crate::crypto::HashError,
    crate::crypto::UnsealError,
    crate::templates::RenderError,
    anyhow::Error,
);
