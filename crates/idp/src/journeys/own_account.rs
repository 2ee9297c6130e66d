//! The person's own account page (`/account`, "Mijn account"): what they can do for
//! themselves without waiting for their superuser. Change the password, add, rename and remove
//! authenticator apps (never the last one), make a new set of recovery codes, end their other
//! sessions, and withdraw what they allowed third-party applications.
//!
//! Every change needs a *fresh* login: when the session's last proof of the second factor is
//! older than `account.step_up_minutes`, the change is refused with
//! [`JourneyError::StepUpRequired`] and the page asks for a code first ([`step_up`]). Every
//! change is audited, and those that touch a credential send the person a notice mail.

use secrecy::{ExposeSecret, SecretString};

use crate::domain::{Email, NewPassword, PasswordViolation, PersonName, Role};
use crate::email::Notice;
use crate::journeys::otp_setup::{self, SetupView};
use crate::journeys::second_factor::{self, Presented, Proven};
use crate::journeys::{FieldError, JourneyError, KnownPerson, logout, password_policy};
use crate::sessions::ClientInfo;
use crate::state::IdpState;
use crate::storage::audit::{self, AuditRecord};
use crate::storage::models::{Session, User};
use crate::storage::{
    DbConnection, DbError, authorization, clients, consents, organisations, otp, passwords,
    recovery_codes, security_keys, sessions, users,
};
use crate::throttle;

/// An authenticator app, passkey or security key as the page lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Authenticator {
    pub id: String,
    /// A passkey or security key rather than an authenticator app.
    pub passkey: bool,
    pub name: Option<String>,
    pub added_at: i64,
    pub last_used_at: Option<i64>,
}

/// One of the person's live sessions. `handle` names it in forms without revealing its key.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LiveSession {
    pub handle: String,
    pub current: bool,
    pub user_agent: Option<String>,
    pub address: Option<String>,
    pub started_at: i64,
    pub last_seen_at: i64,
    /// The names of the applications that received tokens in it.
    pub applications: Vec<String>,
}

/// A consent given to a third-party application.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Permission {
    pub client_id: String,
    pub client_name: String,
    pub scope: Vec<String>,
    pub granted_at: i64,
}

/// Everything the account page shows.
#[derive(Debug, Clone)]
pub struct Overview {
    pub user: User,
    pub organisation: Option<String>,
    pub password_changed_at: Option<i64>,
    pub authenticators: Vec<Authenticator>,
    /// Recovery codes made, and how many of them are unused.
    pub recovery_codes: (i64, i64),
    pub sessions: Vec<LiveSession>,
    pub permissions: Vec<Permission>,
}

impl Overview {
    pub fn role(&self) -> Role {
        self.user.role
    }
}

/// The session's person, who must still be allowed in.
fn person(conn: &mut DbConnection, session: &Session) -> Result<User, JourneyError> {
    users::find(conn, &session.user_id)?
        .filter(|u| u.status.may_receive_tokens())
        .ok_or(JourneyError::SessionExpired)
}

/// How a session is named in the page's forms: a MAC of its key, so the page never shows the
/// key itself (the hash of the cookie) and a handle means nothing for another person.
fn handle(state: &IdpState, id_hash: &str) -> String {
    state.keyring.mac("session-handle", id_hash.as_bytes())
}

