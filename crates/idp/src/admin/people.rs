//! `idp admin user …`: the people of an organisation and the actions on one person, named by
//! e-mail address — the admin API's `/organisations/{org}/users` for HCC staff, plus what only
//! the server offers (sessions, consents). The rules are `journeys::account`'s, so the last
//! active superuser is never demoted or blocked here either.

use clap::Subcommand;
use serde::Serialize;

use crate::admin::cli::{RoleArg, every_page, parse_email, role_name, staff};
use crate::admin::invitations::answer_invited;
use crate::admin::organisations;
use crate::admin::output::{CliError, Output};
use crate::clock::{format_utc, rfc3339};
use crate::domain::Email;
use crate::journeys::account;
use crate::journeys::administration::{self, PersonView};
use crate::state::IdpState;
use crate::storage::models::{Consent, Session};
use crate::web::admin_api::wire::PersonJson;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// List the people of an organisation (role, status, authenticator, last login).
    List {
        /// Organisation name or id.
        #[arg(long, alias = "organisation")]
        organization: String,
    },
    /// Show one person.
    Show { email: String },
    /// Make a member a superuser or a superuser a member (never the last active superuser).
    SetRole {
        email: String,
        #[arg(value_enum)]
        role: RoleArg,
    },
    /// List the person's IdP sessions.
    Sessions { email: String },
    /// End every session of the person (refresh tokens revoked, clients notified).
    Logout { email: String },
    /// Remove the authenticator: the person sets up a new one at the next login.
    #[command(visible_alias = "reset-authenticator")]
    ResetOtp { email: String },
    /// Send a new invitation (the old link stops working).
    ResendInvitation {
        email: String,
        #[arg(long)]
        print_link: bool,
    },
    /// Disable the account: no login, sessions end, tokens stop working.
    Disable { email: String },
    /// Enable a disabled account again.
    Enable { email: String },
    /// List the consents the person gave to third-party clients.
    Consents { email: String },
    /// Withdraw the person's consent to a client (its refresh tokens are revoked too).
    RevokeConsent {
        email: String,
        #[arg(long)]
        client: String,
    },
}

/// Runs one `idp admin user …` command.
pub async fn run(state: &IdpState, command: UserCommand, out: Output) -> anyhow::Result<()> {
    match command {
        UserCommand::List { organization } => list(state, &organization, out).await,
        UserCommand::Show { email } => show(state, &parse_email(&email)?, out).await,
        UserCommand::SetRole { email, role } => {
            set_role(state, &parse_email(&email)?, role, out).await
        }
        UserCommand::Sessions { email } => sessions(state, &parse_email(&email)?, out).await,
        UserCommand::Logout { email } => logout(state, &parse_email(&email)?, out).await,
        UserCommand::ResetOtp { email } => reset_otp(state, &parse_email(&email)?, out).await,
        UserCommand::ResendInvitation { email, print_link } => {
            resend_invitation(state, &parse_email(&email)?, print_link, out).await
        }
        UserCommand::Disable { email } => disable(state, &parse_email(&email)?, out).await,
        UserCommand::Enable { email } => enable(state, &parse_email(&email)?, out).await,
        UserCommand::Consents { email } => consents(state, &parse_email(&email)?, out).await,
        UserCommand::RevokeConsent { email, client } => {
            revoke_consent(state, &parse_email(&email)?, &client, out).await
        }
    }
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

fn row(p: &PersonView) -> String {
    let u = &p.user;
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}",
        u.id,
        u.email,
        role_name(u.role),
        u.status.as_str(),
        yes_no(p.authenticator),
        u.last_login_at.map_or_else(|| "-".to_owned(), format_utc),
    )
}

async fn list(state: &IdpState, reference: &str, out: Output) -> anyhow::Result<()> {
    let org = organisations::named(state, reference).await?;
    let actor = staff();
    let people =
        every_page(|cursor| administration::people(state, &actor, &org.id, cursor)).await?;
    let lines: Vec<String> = people.iter().map(row).collect();
    let json: Vec<PersonJson> = people.into_iter().map(Into::into).collect();
    out.answer(&json, || {
        println!("id\temail\trole\tstatus\tauthenticator\tlast login");
        lines.iter().for_each(|l| println!("{l}"));
        println!("{} person(s) in {}.", lines.len(), org.name);
    })
}

async fn person(state: &IdpState, email: &Email) -> anyhow::Result<PersonView> {
    Ok(administration::person_named(state, &staff(), email).await?)
}

/// The person as they are now: the JSON, or `line` as text.
async fn answer_person(
    state: &IdpState,
    email: &Email,
    line: String,
    out: Output,
) -> anyhow::Result<()> {
    let view = person(state, email).await?;
    out.answer(&PersonJson::from(view), || println!("{line}"))
}

async fn show(state: &IdpState, email: &Email, out: Output) -> anyhow::Result<()> {
    let view = person(state, email).await?;
    let line = row(&view);
    out.answer(&PersonJson::from(view), || {
        println!("id\temail\trole\tstatus\tauthenticator\tlast login");
        println!("{line}");
    })
}

async fn set_role(
    state: &IdpState,
    email: &Email,
    role: RoleArg,
    out: Output,
) -> anyhow::Result<()> {
    let role = role.into();
    account::change_role(state, &staff(), email, role).await?;
    let line = format!("{email} is now {}.", role_name(role));
    answer_person(state, email, line, out).await
}

