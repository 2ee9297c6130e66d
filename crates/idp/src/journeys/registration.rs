//! Manual §2.1, "Create an account to join the <organisation> organization": the invitation
//! link opens the form; a valid password and names create the account, which then goes on to
//! the authenticator set-up. A used, expired or replaced link never gives an account.

use secrecy::SecretString;

use crate::config::PasswordSettings;
use crate::crypto::OpaqueToken;
use crate::domain::names::InvalidName;
use crate::domain::password::PersonalDetails;
use crate::domain::{Email, Language, NewPassword, PersonName, UserStatus};
use crate::journeys::{FieldError, JourneyError, STAFF_ORGANISATION, password_policy};
use crate::sessions::{self, ClientInfo, Stage};
use crate::state::IdpState;
use crate::storage::audit::AuditRecord;
use crate::storage::models::{Invitation, User};
use crate::storage::{DbConnection, audit, invitations, organisations, passwords, users};

/// What the registration page shows for a usable invitation.
#[derive(Debug, Clone)]
pub struct OpenInvitation {
    pub invitation: Invitation,
    pub user: User,
    pub organisation_name: String,
}

pub struct RegistrationForm {
    pub password: SecretString,
    pub password_confirm: SecretString,
    pub first_name: String,
    pub last_name: String,
    pub language: Language,
}

pub struct Registered {
    pub user_id: String,
    /// The cookie value of the new session in the `otp_setup` stage.
    pub session_token: OpaqueToken,
}

fn load_usable(
    conn: &mut DbConnection,
    token_hash: &str,
    now: i64,
) -> Result<OpenInvitation, JourneyError> {
    let invitation = invitations::find_by_token_hash(conn, token_hash)?
        .ok_or(JourneyError::InvalidInvitation)?;
    let usable = invitation.used_at.is_none()
        && invitation.revoked_at.is_none()
        && invitation.expires_at > now;
    if !usable {
        return Err(JourneyError::InvalidInvitation);
    }
    let user = users::find(conn, &invitation.user_id)?.ok_or(JourneyError::InvalidInvitation)?;
    if user.status != UserStatus::Invited {
        return Err(JourneyError::InvalidInvitation);
    }
    let organisation_name = match &invitation.organisation_id {
        Some(id) => organisations::find(conn, id)?
            .map(|o| o.name)
            .ok_or(JourneyError::InvalidInvitation)?,
        None => STAFF_ORGANISATION.to_owned(),
    };
    Ok(OpenInvitation {
        invitation,
        user,
        organisation_name,
    })
}

/// The invitation behind a link, if it can still be used.
pub async fn open(state: &IdpState, token: &str) -> Result<OpenInvitation, JourneyError> {
    let hash = OpaqueToken::from_presented(token).hash();
    let now = state.now();
    state
        .db
        .run(move |conn| load_usable(conn, &hash, now))
        .await
}

fn name_error(field: &'static str, e: InvalidName) -> FieldError {
    let key = match e {
        InvalidName::Empty => "name_error_empty",
        InvalidName::TooLong => "name_error_too_long",
        InvalidName::Forbidden => "name_error_forbidden",
    };
    FieldError::new(field, key)
}

/// Checks every rule of the form against the invited address, the names typed and the
/// organisation; all violations at once.
pub fn validate(
    form: &RegistrationForm,
    email: &Email,
    organisation: &str,
    settings: &PasswordSettings,
) -> Result<(NewPassword, PersonName, PersonName), Vec<FieldError>> {
    use secrecy::ExposeSecret;
    let person = PersonalDetails {
        email: email.as_str(),
        given_name: &form.first_name,
        family_name: &form.last_name,
        organisation,
    };
    let policy = password_policy(settings, person);
    let password = NewPassword::parse(
        form.password.expose_secret(),
        form.password_confirm.expose_secret(),
        &policy,
    );
    let first = PersonName::parse(&form.first_name);
    let last = PersonName::parse(&form.last_name);
    match (password, first, last) {
        (Ok(p), Ok(f), Ok(l)) => Ok((p, f, l)),
        (p, f, l) => {
            let mut errors: Vec<FieldError> = p
                .err()
                .unwrap_or_default()
                .into_iter()
                .map(FieldError::password)
                .collect();
            errors.extend(f.err().map(|e| name_error("first_name", e)));
            errors.extend(l.err().map(|e| name_error("last_name", e)));
            Err(errors)
        }
    }
}

/// Creates the account from a usable invitation and starts the session that leads to the
/// authenticator set-up. The invitation is consumed atomically: of two submissions, one wins.
pub async fn register(
    state: &IdpState,
    token: &str,
    form: RegistrationForm,
    client: ClientInfo,
) -> Result<Registered, JourneyError> {
    let open = open(state, token).await?;
    let email = Email::parse(&open.user.email).map_err(|_| JourneyError::InvalidInvitation)?;
    let (password, first, last) = validate(
        &form,
        &email,
        &open.organisation_name,
        &state.settings.password,
    )
    .map_err(JourneyError::Form)?;
    let hash = state.hasher.hash(password.secret()).await?;
    let now = state.now();
    let session_settings = state.settings.session.clone();
    let invitation_id = open.invitation.id.clone();
    let user = open.user.clone();
    let language = form.language;
    state
        .db
        .run(move |conn| {
            crate::storage::write_transaction(conn, |conn| {
                if !invitations::consume(conn, &invitation_id, now)? {
                    return Err(JourneyError::InvalidInvitation);
                }
                passwords::set(conn, &user.id, &hash, now)?;
                users::complete_registration(
                    conn,
                    &user.id,
                    first.as_str(),
                    last.as_str(),
                    language.code(),
                    now,
                )?;
                let (session_token, _) = sessions::start(
                    conn,
                    &session_settings,
                    &user.id,
                    Stage::OtpSetup,
                    "pwd",
                    &client,
                    now,
                )?;
                let organisation = user.organisation_id.as_deref();
                audit::record(
                    conn,
                    AuditRecord::success("invitation_used")
                        .user(&user.id)
                        .organisation(organisation)
                        .ip(client.ip_address.as_deref())
                        .details(serde_json::json!({ "invitation_id": invitation_id })),
                    now,
                )?;
                audit::record(
                    conn,
                    AuditRecord::success("registration")
                        .user(&user.id)
                        .organisation(organisation)
                        .ip(client.ip_address.as_deref()),
                    now,
                )?;
                Ok(Registered {
                    user_id: user.id.clone(),
                    session_token,
                })
            })
        })
        .await
}
