//! Organisation administration as the portal's "Gebruikers beheren" and the admin API need it:
//! the organisations an actor reaches, their people, invitations and activity, listed page by
//! page, and the actions on a person or an invitation named by id. Tenant isolation is by
//! construction: every organisation, person and invitation is looked up with the actor's reach
//! in the query itself, so another organisation's id is not found, exactly like one that does
//! not exist. The actions on people are `account`'s.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::domain::{Email, Language, OrganisationName, PersonName, Role};
use crate::journeys::JourneyError;
use crate::journeys::account::{Actor, Who};
use crate::journeys::invitation::{self, InviteCommand};
use crate::state::IdpState;
use crate::storage::audit::{self, AuditFilter, AuditRecord};
use crate::storage::models::{AuditEvent, Invitation, Organisation, User};
use crate::storage::users::After;
use crate::storage::{DbConnection, DbError, invitations, organisations, otp, users};

/// The most items a page of a list holds.
pub const PAGE_SIZE: i64 = 50;

/// One page of a list and where the next one starts (`None`: this was the last).
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

/// An opaque place in a list, handed out with a page and handed back for the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(String);

impl Cursor {
    fn at(time: i64, id: &str) -> Self {
        Cursor(URL_SAFE_NO_PAD.encode(format!("{time}:{id}")))
    }

    /// A cursor as a client sent it back; anything we did not hand out is refused.
    pub fn parse(presented: &str) -> Result<Self, JourneyError> {
        let refused = || JourneyError::BadRequest("the cursor is not one this list gave".into());
        let decoded = URL_SAFE_NO_PAD.decode(presented).map_err(|_| refused())?;
        let text = String::from_utf8(decoded).map_err(|_| refused())?;
        let (time, id) = text.split_once(':').ok_or_else(refused)?;
        time.parse::<i64>().map_err(|_| refused())?;
        if id.is_empty() || id.len() > 64 {
            return Err(refused());
        }
        Ok(Cursor(presented.to_owned()))
    }

    fn place(&self) -> Option<(i64, String)> {
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(&self.0).ok()?).ok()?;
        let (time, id) = text.split_once(':')?;
        Some((time.parse().ok()?, id.to_owned()))
    }

    fn after(&self) -> Option<After> {
        self.place()
            .map(|(created_at, id)| After { created_at, id })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A page of `rows` asked for with one row more than it shows: that row says there is a next.
fn page<R, T, E>(
    mut rows: Vec<R>,
    cursor: impl Fn(&R) -> Cursor,
    views: impl FnOnce(Vec<R>) -> Result<Vec<T>, E>,
) -> Result<Page<T>, E> {
    let more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    let next = more.then(|| rows.last().map(&cursor)).flatten();
    Ok(Page {
        items: views(rows)?,
        next,
    })
}

/// A person as administrators see them.
#[derive(Debug, Clone)]
pub struct PersonView {
    pub user: User,
    /// Whether a confirmed authenticator is set up.
    pub authenticator: bool,
}

/// Where an invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationStatus {
    Pending,
    Used,
    Expired,
    Revoked,
}

impl InvitationStatus {
    pub fn of(invitation: &Invitation, now: i64) -> Self {
        if invitation.used_at.is_some() {
            InvitationStatus::Used
        } else if invitation.revoked_at.is_some() {
            InvitationStatus::Revoked
        } else if invitation.expires_at <= now {
            InvitationStatus::Expired
        } else {
            InvitationStatus::Pending
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            InvitationStatus::Pending => "pending",
            InvitationStatus::Used => "used",
            InvitationStatus::Expired => "expired",
            InvitationStatus::Revoked => "revoked",
        }
    }
}

/// An invitation with the person it is for.
#[derive(Debug, Clone)]
pub struct InvitationView {
    pub invitation: Invitation,
    pub email: String,
    pub role: Role,
    pub status: InvitationStatus,
}

