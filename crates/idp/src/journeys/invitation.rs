//! Manual §2.1: a superuser (own organisation only) or HCC staff invites a person by e-mail.
//! The invitation row, the account placeholder, the mail and the audit event commit together.

use crate::crypto::OpaqueToken;
use crate::domain::{Email, Language, PersonName, Role, UserStatus};
use crate::email::render::InvitationMail;
use crate::journeys::JourneyError;
use crate::state::IdpState;
use crate::storage::audit::AuditRecord;
use crate::storage::models::{Invitation, User, new_id};
use crate::storage::{audit, invitations, organisations, users};

/// Who is inviting: decides which organisations and roles are allowed.
#[derive(Debug, Clone)]
pub enum Inviter {
    /// HCC staff, from the admin API (with their user id) or the CLI (none).
    HccStaff { user_id: Option<String> },
    /// A superuser of one organisation.
    Superuser {
        user_id: String,
        organisation_id: String,
    },
}

#[derive(Debug, Clone)]
pub struct InviteCommand {
    pub inviter: Inviter,
    /// Organisation id; `None` only for inviting HCC staff.
    pub organisation_id: Option<String>,
    pub email: Email,
    pub first_name: Option<PersonName>,
    pub last_name: Option<PersonName>,
    pub role: Role,
    pub language: Language,
}

pub struct Invited {
    pub user_id: String,
    pub invitation_id: String,
    pub mail_id: String,
    /// The one-time link; returned so the CLI can print it. Stored only as a hash.
    pub link: String,
    pub expires_at: i64,
}

