//! How `idp admin` answers: human text by default; with `--json`, exactly one JSON document on
//! stdout with the admin API's field names and spellings (`web/admin_api/wire.rs`), remarks on
//! stderr, and a failure as `{"error": …, "detail": …}` on stderr.

use std::fmt::Display;

use serde::Serialize;

use crate::journeys::JourneyError;
use crate::web::admin_api::wire::FieldProblem;

/// The form of the answer, chosen by `--json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Text,
    Json,
}

impl Output {
    pub fn new(json: bool) -> Self {
        if json { Output::Json } else { Output::Text }
    }

    /// Prints the command's answer: `value` as one JSON document, or the lines `text` prints.
    pub fn answer<T: Serialize>(self, value: &T, text: impl FnOnce()) -> anyhow::Result<()> {
        match self {
            Output::Json => println!("{}", serde_json::to_string_pretty(value)?),
            Output::Text => text(),
        }
        Ok(())
    }

    /// A remark beside the answer (where the mail went): on stdout with the text, on stderr
    /// with `--json`, where stdout holds the document alone.
    pub fn note(self, line: impl Display) {
        match self {
            Output::Json => eprintln!("{line}"),
            Output::Text => println!("{line}"),
        }
    }

    /// Reports a command that failed, on stderr.
    pub fn failure(self, error: &anyhow::Error) {
        let failure = Failure::of(error);
        match self {
            Output::Json => match serde_json::to_string(&failure) {
                Ok(document) => eprintln!("{document}"),
                Err(_) => eprintln!("error: {}", failure.detail),
            },
            Output::Text => eprintln!("error: {}", failure.detail),
        }
    }
}

/// What the operator asked for cannot be done as asked, in the operator's words.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// An argument that is not what it should be (an address, a name, a time).
    #[error("{0}")]
    InvalidArgument(String),
    /// The organisation, person, invitation or client named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// It exists already, or is in a state that does not allow it.
    #[error("{0}")]
    Conflict(String),
}

/// An [`CliError::InvalidArgument`] as an `anyhow::Error`.
pub fn invalid(message: impl Into<String>) -> anyhow::Error {
    CliError::InvalidArgument(message.into()).into()
}

/// The `{"error", "detail"}` document of a failure; `error` names the kind as the admin API's
/// problem types do (`not-found`, `last-superuser`, `invalid`, …).
#[derive(Debug, Serialize)]
struct Failure {
    error: &'static str,
    detail: String,
    /// For a refused form: each field and the rule it broke.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<FieldProblem>,
}

impl Failure {
    fn of(error: &anyhow::Error) -> Self {
        if let Some(cli) = error.downcast_ref::<CliError>() {
            return Failure {
                error: cli_kind(cli),
                detail: cli.to_string(),
                errors: Vec::new(),
            };
        }
        match error.chain().find_map(|e| e.downcast_ref::<JourneyError>()) {
            Some(journey) => Failure {
                error: journey_kind(journey),
                detail: journey_detail(error, journey),
                errors: field_problems(journey),
            },
            // The operator is on the server: a fault's whole cause is theirs to read.
            None => Failure {
                error: "failed",
                detail: format!("{error:#}"),
                errors: Vec::new(),
            },
        }
    }
}

fn cli_kind(error: &CliError) -> &'static str {
    match error {
        CliError::InvalidArgument(_) => "invalid-argument",
        CliError::NotFound(_) => "not-found",
        CliError::Conflict(_) => "conflict",
    }
}

/// The admin API's problem names (`web/admin_api::ApiError`), so a script reads both alike.
fn journey_kind(error: &JourneyError) -> &'static str {
    use JourneyError as E;
    match error {
        E::InvalidToken => "invalid-token",
        E::NotAllowed => "forbidden",
        E::BlockedByStaff => "blocked-by-staff",
        E::NotFound | E::UnknownUser | E::UnknownOrganisation => "not-found",
        E::LastSuperuser => "last-superuser",
        E::AlreadyRegistered(_) | E::OtherOrganisation(_) | E::InvitationClosed => "conflict",
        E::Form(_)
        | E::RoleNotAssignable
        | E::OrganisationMismatch
        | E::InvalidClientMetadata(_) => "invalid",
        E::Throttled(_) | E::MailLimit => "too-many-requests",
        E::Fault(_) => "server-error",
        E::TooSlow => "request-timeout",
        E::UnsupportedMediaType => "unsupported-media-type",
        E::BadRequest(_)
        | E::Csrf
        | E::SessionExpired
        | E::InvalidCredentials
        | E::WrongCode
        | E::StepUpRequired
        | E::LastAuthenticator
        | E::InvalidInvitation
        | E::InvalidResetLink => "bad-request",
    }
}

fn journey_detail(error: &anyhow::Error, journey: &JourneyError) -> String {
    match journey {
        // The pages' wording ("there is no such page") does not fit the command line.
        JourneyError::NotFound => "not found".to_owned(),
        JourneyError::Form(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|f| format!("{} ({})", f.field, f.message_key))
                .collect();
            format!("{journey}: {}", fields.join(", "))
        }
        _ => format!("{error:#}"),
    }
}

fn field_problems(error: &JourneyError) -> Vec<FieldProblem> {
    match error {
        JourneyError::Form(fields) => fields
            .iter()
            .map(|f| FieldProblem {
                field: f.field.to_owned(),
                code: f.message_key.clone(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Reports a command line clap could not read, as a `usage` failure document on stderr.
pub fn usage_failure(error: &clap::Error) {
    let rendered = error.render().to_string();
    // The first paragraph says what is wrong (and the possible values); usage and hints follow.
    let first: Vec<&str> = rendered
        .split("\n\n")
        .next()
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .collect();
    let failure = Failure {
        error: "usage",
        detail: first.join(" ").trim_start_matches("error: ").to_owned(),
        errors: Vec::new(),
    };
    match serde_json::to_string(&failure) {
        Ok(document) => eprintln!("{document}"),
        Err(_) => eprintln!("{rendered}"),
    }
}