/// An audit event with the addresses of the person it is about and of who did it.
#[derive(Debug, Clone)]
pub struct ActivityView {
    pub event: AuditEvent,
    pub user_email: Option<String>,
    pub by_email: Option<String>,
}

/// The organisation `id`, if within the actor's reach.
fn organisation_within(
    conn: &mut DbConnection,
    actor: &Actor,
    id: &str,
) -> Result<Organisation, JourneyError> {
    organisations::find_within(conn, actor.reach(), id)?.ok_or(JourneyError::NotFound)
}

fn staff_only(actor: &Actor) -> Result<(), JourneyError> {
    if actor.is_staff() {
        Ok(())
    } else {
        Err(JourneyError::NotAllowed)
    }
}

/// Every organisation for HCC staff; a superuser's own.
pub async fn organisations(
    state: &IdpState,
    actor: &Actor,
) -> Result<Vec<Organisation>, JourneyError> {
    let actor = actor.clone();
    Ok(state
        .db
        .run(move |conn| match actor.reach() {
            None => organisations::list(conn),
            Some(own) => Ok(organisations::find_within(conn, Some(own), own)?
                .into_iter()
                .collect()),
        })
        .await?)
}

pub async fn organisation(
    state: &IdpState,
    actor: &Actor,
    id: &str,
) -> Result<Organisation, JourneyError> {
    let (actor, id) = (actor.clone(), id.to_owned());
    state
        .db
        .run(move |conn| organisation_within(conn, &actor, &id))
        .await
}

/// HCC staff create an organisation; its name is unique (case-insensitive).
pub async fn create_organisation(
    state: &IdpState,
    actor: &Actor,
    name: &str,
) -> Result<Organisation, JourneyError> {
    staff_only(actor)?;
    let name = OrganisationName::parse(name)
        .map_err(|_| JourneyError::field("name", "organisation_name_invalid"))?;
    let now = state.now();
    let by = actor.user_id().map(str::to_owned);
    state
        .db
        .transaction(move |conn| {
            if organisations::find_by_name(conn, &name)?.is_some() {
                return Err(JourneyError::field("name", "organisation_name_taken"));
            }
            let created = organisations::insert(conn, &name, now)?;
            audit::record(
                conn,
                AuditRecord::success("organisation_created")
                    .organisation(Some(&created.id))
                    .details(serde_json::json!({ "by": by, "name": created.name })),
                now,
            )?;
            Ok(created)
        })
        .await
}

pub async fn rename_organisation(
    state: &IdpState,
    actor: &Actor,
    id: &str,
    name: &str,
) -> Result<Organisation, JourneyError> {
    let (actor, id) = (actor.clone(), id.to_owned());
    let now = state.now();
    let name = name.to_owned();
    state
        .db
        .transaction(move |conn| {
            // Another organisation is not found, before anything else is said about it.
            let before = organisation_within(conn, &actor, &id)?;
            staff_only(&actor)?;
            let name = OrganisationName::parse(&name)
                .map_err(|_| JourneyError::field("name", "organisation_name_invalid"))?;
            if let Some(other) = organisations::find_by_name(conn, &name)?
                && other.id != id
            {
                return Err(JourneyError::field("name", "organisation_name_taken"));
            }
            organisations::rename(conn, &id, &name)?;
            audit::record(
                conn,
                AuditRecord::success("organisation_renamed")
                    .organisation(Some(&id))
                    .details(serde_json::json!({
                        "by": actor.user_id(), "from": before.name, "to": name.as_str(),
                    })),
                now,
            )?;
            organisation_within(conn, &actor, &id)
        })
        .await
}

fn person_views(conn: &mut DbConnection, people: Vec<User>) -> Result<Vec<PersonView>, DbError> {
    let ids: Vec<String> = people.iter().map(|u| u.id.clone()).collect();
    let with_authenticator = otp::confirmed_among(conn, &ids)?;
    Ok(people
        .into_iter()
        .map(|user| PersonView {
            authenticator: with_authenticator.contains(&user.id),
            user,
        })
        .collect())
}

