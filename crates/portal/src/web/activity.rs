//! **Activiteiten**: the organisation's audit events from the IdP — who did what to whom, when,
//! from which address — filtered by person and type, newest first, a page at a time.

use actix_web::http::StatusCode;
use actix_web::web::{Data, Path, Query};
use actix_web::{HttpRequest, HttpResponse};

use super::manage::manager;
use super::nav::{self, plausible_id};
use super::page::PageError;
use crate::admin_api::AuditFilter;
use crate::domain::local_time::format_rfc3339;
use crate::error::PortalError;
use crate::state::PortalState;

/// The event types offered in the filter, in the order people think of them.
/// What people do themselves; any other event without a named administrator was done by
/// HumanCapitalCare on the server (the command line).
const OWN_DOINGS: &[&str] = &[
    "login",
    "login_password",
    "logout",
    "registration",
    "otp_setup",
    "otp_locked",
    "password_locked",
    "password_reset_requested",
    "password_reset_completed",
    "invitation_used",
    "consent_granted",
    "consent_denied",
    "refresh_token_reused",
    "code_replayed",
    "password_changed",
    "authenticator_added",
    "authenticator_renamed",
    "authenticator_removed",
    "passkey_added",
    "recovery_codes_generated",
    "step_up",
];

const TYPES: &[&str] = &[
    "login",
    "logout",
    "registration",
    "otp_setup",
    "otp_reset",
    "invitation_created",
    "invitation_resent",
    "invitation_revoked",
    "invitation_used",
    "user_disabled",
    "user_enabled",
    "role_changed",
    "logged_out_everywhere",
    "password_reset_requested",
    "password_reset_completed",
    "password_changed",
    "authenticator_added",
    "authenticator_removed",
    "passkey_added",
    "recovery_codes_generated",
    "password_locked",
    "otp_locked",
];

#[derive(Debug, Default, serde::Deserialize)]
pub struct ActivityQuery {
    #[serde(default)]
    persoon: String,
    #[serde(default)]
    soort: String,
    #[serde(default)]
    cursor: String,
}

#[derive(serde::Serialize)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(serde::Serialize)]
struct EventRow {
    when: String,
    what: String,
    whom: String,
    by: String,
    address: String,
    outcome: String,
}

pub async fn show(
    req: HttpRequest,
    state: Data<PortalState>,
    org: Path<String>,
    query: Query<ActivityQuery>,
) -> Result<HttpResponse, PageError> {
    let signed_in = manager(&req, &state).await?;
    let page = &signed_in.page;
    let org = org.into_inner();
    if !plausible_id(&org) {
        return Err(page.error(PortalError::NotFound));
    }
    let org = org.as_str();
    let query = query.into_inner();
    let api = &state.api;
    let organisation = signed_in
        .api_or_page(|token| async move { api.organisation(&token, org).await })
        .await?;
    let people = signed_in
        .api_or_page(|token| async move { api.people(&token, org).await })
        .await?;
    let filter = AuditFilter {
        user: Some(query.persoon.clone()).filter(|p| plausible_id(p)),
        event: Some(query.soort.clone()).filter(|t| TYPES.contains(&t.as_str())),
        cursor: Some(query.cursor.clone()).filter(|c| !c.is_empty()),
    };
    let events = signed_in
        .api_or_page(|token| {
            let filter = filter.clone();
            async move { api.audit_events(&token, org, &filter).await }
        })
        .await?;
    let event_name = |event: &str| {
        let key = format!("event_{event}");
        if state.templates.has(&key) {
            page.text(&key)
        } else {
            event.replace('_', " ")
        }
    };
    let rows: Vec<EventRow> = events
        .items
        .iter()
        .map(|e| EventRow {
            when: format_rfc3339(&e.occurred_at, page.lang),
            what: event_name(&e.event),
            whom: e.user_email.clone().unwrap_or_else(|| "—".into()),
            by: match (&e.by_email, &e.by) {
                (Some(email), _) => email.clone(),
                (None, Some(_)) => "—".into(),
                (None, None) if OWN_DOINGS.contains(&e.event.as_str()) => {
                    page.text("by_person_self")
                }
                (None, None) => page.text("company"),
            },
            address: e.ip_address.clone().unwrap_or_else(|| "—".into()),
            outcome: page.text(if e.outcome == "failure" {
                "outcome_failure"
            } else {
                "outcome_success"
            }),
        })
        .collect();
    let people_choices: Vec<Choice> = people
        .iter()
        .map(|p| Choice {
            selected: filter.user.as_deref() == Some(p.id.as_str()),
            value: p.id.clone(),
            label: p.email.clone(),
        })
        .collect();
    let type_choices: Vec<Choice> = TYPES
        .iter()
        .map(|t| Choice {
            selected: filter.event.as_deref() == Some(t),
            value: (*t).to_owned(),
            label: event_name(t),
        })
        .collect();
    let link = |cursor: Option<&str>| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(user) = &filter.user {
            query.append_pair("persoon", user);
        }
        if let Some(event) = &filter.event {
            query.append_pair("soort", event);
        }
        if let Some(cursor) = cursor {
            query.append_pair("cursor", cursor);
        }
        format!("/beheer/{org}/activiteiten?{}", query.finish())
    };
    let person = signed_in.person().await;
    let title = format!("{} – {}", page.text("activity_title"), organisation.name);
    let mut ctx = page.context(&title);
    nav::insert(&mut ctx, &person, "manage");
    ctx.insert("organisation", &organisation);
    ctx.insert("events", &rows);
    ctx.insert("people", &people_choices);
    ctx.insert("types", &type_choices);
    ctx.insert(
        "older_href",
        &events.next_cursor.as_deref().map(|c| link(Some(c))),
    );
    ctx.insert("newest_href", &filter.cursor.as_ref().map(|_| link(None)));
    page.render(StatusCode::OK, "pages/activity.html", &ctx)
}