pub async fn overview(state: &IdpState, session: &Session) -> Result<Overview, JourneyError> {
    let session = session.clone();
    let now = state.now();
    let (overview, hashes) = state
        .db
        .run(move |conn| {
            let user = person(conn, &session)?;
            let organisation = match &user.organisation_id {
                Some(id) => organisations::find(conn, id)?.map(|o| o.name),
                None => None,
            };
            let password_changed_at = passwords::find(conn, &user.id)?.map(|p| p.changed_at);
            let mut authenticators: Vec<Authenticator> = otp::list_confirmed(conn, &user.id)?
                .into_iter()
                .map(|c| Authenticator {
                    id: c.id,
                    passkey: false,
                    name: c.device_name,
                    added_at: c.confirmed_at.unwrap_or(c.created_at),
                    last_used_at: c.last_used_at,
                })
                .collect();
            authenticators.extend(
                security_keys::list_for_user(conn, &user.id)?
                    .into_iter()
                    .map(|k| Authenticator {
                        id: k.id,
                        passkey: true,
                        name: k.name,
                        added_at: k.created_at,
                        last_used_at: k.last_used_at,
                    }),
            );
            let recovery_codes = recovery_codes::counts(conn, &user.id)?;
            let mut live = Vec::new();
            let mut hashes = Vec::new();
            for s in sessions::list_for_user(conn, &user.id)? {
                if s.expires_at <= now || s.stage != crate::domain::Stage::Authenticated {
                    continue;
                }
                let client_ids = authorization::clients_of_session(conn, &s.id_hash)?;
                let applications = clients::find_many(conn, &client_ids)?
                    .into_iter()
                    .map(|c| c.name)
                    .collect();
                hashes.push(s.id_hash.clone());
                live.push(LiveSession {
                    handle: String::new(),
                    current: s.id_hash == session.id_hash,
                    user_agent: s.user_agent,
                    address: s.ip_address,
                    started_at: s.created_at,
                    last_seen_at: s.last_seen_at,
                    applications,
                });
            }
            // This browser's session first, then the most recently used.
            let mut order: Vec<usize> = (0..live.len()).collect();
            order.sort_by_key(|&i| (!live[i].current, -live[i].last_seen_at));
            let (live, hashes): (Vec<LiveSession>, Vec<String>) = order
                .into_iter()
                .map(|i| (live[i].clone(), hashes[i].clone()))
                .unzip();
            let mut permissions = Vec::new();
            for consent in consents::list_for_user(conn, &user.id)? {
                let client_name = clients::find(conn, &consent.client_id)?
                    .map_or_else(|| consent.client_id.clone(), |c| c.name);
                permissions.push(Permission {
                    client_id: consent.client_id,
                    client_name,
                    scope: consent.scope.split(' ').map(str::to_owned).collect(),
                    granted_at: consent.granted_at,
                });
            }
            Ok::<_, JourneyError>((
                Overview {
                    user,
                    organisation,
                    password_changed_at,
                    authenticators,
                    recovery_codes,
                    sessions: live,
                    permissions,
                },
                hashes,
            ))
        })
        .await?;
    let mut overview = overview;
    for (live, hash) in overview.sessions.iter_mut().zip(&hashes) {
        live.handle = handle(state, hash);
    }
    Ok(overview)
}

/// Whether the session proved the second factor recently enough for a change.
pub fn is_fresh(state: &IdpState, session: &Session) -> bool {
    let window = state.settings.account.step_up_minutes.saturating_mul(60);
    session.auth_time.saturating_add(window) > state.now()
}

fn fresh(state: &IdpState, session: &Session) -> Result<(), JourneyError> {
    if is_fresh(state, session) {
        Ok(())
    } else {
        Err(JourneyError::StepUpRequired)
    }
}

/// The subjects a second-factor check on the account page counts against: the same as the
/// login's code step, so the page gives no extra guesses.
fn code_subjects(session: &Session, client: &ClientInfo) -> Vec<throttle::Subject> {
    vec![
        throttle::Subject::otp_account(&session.user_id),
        throttle::Subject::client_address(throttle::Stage::Otp, client.ip_address.as_deref()),
    ]
}

