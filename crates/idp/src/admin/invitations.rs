//! `idp admin invite` and `idp admin invitation list|resend|revoke`: manual §2.1's invitations
//! by HCC staff, as the admin API's `/organisations/{org}/invitations` offers them. The first
//! HCC staff account starts here: `idp admin invite --organization HCC --role hcc-staff …`.

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use crate::admin::cli::{RoleArg, every_page, parse_email, role_name, staff};
use crate::admin::organisations;
use crate::admin::output::{CliError, Output, invalid};
use crate::clock::format_utc;
use crate::domain::{Email, Language, PersonName};
use crate::journeys::JourneyError;
use crate::journeys::account;
use crate::journeys::account::Who;
use crate::journeys::administration::{self, InvitationView, member};
use crate::journeys::invitation::{self, InviteCommand, Invited};
use crate::state::IdpState;
use crate::web::admin_api::wire::InvitationJson;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LanguageArg {
    Nl,
    En,
}

impl From<LanguageArg> for Language {
    fn from(language: LanguageArg) -> Self {
        match language {
            LanguageArg::Nl => Language::Nl,
            LanguageArg::En => Language::En,
        }
    }
}

#[derive(Debug, Args)]
pub struct InviteArgs {
    /// Organisation name or id (not needed for --role hcc-staff).
    #[arg(long, alias = "organisation")]
    pub organization: Option<String>,
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub first_name: Option<String>,
    #[arg(long)]
    pub last_name: Option<String>,
    #[arg(long, value_enum, default_value = "member")]
    pub role: RoleArg,
    /// Language of the mail and the registration page.
    #[arg(long, value_enum, default_value = "nl")]
    pub language: LanguageArg,
    /// Also print the registration link (it is in the mail as well).
    #[arg(long)]
    pub print_link: bool,
}

#[derive(Debug, Subcommand)]
pub enum InvitationCommand {
    /// List an organisation's invitations: pending, used, expired or revoked, and until when.
    List {
        /// Organisation name or id.
        #[arg(long, alias = "organisation")]
        organization: String,
    },
    /// Send a new link for the invitation (the old one stops working).
    Resend {
        invitation_id: String,
        /// Also print the registration link (it is in the mail as well).
        #[arg(long)]
        print_link: bool,
    },
    /// Withdraw a pending invitation: its link stops working.
    Revoke { invitation_id: String },
}

/// Runs one `idp admin invitation …` command.
pub async fn run(state: &IdpState, command: InvitationCommand, out: Output) -> anyhow::Result<()> {
    match command {
        InvitationCommand::List { organization } => list(state, &organization, out).await,
        InvitationCommand::Resend {
            invitation_id,
            print_link,
        } => resend(state, &invitation_id, print_link, out).await,
        InvitationCommand::Revoke { invitation_id } => revoke(state, &invitation_id, out).await,
    }
}

fn parse_name(name: Option<&str>) -> anyhow::Result<Option<PersonName>> {
    name.map(|n| PersonName::parse(n).map_err(|e| invalid(format!("name {n:?}: {e}"))))
        .transpose()
}

/// `idp admin invite`: HCC staff invite anyone into any organisation, or HCC staff into none.
pub async fn invite(state: &IdpState, args: InviteArgs, out: Output) -> anyhow::Result<()> {
    let email = parse_email(&args.email)?;
    let organisation_id = match &args.organization {
        Some(reference) => Some(organisations::named(state, reference).await?.id),
        None => None,
    };
    let command = InviteCommand {
        inviter: staff().inviter(),
        organisation_id,
        email: email.clone(),
        first_name: parse_name(args.first_name.as_deref())?,
        last_name: parse_name(args.last_name.as_deref())?,
        role: args.role.into(),
        language: args.language.into(),
    };
    let invited = invitation::invite(state, command).await?;
    let line = format!(
        "Invitation for {email} queued (valid until {}).",
        format_utc(invited.expires_at)
    );
    answer_invited(state, &invited, line, args.print_link, out).await
}

/// An invitation as `--json` prints it after inviting: with the link when `--print-link`.
#[derive(Debug, Serialize)]
struct InvitationWithLink {
    #[serde(flatten)]
    invitation: InvitationJson,
    #[serde(skip_serializing_if = "Option::is_none")]
    link: Option<String>,
}

