//! Manual §2.2, logging in: the password, then the one-time code of the authenticator app. A
//! wrong password and an unknown address give the same answer in about the same time (a dummy
//! argon2 verification runs for unknown addresses). A person without a confirmed authenticator
//! (new, or reset by the superuser) goes to the set-up page instead of the code step.

use secrecy::SecretString;

use crate::crypto::OpaqueToken;
use crate::domain::Email;
use crate::journeys::JourneyError;
use crate::journeys::second_factor::{self, Presented, Proven};
use crate::sessions::device::DeviceCookie;
use crate::sessions::{self, ClientInfo, Stage};
use crate::state::IdpState;
use crate::storage::audit::AuditRecord;
use crate::storage::models::Session;
use crate::storage::{
    DbError, audit, otp, passwords, recovery_codes, security_keys, sessions as session_rows, users,
};
use crate::throttle;

/// After the password: the session cookie and the step that comes next.
#[derive(Debug)]
pub struct PasswordAccepted {
    pub session_token: OpaqueToken,
    pub next: Stage,
}

/// Checks e-mail address and password. On success a new session starts (a fresh id, so a
/// session id planted before login is worthless), in the code or set-up stage. A browser whose
/// device cookie names this account is throttled on its own counter (see `throttle`).
pub async fn password_step(
    state: &IdpState,
    email: &str,
    password: SecretString,
    replaces_session: Option<String>,
    client: ClientInfo,
    device_cookie: Option<String>,
) -> Result<PasswordAccepted, JourneyError> {
    let now = state.now();
    let throttle_settings = state.settings.throttle.clone();
    let device = device_cookies(state, device_cookie.as_deref(), now).trusted_for(email);
    let subjects =
        throttle::Subject::password_attempt(email, device.as_ref(), client.ip_address.as_deref());
    let email = Email::parse(email).ok();
    let reservations = throttle::Reservations::new(&state.db);
    let (lookup, begin_settings, begin_subjects, held) = (
        email.clone(),
        throttle_settings.clone(),
        subjects.clone(),
        reservations.held().clone(),
    );
    // The attempt is decided and, when allowed, the account looked up in the same unit of work.
    let begun = state
        .db
        .run(move |conn| {
            let attempt = throttle::begin(conn, &begin_settings, &begin_subjects, now, &held)?;
            if attempt != throttle::Attempt::Allowed {
                return Ok::<_, DbError>((attempt, None));
            }
            let Some(email) = lookup else {
                return Ok((attempt, None));
            };
            let Some(user) = users::find_by_email(conn, &email)? else {
                return Ok((attempt, None));
            };
            let hash = passwords::find(conn, &user.id)?.map(|p| p.hash);
            // Either kind of second factor: an authenticator app or a passkey.
            let has_otp = otp::find_confirmed(conn, &user.id)?.is_some()
                || security_keys::count_for_user(conn, &user.id)? > 0;
            Ok((attempt, Some((user, hash, has_otp))))
        })
        .await?;
    let found = match begun {
        (throttle::Attempt::Throttled(wait), _) => {
            return Err(throttled(state, &client, wait, now).await?);
        }
        (throttle::Attempt::Allowed, found) => found,
    };
    let stored_hash = found.as_ref().and_then(|(_, hash, _)| hash.clone());
    // The client address is decided once this attempt may hash, after the attempts before it
    // have counted; the slot is held until this one has counted too.
    let slot = state.hasher.slot().await?;
    let (check_settings, check_subjects, held) = (
        throttle_settings.clone(),
        subjects.clone(),
        reservations.held().clone(),
    );
    let at_check = state
        .db
        .run(move |conn| throttle::check(conn, &check_settings, &check_subjects, now, &held))
        .await?;
    if let throttle::Attempt::Throttled(wait) = at_check {
        drop(slot);
        return Err(throttled(state, &client, wait, now).await?);
    }
    // Always one argon2 verification: the same work for unknown and known addresses.
    let password_ok = slot.verify(password, stored_hash).await?;
    let now = state.now();
    let ip = client.ip_address.clone();
    let usable = found.filter(|(user, _, _)| password_ok && user.status.may_log_in());
    let Some((user, _, has_otp)) = usable else {
        let user_id = state
            .db
            .run({
                let email = email.clone();
                move |conn| {
                    Ok::<_, DbError>(match email {
                        Some(e) => users::find_by_email(conn, &e)?.map(|u| u.id),
                        None => None,
                    })
                }
            })
            .await?;
        let reason = if user_id.is_none() {
            "unknown_user"
        } else {
            "wrong_password_or_not_active"
        };
        let (fail_settings, fail_subjects, held) = (
            throttle_settings.clone(),
            subjects.clone(),
            reservations.held().clone(),
        );
        state
            .db
            .run(move |conn| {
                // Counted for known and unknown addresses alike (each increment atomic).
                let locked = throttle::failed(conn, &fail_settings, &fail_subjects, now, &held)?;
                if locked {
                    let mut record = AuditRecord::failure("password_locked")
                        .ip(ip.as_deref())
                        .details(
                            serde_json::json!({ "minutes": fail_settings.password_lock_minutes }),
                        );
                    record.user_id = user_id.clone();
                    audit::record(conn, record, now)?;
                }
                let mut record =
                    AuditRecord::failure("login")
                        .ip(ip.as_deref())
                        .details(serde_json::json!({
                            "stage": "password", "reason": reason,
                        }));
                record.user_id = user_id;
                audit::record(conn, record, now)
            })
            .await?;
        drop(slot);
        crate::metrics::login("password", "failure");
        return Err(JourneyError::InvalidCredentials);
    };
    drop(slot);
    let next = if has_otp && user.status.may_receive_tokens() {
        Stage::Otp
    } else {
        Stage::OtpSetup
    };
    let session_settings = state.settings.session.clone();
    let trusted_device = device.is_some();
    let held = reservations.held().clone();
    let token = state
        .db
        .run(move |conn| {
            throttle::succeeded(conn, &subjects, &held)?;
            crate::storage::write_transaction(conn, |conn| {
                if let Some(old) = replaces_session {
                    session_rows::delete(conn, &OpaqueToken::from_presented(&old).hash())?;
                }
                let (token, _) =
                    sessions::start(conn, &session_settings, &user.id, next, "pwd", &client, now)?;
                audit::record(
                    conn,
                    AuditRecord::success("login_password")
                        .user(&user.id)
                        .organisation(user.organisation_id.as_deref())
                        .ip(client.ip_address.as_deref())
                        .details(serde_json::json!({ "trusted_device": trusted_device })),
                    now,
                )?;
                Ok::<_, JourneyError>(token)
            })
        })
        .await?;
    crate::metrics::login("password", "success");
    Ok(PasswordAccepted {
        session_token: token,
        next,
    })
}