/// Runs `work` (which checks a secret inside a transaction) under the throttle: refused while
/// throttled, counted as a failure when it finds the secret wrong (`Ok(None)`), and recorded
/// in the audit log as `event` either way.
async fn guarded<T: Send + 'static>(
    state: &IdpState,
    subjects: Vec<throttle::Subject>,
    event: &'static str,
    user: &str,
    client: &ClientInfo,
    work: impl FnOnce(&mut DbConnection) -> Result<Option<T>, JourneyError> + Send + 'static,
) -> Result<T, JourneyError> {
    let now = state.now();
    let settings = state.settings.throttle.clone();
    let reservations = throttle::Reservations::new(&state.db);
    let held = reservations.held().clone();
    let (user, ip) = (user.to_owned(), client.ip_address.clone());
    state
        .db
        .run(move |conn| {
            let mut attempt = throttle::begin(conn, &settings, &subjects, now, &held)?;
            if attempt == throttle::Attempt::Allowed {
                attempt = throttle::check(conn, &settings, &subjects, now, &held)?;
            }
            if let throttle::Attempt::Throttled(wait) = attempt {
                return Err(JourneyError::Throttled(wait));
            }
            match crate::storage::write_transaction(conn, work)? {
                Some(done) => {
                    throttle::succeeded(conn, &subjects, &held)?;
                    Ok(Ok(done))
                }
                None => {
                    throttle::failed(conn, &settings, &subjects, now, &held)?;
                    audit::record(
                        conn,
                        AuditRecord::failure(event)
                            .user(&user)
                            .ip(ip.as_deref())
                            .details(serde_json::json!({ "reason": "wrong_code" })),
                        now,
                    )?;
                    Ok::<_, JourneyError>(Err(JourneyError::WrongCode))
                }
            }
        })
        .await?
}

/// Step-up: the person proves the second factor again (a code of any of their authenticator
/// apps, or a recovery code). The session's `auth_time` becomes now. Its id stays: the refresh
/// tokens, codes and back-channel `sid` of the applications that got tokens in it stay linked
/// to it (the cookie already named an authenticated session; nothing is fixed by renaming it).
pub async fn step_up(
    state: &IdpState,
    session: &Session,
    presented: Presented,
    client: ClientInfo,
) -> Result<(), JourneyError> {
    let now = state.now();
    let (keyring, renderer) = (state.keyring.clone(), state.mail.clone());
    let subjects = code_subjects(session, &client);
    let (session_row, ip) = (session.clone(), client.ip_address.clone());
    let passkeys = state.passkeys.clone();
    guarded(
        state,
        subjects,
        "step_up",
        &session.user_id,
        &client,
        move |conn| {
            let user = person(conn, &session_row)?;
            let checker = second_factor::Checker {
                keyring: &keyring,
                passkeys: &passkeys,
                session_id_hash: &session_row.id_hash,
            };
            let Some(proven) = second_factor::check(conn, checker, &user.id, &presented, now)?
            else {
                return Ok(None);
            };
            if !sessions::reauthenticated(conn, &session_row.id_hash, now)? {
                return Err(JourneyError::SessionExpired);
            }
            if proven == Proven::RecoveryCode {
                let (_, left) = recovery_codes::counts(conn, &user.id)?;
                crate::email::queue_notice(
                    conn,
                    &renderer,
                    &keyring,
                    &user,
                    Notice::RecoveryCodeUsed { left },
                    now,
                )?;
            }
            audit::record(
                conn,
                AuditRecord::success("step_up")
                    .user(&user.id)
                    .organisation(user.organisation_id.as_deref())
                    .ip(ip.as_deref())
                    .details(serde_json::json!({ "method": proven.method() })),
                now,
            )?;
            Ok(Some(()))
        },
    )
    .await?;
    state.outbox_wake.notify_one();
    Ok(())
}

/// What "Wachtwoord wijzigen" posts.
pub struct PasswordChange {
    pub current: SecretString,
    pub new: SecretString,
    pub confirmation: SecretString,
    pub logout_others: bool,
}

