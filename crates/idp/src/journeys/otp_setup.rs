//! Manual §2.1, "Mobiele authenticator instellen": after registration (or after the superuser
//! reset the authenticator) the person links an authenticator app. The secret is sealed at rest;
//! the first correct code confirms it, activates the account and is itself used up.

use qrcode::QrCode;
use qrcode::render::svg;

use crate::crypto::OpaqueToken;
use crate::domain::PersonName;
use crate::domain::totp::TotpSecret;
use crate::journeys::JourneyError;
use crate::journeys::login::Authenticated;
use crate::sessions::{self, ClientInfo, Stage};
use crate::state::IdpState;
use crate::storage::audit::AuditRecord;
use crate::storage::models::{OtpCredential, Session, new_id};
use crate::storage::{audit, otp, sessions as session_rows, users};

/// What the set-up page shows.
#[derive(Debug)]
pub struct SetupView {
    pub qr_svg: String,
    pub manual_key: String,
}

/// Associated data of a sealed TOTP secret: binds it to its row.
pub fn seal_context(credential_id: &str) -> String {
    format!("otp-secret:{credential_id}")
}

fn in_setup(session: &Session) -> Result<(), JourneyError> {
    if session.stage == Stage::OtpSetup {
        Ok(())
    } else {
        Err(JourneyError::SessionExpired)
    }
}

/// Shows the pending secret of this person, creating one on the first visit. Reloading the page
/// shows the same QR code, so a scan made before the reload stays valid.
pub async fn begin(state: &IdpState, session: &Session) -> Result<SetupView, JourneyError> {
    in_setup(session)?;
    pending(state, &session.user_id).await
}

/// The person's pending (not yet confirmed) authenticator secret as QR code and key, made on
/// the first call: at set-up, and when adding another app on the account page.
pub async fn pending(state: &IdpState, user_id: &str) -> Result<SetupView, JourneyError> {
    let user_id = user_id.to_owned();
    let keyring = state.keyring.clone();
    let now = state.now();
    let (secret, email) = state
        .db
        .run(move |conn| {
            crate::storage::write_transaction(conn, |conn| {
                let user = users::find(conn, &user_id)?.ok_or(JourneyError::SessionExpired)?;
                if let Some(pending) = otp::find_pending(conn, &user_id)?
                    && let Ok(bytes) =
                        keyring.open(&pending.secret_sealed, &seal_context(&pending.id))
                {
                    return Ok((TotpSecret::from_bytes(bytes), user.email));
                }
                let secret = TotpSecret::generate();
                let id = new_id();
                otp::insert_pending(
                    conn,
                    &OtpCredential {
                        secret_sealed: keyring.seal(secret.as_bytes(), &seal_context(&id)),
                        id,
                        user_id: user_id.clone(),
                        device_name: None,
                        created_at: now,
                        confirmed_at: None,
                        last_used_step: None,
                        last_used_at: None,
                    },
                )?;
                Ok::<_, JourneyError>((secret, user.email))
            })
        })
        .await?;
    let uri = secret.otpauth_uri(&state.settings.branding.company, &email);
    Ok(SetupView {
        qr_svg: qr_svg(&uri)?,
        manual_key: secret.display_key(),
    })
}

/// The QR code as inline SVG, drawn here: the secret never goes to an outside service.
fn qr_svg(data: &str) -> Result<String, anyhow::Error> {
    let code = QrCode::new(data.as_bytes()).map_err(|e| anyhow::anyhow!("QR code: {e}"))?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    // Inline in HTML: drop the XML declaration.
    Ok(match image.find("<svg") {
        Some(start) => image[start..].to_owned(),
        None => image,
    })
}

pub struct Completion {
    pub code: String,
    pub device_name: String,
    pub logout_others: bool,
}

#[derive(Debug)]
pub struct Completed {
    /// The session, authenticated under a new id.
    pub signed_in: Authenticated,
    /// Sessions of this person ended because "Uitloggen op andere apparaten" was ticked.
    pub ended_sessions: Vec<String>,
}

