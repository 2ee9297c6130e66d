//! Manual §2.3, "Wachtwoord vergeten?": the request (always the same answer, the work done
//! after answering so the time taken says nothing either), the 15-minute single-use link, and
//! "Wachtwoord bijwerken". A reset revokes every refresh token issued before it; the one-time
//! code is still needed to log in afterwards.

use secrecy::{ExposeSecret, SecretString};

use crate::crypto::OpaqueToken;
use crate::domain::{Email, Language, NewPassword, PasswordViolation, UserStatus};
use crate::journeys::account::{self, Actor};
use crate::journeys::logout;
use crate::journeys::{FieldError, JourneyError, KnownPerson, password_policy};
use crate::sessions::ClientInfo;
use crate::state::IdpState;
use crate::storage::audit::{self, AuditRecord};
use crate::storage::models::{User, new_id};
use crate::storage::password_resets::{self, PasswordReset};
use crate::storage::{DbError, authorization, passwords, sessions, users};
use crate::throttle;

/// Handles a "Wachtwoord vergeten?" request in the background: the caller answers at once with
/// the same page whatever happens here.
pub fn request_in_background(
    state: &IdpState,
    email: Email,
    language: Language,
    client: ClientInfo,
) {
    let state = state.clone();
    state.background.clone().spawn(async move {
        if let Err(e) = request(&state, &email, language, &client).await {
            tracing::error!(error = %e, "password reset request failed");
        }
    });
}

/// Sends the reset mail to a registered person, the invitation again to an invited one, and
/// nothing to an unknown or disabled address; within the mail rate limits.
pub async fn request(
    state: &IdpState,
    email: &Email,
    language: Language,
    client: &ClientInfo,
) -> Result<(), JourneyError> {
    let now = state.now();
    let settings = state.settings.throttle.clone();
    let (address, ip) = (email.clone(), client.ip_address.clone());
    let (allowed, user) = state
        .db
        .run(move |conn| {
            let allowed =
                throttle::allow_mail(conn, &settings, address.as_str(), ip.as_deref(), now)?;
            Ok::<_, DbError>((allowed, users::find_by_email(conn, &address)?))
        })
        .await?;
    let ip = client.ip_address.clone();
    let failure = |reason: &'static str, user_id: Option<String>| {
        let ip = ip.clone();
        async move {
            state
                .db
                .run(move |conn| {
                    let mut record = AuditRecord::failure("password_reset_requested")
                        .ip(ip.as_deref())
                        .details(serde_json::json!({ "reason": reason }));
                    record.user_id = user_id;
                    audit::record(conn, record, now)
                })
                .await
        }
    };
    if !allowed {
        failure("rate_limited", user.map(|u| u.id)).await?;
        return Ok(());
    }
    let Some(user) = user else {
        failure("unknown_address", None).await?;
        return Ok(());
    };
    match user.status {
        UserStatus::Active | UserStatus::PendingOtp => {
            send_reset(state, &user, language, client).await
        }
        UserStatus::Invited => {
            // Never registered: the invitation path, with a fresh link.
            account::resend_invitation(state, &Actor::HccStaff { user_id: None }, email)
                .await
                .map(|_| ())
        }
        UserStatus::Disabled => Ok(failure("account_disabled", Some(user.id)).await?),
    }
}

async fn send_reset(
    state: &IdpState,
    user: &User,
    language: Language,
    client: &ClientInfo,
) -> Result<(), JourneyError> {
    let token = OpaqueToken::generate();
    let now = state.now();
    let minutes = state.settings.password_reset.ttl_minutes;
    let link = state.link(&format!("/password/reset/{}", token.expose()));
    let mail = state
        .mail
        .password_reset(language, user.last_name.as_deref(), &link, minutes)?;
    let email = Email::parse(&user.email).map_err(|e| anyhow::anyhow!("stored address: {e}"))?;
    let reset = PasswordReset {
        id: new_id(),
        user_id: user.id.clone(),
        token_hash: token.hash(),
        created_at: now,
        expires_at: now + minutes * 60,
        used_at: None,
        revoked_at: None,
    };
    let record = AuditRecord::success("password_reset_requested")
        .user(&user.id)
        .organisation(user.organisation_id.as_deref())
        .ip(client.ip_address.as_deref());
    let keyring = state.keyring.clone();
    state
        .db
        .transaction(move |conn| {
            password_resets::replace(conn, &reset)?;
            crate::email::enqueue(conn, &keyring, "password_reset", &email, mail, now)?;
            audit::record(conn, record, now)?;
            Ok::<_, DbError>(())
        })
        .await?;
    state.outbox_wake.notify_one();
    Ok(())
}