/// The organisation's people, oldest first.
pub async fn people(
    state: &IdpState,
    actor: &Actor,
    organisation_id: &str,
    cursor: Option<Cursor>,
) -> Result<Page<PersonView>, JourneyError> {
    let (actor, org) = (actor.clone(), organisation_id.to_owned());
    state
        .db
        .run(move |conn| {
            organisation_within(conn, &actor, &org)?;
            let after = cursor.as_ref().and_then(Cursor::after);
            // A superuser's reach never includes HCC staff (see `users::find_within`).
            let without_staff = actor.reach().is_some();
            let rows = users::list_in_organisation(
                conn,
                &org,
                without_staff,
                after.as_ref(),
                PAGE_SIZE + 1,
            )?;
            Ok(page(
                rows,
                |u| Cursor::at(u.created_at, &u.id),
                |users| person_views(conn, users),
            )?)
        })
        .await
}

/// One person of the organisation.
pub async fn person(
    state: &IdpState,
    actor: &Actor,
    organisation_id: &str,
    user_id: &str,
) -> Result<PersonView, JourneyError> {
    let (actor, org, id) = (
        actor.clone(),
        organisation_id.to_owned(),
        user_id.to_owned(),
    );
    state
        .db
        .run(move |conn| {
            let user = users::find_within(conn, actor.reach(), &org, &id)?
                .ok_or(JourneyError::NotFound)?;
            Ok(person_views(conn, vec![user])?.remove(0))
        })
        .await
}

/// The person `who` names (the command line names people by address), if within the actor's
/// reach; HCC staff outside any organisation included.
pub async fn person_named(
    state: &IdpState,
    actor: &Actor,
    who: impl Into<Who>,
) -> Result<PersonView, JourneyError> {
    let (actor, who) = (actor.clone(), who.into());
    state
        .db
        .run(move |conn| {
            let user =
                super::account::resolve(conn, &actor, &who)?.ok_or(JourneyError::UnknownUser)?;
            person_views(conn, vec![user])?
                .pop()
                .ok_or(JourneyError::UnknownUser)
        })
        .await
}

/// The person `user_id` of `organisation_id`, as `account`'s actions name them.
pub fn member(organisation_id: &str, user_id: &str) -> Who {
    Who::Member {
        organisation_id: organisation_id.to_owned(),
        user_id: user_id.to_owned(),
    }
}

fn invitation_view(
    conn: &mut DbConnection,
    invitation: Invitation,
    now: i64,
) -> Result<InvitationView, DbError> {
    let user = users::find(conn, &invitation.user_id)?;
    Ok(InvitationView {
        status: InvitationStatus::of(&invitation, now),
        email: user.as_ref().map(|u| u.email.clone()).unwrap_or_default(),
        role: user.map_or(Role::Member, |u| u.role),
        invitation,
    })
}

/// The organisation's invitations (pending, used, expired and revoked), oldest first.
pub async fn invitations(
    state: &IdpState,
    actor: &Actor,
    organisation_id: &str,
    cursor: Option<Cursor>,
) -> Result<Page<InvitationView>, JourneyError> {
    let (actor, org) = (actor.clone(), organisation_id.to_owned());
    let now = state.now();
    state
        .db
        .run(move |conn| {
            organisation_within(conn, &actor, &org)?;
            let after = cursor.as_ref().and_then(Cursor::after);
            let rows =
                invitations::list_in_organisation(conn, &org, after.as_ref(), PAGE_SIZE + 1)?;
            Ok(page(
                rows,
                |i| Cursor::at(i.created_at, &i.id),
                |rows| {
                    rows.into_iter()
                        .map(|invitation| invitation_view(conn, invitation, now))
                        .collect::<Result<Vec<_>, _>>()
                },
            )?)
        })
        .await
}