/// Answers with the invitation just made (`line` as text), then hands its mail over.
pub async fn answer_invited(
    state: &IdpState,
    invited: &Invited,
    line: String,
    print_link: bool,
    out: Output,
) -> anyhow::Result<()> {
    let view = administration::invitation(state, &staff(), &invited.invitation_id).await?;
    let link = print_link.then(|| invited.link.clone());
    let answer = InvitationWithLink {
        invitation: view.into(),
        link: link.clone(),
    };
    out.answer(&answer, || {
        println!("{line}");
        if let Some(link) = &link {
            println!("Registration link: {link}");
        }
    })?;
    deliver_now(state, out).await;
    Ok(())
}

/// Hands queued mail to the transport once, so the CLI works without a running server. A
/// failure is fine: the server's outbox worker retries.
async fn deliver_now(state: &IdpState, out: Output) {
    let Ok(worker) = crate::startup::outbox_worker(state) else {
        return;
    };
    match tokio::time::timeout(std::time::Duration::from_secs(20), worker.drain()).await {
        Ok(Ok(n)) if n > 0 => out.note(format!(
            "Mail handed to the {:?} transport.",
            state.settings.mail.transport
        )),
        _ => out.note("Mail is queued; the running server's outbox worker delivers it."),
    }
}

fn row(v: &InvitationView) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}",
        v.invitation.id,
        v.email,
        role_name(v.role),
        v.status.as_str(),
        format_utc(v.invitation.expires_at),
    )
}

async fn list(state: &IdpState, reference: &str, out: Output) -> anyhow::Result<()> {
    let org = organisations::named(state, reference).await?;
    let actor = staff();
    let invitations =
        every_page(|cursor| administration::invitations(state, &actor, &org.id, cursor)).await?;
    let lines: Vec<String> = invitations.iter().map(row).collect();
    let json: Vec<InvitationJson> = invitations.into_iter().map(Into::into).collect();
    out.answer(&json, || {
        println!("id\temail\trole\tstatus\texpires");
        lines.iter().for_each(|l| println!("{l}"));
        println!("{} invitation(s) of {}.", lines.len(), org.name);
    })
}

/// The invitation `id`, or a failure that names it.
async fn find(state: &IdpState, id: &str) -> anyhow::Result<InvitationView> {
    match administration::invitation(state, &staff(), id).await {
        Err(JourneyError::NotFound) => {
            Err(CliError::NotFound(format!("no invitation {id:?}")).into())
        }
        found => Ok(found?),
    }
}

/// How `account` names the invitation's person: within the organisation, as the admin API does.
fn person_of(view: &InvitationView) -> anyhow::Result<Who> {
    match &view.invitation.organisation_id {
        Some(org) => Ok(member(org, &view.invitation.user_id)),
        None => Ok(Who::Email(
            Email::parse(&view.email).map_err(|e| anyhow::anyhow!("stored address: {e}"))?,
        )),
    }
}

async fn resend(state: &IdpState, id: &str, print_link: bool, out: Output) -> anyhow::Result<()> {
    let old = find(state, id).await?;
    let invited = account::resend_invitation(state, &staff(), person_of(&old)?).await?;
    let line = format!(
        "New invitation for {} queued (valid until {}); the old link no longer works.",
        old.email,
        format_utc(invited.expires_at)
    );
    answer_invited(state, &invited, line, print_link, out).await
}

async fn revoke(state: &IdpState, id: &str, out: Output) -> anyhow::Result<()> {
    let view = find(state, id).await?;
    let Some(org) = &view.invitation.organisation_id else {
        return Err(CliError::Conflict(format!(
            "invitation {id} is of no organisation; disable the account instead \
             (`idp admin user disable {}`)",
            view.email
        ))
        .into());
    };
    match administration::revoke_invitation(state, &staff(), org, id).await {
        Err(JourneyError::InvitationClosed) => {
            return Err(CliError::Conflict(format!(
                "invitation {id} is {} already; only a pending one can be revoked",
                view.status.as_str()
            ))
            .into());
        }
        done => done?,
    }
    let after = find(state, id).await?;
    let line = format!(
        "Invitation {id} for {} revoked; its link no longer works.",
        after.email
    );
    out.answer(&InvitationJson::from(after), || println!("{line}"))
}
