//! `idp admin org create|list|show|rename`: organisations, as the admin API's
//! `/organisations` offers them to HCC staff. An organisation is named by its name or its id.

use clap::Subcommand;
use serde::Serialize;

use crate::admin::cli::staff;
use crate::admin::output::{CliError, Output, invalid};
use crate::clock::format_utc;
use crate::domain::OrganisationName;
use crate::journeys::JourneyError;
use crate::journeys::administration;
use crate::state::IdpState;
use crate::storage::models::Organisation;
use crate::storage::organisations;
use crate::web::admin_api::wire::OrganisationJson;

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
    /// Show one organisation (by name or id).
    Show { organisation: String },
    /// Rename an organisation (named by its name or id).
    Rename {
        organisation: String,
        /// The new name.
        name: String,
    },
}

/// Runs one `idp admin org …` command.
pub async fn run(state: &IdpState, command: OrgCommand, out: Output) -> anyhow::Result<()> {
    match command {
        OrgCommand::Create { name, if_missing } => create(state, &name, if_missing, out).await,
        OrgCommand::List => list(state, out).await,
        OrgCommand::Show { organisation } => show(state, &organisation, out).await,
        OrgCommand::Rename { organisation, name } => rename(state, &organisation, &name, out).await,
    }
}

fn parse_name(name: &str) -> anyhow::Result<OrganisationName> {
    OrganisationName::parse(name).map_err(|e| invalid(format!("organisation name: {e}")))
}

async fn find_by_name(
    state: &IdpState,
    name: OrganisationName,
) -> anyhow::Result<Option<Organisation>> {
    Ok(state
        .db
        .run(move |conn| organisations::find_by_name(conn, &name))
        .await?)
}

/// The organisation an operator names: by its name (case-insensitive), else by its id.
pub async fn named(state: &IdpState, reference: &str) -> anyhow::Result<Organisation> {
    if let Ok(name) = OrganisationName::parse(reference)
        && let Some(found) = find_by_name(state, name).await?
    {
        return Ok(found);
    }
    match administration::organisation(state, &staff(), reference).await {
        Err(JourneyError::NotFound) => Err(CliError::NotFound(format!(
            "no organisation {reference}: create it with `idp admin org create`"
        ))
        .into()),
        found => Ok(found?),
    }
}

/// An organisation just created, or found with `--if-missing`.
#[derive(Debug, Serialize)]
struct Created {
    #[serde(flatten)]
    organisation: OrganisationJson,
    /// False when `--if-missing` found it.
    created: bool,
}

async fn create(state: &IdpState, name: &str, if_missing: bool, out: Output) -> anyhow::Result<()> {
    let (org, created) = match find_by_name(state, parse_name(name)?).await? {
        Some(existing) if if_missing => (existing, false),
        Some(existing) => {
            return Err(CliError::Conflict(format!(
                "organisation {} exists already",
                existing.name
            ))
            .into());
        }
        None => (
            administration::create_organisation(state, &staff(), name).await?,
            true,
        ),
    };
    let line = if created {
        format!("Organisation {} created (id {}).", org.name, org.id)
    } else {
        format!("Organisation {} exists (id {}).", org.name, org.id)
    };
    out.answer(
        &Created {
            organisation: org.into(),
            created,
        },
        || println!("{line}"),
    )
}

async fn list(state: &IdpState, out: Output) -> anyhow::Result<()> {
    let orgs = administration::organisations(state, &staff()).await?;
    let lines: Vec<String> = orgs
        .iter()
        .map(|o| format!("{}\t{}", o.id, o.name))
        .collect();
    let json: Vec<OrganisationJson> = orgs.into_iter().map(Into::into).collect();
    out.answer(&json, || lines.iter().for_each(|l| println!("{l}")))
}

async fn show(state: &IdpState, reference: &str, out: Output) -> anyhow::Result<()> {
    let org = named(state, reference).await?;
    let line = format!("{}\t{}\t{}", org.id, org.name, format_utc(org.created_at));
    out.answer(&OrganisationJson::from(org), || println!("{line}"))
}

async fn rename(state: &IdpState, reference: &str, name: &str, out: Output) -> anyhow::Result<()> {
    parse_name(name)?;
    let before = named(state, reference).await?;
    let after = administration::rename_organisation(state, &staff(), &before.id, name)
        .await
        .map_err(|e| match e {
            JourneyError::Form(_) => {
                CliError::Conflict(format!("an organisation named {name} exists already")).into()
            }
            other => anyhow::Error::from(other),
        })?;
    let line = format!(
        "Organisation {} renamed to {} (id {}).",
        before.name, after.name, after.id
    );
    out.answer(&OrganisationJson::from(after), || println!("{line}"))
}
