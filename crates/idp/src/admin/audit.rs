//! `idp admin audit`: the audit log, oldest first — every organisation's (and the IdP's own
//! events), or one organisation's as the admin API's `/organisations/{org}/audit-events` gives
//! it — filtered by person, event type and time.

use clap::Args;

use crate::admin::cli::{every_page, parse_email, staff};
use crate::admin::organisations;
use crate::admin::output::{Output, invalid};
use crate::clock::{format_utc, parse_time};
use crate::journeys::administration::{self, ActivityView};
use crate::state::IdpState;
use crate::storage::audit::AuditFilter;
use crate::web::admin_api::wire::AuditEventJson;

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only events of this organisation (name or id).
    #[arg(long, alias = "organisation")]
    pub organization: Option<String>,
    /// Only events about this person (e-mail address).
    #[arg(long)]
    pub user: Option<String>,
    /// Only this event, e.g. login, invitation_created, role_changed.
    #[arg(long = "type")]
    pub event: Option<String>,
    /// From this time: unix seconds, YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ, or an age (90m, 24h, 7d).
    #[arg(long, default_value = "7d")]
    pub since: String,
    /// Before this time (as --since).
    #[arg(long)]
    pub until: Option<String>,
    /// JSON lines: one event per line in the admin API's wire form, oldest first, for a log
    /// shipper or SIEM (`--json` gives them as one JSON array).
    #[arg(long)]
    pub jsonl: bool,
}

fn time(flag: &str, value: &str, now: i64) -> anyhow::Result<i64> {
    parse_time(value, now).ok_or_else(|| invalid(format!("{flag}: cannot read the time {value:?}")))
}

async fn filter(state: &IdpState, args: &AuditArgs) -> anyhow::Result<AuditFilter> {
    let now = state.now();
    let user_id = match &args.user {
        Some(email) => {
            let email = parse_email(email)?;
            Some(
                administration::person_named(state, &staff(), &email)
                    .await?
                    .user
                    .id,
            )
        }
        None => None,
    };
    Ok(AuditFilter {
        user_id,
        event: args.event.clone(),
        since: Some(time("--since", &args.since, now)?),
        until: args
            .until
            .as_deref()
            .map(|until| time("--until", until, now))
            .transpose()?,
    })
}

/// Runs `idp admin audit`.
pub async fn run(state: &IdpState, args: AuditArgs, out: Output) -> anyhow::Result<()> {
    let filter = filter(state, &args).await?;
    let actor = staff();
    let events = match &args.organization {
        Some(reference) => {
            let org = organisations::named(state, reference).await?;
            let mut newest_first = every_page(|cursor| {
                administration::activity(state, &actor, &org.id, filter.clone(), cursor)
            })
            .await?;
            newest_first.reverse();
            newest_first
        }
        None => administration::activity_everywhere(state, &actor, filter).await?,
    };
    if args.jsonl {
        for event in events {
            println!("{}", serde_json::to_string(&AuditEventJson::from(event))?);
        }
        return Ok(());
    }
    let lines: Vec<String> = events.iter().map(row).collect();
    let json: Vec<AuditEventJson> = events.into_iter().map(Into::into).collect();
    out.answer(&json, || {
        println!("time\tevent\toutcome\tuser\tclient\tip\tdetails");
        lines.iter().for_each(|l| println!("{l}"));
        println!("{} event(s).", lines.len());
    })
}

fn row(a: &ActivityView) -> String {
    let e = &a.event;
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}\t{}",
        format_utc(e.occurred_at),
        e.event,
        e.outcome,
        e.user_id.as_deref().unwrap_or("-"),
        e.client_id.as_deref().unwrap_or("-"),
        e.ip_address.as_deref().unwrap_or("-"),
        e.details
    )
}
