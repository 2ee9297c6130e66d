//! Manual's "lost mail / lost phone" and account life: a superuser (own organisation) or HCC
//! staff resends an invitation, resets someone's authenticator, ends their sessions, disables
//! and re-enables the account. The admin CLI calls these now; the portal's admin pages will
//! call the same functions.

use crate::domain::{Email, Language, PersonName, Role, UserStatus};
use crate::journeys::JourneyError;
use crate::journeys::invitation::{self, InviteCommand, Invited, Inviter};
use crate::journeys::logout;
use crate::state::IdpState;
use crate::storage::audit::{self, AuditRecord};
use crate::storage::models::{Session, User};
use crate::storage::{DbConnection, DbError, authorization, otp, password_resets, sessions, users};

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
    fn may_manage(&self, user: &User) -> bool {
        match self {
            Actor::HccStaff { .. } => true,
            Actor::Superuser {
                organisation_id, ..
            } => {
                user.organisation_id.as_deref() == Some(organisation_id.as_str())
                    && user.role != Role::HccStaff
            }
        }
    }

    fn user_id(&self) -> Option<&str> {
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

async fn managed_user(
    state: &IdpState,
    actor: &Actor,
    email: &Email,
) -> Result<User, JourneyError> {
    let lookup = email.clone();
    let user = state
        .db
        .run(move |conn| users::find_by_email(conn, &lookup))
        .await?
        .ok_or(JourneyError::UnknownUser)?;
    if actor.may_manage(&user) {
        Ok(user)
    } else {
        Err(JourneyError::NotAllowed)
    }
}

fn record(actor: &Actor, event: &'static str, user: &User) -> AuditRecord {
    AuditRecord::success(event)
        .user(&user.id)
        .organisation(user.organisation_id.as_deref())
        .details(serde_json::json!({ "by": actor.user_id() }))
}

/// A new invitation mail for someone who has not registered yet; the old link dies.
pub async fn resend_invitation(
    state: &IdpState,
    actor: &Actor,
    email: &Email,
) -> Result<Invited, JourneyError> {
    let user = managed_user(state, actor, email).await?;
    if user.status != UserStatus::Invited {
        return Err(JourneyError::AlreadyRegistered(email.clone()));
    }
    let command = InviteCommand {
        inviter: actor.inviter(),
        organisation_id: user.organisation_id.clone(),
        email: email.clone(),
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
/// person sets up a new one.
pub async fn reset_authenticator(
    state: &IdpState,
    actor: &Actor,
    email: &Email,
) -> Result<(), JourneyError> {
    let user = managed_user(state, actor, email).await?;
    let now = state.now();
    let ending = logout::Ending::at(state, "otp_reset", now);
    let rec = record(actor, "otp_reset", &user);
    let (user_id, target) = (user.id.clone(), user.clone());
    let ended = state
        .db
        .transaction(move |conn| {
            otp::delete_all(conn, &target.id)?;
            let ended = end_all(conn, &target, ending)?;
            audit::record(conn, rec, now)?;
            Ok::<_, DbError>(ended)
        })
        .await?;
    logout::notify(state, &user_id, ended);
    Ok(())
}

/// `idp admin user logout`: ends every session of the person.
pub async fn end_sessions(
    state: &IdpState,
    actor: &Actor,
    email: &Email,
) -> Result<usize, JourneyError> {
    let user = managed_user(state, actor, email).await?;
    let now = state.now();
    let ending = logout::Ending::at(state, "admin_logout", now);
    let (user_id, target) = (user.id.clone(), user.clone());
    let ended = state
        .db
        .transaction(move |conn| end_all(conn, &target, ending))
        .await?;
    let count = ended.sessions.len();
    logout::notify(state, &user_id, ended);
    Ok(count)
}

pub async fn list_sessions(
    state: &IdpState,
    actor: &Actor,
    email: &Email,
) -> Result<Vec<Session>, JourneyError> {
    let user = managed_user(state, actor, email).await?;
    Ok(state
        .db
        .run(move |conn| sessions::list_for_user(conn, &user.id))
        .await?)
}

/// Disabled people cannot log in; their sessions end and their tokens stop working (refresh
/// tokens are revoked; access tokens introspect as inactive because the account is checked).
pub async fn disable(state: &IdpState, actor: &Actor, email: &Email) -> Result<(), JourneyError> {
    let user = managed_user(state, actor, email).await?;
    let now = state.now();
    let ending = logout::Ending::at(state, "user_disabled", now);
    let rec = record(actor, "user_disabled", &user);
    let (user_id, target) = (user.id.clone(), user.clone());
    let ended = state
        .db
        .transaction(move |conn| {
            users::set_status(conn, &target.id, UserStatus::Disabled, now)?;
            let ended = end_all(conn, &target, ending)?;
            authorization::revoke_for_user(conn, &target.id, now)?;
            password_resets::revoke_open(conn, &target.id, now)?;
            audit::record(conn, rec, now)?;
            Ok::<_, DbError>(ended)
        })
        .await?;
    logout::notify(state, &user_id, ended);
    Ok(())
}

/// Re-enables a disabled account: active again if the person had registered, else invited.
pub async fn enable(state: &IdpState, actor: &Actor, email: &Email) -> Result<(), JourneyError> {
    let user = managed_user(state, actor, email).await?;
    let now = state.now();
    let rec = record(actor, "user_enabled", &user);
    state
        .db
        .transaction(move |conn| {
            let registered = crate::storage::passwords::find(conn, &user.id)?.is_some();
            let status = if registered {
                UserStatus::Active
            } else {
                UserStatus::Invited
            };
            users::set_status(conn, &user.id, status, now)?;
            audit::record(conn, rec, now)?;
            Ok::<_, DbError>(())
        })
        .await?;
    Ok(())
}

/// The consents the person gave to third-party clients.
pub async fn list_consents(
    state: &IdpState,
    actor: &Actor,
    email: &Email,
) -> Result<Vec<crate::storage::models::Consent>, JourneyError> {
    let user = managed_user(state, actor, email).await?;
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
    email: &Email,
    client_id: &str,
) -> Result<bool, JourneyError> {
    let user = managed_user(state, actor, email).await?;
    crate::oidc::consent::revoke(state, &user.id, client_id)
        .await
        .map_err(JourneyError::from)
}
