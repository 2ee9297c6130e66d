//! Manual's "lost mail / lost phone" and account life: a superuser (own organisation) or HCC
//! staff resends an invitation, resets someone's authenticator, ends their sessions, changes a
//! role, blocks and unblocks the account. The admin CLI (by address), the admin API and the
//! portal's pages (by id within an organisation) call the same functions. The person is always
//! found *within the actor's reach* in the query itself: a superuser's query names their own
//! organisation, so someone elsewhere is not found, exactly like someone who does not exist.
//! The last active superuser of an organisation is never demoted or blocked.

use crate::domain::{Email, Language, PersonName, Role, UserStatus};
use crate::email::Notice;
use crate::journeys::JourneyError;
use crate::journeys::invitation::{self, InviteCommand, Invited, Inviter};
use crate::journeys::logout;
use crate::state::IdpState;
use crate::storage::audit::{self, AuditRecord};
use crate::storage::models::{Session, User};
use crate::storage::{
    DbConnection, DbError, authorization, organisations, otp, password_resets, sessions, users,
};

/// Who acts: HCC staff may manage anyone, a superuser only people of their own organisation.
#[derive(Debug, Clone)]
pub enum Actor {
    HccStaff {
        user_id: Option<String>,
    },
    Superuser {
        user_id: String,
        organisation_id: String,
    },
}

impl Actor {
    /// The one organisation this actor administers, or `None` for HCC staff (every one).
    pub fn reach(&self) -> Option<&str> {
        match self {
            Actor::HccStaff { .. } => None,
            Actor::Superuser {
                organisation_id, ..
            } => Some(organisation_id),
        }
    }

    pub fn is_staff(&self) -> bool {
        matches!(self, Actor::HccStaff { .. })
    }

    pub fn user_id(&self) -> Option<&str> {
        match self {
            Actor::HccStaff { user_id } => user_id.as_deref(),
            Actor::Superuser { user_id, .. } => Some(user_id),
        }
    }

    /// The inviter this actor is when inviting someone.
    pub fn inviter(&self) -> Inviter {
        match self {
            Actor::HccStaff { user_id } => Inviter::HccStaff {
                user_id: user_id.clone(),
            },
            Actor::Superuser {
                user_id,
                organisation_id,
            } => Inviter::Superuser {
                user_id: user_id.clone(),
                organisation_id: organisation_id.clone(),
            },
        }
    }
}

/// How an administrator names a person: by address (the command line) or by id within an
/// organisation (the admin API and the portal).
#[derive(Debug, Clone)]
pub enum Who {
    Email(Email),
    Member {
        organisation_id: String,
        user_id: String,
    },
}

impl From<&Email> for Who {
    fn from(email: &Email) -> Self {
        Who::Email(email.clone())
    }
}

/// The person `who` names, if within the actor's reach; found by one query that includes the
/// reach, never fetched first and compared after.
pub(crate) fn resolve(
    conn: &mut DbConnection,
    actor: &Actor,
    who: &Who,
) -> Result<Option<User>, DbError> {
    match who {
        Who::Email(email) => users::find_by_email_within(conn, actor.reach(), email),
        Who::Member {
            organisation_id,
            user_id,
        } => users::find_within(conn, actor.reach(), organisation_id, user_id),
    }
}

async fn managed_user(
    state: &IdpState,
    actor: &Actor,
    who: impl Into<Who>,
) -> Result<User, JourneyError> {
    let (actor, who) = (actor.clone(), who.into());
    state
        .db
        .run(move |conn| resolve(conn, &actor, &who))
        .await?
        .ok_or(JourneyError::UnknownUser)
}

fn record(actor: &Actor, name: &'static str, user: &User) -> AuditRecord {
    event(name, actor.user_id(), user)
}

/// An administrator's action on `user`, and who did it (`by`: none for the command line).
fn event(name: &'static str, by: Option<&str>, user: &User) -> AuditRecord {
    AuditRecord::success(name)
        .user(&user.id)
        .organisation(user.organisation_id.as_deref())
        .details(serde_json::json!({ "by": by }))
}

/// A new invitation mail for someone who has not registered yet; the old link dies.
pub async fn resend_invitation(
    state: &IdpState,
    actor: &Actor,
    who: impl Into<Who>,
) -> Result<Invited, JourneyError> {
    let user = managed_user(state, actor, who).await?;
    let email = Email::parse(&user.email).map_err(|e| anyhow::anyhow!("stored address: {e}"))?;
    if user.status != UserStatus::Invited {
        return Err(JourneyError::AlreadyRegistered(email));
    }
    let command = InviteCommand {
        inviter: actor.inviter(),
        organisation_id: user.organisation_id.clone(),
        email,
        first_name: user
            .first_name
            .as_deref()
            .and_then(|n| PersonName::parse(n).ok()),
        last_name: user
            .last_name
            .as_deref()
            .and_then(|n| PersonName::parse(n).ok()),
        role: user.role,
        language: Language::from_tag(&user.language).unwrap_or_default(),
    };
    let invited = invitation::invite(state, command).await?;
    let now = state.now();
    let rec = record(actor, "invitation_resent", &user);
    state
        .db
        .run(move |conn| audit::record(conn, rec, now))
        .await?;
    Ok(invited)
}

