//! The command line: `idp serve`, `idp migrate`, `idp health`, `idp admin …`. The admin
//! commands are the admin API's operations for HCC staff on the server: they call the same
//! journey functions, acting as staff without an account ([`staff`]), and answer in text or,
//! with `--json`, in the API's JSON ([`Output`]).

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::admin::audit::{self, AuditArgs};
use crate::admin::clients::{self, ClientCommand};
use crate::admin::invitations::{self, InvitationCommand, InviteArgs};
use crate::admin::keys::{self, KeysCommand};
use crate::admin::organisations::{self, OrgCommand};
use crate::admin::output::{Output, invalid, usage_failure};
use crate::admin::people::{self, UserCommand};
use crate::clock::SystemClock;
use crate::config::Settings;
use crate::domain::{Email, Role};
use crate::journeys::JourneyError;
use crate::journeys::account::Actor;
use crate::journeys::administration::{Cursor, Page};
use crate::state::IdpState;

#[derive(Debug, Parser)]
#[command(
    name = "idp",
    version,
    about = "HCC Identity: OpenID Connect identity provider"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// Parses the command line (clap prints help and mistakes and exits); a mistake in an
    /// `idp admin … --json` command is reported as a JSON failure document instead.
    pub fn parse_args() -> Self {
        match Self::try_parse() {
            Ok(cli) => cli,
            Err(e) if e.use_stderr() && wants_json() => {
                usage_failure(&e);
                std::process::exit(e.exit_code())
            }
            Err(e) => e.exit(),
        }
    }
}

fn wants_json() -> bool {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    args.iter().any(|a| a == "admin") && args.iter().any(|a| a == "--json")
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the identity provider (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Exit 0 when the server on this machine is ready, else 1 (the image's health check).
    ///
    /// Asks `/health/ready` on the configured port (`server.port`; on loopback when
    /// `server.host` is a wildcard address) and waits at most 2 s for each step.
    Health,
    /// Administration by HCC staff on the server.
    Admin(AdminArgs),
}

#[derive(Debug, Args)]
pub struct AdminArgs {
    /// Print one JSON document (the admin API's field names) instead of text; a failure is a
    /// JSON object {"error", "detail"} on stderr.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Organisations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Invite a person by e-mail: queues the invitation mail with a one-time link.
    Invite(InviteArgs),
    /// Invitations of an organisation: list, resend, revoke.
    #[command(subcommand, alias = "invitations")]
    Invitation(InvitationCommand),
    /// OIDC clients (relying parties and service clients).
    #[command(subcommand)]
    Client(ClientCommand),
    /// Token signing keys (docs/keys.md).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// People: list and show, role, sessions, authenticator, invitation, disable/enable.
    #[command(subcommand)]
    User(UserCommand),
    /// Print the audit log, oldest first.
    Audit(AuditArgs),
}

/// A role as the command line (and the admin API) spells it.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Member,
    Superuser,
    HccStaff,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Member => Role::Member,
            RoleArg::Superuser => Role::Superuser,
            RoleArg::HccStaff => Role::HccStaff,
        }
    }
}

/// The role as the command line spells it: `member`, `superuser`, `hcc-staff`.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Member => "member",
        Role::Superuser => "superuser",
        Role::HccStaff => "hcc-staff",
    }
}

/// HCC staff on the server: the command line acts for no account, so its audit events say
/// `"by": null` (and `"via": "cli"` for clients).
pub fn staff() -> Actor {
    Actor::HccStaff { user_id: None }
}

/// An address as the operator typed it.
pub fn parse_email(input: &str) -> anyhow::Result<Email> {
    Email::parse(input).map_err(|_| invalid(format!("{input:?} is not a valid e-mail address")))
}

/// Every item of a list the journeys hand out page by page.
pub async fn every_page<T, F, Fut>(mut fetch: F) -> anyhow::Result<Vec<T>>
where
    F: FnMut(Option<Cursor>) -> Fut,
    Fut: Future<Output = Result<Page<T>, JourneyError>>,
{
    let mut items = Vec::new();
    let mut cursor = None;
    loop {
        let page = fetch(cursor).await?;
        items.extend(page.items);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(items),
        }
    }
}

async fn admin_state(settings: Settings) -> anyhow::Result<IdpState> {
    let db = crate::startup::open_database(&settings).await?;
    IdpState::build(settings, db, Arc::new(SystemClock)).await
}

/// Runs `idp admin …` and reports a failure on stderr (as JSON with `--json`): the exit code.
pub async fn run_admin(settings: anyhow::Result<Settings>, args: AdminArgs) -> ExitCode {
    let out = Output::new(args.json);
    let outcome = match settings {
        Ok(settings) => execute(settings, args.command, out).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            out.failure(&e);
            ExitCode::FAILURE
        }
    }
}

async fn execute(settings: Settings, command: AdminCommand, out: Output) -> anyhow::Result<()> {
    if let AdminCommand::Keys(KeysCommand::RevokeAll) = command {
        // Must work when the old keys cannot be opened any more, so no state (which loads them).
        return keys::revoke_all(&settings, out).await;
    }
    let state = admin_state(settings).await?;
    let result = dispatch(&state, command, out).await;
    // Back-channel logout notices started by the command go out before the process ends.
    state
        .background
        .wait(std::time::Duration::from_secs(30))
        .await;
    result
}

async fn dispatch(state: &IdpState, command: AdminCommand, out: Output) -> anyhow::Result<()> {
    match command {
        AdminCommand::Org(command) => organisations::run(state, command, out).await,
        AdminCommand::Invite(args) => invitations::invite(state, args, out).await,
        AdminCommand::Invitation(command) => invitations::run(state, command, out).await,
        AdminCommand::Client(command) => clients::run(state, command, out).await,
        AdminCommand::Keys(command) => keys::run(state, command, out).await,
        AdminCommand::User(command) => people::run(state, command, out).await,
        AdminCommand::Audit(args) => audit::run(state, args, out).await,
    }
}