/// The valid entries of the browser's device cookie.
fn device_cookies(state: &IdpState, value: Option<&str>, now: i64) -> DeviceCookie {
    let days = state.settings.throttle.device_cookie_days;
    DeviceCookie::parse(value, &state.keyring, now, days.saturating_mul(86_400))
}

/// The device cookie value for a browser that has just completed a login to `email`.
pub fn device_cookie_after_login(state: &IdpState, previous: Option<&str>, email: &str) -> String {
    let now = state.now();
    device_cookies(state, previous, now).after_login(email, &state.keyring, now)
}

/// Records a refusal by the throttle and gives the error to answer with.
async fn throttled(
    state: &IdpState,
    client: &ClientInfo,
    wait: i64,
    now: i64,
) -> Result<JourneyError, DbError> {
    let ip = client.ip_address.clone();
    state
        .db
        .run(move |conn| {
            let record = AuditRecord::failure("login").ip(ip.as_deref()).details(
                serde_json::json!({ "stage": "password", "reason": "throttled", "wait_seconds": wait }),
            );
            audit::record(conn, record, now)
        })
        .await?;
    crate::metrics::login("password", "throttled");
    Ok(JourneyError::Throttled(wait))
}

/// A session that has just been authenticated, under its new id.
#[derive(Debug)]
pub struct Authenticated {
    /// The new cookie value.
    pub session_token: OpaqueToken,
    pub session: Session,
    /// The person's address (for the device cookie).
    pub email: String,
}