impl std::fmt::Debug for Invited {
    /// The link is a live one-time credential: never in a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invited")
            .field("user_id", &self.user_id)
            .field("invitation_id", &self.invitation_id)
            .field("mail_id", &self.mail_id)
            .field("link", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

fn authorise(command: &InviteCommand) -> Result<(), JourneyError> {
    if command.role != Role::HccStaff && command.organisation_id.is_none() {
        return Err(JourneyError::OrganisationMismatch);
    }
    match &command.inviter {
        Inviter::HccStaff { .. } => Ok(()),
        Inviter::Superuser {
            organisation_id, ..
        } => {
            let own = command.organisation_id.as_deref() == Some(organisation_id.as_str());
            if own && command.role != Role::HccStaff {
                Ok(())
            } else {
                Err(JourneyError::NotAllowed)
            }
        }
    }
}

/// Creates (or renews) the invitation and queues its mail. A newer invitation for the same
/// address kills the older link.
pub async fn invite(state: &IdpState, command: InviteCommand) -> Result<Invited, JourneyError> {
    authorise(&command)?;
    let now = state.now();
    let token = OpaqueToken::generate();
    let link = state.link(&format!("/invitation/{}", token.expose()));
    let ttl_hours = state.settings.invitation.ttl_hours;
    let expires_at = now + ttl_hours * 3600;
    let token_hash = token.hash();
    let mail = state.mail.clone();
    let keyring = state.keyring.clone();
    let link_for_mail = link.clone();

    if let Inviter::Superuser { .. } = &command.inviter {
        // Invitation mails from the organisations' own administrators count against the same
        // hourly per-address limit as forgot-password mails (HCC staff are not limited).
        let (settings, address) = (state.settings.throttle.clone(), command.email.clone());
        let allowed = state
            .db
            .run(move |conn| {
                crate::throttle::allow_mail(conn, &settings, address.as_str(), None, now)
            })
            .await?;
        if !allowed {
            return Err(JourneyError::MailLimit);
        }
    }
    let invited = state
        .db
        .run(move |conn| {
            crate::storage::write_transaction(conn, |conn| {
                let organisation = match &command.organisation_id {
                    Some(id) => Some(
                        organisations::find(conn, id)?.ok_or(JourneyError::UnknownOrganisation)?,
                    ),
                    None => None,
                };
                let first = command.first_name.as_ref().map(PersonName::as_str);
                let last = command.last_name.as_ref().map(PersonName::as_str);
                let user = match users::find_by_email(conn, &command.email)? {
                    Some(existing) => {
                        if existing.organisation_id != command.organisation_id {
                            return Err(JourneyError::OtherOrganisation(command.email.clone()));
                        }
                        if existing.status != UserStatus::Invited {
                            return Err(JourneyError::AlreadyRegistered(command.email.clone()));
                        }
                        users::update_invited_names(conn, &existing.id, first, last, now)?;
                        users::find(conn, &existing.id)?.unwrap_or(existing)
                    }
                    None => {
                        let user = User {
                            id: new_id(),
                            organisation_id: command.organisation_id.clone(),
                            email: command.email.as_str().to_owned(),
                            first_name: first.map(str::to_owned),
                            last_name: last.map(str::to_owned),
                            status: UserStatus::Invited,
                            role: command.role,
                            language: command.language.code().to_owned(),
                            created_at: now,
                            updated_at: now,
                            last_login_at: None,
                            blocked_by_staff: false,
                        };
                        users::insert(conn, &user)?;
                        user
                    }
                };
                let invitation = Invitation {
                    id: new_id(),
                    user_id: user.id.clone(),
                    organisation_id: command.organisation_id.clone(),
                    token_hash,
                    invited_by: match &command.inviter {
                        Inviter::HccStaff { user_id } => user_id.clone(),
                        Inviter::Superuser { user_id, .. } => Some(user_id.clone()),
                    },
                    created_at: now,
                    expires_at,
                    used_at: None,
                    revoked_at: None,
                };
                invitations::replace(conn, &invitation)?;

                let organisation_name = organisation
                    .as_ref()
                    .map_or_else(|| "HumanCapitalCare".to_owned(), |o| o.name.clone());
                let rendered = mail.invitation(
                    command.language,
                    &InvitationMail {
                        last_name: user.last_name.as_deref(),
                        organisation: &organisation_name,
                        link: &link_for_mail,
                        valid_days: (ttl_hours + 23) / 24,
                        expires_at,
                    },
                )?;
                let mail_id = crate::email::enqueue(
                    conn,
                    &keyring,
                    "invitation",
                    &command.email,
                    rendered,
                    now,
                )?;
                audit::record(
                    conn,
                    AuditRecord::success("invitation_created")
                        .user(&user.id)
                        .organisation(command.organisation_id.as_deref())
                        .details(serde_json::json!({
                            "invitation_id": invitation.id,
                            "by": invitation.invited_by,
                            "role": command.role.as_str(),
                            "expires_at": expires_at,
                        })),
                    now,
                )?;
                Ok(Invited {
                    user_id: user.id,
                    invitation_id: invitation.id,
                    mail_id,
                    link: String::new(),
                    expires_at,
                })
            })
        })
        .await?;
    state.outbox_wake.notify_one();
    Ok(Invited { link, ..invited })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(inviter: Inviter, organisation: Option<&str>, role: Role) -> InviteCommand {
        InviteCommand {
            inviter,
            organisation_id: organisation.map(str::to_owned),
            email: Email::parse("marco@ek88.nl").unwrap(),
            first_name: None,
            last_name: None,
            role,
            language: Language::Nl,
        }
    }

    #[test]
    fn superusers_invite_only_into_their_own_organisation() {
        let su = Inviter::Superuser {
            user_id: "u".into(),
            organisation_id: "ek88".into(),
        };
        assert!(authorise(&command(su.clone(), Some("ek88"), Role::Member)).is_ok());
        assert!(authorise(&command(su.clone(), Some("ek88"), Role::Superuser)).is_ok());
        assert!(matches!(
            authorise(&command(su.clone(), Some("other"), Role::Member)),
            Err(JourneyError::NotAllowed)
        ));
        assert!(authorise(&command(su, None, Role::HccStaff)).is_err());
        let staff = Inviter::HccStaff { user_id: None };
        assert!(authorise(&command(staff.clone(), Some("other"), Role::Member)).is_ok());
        assert!(authorise(&command(staff.clone(), None, Role::HccStaff)).is_ok());
        assert!(authorise(&command(staff.clone(), Some("hcc"), Role::HccStaff)).is_ok());
        assert!(matches!(
            authorise(&command(staff, None, Role::Member)),
            Err(JourneyError::OrganisationMismatch)
        ));
    }
}
