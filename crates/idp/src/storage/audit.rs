//! The audit log: one row per security event, also emitted to the structured log.

use diesel::prelude::*;

use super::models::{AuditEvent, new_id};
use super::schema::audit_events::dsl as a;
use super::{DbConnection, DbError};
use crate::clock::UnixTime;

/// What happened, to whom; `details` is a JSON object that never holds a secret.
#[derive(Debug, Clone, Default)]
pub struct AuditRecord {
    pub event: &'static str,
    pub outcome: &'static str,
    pub user_id: Option<String>,
    pub organisation_id: Option<String>,
    pub client_id: Option<String>,
    pub ip_address: Option<String>,
    pub details: serde_json::Value,
}

impl AuditRecord {
    pub fn success(event: &'static str) -> Self {
        Self {
            event,
            outcome: "success",
            details: serde_json::json!({}),
            ..Self::default()
        }
    }

    pub fn failure(event: &'static str) -> Self {
        Self {
            event,
            outcome: "failure",
            details: serde_json::json!({}),
            ..Self::default()
        }
    }

    pub fn user(mut self, user_id: &str) -> Self {
        self.user_id = Some(user_id.to_owned());
        self
    }

    pub fn organisation(mut self, organisation_id: Option<&str>) -> Self {
        self.organisation_id = organisation_id.map(str::to_owned);
        self
    }

    pub fn ip(mut self, ip: Option<&str>) -> Self {
        self.ip_address = ip.map(str::to_owned);
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

pub fn record(conn: &mut DbConnection, record: AuditRecord, now: UnixTime) -> Result<(), DbError> {
    tracing::info!(
        target: "audit",
        event = record.event,
        outcome = record.outcome,
        user_id = record.user_id.as_deref(),
        organisation_id = record.organisation_id.as_deref(),
        client_id = record.client_id.as_deref(),
        ip = record.ip_address.as_deref(),
        details = %record.details,
        "audit event"
    );
    let row = AuditEvent {
        id: new_id(),
        occurred_at: now,
        event: record.event.to_owned(),
        outcome: record.outcome.to_owned(),
        user_id: record.user_id,
        organisation_id: record.organisation_id,
        client_id: record.client_id,
        ip_address: record.ip_address,
        details: record.details.to_string(),
    };
    diesel::insert_into(a::audit_events)
        .values(&row)
        .execute(conn)?;
    Ok(())
}

pub fn list(
    conn: &mut DbConnection,
    user_id: Option<&str>,
    since: UnixTime,
) -> Result<Vec<AuditEvent>, DbError> {
    let mut query = a::audit_events
        .filter(a::occurred_at.ge(since))
        .order(a::occurred_at.asc())
        .select(AuditEvent::as_select())
        .into_boxed();
    if let Some(user_id) = user_id {
        query = query.filter(a::user_id.eq(user_id.to_owned()));
    }
    Ok(query.load(conn)?)
}

/// Which audit events of an organisation to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub user_id: Option<String>,
    pub event: Option<String>,
    pub since: Option<UnixTime>,
    pub until: Option<UnixTime>,
}

/// The audit events of every organisation (and of none), oldest first, as `filter` says: what
/// HCC staff read on the command line.
pub fn list_matching(
    conn: &mut DbConnection,
    filter: &AuditFilter,
) -> Result<Vec<AuditEvent>, DbError> {
    let mut query = a::audit_events
        .order((a::occurred_at.asc(), a::id.asc()))
        .select(AuditEvent::as_select())
        .into_boxed();
    if let Some(user) = &filter.user_id {
        query = query.filter(a::user_id.eq(user.clone()));
    }
    if let Some(event) = &filter.event {
        query = query.filter(a::event.eq(event.clone()));
    }
    if let Some(since) = filter.since {
        query = query.filter(a::occurred_at.ge(since));
    }
    if let Some(until) = filter.until {
        query = query.filter(a::occurred_at.lt(until));
    }
    Ok(query.load(conn)?)
}

/// An organisation's audit events, newest first, `limit` at most after `after` (a place in
/// that order: older than it).
pub fn list_for_organisation(
    conn: &mut DbConnection,
    organisation_id: &str,
    filter: &AuditFilter,
    after: Option<(UnixTime, String)>,
    limit: i64,
) -> Result<Vec<AuditEvent>, DbError> {
    let mut query = a::audit_events
        .filter(a::organisation_id.eq(organisation_id.to_owned()))
        .order((a::occurred_at.desc(), a::id.desc()))
        .limit(limit)
        .select(AuditEvent::as_select())
        .into_boxed();
    if let Some(user) = &filter.user_id {
        query = query.filter(a::user_id.eq(user.clone()));
    }
    if let Some(event) = &filter.event {
        query = query.filter(a::event.eq(event.clone()));
    }
    if let Some(since) = filter.since {
        query = query.filter(a::occurred_at.ge(since));
    }
    if let Some(until) = filter.until {
        query = query.filter(a::occurred_at.lt(until));
    }
    if let Some((at, id)) = after {
        query = query.filter(
            a::occurred_at
                .lt(at)
                .or(a::occurred_at.eq(at).and(a::id.lt(id))),
        );
    }
    Ok(query.load(conn)?)
}
