//! The administrator: what HCC staff (or a superuser) do today with `idp admin …` — invite,
//! resend an invitation, reset an authenticator, end sessions, disable and enable, withdraw a
//! consent, manage clients — and what they read: the audit log, accounts, throttle counters,
//! back-channel notices. Named after the actions, so the admin API can take the CLI's place.

use idp::admin::clients::CreateClientArgs;
use idp::admin::output::Output;
use idp::domain::{Email, Language, OrganisationName, PersonName, Role};
use idp::journeys::JourneyError;
use idp::journeys::account::{self, Actor};
use idp::journeys::invitation::{InviteCommand, Invited};
use idp::storage::logout_notices::LogoutNotice;
use idp::storage::models::{AuditEvent, ClientRow, Session, User};
use idp::storage::throttle::Counter;

use crate::helpers::TestApp;

pub struct Admin<'a> {
    app: &'a TestApp,
    actor: Actor,
}

impl TestApp {
    /// HCC staff, anonymous.
    pub fn admin(&self) -> Admin<'_> {
        self.admin_as(Actor::HccStaff { user_id: None })
    }

    pub fn admin_as(&self, actor: Actor) -> Admin<'_> {
        Admin { app: self, actor }
    }
}

fn email(address: &str) -> Email {
    Email::parse(address).unwrap()
}

impl Admin<'_> {
    /// `idp admin org create`: the new organisation's id.
    pub async fn create_organisation(&self, name: &str) -> String {
        let name = OrganisationName::parse(name).unwrap();
        let now = self.app.state.now();
        self.app
            .state
            .db
            .run(move |conn| idp::storage::organisations::insert(conn, &name, now))
            .await
            .unwrap()
            .id
    }

    /// `idp admin invite`: a member of `organisation_id`.
    pub async fn invite(
        &self,
        organisation_id: &str,
        address: &str,
        last_name: Option<&str>,
        language: Language,
    ) -> Result<Invited, JourneyError> {
        let command = InviteCommand {
            inviter: self.actor.inviter(),
            organisation_id: Some(organisation_id.to_owned()),
            email: email(address),
            first_name: None,
            last_name: last_name.map(|n| PersonName::parse(n).unwrap()),
            role: Role::Member,
            language,
        };
        idp::journeys::invitation::invite(&self.app.state, command).await
    }

    pub async fn resend_invitation(&self, address: &str) -> Result<Invited, JourneyError> {
        account::resend_invitation(&self.app.state, &self.actor, &email(address)).await
    }

    pub async fn reset_authenticator(&self, address: &str) -> Result<(), JourneyError> {
        account::reset_authenticator(&self.app.state, &self.actor, &email(address)).await
    }

    /// Ends every session of the account; how many there were.
    pub async fn end_sessions(&self, address: &str) -> Result<usize, JourneyError> {
        account::end_sessions(&self.app.state, &self.actor, &email(address)).await
    }

    pub async fn sessions(&self, address: &str) -> Result<Vec<Session>, JourneyError> {
        account::list_sessions(&self.app.state, &self.actor, &email(address)).await
    }

    pub async fn disable(&self, address: &str) -> Result<(), JourneyError> {
        account::disable(&self.app.state, &self.actor, &email(address)).await
    }

    pub async fn enable(&self, address: &str) -> Result<(), JourneyError> {
        account::enable(&self.app.state, &self.actor, &email(address)).await
    }

    /// Withdraws the person's consent for `client_id`; whether there was one.
    pub async fn revoke_consent(
        &self,
        address: &str,
        client_id: &str,
    ) -> Result<bool, JourneyError> {
        account::revoke_consent(&self.app.state, &self.actor, &email(address), client_id).await
    }

    /// `idp admin client create`.
    pub async fn create_client(&self, args: CreateClientArgs) -> anyhow::Result<()> {
        idp::admin::clients::create(&self.app.state, args, Output::Text).await
    }

    /// `idp admin client list`.
    pub async fn list_clients(&self) -> anyhow::Result<()> {
        idp::admin::clients::list(&self.app.state, Output::Text).await
    }

    /// `idp admin client delete`.
    pub async fn delete_client(&self, client_id: &str) -> anyhow::Result<()> {
        idp::admin::clients::delete(&self.app.state, client_id, Output::Text).await
    }

    /// The whole audit log, oldest first.
    pub async fn audit_log(&self) -> Vec<AuditEvent> {
        self.audit_log_of(None, 0).await
    }

    /// Whether the audit log has a row of `event` with `outcome`.
    pub async fn logged(&self, event: &str, outcome: &str) -> bool {
        has_row(&self.audit_log().await, event, outcome)
    }

    /// `idp admin audit [--user …] --since …`: the rows of one person (by id) from `since` on.
    pub async fn audit_log_of(&self, user_id: Option<&str>, since: i64) -> Vec<AuditEvent> {
        let user_id = user_id.map(str::to_owned);
        self.app
            .state
            .db
            .run(move |c| idp::storage::audit::list(c, user_id.as_deref(), since))
            .await
            .unwrap()
    }

    /// The account of `address` (which must exist).
    pub async fn user(&self, address: &str) -> User {
        let address = email(address);
        self.app
            .state
            .db
            .run(move |c| idp::storage::users::find_by_email(c, &address))
            .await
            .unwrap()
            .expect("an account")
    }

    /// Every registered client, as stored.
    pub async fn clients(&self) -> Vec<ClientRow> {
        self.app
            .state
            .db
            .run(idp::storage::clients::list)
            .await
            .unwrap()
    }

    /// The throttle counter under `key`, if anything is counted.
    pub async fn throttle_counter(&self, key: &str) -> Option<Counter> {
        let key = key.to_owned();
        self.app
            .state
            .db
            .run(move |c| idp::storage::throttle::find(c, &key))
            .await
            .unwrap()
    }

    /// Every back-channel logout notice, oldest first.
    pub async fn logout_notices(&self) -> Vec<LogoutNotice> {
        self.app
            .state
            .db
            .run(idp::storage::logout_notices::list)
            .await
            .unwrap()
    }
}

/// Whether the log has a row of `event` with `outcome`.
pub fn has_row(rows: &[AuditEvent], event: &str, outcome: &str) -> bool {
    rows.iter()
        .any(|r| r.event == event && r.outcome == outcome)
}