/// What an administrator fills in to invite someone (the portal's form, the API's body).
#[derive(Debug, Clone)]
pub struct Invite {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub language: Language,
}

/// Invites a person into the organisation; the mail goes out through the outbox.
pub async fn invite(
    state: &IdpState,
    actor: &Actor,
    organisation_id: &str,
    form: Invite,
) -> Result<InvitationView, JourneyError> {
    organisation(state, actor, organisation_id).await?;
    let mut errors = Vec::new();
    let email = Email::parse(&form.email)
        .map_err(|_| errors.push(super::FieldError::new("email", "email_error_invalid")))
        .ok();
    let name = |field: &'static str, value: &str, errors: &mut Vec<super::FieldError>| match value
        .trim()
    {
        "" => None,
        text => PersonName::parse(text)
            .map_err(|_| errors.push(super::FieldError::new(field, "name_error_too_long")))
            .ok(),
    };
    let first_name = name("first_name", &form.first_name, &mut errors);
    let last_name = name("last_name", &form.last_name, &mut errors);
    if form.role == Role::HccStaff && !actor.is_staff() {
        errors.push(super::FieldError::new("role", "role_error_not_assignable"));
    }
    let Some(email) = email.filter(|_| errors.is_empty()) else {
        return Err(JourneyError::Form(errors));
    };
    let invited = invitation::invite(
        state,
        InviteCommand {
            inviter: actor.inviter(),
            organisation_id: Some(organisation_id.to_owned()),
            email,
            first_name,
            last_name,
            role: form.role,
            language: form.language,
        },
    )
    .await?;
    invitation_by_id(state, actor, organisation_id, &invited.invitation_id).await
}

async fn invitation_by_id(
    state: &IdpState,
    actor: &Actor,
    organisation_id: &str,
    invitation_id: &str,
) -> Result<InvitationView, JourneyError> {
    let (actor, org, id) = (
        actor.clone(),
        organisation_id.to_owned(),
        invitation_id.to_owned(),
    );
    let now = state.now();
    state
        .db
        .run(move |conn| {
            organisation_within(conn, &actor, &org)?;
            let invitation = invitations::find_in_organisation(conn, &org, &id)?
                .ok_or(JourneyError::NotFound)?;
            Ok(invitation_view(conn, invitation, now)?)
        })
        .await
}

/// The invitation `invitation_id` within the actor's reach, whichever organisation (or none,
/// for HCC staff) it is of: the command line names invitations by id alone.
pub async fn invitation(
    state: &IdpState,
    actor: &Actor,
    invitation_id: &str,
) -> Result<InvitationView, JourneyError> {
    let (actor, id) = (actor.clone(), invitation_id.to_owned());
    let now = state.now();
    state
        .db
        .run(move |conn| {
            let invitation = invitations::find_within(conn, actor.reach(), &id)?
                .ok_or(JourneyError::NotFound)?;
            Ok(invitation_view(conn, invitation, now)?)
        })
        .await
}

/// A new link for the invitation's person (who has not registered yet); the old link dies.
pub async fn resend_invitation(
    state: &IdpState,
    actor: &Actor,
    organisation_id: &str,
    invitation_id: &str,
) -> Result<InvitationView, JourneyError> {
    let old = invitation_by_id(state, actor, organisation_id, invitation_id).await?;
    let who = member(organisation_id, &old.invitation.user_id);
    let invited = super::account::resend_invitation(state, actor, who).await?;
    invitation_by_id(state, actor, organisation_id, &invited.invitation_id).await
}