/// Checks the second factor of the session's person: a one-time code of any of their
/// authenticator apps, or one of their recovery codes (`second_factor`). The accepted code is
/// used up atomically, so the same code cannot log in twice. The session becomes authenticated
/// (amr `pwd otp`, or `pwd mfa` after a recovery code) under a new id. A recovery code sends
/// its notice mail. A login from a browser whose device cookie does not name the account
/// (`device_cookie`) queues the new-sign-in notice in the same transaction
/// (`mail.new_device_notice`).
pub async fn second_step(
    state: &IdpState,
    session: &Session,
    presented: Presented,
    client: ClientInfo,
    device_cookie: Option<&str>,
) -> Result<(Authenticated, Proven), JourneyError> {
    if session.stage != Stage::Otp {
        return Err(JourneyError::SessionExpired);
    }
    let now = state.now();
    let throttle_settings = state.settings.throttle.clone();
    let subjects = vec![
        throttle::Subject::otp_account(&session.user_id),
        throttle::Subject::client_address(throttle::Stage::Otp, client.ip_address.as_deref()),
    ];
    let session = session.clone();
    let keyring = state.keyring.clone();
    let renderer = state.mail.clone();
    let known = device_cookies(state, device_cookie, now);
    let notify_new_device = state.settings.mail.new_device_notice;
    let user_agent = client.user_agent.clone();
    let until = now + sessions::lifetime(&state.settings.session, Stage::Authenticated);
    let failure_ip = client.ip_address.clone();
    let reason = match presented {
        Presented::Code(_) => "wrong_code",
        Presented::RecoveryCode(_) => "wrong_recovery_code",
        Presented::SecurityKey(_) => "passkey_refused",
    };
    let passkeys = state.passkeys.clone();
    let token = OpaqueToken::generate();
    let new_hash = token.hash();
    let reservations = throttle::Reservations::new(&state.db);
    let held = reservations.held().clone();
    // One unit of work: the throttle decides (the client address too, as the code is checked
    // right away), then the code is checked and the session authenticated in one transaction,
    // then the attempt is settled.
    let outcome = state
        .db
        .run(move |conn| {
            let mut attempt = throttle::begin(conn, &throttle_settings, &subjects, now, &held)?;
            if attempt == throttle::Attempt::Allowed {
                attempt = throttle::check(conn, &throttle_settings, &subjects, now, &held)?;
            }
            if let throttle::Attempt::Throttled(wait) = attempt {
                return Err(JourneyError::Throttled(wait));
            }
            let checked = crate::storage::write_transaction(conn, |conn| {
                let user =
                    users::find(conn, &session.user_id)?.ok_or(JourneyError::SessionExpired)?;
                let checker = second_factor::Checker {
                    keyring: &keyring,
                    passkeys: &passkeys,
                    session_id_hash: &session.id_hash,
                };
                let proven =
                    second_factor::check(conn, checker, &session.user_id, &presented, now)?;
                let Some(proven) = proven.filter(|_| user.status.may_receive_tokens()) else {
                    return Ok(Err((user.id, user.organisation_id)));
                };
                if !session_rows::authenticate(
                    conn,
                    &session.id_hash,
                    &new_hash,
                    proven.amr(),
                    now,
                    until,
                )? {
                    return Err(JourneyError::SessionExpired);
                }
                users::record_login(conn, &user.id, now)?;
                let new_device = known.trusted_for(&user.email).is_none();
                audit::record(
                    conn,
                    AuditRecord::success("login")
                        .user(&user.id)
                        .organisation(user.organisation_id.as_deref())
                        .ip(client.ip_address.as_deref())
                        .details(serde_json::json!({
                            "amr": proven.amr().split(' ').collect::<Vec<_>>(),
                            "method": proven.method(),
                            "new_device": new_device,
                        })),
                    now,
                )?;
                if proven == Proven::RecoveryCode {
                    let (_, left) = recovery_codes::counts(conn, &user.id)?;
                    crate::email::queue_notice(
                        conn,
                        &renderer,
                        &keyring,
                        &user,
                        crate::email::Notice::RecoveryCodeUsed { left },
                        now,
                    )?;
                }
                if new_device && notify_new_device {
                    crate::email::queue_new_sign_in_notice(
                        conn,
                        &renderer,
                        &keyring,
                        &user,
                        crate::email::SignInFrom {
                            user_agent: user_agent.as_deref(),
                            address: client.ip_address.as_deref(),
                        },
                        now,
                    )?;
                }
                let authenticated = session_rows::find_live(conn, &new_hash, now)?
                    .ok_or(JourneyError::SessionExpired)?;
                Ok::<_, JourneyError>(Ok((authenticated, user.email, proven)))
            })?;
            match checked {
                Ok(accepted) => {
                    throttle::succeeded(conn, &subjects, &held)?;
                    Ok(Ok(accepted))
                }
                Err((user_id, organisation_id)) => {
                    // Recorded after the transaction (each counter update is atomic on its own).
                    let locked =
                        throttle::failed(conn, &throttle_settings, &subjects, now, &held)?;
                    if locked {
                        audit::record(
                            conn,
                            AuditRecord::failure("otp_locked")
                                .user(&user_id)
                                .details(serde_json::json!({ "minutes": throttle_settings.otp_lock_minutes })),
                            now,
                        )?;
                    }
                    audit::record(
                        conn,
                        AuditRecord::failure("login")
                            .user(&user_id)
                            .organisation(organisation_id.as_deref())
                            .ip(failure_ip.as_deref())
                            .details(serde_json::json!({ "stage": "otp", "reason": reason })),
                        now,
                    )?;
                    Ok(Err(JourneyError::WrongCode))
                }
            }
        })
        .await;
    match &outcome {
        Ok(Ok(_)) => crate::metrics::login("otp", "success"),
        Ok(Err(_)) => crate::metrics::login("otp", "failure"),
        Err(JourneyError::Throttled(_)) => crate::metrics::login("otp", "throttled"),
        Err(_) => {}
    }
    let (session, email, proven) = outcome??;
    Ok((
        Authenticated {
            session_token: token,
            session,
            email,
        },
        proven,
    ))
}