/// The person behind a usable link.
pub async fn open(state: &IdpState, token: &str) -> Result<(PasswordReset, User), JourneyError> {
    let hash = OpaqueToken::from_presented(token).hash();
    let now = state.now();
    state
        .db
        .run(move |conn| {
            let reset = password_resets::find_by_token_hash(conn, &hash)?
                .ok_or(JourneyError::InvalidResetLink)?;
            if reset.used_at.is_some() || reset.revoked_at.is_some() || reset.expires_at <= now {
                return Err(JourneyError::InvalidResetLink);
            }
            let user = users::find(conn, &reset.user_id)?.ok_or(JourneyError::InvalidResetLink)?;
            if !user.status.may_log_in() {
                return Err(JourneyError::InvalidResetLink);
            }
            Ok((reset, user))
        })
        .await
}

/// Sets the new password. Every refresh token issued before now is revoked; with
/// `logout_others` every session of the person ends as well (except `keep`, this browser's).
/// Returns the account's address, for the login page that follows.
pub async fn complete(
    state: &IdpState,
    token: &str,
    password: SecretString,
    confirmation: SecretString,
    logout_others: bool,
    keep: Option<String>,
    client: ClientInfo,
) -> Result<String, JourneyError> {
    let (reset, user) = open(state, token).await?;
    // A stored address that no longer parses leaves the link of no use.
    Email::parse(&user.email).map_err(|_| JourneyError::InvalidResetLink)?;
    let person = KnownPerson::of(state, &user).await?;
    let policy = password_policy(&state.settings.password, person.details());
    let new = NewPassword::parse(
        password.expose_secret(),
        confirmation.expose_secret(),
        &policy,
    );
    let current = {
        let id = user.id.clone();
        state
            .db
            .run(move |conn| passwords::find(conn, &id))
            .await?
            .map(|p| p.hash)
    };
    let mut violations = new.as_ref().err().cloned().unwrap_or_default();
    if current.is_some() && state.hasher.verify(password.clone(), current).await? {
        violations.push(PasswordViolation::SameAsCurrent);
    }
    let new = match new {
        Ok(new) if violations.is_empty() => new,
        _ => {
            return Err(JourneyError::Form(
                violations.into_iter().map(FieldError::password).collect(),
            ));
        }
    };
    let hash = state.hasher.hash(new.secret()).await?;
    let now = state.now();
    let ending = logout::Ending::at(state, "logout_other_devices", now);
    let user_id = user.id.clone();
    let organisation = user.organisation_id.clone();
    let (renderer, keyring, notified) = (state.mail.clone(), state.keyring.clone(), user.clone());
    let ended = state
        .db
        .transaction(move |conn| {
            if !password_resets::consume(conn, &reset.id, now)? {
                return Err(JourneyError::InvalidResetLink);
            }
            passwords::set(conn, &user_id, &hash, now)?;
            let revoked = authorization::revoke_for_user(conn, &user_id, now)?;
            let ended = if logout_others {
                let all: Vec<String> = sessions::list_for_user(conn, &user_id)?
                    .into_iter()
                    .map(|s| s.id_hash)
                    .filter(|h| keep.as_deref() != Some(h.as_str()))
                    .collect();
                logout::end_sessions(conn, &user_id, &all, ending)?
            } else {
                logout::Ended::default()
            };
            audit::record(
                conn,
                AuditRecord::success("password_reset_completed")
                    .user(&user_id)
                    .organisation(organisation.as_deref())
                    .ip(client.ip_address.as_deref())
                    .details(serde_json::json!({ "revoked_refresh_tokens": revoked, "logout_others": logout_others })),
                now,
            )?;
            crate::email::queue_notice(
                conn,
                &renderer,
                &keyring,
                &notified,
                crate::email::Notice::PasswordChanged,
                now,
            )?;
            Ok(ended)
        })
        .await?;
    logout::notify(state, &user.id, ended);
    state.outbox_wake.notify_one();
    Ok(user.email)
}