/// Withdraws a pending invitation: its link stops working.
pub async fn revoke_invitation(
    state: &IdpState,
    actor: &Actor,
    organisation_id: &str,
    invitation_id: &str,
) -> Result<(), JourneyError> {
    let (actor, org, id) = (
        actor.clone(),
        organisation_id.to_owned(),
        invitation_id.to_owned(),
    );
    let now = state.now();
    state
        .db
        .transaction(move |conn| {
            organisation_within(conn, &actor, &org)?;
            let invitation = invitations::find_in_organisation(conn, &org, &id)?
                .ok_or(JourneyError::NotFound)?;
            if !invitations::revoke(conn, &invitation.id, now)? {
                return Err(JourneyError::InvitationClosed);
            }
            audit::record(
                conn,
                AuditRecord::success("invitation_revoked")
                    .user(&invitation.user_id)
                    .organisation(Some(&org))
                    .details(serde_json::json!({ "by": actor.user_id(), "invitation_id": id })),
                now,
            )?;
            Ok(())
        })
        .await
}

/// The organisation's audit events, newest first.
pub async fn activity(
    state: &IdpState,
    actor: &Actor,
    organisation_id: &str,
    filter: AuditFilter,
    cursor: Option<Cursor>,
) -> Result<Page<ActivityView>, JourneyError> {
    let (actor, org) = (actor.clone(), organisation_id.to_owned());
    state
        .db
        .run(move |conn| {
            organisation_within(conn, &actor, &org)?;
            let rows = audit::list_for_organisation(
                conn,
                &org,
                &filter,
                cursor.as_ref().and_then(Cursor::place),
                PAGE_SIZE + 1,
            )?;
            Ok(page(
                rows,
                |e| Cursor::at(e.occurred_at, &e.id),
                |events| with_emails(conn, events),
            )?)
        })
        .await
}

/// The audit events of every organisation (and of none), oldest first: what HCC staff read on
/// the command line.
pub async fn activity_everywhere(
    state: &IdpState,
    actor: &Actor,
    filter: AuditFilter,
) -> Result<Vec<ActivityView>, JourneyError> {
    staff_only(actor)?;
    state
        .db
        .run(move |conn| {
            let events = audit::list_matching(conn, &filter)?;
            Ok(with_emails(conn, events)?)
        })
        .await
}

/// The events with the addresses of the people they are about and of who did them.
fn with_emails(
    conn: &mut DbConnection,
    events: Vec<AuditEvent>,
) -> Result<Vec<ActivityView>, DbError> {
    let mut ids: Vec<String> = Vec::new();
    for event in &events {
        ids.extend(event.user_id.clone());
        ids.extend(by_of(event));
    }
    let emails = users::emails_of(conn, &ids)?;
    Ok(events
        .into_iter()
        .map(|event| ActivityView {
            user_email: event
                .user_id
                .as_ref()
                .and_then(|id| emails.get(id).cloned()),
            by_email: by_of(&event).and_then(|id| emails.get(&id).cloned()),
            event,
        })
        .collect())
}

/// Who did it, as an administrator's action records it.
fn by_of(event: &AuditEvent) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(&event.details)
        .ok()?
        .get("by")?
        .as_str()
        .map(str::to_owned)
}

/// The administrator an access token speaks for (the admin API): a token we issued (signature,
/// `typ`, expiry, not revoked), with the `admin` scope, from a first-party client, of a person
/// who is *now* an active superuser or HCC staff member — so a demoted or blocked person's
/// token stops working at once.
pub async fn actor_for_token(state: &IdpState, token: &str) -> Result<Actor, JourneyError> {
    let claims = crate::oidc::bearer::check(state, token)
        .await?
        .ok_or(JourneyError::InvalidToken)?;
    if claims.sub == claims.client_id
        || !crate::domain::Scope::parse_stored(&claims.scope).contains(crate::domain::scope::ADMIN)
    {
        return Err(JourneyError::NotAllowed);
    }
    let (sub, client_id) = (claims.sub.clone(), claims.client_id.clone());
    let (user, client) = state
        .db
        .run(move |conn| {
            Ok::<_, DbError>((
                users::find(conn, &sub)?,
                crate::storage::clients::find(conn, &client_id)?,
            ))
        })
        .await?;
    let user = user.ok_or(JourneyError::InvalidToken)?;
    if !client.is_some_and(|c| c.first_party)
        || !user.role.may_administer()
        || !user.status.may_receive_tokens()
    {
        return Err(JourneyError::NotAllowed);
    }
    match (user.role, user.organisation_id) {
        (Role::HccStaff, _) => Ok(Actor::HccStaff {
            user_id: Some(user.id),
        }),
        (_, Some(organisation_id)) => Ok(Actor::Superuser {
            user_id: user.id,
            organisation_id,
        }),
        (_, None) => Err(JourneyError::NotAllowed),
    }
}