/// Ends every session of the person, revokes the refresh tokens issued in them, and tells the
/// relying parties (back-channel logout).
fn end_all(
    conn: &mut DbConnection,
    user: &User,
    ending: logout::Ending,
) -> Result<logout::Ended, DbError> {
    let all: Vec<String> = sessions::list_for_user(conn, &user.id)?
        .into_iter()
        .map(|s| s.id_hash)
        .collect();
    let ended = logout::end_sessions(conn, &user.id, &all, ending)?;
    // Refresh tokens outlive the session rows they came from (pruned after their lifetime).
    authorization::revoke_for_user(conn, &user.id, ending.now)?;
    Ok(ended)
}

/// The lost phone: the authenticator is removed and every session ends; at the next login the
/// person sets up a new one. They get a notice saying who did it.
pub async fn reset_authenticator(
    state: &IdpState,
    actor: &Actor,
    who: impl Into<Who>,
) -> Result<(), JourneyError> {
    let user = managed_user(state, actor, who).await?;
    let now = state.now();
    let ending = logout::Ending::at(state, "otp_reset", now);
    let rec = record(actor, "otp_reset", &user);
    let notice = Notice::AuthenticatorReset {
        by_staff: actor.is_staff(),
    };
    let (mail, keyring) = (state.mail.clone(), state.keyring.clone());
    let (user_id, target) = (user.id.clone(), user.clone());
    let ended = state
        .db
        .transaction(move |conn| {
            otp::delete_all(conn, &target.id)?;
            crate::storage::security_keys::delete_all(conn, &target.id)?;
            let ended = end_all(conn, &target, ending)?;
            audit::record(conn, rec, now)?;
            crate::email::queue_notice(conn, &mail, &keyring, &target, notice, now)?;
            Ok::<_, JourneyError>(ended)
        })
        .await?;
    logout::notify(state, &user_id, ended);
    state.outbox_wake.notify_one();
    Ok(())
}

/// `idp admin user logout`: ends every session of the person.
pub async fn end_sessions(
    state: &IdpState,
    actor: &Actor,
    who: impl Into<Who>,
) -> Result<usize, JourneyError> {
    let user = managed_user(state, actor, who).await?;
    let now = state.now();
    let ending = logout::Ending::at(state, "admin_logout", now);
    let rec = record(actor, "logged_out_everywhere", &user);
    let (user_id, target) = (user.id.clone(), user.clone());
    let ended = state
        .db
        .transaction(move |conn| {
            let ended = end_all(conn, &target, ending)?;
            let mut rec = rec;
            rec.details["sessions"] = ended.sessions.len().into();
            audit::record(conn, rec, now)?;
            Ok::<_, DbError>(ended)
        })
        .await?;
    let count = ended.sessions.len();
    logout::notify(state, &user_id, ended);
    Ok(count)
}

pub async fn list_sessions(
    state: &IdpState,
    actor: &Actor,
    who: impl Into<Who>,
) -> Result<Vec<Session>, JourneyError> {
    let user = managed_user(state, actor, who).await?;
    Ok(state
        .db
        .run(move |conn| sessions::list_for_user(conn, &user.id))
        .await?)
}

/// The rule that keeps an organisation administrable: its last active superuser is neither
/// demoted nor blocked. Call it in the transaction that changes `user`, after
/// `organisations::lock`, so two such changes cannot both pass it.
fn keep_a_superuser(conn: &mut DbConnection, user: &User) -> Result<(), JourneyError> {
    let Some(organisation_id) = &user.organisation_id else {
        return Ok(());
    };
    if user.role == Role::Superuser
        && user.status == UserStatus::Active
        && users::other_active_superusers(conn, organisation_id, &user.id)? == 0
    {
        return Err(JourneyError::LastSuperuser);
    }
    Ok(())
}

/// Serialises changes to one organisation's people (see [`keep_a_superuser`]).
fn lock_organisation(conn: &mut DbConnection, user: &User) -> Result<(), DbError> {
    if let Some(organisation_id) = &user.organisation_id {
        organisations::lock(conn, organisation_id)?;
    }
    Ok(())
}