/// Confirms the authenticator with a correct code: the account becomes active and the session
/// authenticated with both factors (amr `pwd otp`).
pub async fn complete(
    state: &IdpState,
    session: &Session,
    completion: Completion,
    client: ClientInfo,
) -> Result<Completed, JourneyError> {
    in_setup(session)?;
    let device_name = match completion.device_name.trim() {
        "" => None,
        name => Some(
            PersonName::parse(name)
                .map_err(|_| JourneyError::field("device_name", "device_name_error_too_long"))?
                .into_inner(),
        ),
    };
    let user_id = session.user_id.clone();
    let failure_ip = client.ip_address.clone();
    let session = session.clone();
    let keyring = state.keyring.clone();
    let renderer = state.mail.clone();
    let now = state.now();
    let authenticated_until =
        now + sessions::lifetime(&state.settings.session, Stage::Authenticated);
    let ending = crate::journeys::logout::Ending::at(state, "logout_other_devices", now);
    // The session gets a new id as it becomes authenticated (ASVS V3.2.1).
    let token = OpaqueToken::generate();
    let new_hash = token.hash();
    let result = state
        .db
        .run(move |conn| {
            crate::storage::write_transaction(conn, |conn| {
                let pending = otp::find_pending(conn, &session.user_id)?
                    .ok_or(JourneyError::SessionExpired)?;
                let secret = keyring
                    .open(&pending.secret_sealed, &seal_context(&pending.id))
                    .map(TotpSecret::from_bytes)?;
                let Some(step) = secret.verify(&completion.code, now, pending.last_used_step)
                else {
                    return Ok(Err(()));
                };
                if !otp::use_step(conn, &pending.id, step)? {
                    return Ok(Err(()));
                }
                otp::confirm(
                    conn,
                    &pending.id,
                    &session.user_id,
                    device_name.as_deref(),
                    now,
                )?;
                // Active already: this authenticator replaces one that was reset.
                let replaces = users::find(conn, &session.user_id)?
                    .is_some_and(|u| u.status == crate::domain::UserStatus::Active);
                if !users::activate(conn, &session.user_id, now)? {
                    return Err(JourneyError::SessionExpired);
                }
                if !session_rows::authenticate(
                    conn,
                    &session.id_hash,
                    &new_hash,
                    "pwd otp",
                    now,
                    authenticated_until,
                )? {
                    return Err(JourneyError::SessionExpired);
                }
                let ended = if completion.logout_others {
                    let others = session_rows::other_sessions(conn, &session.user_id, &new_hash)?;
                    crate::storage::authorization::revoke_for_user_except_session(
                        conn,
                        &session.user_id,
                        &new_hash,
                        now,
                    )?;
                    crate::journeys::logout::end_sessions(conn, &session.user_id, &others, ending)?
                } else {
                    crate::journeys::logout::Ended::default()
                };
                let user =
                    users::find(conn, &session.user_id)?.ok_or(JourneyError::SessionExpired)?;
                users::record_login(conn, &user.id, now)?;
                if replaces {
                    crate::email::queue_notice(
                        conn,
                        &renderer,
                        &keyring,
                        &user,
                        crate::email::Notice::AuthenticatorAdded,
                        now,
                    )?;
                }
                let organisation = user.organisation_id.clone();
                audit::record(
                    conn,
                    AuditRecord::success("otp_setup")
                        .user(&session.user_id)
                        .organisation(organisation.as_deref())
                        .ip(client.ip_address.as_deref())
                        .details(serde_json::json!({ "device_name": device_name, "step": step })),
                    now,
                )?;
                let authenticated = session_rows::find_live(conn, &new_hash, now)?
                    .ok_or(JourneyError::SessionExpired)?;
                Ok::<_, JourneyError>(Ok((authenticated, ended, user.email)))
            })
        })
        .await?;
    match result {
        Ok((session, ended, email)) => {
            let ended_sessions = ended.sessions.clone();
            crate::journeys::logout::notify(state, &session.user_id, ended);
            state.outbox_wake.notify_one();
            Ok(Completed {
                signed_in: Authenticated {
                    session_token: token,
                    session,
                    email,
                },
                ended_sessions,
            })
        }
        Err(()) => {
            let ip = failure_ip;
            state
                .db
                .run(move |conn| {
                    audit::record(
                        conn,
                        AuditRecord::failure("otp_setup")
                            .user(&user_id)
                            .ip(ip.as_deref())
                            .details(serde_json::json!({ "reason": "wrong_code" })),
                        now,
                    )
                })
                .await?;
            Err(JourneyError::WrongCode)
        }
    }
}