/// The registered clients (HCC staff).
pub async fn clients(
    state: &IdpState,
    actor: &Actor,
) -> Result<Vec<crate::oidc::client::Client>, JourneyError> {
    staff_only(actor)?;
    let rows = state.db.run(crate::storage::clients::list).await?;
    Ok(rows
        .into_iter()
        .map(crate::oidc::client::Client::from_row)
        .collect())
}

pub async fn client(
    state: &IdpState,
    actor: &Actor,
    client_id: &str,
) -> Result<crate::oidc::client::Client, JourneyError> {
    staff_only(actor)?;
    let id = client_id.to_owned();
    state
        .db
        .run(move |conn| crate::oidc::client::find(conn, &id))
        .await?
        .ok_or(JourneyError::NotFound)
}

/// Registers a client under the rules of RFC 7591 registration; only HCC staff, who alone may
/// make it first-party. The secret is in the result, this once.
pub async fn create_client(
    state: &IdpState,
    actor: &Actor,
    metadata: &crate::oidc::registration::ClientMetadata,
    first_party: bool,
) -> Result<crate::oidc::client::Registered, JourneyError> {
    use crate::oidc::registration::{RegistrationRules, create_client, validate_metadata};
    staff_only(actor)?;
    let mut new = validate_metadata(
        metadata,
        RegistrationRules::from_settings(&state.settings.oidc),
    )
    .map_err(|e| JourneyError::InvalidClientMetadata(e.to_string()))?;
    new.first_party = first_party;
    Ok(create_client(state, new, via(actor), None).await?)
}

/// Where an administrator's change to the clients came from, for the audit log: the command
/// line acts as staff without an account, the admin API always for a person.
fn via(actor: &Actor) -> crate::oidc::registration::Via {
    use crate::oidc::registration::Via;
    match actor.user_id() {
        None => Via::Cli,
        Some(_) => Via::AdminApi,
    }
}

/// Deletes a client with its codes and tokens.
pub async fn delete_client(
    state: &IdpState,
    actor: &Actor,
    client_id: &str,
) -> Result<(), JourneyError> {
    staff_only(actor)?;
    let (id, by) = (client_id.to_owned(), actor.user_id().map(str::to_owned));
    let via = via(actor).as_str();
    let now = state.now();
    state
        .db
        .transaction(move |conn| {
            let Some(row) = crate::storage::clients::find(conn, &id)? else {
                return Err(JourneyError::NotFound);
            };
            crate::storage::clients::delete(conn, &id)?;
            let mut record = AuditRecord::success("client_deleted")
                .details(serde_json::json!({ "name": row.name, "by": by, "via": via }));
            record.client_id = Some(id);
            audit::record(conn, record, now)?;
            Ok(())
        })
        .await
}

/// The signing keys (HCC staff), newest first.
pub async fn signing_keys(
    state: &IdpState,
    actor: &Actor,
) -> Result<Vec<crate::storage::signing_keys::SigningKeyRow>, JourneyError> {
    staff_only(actor)?;
    Ok(state.db.run(crate::storage::signing_keys::list).await?)
}

/// Starts signing with a new key (HCC staff); returns its kid.
pub async fn rotate_signing_key(state: &IdpState, actor: &Actor) -> Result<String, JourneyError> {
    staff_only(actor)?;
    state
        .keys
        .rotate()
        .await
        .map_err(|e| JourneyError::Fault(e.into()))
}