/// What the code step offers: the person's authenticator apps and passkeys.
#[derive(Debug, Clone, Copy)]
pub struct SecondFactors {
    pub apps: bool,
    pub passkeys: bool,
}

/// Which second factors the session's person has (for the code step's page).
pub async fn second_factors(
    state: &IdpState,
    session: &Session,
) -> Result<SecondFactors, JourneyError> {
    let user_id = session.user_id.clone();
    let available = state.passkeys.available();
    Ok(state
        .db
        .run(move |conn| {
            Ok::<_, DbError>(SecondFactors {
                apps: otp::find_confirmed(conn, &user_id)?.is_some(),
                passkeys: available && security_keys::count_for_user(conn, &user_id)? > 0,
            })
        })
        .await?)
}

/// The WebAuthn challenge for the session's person's keys (`navigator.credentials.get()`),
/// kept for the session until its answer comes (`second_step` with
/// [`Presented::SecurityKey`]). At the code step of a login, or at a step-up.
pub async fn passkey_challenge(
    state: &IdpState,
    session: &Session,
) -> Result<String, JourneyError> {
    let (user_id, id_hash) = (session.user_id.clone(), session.id_hash.clone());
    let passkeys = state.passkeys.clone();
    let now = state.now();
    state
        .db
        .transaction(move |conn| {
            let keys: Vec<String> = security_keys::list_for_user(conn, &user_id)?
                .into_iter()
                .map(|k| k.credential)
                .collect();
            if keys.is_empty() {
                return Err(JourneyError::NotFound);
            }
            let (options, ceremony) = passkeys
                .start_authentication(&keys)
                .map_err(|e| JourneyError::BadRequest(e.to_string()))?;
            security_keys::put_ceremony(
                conn,
                &crate::storage::models::CeremonyRow {
                    session_id_hash: id_hash,
                    purpose: crate::passkeys::AUTHENTICATE.to_owned(),
                    state: ceremony,
                    expires_at: now + crate::passkeys::CEREMONY_SECONDS,
                },
            )?;
            Ok(options)
        })
        .await
}