/// Changes the password after checking the current one (a wrong one counts against the
/// account's password throttle, as at login). Every refresh token issued before now is revoked
/// except this session's, and with `logout_others` every other session ends.
pub async fn change_password(
    state: &IdpState,
    session: &Session,
    change: PasswordChange,
    client: ClientInfo,
) -> Result<(), JourneyError> {
    fresh(state, session)?;
    let user = {
        let session = session.clone();
        state.db.run(move |conn| person(conn, &session)).await?
    };
    let email = Email::parse(&user.email).map_err(|e| anyhow::anyhow!("stored address: {e}"))?;
    let person = KnownPerson::of(state, &user).await?;
    let policy = password_policy(&state.settings.password, person.details());
    let new = NewPassword::parse(
        change.new.expose_secret(),
        change.confirmation.expose_secret(),
        &policy,
    );
    let now = state.now();
    let settings = state.settings.throttle.clone();
    let subjects = vec![
        throttle::Subject::password_account(email.as_str()),
        throttle::Subject::client_address(throttle::Stage::Password, client.ip_address.as_deref()),
    ];
    let reservations = throttle::Reservations::new(&state.db);
    let stored = {
        let (settings, subjects, held, id) = (
            settings.clone(),
            subjects.clone(),
            reservations.held().clone(),
            user.id.clone(),
        );
        let begun = state
            .db
            .run(move |conn| {
                let mut attempt = throttle::begin(conn, &settings, &subjects, now, &held)?;
                if attempt == throttle::Attempt::Allowed {
                    attempt = throttle::check(conn, &settings, &subjects, now, &held)?;
                }
                Ok::<_, DbError>((attempt, passwords::find(conn, &id)?.map(|p| p.hash)))
            })
            .await?;
        match begun {
            (throttle::Attempt::Throttled(wait), _) => return Err(JourneyError::Throttled(wait)),
            (throttle::Attempt::Allowed, stored) => stored,
        }
    };
    let current_ok = state.hasher.verify(change.current, stored.clone()).await?;
    let held = reservations.held().clone();
    let mut violations = new.as_ref().err().cloned().unwrap_or_default();
    if !current_ok {
        let (id, ip) = (user.id.clone(), client.ip_address.clone());
        state
            .db
            .run(move |conn| {
                throttle::failed(conn, &settings, &subjects, now, &held)?;
                audit::record(
                    conn,
                    AuditRecord::failure("password_changed")
                        .user(&id)
                        .ip(ip.as_deref())
                        .details(serde_json::json!({ "reason": "wrong_current_password" })),
                    now,
                )
            })
            .await?;
        // Every problem of the form at once: the current password and the new one's rules.
        let mut errors = vec![FieldError::new(
            "current_password",
            "current_password_error_wrong",
        )];
        errors.extend(violations.into_iter().map(FieldError::password));
        return Err(JourneyError::Form(errors));
    }
    {
        let (subjects, held) = (subjects.clone(), held.clone());
        state
            .db
            .run(move |conn| throttle::succeeded(conn, &subjects, &held))
            .await?;
    }
    if stored.is_some() && state.hasher.verify(change.new.clone(), stored).await? {
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
    let (renderer, keyring) = (state.mail.clone(), state.keyring.clone());
    let (keep, logout_others, ip) = (
        session.id_hash.clone(),
        change.logout_others,
        client.ip_address.clone(),
    );
    let user_id = user.id.clone();
    let ended = state
        .db
        .transaction(move |conn| {
            passwords::set(conn, &user.id, &hash, now)?;
            let revoked =
                authorization::revoke_for_user_except_session(conn, &user.id, &keep, now)?;
            let ended = if logout_others {
                let others = sessions::other_sessions(conn, &user.id, &keep)?;
                logout::end_sessions(conn, &user.id, &others, ending)?
            } else {
                logout::Ended::default()
            };
            audit::record(
                conn,
                AuditRecord::success("password_changed")
                    .user(&user.id)
                    .organisation(user.organisation_id.as_deref())
                    .ip(ip.as_deref())
                    .details(serde_json::json!({
                        "revoked_refresh_tokens": revoked,
                        "logout_others": logout_others,
                    })),
                now,
            )?;
            crate::email::queue_notice(
                conn,
                &renderer,
                &keyring,
                &user,
                Notice::PasswordChanged,
                now,
            )?;
            Ok::<_, JourneyError>(ended)
        })
        .await?;
    logout::notify(state, &user_id, ended);
    state.outbox_wake.notify_one();
    Ok(())
}

/// The QR code and key of the authenticator app being added (the same one on every visit
/// until it is confirmed).
pub async fn begin_authenticator(
    state: &IdpState,
    session: &Session,
) -> Result<SetupView, JourneyError> {
    fresh(state, session)?;
    otp_setup::pending(state, &session.user_id).await
}

/// The device name as typed: empty is no name, a name follows the rules of a person's name.
fn device_name(typed: &str) -> Result<Option<String>, JourneyError> {
    match typed.trim() {
        "" => Ok(None),
        name => PersonName::parse(name)
            .map(|n| Some(n.into_inner()))
            .map_err(|_| JourneyError::field("device_name", "device_name_error_too_long")),
    }
}

/// Confirms the authenticator app being added with a code of it; it joins the ones the person
/// has. A wrong code counts against the code throttle.
pub async fn add_authenticator(
    state: &IdpState,
    session: &Session,
    code: &str,
    name: &str,
    client: ClientInfo,
) -> Result<(), JourneyError> {
    fresh(state, session)?;
    let name = device_name(name)?;
    let now = state.now();
    let (keyring, renderer) = (state.keyring.clone(), state.mail.clone());
    let (session_row, code, ip) = (session.clone(), code.to_owned(), client.ip_address.clone());
    guarded(
        state,
        code_subjects(session, &client),
        "authenticator_added",
        &session.user_id,
        &client,
        move |conn| {
            let user = person(conn, &session_row)?;
            let pending = otp::find_pending(conn, &user.id)?.ok_or(JourneyError::SessionExpired)?;
            let secret = keyring
                .open(
                    &pending.secret_sealed,
                    &otp_setup::seal_context(&pending.id),
                )
                .map(crate::domain::totp::TotpSecret::from_bytes)?;
            let Some(step) = secret.verify(&code, now, pending.last_used_step) else {
                return Ok(None);
            };
            if !otp::use_step(conn, &pending.id, step)?
                || !otp::confirm_beside(conn, &pending.id, name.as_deref(), now)?
            {
                return Ok(None);
            }
            crate::email::queue_notice(
                conn,
                &renderer,
                &keyring,
                &user,
                Notice::AuthenticatorLinked,
                now,
            )?;
            audit::record(
                conn,
                AuditRecord::success("authenticator_added")
                    .user(&user.id)
                    .organisation(user.organisation_id.as_deref())
                    .ip(ip.as_deref())
                    .details(
                        serde_json::json!({ "device_name": name, "authenticator": pending.id }),
                    ),
                now,
            )?;
            Ok(Some(()))
        },
    )
    .await?;
    state.outbox_wake.notify_one();
    Ok(())
}

/// Gives one of the person's authenticator apps another name.
pub async fn rename_authenticator(
    state: &IdpState,
    session: &Session,
    id: &str,
    name: &str,
    client: ClientInfo,
) -> Result<(), JourneyError> {
    fresh(state, session)?;
    let name = device_name(name)?;
    let now = state.now();
    let (session, id) = (session.clone(), id.to_owned());
    state
        .db
        .transaction(move |conn| {
            let user = person(conn, &session)?;
            if !otp::rename(conn, &user.id, &id, name.as_deref())?
                && !security_keys::rename(conn, &user.id, &id, name.as_deref())?
            {
                return Err(JourneyError::NotFound);
            }
            audit::record(
                conn,
                AuditRecord::success("authenticator_renamed")
                    .user(&user.id)
                    .organisation(user.organisation_id.as_deref())
                    .ip(client.ip_address.as_deref())
                    .details(serde_json::json!({ "authenticator": id, "device_name": name })),
                now,
            )?;
            Ok(())
        })
        .await
}

/// Removes one of the person's authenticator apps; never the last second factor, so nobody
/// can lock themselves out.
pub async fn remove_authenticator(
    state: &IdpState,
    session: &Session,
    id: &str,
    client: ClientInfo,
) -> Result<(), JourneyError> {
    fresh(state, session)?;
    let now = state.now();
    let (renderer, keyring) = (state.mail.clone(), state.keyring.clone());
    let (session, id) = (session.clone(), id.to_owned());
    state
        .db
        .transaction(move |conn| {
            let user = person(conn, &session)?;
            let apps = otp::list_confirmed(conn, &user.id)?;
            let keys = security_keys::list_for_user(conn, &user.id)?;
            let is_app = apps.iter().any(|c| c.id == id);
            if !is_app && !keys.iter().any(|k| k.id == id) {
                return Err(JourneyError::NotFound);
            }
            // Every second factor counts: an app may go when a passkey stays, and back.
            if apps.len() + keys.len() < 2 {
                return Err(JourneyError::LastAuthenticator);
            }
            if is_app {
                otp::delete_one(conn, &user.id, &id)?;
            } else {
                security_keys::delete_one(conn, &user.id, &id)?;
            }
            crate::email::queue_notice(
                conn,
                &renderer,
                &keyring,
                &user,
                Notice::AuthenticatorRemoved,
                now,
            )?;
            audit::record(
                conn,
                AuditRecord::success("authenticator_removed")
                    .user(&user.id)
                    .organisation(user.organisation_id.as_deref())
                    .ip(client.ip_address.as_deref())
                    .details(serde_json::json!({ "authenticator": id })),
                now,
            )?;
            Ok(())
        })
        .await?;
    state.outbox_wake.notify_one();
    Ok(())
}

/// A new set of ten recovery codes, shown once; the old set stops working.
pub async fn new_recovery_codes(
    state: &IdpState,
    session: &Session,
    client: ClientInfo,
) -> Result<Vec<String>, JourneyError> {
    fresh(state, session)?;
    let (shown, hashes) = second_factor::new_recovery_codes(&state.keyring, &session.user_id);
    let now = state.now();
    let (renderer, keyring) = (state.mail.clone(), state.keyring.clone());
    let session = session.clone();
    state
        .db
        .transaction(move |conn| {
            let user = person(conn, &session)?;
            let (before, _) = recovery_codes::counts(conn, &user.id)?;
            recovery_codes::replace(conn, &user.id, &hashes, now)?;
            crate::email::queue_notice(
                conn,
                &renderer,
                &keyring,
                &user,
                Notice::RecoveryCodesGenerated,
                now,
            )?;
            audit::record(
                conn,
                AuditRecord::success("recovery_codes_generated")
                    .user(&user.id)
                    .organisation(user.organisation_id.as_deref())
                    .ip(client.ip_address.as_deref())
                    .details(serde_json::json!({ "codes": hashes.len(), "replaced": before })),
                now,
            )?;
            Ok::<_, JourneyError>(())
        })
        .await?;
    state.outbox_wake.notify_one();
    Ok(shown)
}

/// Which of the person's other sessions to end.
#[derive(Debug, Clone)]
pub enum Ending {
    One(String),
    AllOthers,
}

/// Ends another session of the person (by its handle), or all others. Their refresh tokens
/// are revoked and the applications that registered a back-channel URI are told. This
/// browser's session is never ended here (that is **Uitloggen**). Returns how many ended.
pub async fn end_sessions(
    state: &IdpState,
    session: &Session,
    which: Ending,
) -> Result<usize, JourneyError> {
    fresh(state, session)?;
    let now = state.now();
    let ending = logout::Ending::at(state, "ended_on_account_page", now);
    let (user_id, keep) = (session.user_id.clone(), session.id_hash.clone());
    let wanted = match &which {
        Ending::One(handle) => Some(handle.clone()),
        Ending::AllOthers => None,
    };
    let keyring = state.keyring.clone();
    let row = session.clone();
    let ended = state
        .db
        .transaction(move |conn| {
            person(conn, &row)?;
            let others = sessions::other_sessions(conn, &user_id, &keep)?;
            let chosen: Vec<String> = match wanted {
                None => others,
                Some(handle) => {
                    let found: Vec<String> = others
                        .into_iter()
                        .filter(|h| keyring.verify_mac("session-handle", h.as_bytes(), &handle))
                        .collect();
                    if found.is_empty() {
                        return Err(JourneyError::NotFound);
                    }
                    found
                }
            };
            Ok::<_, JourneyError>(logout::end_sessions(conn, &user_id, &chosen, ending)?)
        })
        .await?;
    let count = ended.sessions.len();
    logout::notify(state, &session.user_id, ended);
    Ok(count)
}

/// Withdraws the person's consent to a third-party application; its refresh tokens are
/// revoked with it.
pub async fn revoke_permission(
    state: &IdpState,
    session: &Session,
    client_id: &str,
) -> Result<(), JourneyError> {
    fresh(state, session)?;
    if !crate::oidc::consent::revoke(state, &session.user_id, client_id).await? {
        return Err(JourneyError::NotFound);
    }
    Ok(())
}

/// The WebAuthn options to register a passkey or security key (`navigator.credentials.create()`),
/// kept for the session until its answer comes ([`add_passkey`]). The person's own keys are
/// excluded.
pub async fn passkey_options(state: &IdpState, session: &Session) -> Result<String, JourneyError> {
    fresh(state, session)?;
    let passkeys = state.passkeys.clone();
    let session = session.clone();
    let now = state.now();
    state
        .db
        .transaction(move |conn| {
            let user = person(conn, &session)?;
            let existing: Vec<String> = security_keys::list_for_user(conn, &user.id)?
                .into_iter()
                .map(|k| k.credential)
                .collect();
            let display = [user.first_name.as_deref(), user.last_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            let (options, ceremony) = passkeys
                .start_registration(&user.id, &user.email, &display, &existing)
                .map_err(|e| JourneyError::BadRequest(e.to_string()))?;
            security_keys::put_ceremony(
                conn,
                &crate::storage::models::CeremonyRow {
                    session_id_hash: session.id_hash.clone(),
                    purpose: crate::passkeys::REGISTER.to_owned(),
                    state: ceremony,
                    expires_at: now + crate::passkeys::CEREMONY_SECONDS,
                },
            )?;
            Ok(options)
        })
        .await
}

/// Registers the passkey or security key that answered the session's registration options;
/// it joins the person's second factors. Refused (`Form` at `passkey`) when the answer does
/// not fit the challenge, comes from another origin, or names a key already registered.
pub async fn add_passkey(
    state: &IdpState,
    session: &Session,
    name: &str,
    answer: &str,
    client: ClientInfo,
) -> Result<(), JourneyError> {
    fresh(state, session)?;
    let name = device_name(name)?;
    let now = state.now();
    let (renderer, keyring, passkeys) = (
        state.mail.clone(),
        state.keyring.clone(),
        state.passkeys.clone(),
    );
    let (session, answer) = (session.clone(), answer.to_owned());
    let refused = || JourneyError::field("passkey", "passkey_error_refused");
    let added = state
        .db
        .transaction(move |conn| {
            let user = person(conn, &session)?;
            let Some(ceremony) = security_keys::take_ceremony(
                conn,
                &session.id_hash,
                crate::passkeys::REGISTER,
                now,
            )?
            else {
                return Ok(Err(refused()));
            };
            let key = match passkeys.finish_registration(&answer, &ceremony) {
                Ok(key) => key,
                Err(why) => {
                    tracing::info!(%why, "a passkey registration was refused");
                    return Ok(Err(refused()));
                }
            };
            if security_keys::credential_exists(conn, &key.credential_id)? {
                return Ok(Err(JourneyError::field("passkey", "passkey_error_known")));
            }
            let id = crate::storage::models::new_id();
            security_keys::insert(
                conn,
                &crate::storage::models::SecurityKeyRow {
                    id: id.clone(),
                    user_id: user.id.clone(),
                    name: name.clone(),
                    credential_id: key.credential_id,
                    credential: key.credential,
                    counter: key.counter,
                    backup_eligible: key.backup_eligible,
                    created_at: now,
                    last_used_at: None,
                },
            )?;
            crate::email::queue_notice(
                conn,
                &renderer,
                &keyring,
                &user,
                Notice::PasskeyAdded,
                now,
            )?;
            audit::record(
                conn,
                AuditRecord::success("passkey_added")
                    .user(&user.id)
                    .organisation(user.organisation_id.as_deref())
                    .ip(client.ip_address.as_deref())
                    .details(serde_json::json!({
                        "authenticator": id,
                        "name": name,
                        "synced": key.backup_eligible,
                    })),
                now,
            )?;
            Ok::<_, JourneyError>(Ok(()))
        })
        .await?;
    added?;
    state.outbox_wake.notify_one();
    Ok(())
}