/// Blocked people cannot log in; their sessions end and their tokens stop working (refresh
/// tokens are revoked; access tokens introspect as inactive because the account is checked).
/// Blocked by HCC staff, only staff may unblock them. They get a notice saying who did it.
pub async fn disable(
    state: &IdpState,
    actor: &Actor,
    who: impl Into<Who>,
) -> Result<(), JourneyError> {
    let (who, actor_copy) = (who.into(), actor.clone());
    let now = state.now();
    let ending = logout::Ending::at(state, "user_disabled", now);
    let by_staff = actor.is_staff();
    let (mail, keyring) = (state.mail.clone(), state.keyring.clone());
    let by = actor.user_id().map(str::to_owned);
    let (user_id, ended) = state
        .db
        .transaction(move |conn| {
            let user = resolve(conn, &actor_copy, &who)?.ok_or(JourneyError::UnknownUser)?;
            lock_organisation(conn, &user)?;
            keep_a_superuser(conn, &user)?;
            users::block(conn, &user.id, by_staff, now)?;
            let ended = end_all(conn, &user, ending)?;
            password_resets::revoke_open(conn, &user.id, now)?;
            audit::record(conn, event("user_disabled", by.as_deref(), &user), now)?;
            crate::email::queue_notice(
                conn,
                &mail,
                &keyring,
                &user,
                Notice::AccountBlocked { by_staff },
                now,
            )?;
            Ok::<_, JourneyError>((user.id, ended))
        })
        .await?;
    logout::notify(state, &user_id, ended);
    state.outbox_wake.notify_one();
    Ok(())
}

/// Unblocks an account: active again if the person had registered, else invited. An account
/// that HCC staff blocked stays blocked for superusers.
pub async fn enable(
    state: &IdpState,
    actor: &Actor,
    who: impl Into<Who>,
) -> Result<(), JourneyError> {
    let (who, actor_copy) = (who.into(), actor.clone());
    let now = state.now();
    let by = actor.user_id().map(str::to_owned);
    state
        .db
        .transaction(move |conn| {
            let user = resolve(conn, &actor_copy, &who)?.ok_or(JourneyError::UnknownUser)?;
            if user.status != UserStatus::Disabled {
                return Ok(());
            }
            if user.blocked_by_staff && !actor_copy.is_staff() {
                return Err(JourneyError::BlockedByStaff);
            }
            let registered = crate::storage::passwords::find(conn, &user.id)?.is_some();
            let status = if registered {
                UserStatus::Active
            } else {
                UserStatus::Invited
            };
            users::unblock(conn, &user.id, status, now)?;
            audit::record(conn, event("user_enabled", by.as_deref(), &user), now)?;
            Ok::<_, JourneyError>(())
        })
        .await
}

/// Makes a member a superuser or a superuser a member. HCC staff accounts are invited as such,
/// not made by a change of role; the last active superuser stays one.
pub async fn change_role(
    state: &IdpState,
    actor: &Actor,
    who: impl Into<Who>,
    role: Role,
) -> Result<(), JourneyError> {
    if role == Role::HccStaff {
        return Err(JourneyError::RoleNotAssignable);
    }
    let (who, actor_copy) = (who.into(), actor.clone());
    let now = state.now();
    let by = actor.user_id().map(str::to_owned);
    state
        .db
        .transaction(move |conn| {
            let user = resolve(conn, &actor_copy, &who)?.ok_or(JourneyError::UnknownUser)?;
            if user.role == role {
                return Ok(());
            }
            if user.role == Role::HccStaff {
                return Err(JourneyError::RoleNotAssignable);
            }
            lock_organisation(conn, &user)?;
            if role != Role::Superuser {
                keep_a_superuser(conn, &user)?;
            }
            users::set_role(conn, &user.id, role, now)?;
            let mut rec = event("role_changed", by.as_deref(), &user);
            rec.details["from"] = user.role.as_str().into();
            rec.details["to"] = role.as_str().into();
            audit::record(conn, rec, now)?;
            Ok::<_, JourneyError>(())
        })
        .await
}

/// The consents the person gave to third-party clients.
pub async fn list_consents(
    state: &IdpState,
    actor: &Actor,
    who: impl Into<Who>,
) -> Result<Vec<crate::storage::models::Consent>, JourneyError> {
    let user = managed_user(state, actor, who).await?;
    Ok(state
        .db
        .run(move |conn| crate::storage::consents::list_for_user(conn, &user.id))
        .await?)
}

/// Withdraws the person's consent to a client (its refresh tokens are revoked with it). False
/// when there was none.
pub async fn revoke_consent(
    state: &IdpState,
    actor: &Actor,
    who: impl Into<Who>,
    client_id: &str,
) -> Result<bool, JourneyError> {
    let user = managed_user(state, actor, who).await?;
    crate::oidc::consent::revoke(state, &user.id, client_id)
        .await
        .map_err(JourneyError::from)
}
