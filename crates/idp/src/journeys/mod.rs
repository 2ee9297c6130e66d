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

use crate::config::PasswordSettings;
use crate::domain::password::{PasswordPolicy, PersonalDetails};
use crate::domain::{Email, PasswordViolation};
use crate::error::Fault;
use crate::state::IdpState;
use crate::storage::models::User;
use crate::storage::organisations;

/// A field of a form that broke a rule; `message_key` names the text in the page catalogues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message_key: String,
    /// Catalogue keys of sentences shown after the message, which say why and what would help
    /// (a guessable password's reason and suggestions). The message key alone stays the code
    /// that the admin API and the command line report.
    pub detail_keys: Vec<&'static str>,
}

impl FieldError {
    pub fn new(field: &'static str, message_key: impl Into<String>) -> Self {
        Self {
            field,
            message_key: message_key.into(),
            detail_keys: Vec::new(),
        }
    }

    /// A broken password rule, at the field it belongs to (a mismatch at the confirmation).
    pub fn password(violation: PasswordViolation) -> Self {
        let field = if violation == PasswordViolation::Mismatch {
            "password_confirm"
        } else {
            "password"
        };
        let mut error = Self::new(field, format!("password_error_{}", violation.key()));
        if let PasswordViolation::Guessable(guess) = &violation {
            error.detail_keys = guess.keys();
        }
        error
    }
}

/// The organisation HCC staff, who belong to none, are part of.
pub const STAFF_ORGANISATION: &str = "HumanCapitalCare";

/// The password policy of the settings, for the person described.
pub fn password_policy<'a>(
    settings: &PasswordSettings,
    person: PersonalDetails<'a>,
) -> PasswordPolicy<'a> {
    PasswordPolicy {
        min_length: settings.min_length,
        min_score: settings.min_score,
        person,
    }
}

/// A stored person's details as a new password of theirs is weighed against them: the address,
/// the names and the organisation's name.
pub struct KnownPerson {
    email: String,
    given_name: String,
    family_name: String,
    organisation: String,
}

impl KnownPerson {
    /// Looks up the name of `user`'s organisation (staff: [`STAFF_ORGANISATION`]).
    pub async fn of(state: &IdpState, user: &User) -> Result<Self, JourneyError> {
        let organisation = match user.organisation_id.clone() {
            None => STAFF_ORGANISATION.to_owned(),
            Some(id) => state
                .db
                .run(move |conn| organisations::find(conn, &id))
                .await?
                .map(|o| o.name)
                .unwrap_or_default(),
        };
        Ok(Self {
            email: user.email.clone(),
            given_name: user.first_name.clone().unwrap_or_default(),
            family_name: user.last_name.clone().unwrap_or_default(),
            organisation,
        })
    }

    pub fn details(&self) -> PersonalDetails<'_> {
        PersonalDetails {
            email: &self.email,
            given_name: &self.given_name,
            family_name: &self.family_name,
            organisation: &self.organisation,
        }
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