/// A session as `user sessions --json` prints it.
#[derive(Debug, Serialize)]
struct SessionJson {
    created_at: String,
    last_seen_at: String,
    expires_at: String,
    auth_time: String,
    /// `otp_setup`, `otp` or `authenticated`.
    stage: &'static str,
    ip_address: Option<String>,
    user_agent: Option<String>,
}

impl From<&Session> for SessionJson {
    fn from(s: &Session) -> Self {
        Self {
            created_at: rfc3339(s.created_at),
            last_seen_at: rfc3339(s.last_seen_at),
            expires_at: rfc3339(s.expires_at),
            auth_time: rfc3339(s.auth_time),
            stage: s.stage.as_str(),
            ip_address: s.ip_address.clone(),
            user_agent: s.user_agent.clone(),
        }
    }
}

async fn sessions(state: &IdpState, email: &Email, out: Output) -> anyhow::Result<()> {
    let sessions = account::list_sessions(state, &staff(), email).await?;
    let json: Vec<SessionJson> = sessions.iter().map(Into::into).collect();
    out.answer(&json, || {
        println!("started\tlast seen\texpires\tstage\tip\tuser agent");
        for s in &sessions {
            println!(
                "{}\t{}\t{}\t{}\t{}\t{}",
                format_utc(s.created_at),
                format_utc(s.last_seen_at),
                format_utc(s.expires_at),
                s.stage,
                s.ip_address.as_deref().unwrap_or("-"),
                s.user_agent.as_deref().unwrap_or("-"),
            );
        }
        println!("{} session(s).", sessions.len());
    })
}

/// The person after `user logout`, and how many sessions ended.
#[derive(Debug, Serialize)]
struct LoggedOut {
    #[serde(flatten)]
    person: PersonJson,
    sessions_ended: usize,
}

async fn logout(state: &IdpState, email: &Email, out: Output) -> anyhow::Result<()> {
    let ended = account::end_sessions(state, &staff(), email).await?;
    let answer = LoggedOut {
        person: person(state, email).await?.into(),
        sessions_ended: ended,
    };
    out.answer(&answer, || println!("Ended {ended} session(s) of {email}."))
}

async fn reset_otp(state: &IdpState, email: &Email, out: Output) -> anyhow::Result<()> {
    account::reset_authenticator(state, &staff(), email).await?;
    let line = format!("Authenticator of {email} removed; a new one is set up at the next login.");
    answer_person(state, email, line, out).await
}

async fn resend_invitation(
    state: &IdpState,
    email: &Email,
    print_link: bool,
    out: Output,
) -> anyhow::Result<()> {
    let invited = account::resend_invitation(state, &staff(), email).await?;
    let line = format!(
        "New invitation for {email} queued (valid until {}).",
        format_utc(invited.expires_at)
    );
    answer_invited(state, &invited, line, print_link, out).await
}

async fn disable(state: &IdpState, email: &Email, out: Output) -> anyhow::Result<()> {
    account::disable(state, &staff(), email).await?;
    answer_person(state, email, format!("{email} is disabled."), out).await
}

async fn enable(state: &IdpState, email: &Email, out: Output) -> anyhow::Result<()> {
    account::enable(state, &staff(), email).await?;
    answer_person(state, email, format!("{email} is enabled."), out).await
}

/// A consent as `user consents --json` prints it.
#[derive(Debug, Serialize)]
struct ConsentJson {
    client_id: String,
    /// The scope values granted, space-separated.
    scope: String,
    granted_at: String,
    updated_at: String,
}

impl From<&Consent> for ConsentJson {
    fn from(c: &Consent) -> Self {
        Self {
            client_id: c.client_id.clone(),
            scope: c.scope.clone(),
            granted_at: rfc3339(c.granted_at),
            updated_at: rfc3339(c.updated_at),
        }
    }
}

async fn consents(state: &IdpState, email: &Email, out: Output) -> anyhow::Result<()> {
    let consents = account::list_consents(state, &staff(), email).await?;
    let json: Vec<ConsentJson> = consents.iter().map(Into::into).collect();
    out.answer(&json, || {
        println!("client_id\tgranted\tupdated\tscope");
        for c in &consents {
            println!(
                "{}\t{}\t{}\t{}",
                c.client_id,
                format_utc(c.granted_at),
                format_utc(c.updated_at),
                c.scope
            );
        }
        println!("{} consent(s).", consents.len());
    })
}

/// What `user revoke-consent --json` prints.
#[derive(Debug, Serialize)]
struct ConsentRevoked<'a> {
    email: &'a str,
    client_id: &'a str,
    revoked: bool,
}

async fn revoke_consent(
    state: &IdpState,
    email: &Email,
    client: &str,
    out: Output,
) -> anyhow::Result<()> {
    if !account::revoke_consent(state, &staff(), email, client).await? {
        return Err(
            CliError::NotFound(format!("{email} has given no consent to {client:?}")).into(),
        );
    }
    let answer = ConsentRevoked {
        email: email.as_str(),
        client_id: client,
        revoked: true,
    };
    out.answer(&answer, || {
        println!("Consent of {email} to {client} withdrawn; its refresh tokens are revoked.")
    })
}
