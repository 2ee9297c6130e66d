//! The command line: `idp serve`, `idp migrate`, `idp admin …`.

use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::admin::clients::{self, CreateClientArgs};
use crate::admin::keys;
use crate::clock::{SystemClock, format_utc, parse_time};
use crate::config::Settings;
use crate::domain::{Email, Language, OrganisationName, PersonName, Role};
use crate::journeys::invitation::{self, InviteCommand, Inviter};
use crate::state::IdpState;
use crate::storage::organisations;

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

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the identity provider (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Administration by HCC staff.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Organisations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Invite a person by e-mail: queues the invitation mail with a one-time link.
    Invite(InviteArgs),
    /// OIDC clients (relying parties and service clients).
    #[command(subcommand)]
    Client(ClientCommand),
    /// Token signing keys (docs/keys.md).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// A person's account: sessions, authenticator, invitation, disable/enable.
    #[command(subcommand)]
    User(UserCommand),
    /// Print the audit log.
    Audit {
        /// Only events about this person.
        #[arg(long)]
        user: Option<String>,
        /// From this time: unix seconds, YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ, or an age (90m, 24h, 7d).
        #[arg(long, default_value = "7d")]
        since: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// List the person's IdP sessions.
    Sessions { email: String },
    /// End every session of the person (refresh tokens revoked, clients notified).
    Logout { email: String },
    /// Remove the authenticator: the person sets up a new one at the next login.
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

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; prints its client_id and, once, its secret.
    Create(CreateClientArgs),
    /// List clients (never their secrets).
    List,
    /// Delete a client with its codes and tokens.
    Delete { client_id: String },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Start signing with a new key; older keys stay published until their tokens expired.
    Rotate,
    /// List the signing keys.
    List,
    /// Emergency: a new key, and every other key leaves JWKS at once (a leaked key).
    RevokeAll,
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organisation.
    Create {
        name: String,
        /// Succeed without change when it exists already.
        #[arg(long)]
        if_missing: bool,
    },
    /// List organisations.
    List,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Member,
    Superuser,
    HccStaff,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LanguageArg {
    Nl,
    En,
}

#[derive(Debug, Args)]
pub struct InviteArgs {
    /// Organisation name (not needed for --role hcc-staff).
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

async fn admin_state(settings: Settings) -> anyhow::Result<IdpState> {
    let db = crate::startup::open_database(&settings).await?;
    IdpState::build(settings, db, Arc::new(SystemClock)).await
}

pub async fn run_admin(settings: Settings, command: AdminCommand) -> anyhow::Result<()> {
    if let AdminCommand::Keys(KeysCommand::RevokeAll) = command {
        // Must work when the old keys cannot be opened any more, so no state (which loads them).
        return keys::revoke_all(&settings).await;
    }
    let state = admin_state(settings).await?;
    let result = match command {
        AdminCommand::Org(OrgCommand::Create { name, if_missing }) => {
            org_create(&state, &name, if_missing).await
        }
        AdminCommand::Org(OrgCommand::List) => org_list(&state).await,
        AdminCommand::Invite(args) => invite(&state, args).await,
        AdminCommand::Client(ClientCommand::Create(args)) => clients::create(&state, args).await,
        AdminCommand::Client(ClientCommand::List) => clients::list(&state).await,
        AdminCommand::Client(ClientCommand::Delete { client_id }) => {
            clients::delete(&state, &client_id).await
        }
        AdminCommand::User(command) => user_command(&state, command).await,
        AdminCommand::Audit { user, since } => audit_log(&state, user.as_deref(), &since).await,
        AdminCommand::Keys(KeysCommand::Rotate) => keys::rotate(&state, &state.keys).await,
        AdminCommand::Keys(KeysCommand::List) => keys::list(&state).await,
        AdminCommand::Keys(KeysCommand::RevokeAll) => {
            unreachable!("handled before loading the keys")
        }
    };
    // Back-channel logout notices started by the command go out before the process ends.
    state
        .background
        .wait(std::time::Duration::from_secs(30))
        .await;
    result
}

async fn org_create(state: &IdpState, name: &str, if_missing: bool) -> anyhow::Result<()> {
    let name =
        OrganisationName::parse(name).map_err(|e| anyhow::anyhow!("organisation name: {e}"))?;
    let now = state.now();
    let (org, created) = state
        .db
        .run(move |conn| {
            if let Some(existing) = organisations::find_by_name(conn, &name)? {
                return Ok::<_, anyhow::Error>((existing, false));
            }
            Ok((organisations::insert(conn, &name, now)?, true))
        })
        .await?;
    match (created, if_missing) {
        (true, _) => println!("Organisation {} created (id {}).", org.name, org.id),
        (false, true) => println!("Organisation {} exists (id {}).", org.name, org.id),
        (false, false) => bail!("organisation {} exists already", org.name),
    }
    Ok(())
}

async fn org_list(state: &IdpState) -> anyhow::Result<()> {
    let orgs = state
        .db
        .run(|conn| Ok::<_, anyhow::Error>(organisations::list(conn)?))
        .await?;
    for org in orgs {
        println!("{}\t{}", org.id, org.name);
    }
    Ok(())
}

async fn invite(state: &IdpState, args: InviteArgs) -> anyhow::Result<()> {
    let email = Email::parse(&args.email)
        .map_err(|_| anyhow::anyhow!("{:?} is not a valid e-mail address", args.email))?;
    let parse_name = |n: &Option<String>| -> anyhow::Result<Option<PersonName>> {
        n.as_deref()
            .map(|n| PersonName::parse(n).map_err(|e| anyhow::anyhow!("name {n:?}: {e}")))
            .transpose()
    };
    let role = match args.role {
        RoleArg::Member => Role::Member,
        RoleArg::Superuser => Role::Superuser,
        RoleArg::HccStaff => Role::HccStaff,
    };
    let organisation_id = match &args.organization {
        Some(name) => {
            let name = OrganisationName::parse(name)
                .map_err(|e| anyhow::anyhow!("organisation name: {e}"))?;
            let display = name.as_str().to_owned();
            let org = state
                .db
                .run(move |conn| Ok::<_, anyhow::Error>(organisations::find_by_name(conn, &name)?))
                .await?
                .with_context(|| {
                    format!("no organisation {display}: create it with `idp admin org create`")
                })?;
            Some(org.id)
        }
        None => None,
    };
    let command = InviteCommand {
        inviter: Inviter::HccStaff { user_id: None },
        organisation_id,
        email: email.clone(),
        first_name: parse_name(&args.first_name)?,
        last_name: parse_name(&args.last_name)?,
        role,
        language: match args.language {
            LanguageArg::Nl => Language::Nl,
            LanguageArg::En => Language::En,
        },
    };
    let invited = invitation::invite(state, command).await?;
    println!(
        "Invitation for {email} queued (valid until {}).",
        format_utc(invited.expires_at)
    );
    if args.print_link {
        println!("Registration link: {}", invited.link);
    }
    deliver_now(state).await;
    Ok(())
}

/// Hands queued mail to the transport once, so the CLI works without a running server. A
/// failure is fine: the server's outbox worker retries.
async fn deliver_now(state: &IdpState) {
    let Ok(worker) = crate::startup::outbox_worker(state) else {
        return;
    };
    match tokio::time::timeout(std::time::Duration::from_secs(20), worker.drain()).await {
        Ok(Ok(n)) if n > 0 => println!(
            "Mail handed to the {:?} transport.",
            state.settings.mail.transport
        ),
        _ => println!("Mail is queued; the running server's outbox worker delivers it."),
    }
}

fn parse_email(input: &str) -> anyhow::Result<Email> {
    Email::parse(input).map_err(|_| anyhow::anyhow!("{input:?} is not a valid e-mail address"))
}

async fn user_command(state: &IdpState, command: UserCommand) -> anyhow::Result<()> {
    use crate::journeys::account::{self, Actor};
    let actor = Actor::HccStaff { user_id: None };
    match command {
        UserCommand::Sessions { email } => {
            let sessions = account::list_sessions(state, &actor, &parse_email(&email)?).await?;
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
        }
        UserCommand::Logout { email } => {
            let ended = account::end_sessions(state, &actor, &parse_email(&email)?).await?;
            println!("Ended {ended} session(s) of {email}.");
        }
        UserCommand::ResetOtp { email } => {
            account::reset_authenticator(state, &actor, &parse_email(&email)?).await?;
            println!("Authenticator of {email} removed; a new one is set up at the next login.");
        }
        UserCommand::ResendInvitation { email, print_link } => {
            let invited = account::resend_invitation(state, &actor, &parse_email(&email)?).await?;
            println!(
                "New invitation for {email} queued (valid until {}).",
                format_utc(invited.expires_at)
            );
            if print_link {
                println!("Registration link: {}", invited.link);
            }
            deliver_now(state).await;
        }
        UserCommand::Disable { email } => {
            account::disable(state, &actor, &parse_email(&email)?).await?;
            println!("{email} is disabled.");
        }
        UserCommand::Enable { email } => {
            account::enable(state, &actor, &parse_email(&email)?).await?;
            println!("{email} is enabled.");
        }
        UserCommand::Consents { email } => {
            let consents = account::list_consents(state, &actor, &parse_email(&email)?).await?;
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
        }
        UserCommand::RevokeConsent { email, client } => {
            if account::revoke_consent(state, &actor, &parse_email(&email)?, &client).await? {
                println!(
                    "Consent of {email} to {client} withdrawn; its refresh tokens are revoked."
                );
            } else {
                anyhow::bail!("{email} has given no consent to {client:?}");
            }
        }
    }
    Ok(())
}

async fn audit_log(state: &IdpState, user: Option<&str>, since: &str) -> anyhow::Result<()> {
    let now = state.now();
    let since =
        parse_time(since, now).with_context(|| format!("cannot read the time {since:?}"))?;
    let user_id = match user {
        Some(email) => {
            let email = parse_email(email)?;
            let found = state
                .db
                .run(move |conn| crate::storage::users::find_by_email(conn, &email))
                .await?
                .context("no account with that e-mail address")?;
            Some(found.id)
        }
        None => None,
    };
    let events = state
        .db
        .run(move |conn| crate::storage::audit::list(conn, user_id.as_deref(), since))
        .await?;
    println!("time\tevent\toutcome\tuser\tclient\tip\tdetails");
    for e in &events {
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            format_utc(e.occurred_at),
            e.event,
            e.outcome,
            e.user_id.as_deref().unwrap_or("-"),
            e.client_id.as_deref().unwrap_or("-"),
            e.ip_address.as_deref().unwrap_or("-"),
            e.details
        );
    }
    println!("{} event(s).", events.len());
    Ok(())
}
