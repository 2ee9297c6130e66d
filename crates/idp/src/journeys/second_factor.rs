//! The second factor, checked the same way wherever it is asked for: at login after the
//! password, and again before a change on the account page when the login is not fresh
//! (step-up). A person may have several authenticator apps; a code of any of them counts, and
//! its time step is used up atomically (the same code cannot count twice). A passkey or
//! security key (WebAuthn, `passkeys`) counts instead of the code. A recovery code stands in
//! for the one-time code: single use, and stored only as a keyed hash.

use data_encoding::BASE32_NOPAD;
use rand::RngCore;

use crate::crypto::Keyring;
use crate::domain::totp::TotpSecret;
use crate::journeys::JourneyError;
use crate::journeys::otp_setup::seal_context;
use crate::passkeys::{self, Passkeys};
use crate::storage::{DbConnection, otp, recovery_codes, security_keys};

/// What the person typed as their second factor.
#[derive(Debug, Clone)]
pub enum Presented {
    /// The six digits of an authenticator app.
    Code(String),
    /// One of the ten recovery codes.
    RecoveryCode(String),
    /// The answer of a passkey or security key to the session's WebAuthn challenge (JSON).
    SecurityKey(String),
}

/// What checking a second factor needs besides the connection.
#[derive(Clone, Copy)]
pub struct Checker<'a> {
    pub keyring: &'a Keyring,
    pub passkeys: &'a Passkeys,
    /// The session the WebAuthn challenge was given to.
    pub session_id_hash: &'a str,
}

/// The factor that was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proven {
    /// A code of the authenticator with this id.
    Authenticator(String),
    RecoveryCode,
    /// The key with this id; `synced`: a passkey backed up to a cloud account.
    SecurityKey {
        id: String,
        synced: bool,
    },
}

impl Proven {
    /// The session's `amr` after the password and this factor (RFC 8176): `otp` for an
    /// authenticator app; a recovery code is no OTP of RFC 4226/6238, so `mfa` says that two
    /// factors were used.
    pub fn amr(&self) -> &'static str {
        match self {
            Proven::Authenticator(_) => "pwd otp",
            Proven::RecoveryCode => "pwd mfa",
            // RFC 8176: a key held by hardware (a security key, a device-bound passkey) is
            // `hwk`; one whose private key is synced by software to other devices `swk`.
            Proven::SecurityKey { synced: false, .. } => "pwd hwk",
            Proven::SecurityKey { synced: true, .. } => "pwd swk",
        }
    }

    pub fn method(&self) -> &'static str {
        match self {
            Proven::Authenticator(_) => "otp",
            Proven::RecoveryCode => "recovery_code",
            Proven::SecurityKey { .. } => "passkey",
        }
    }
}

/// Checks `presented` for the person inside the caller's transaction and uses it up when it
/// is right. `None`: wrong, already used, or the person has no such factor.
pub fn check(
    conn: &mut DbConnection,
    checker: Checker<'_>,
    user_id: &str,
    presented: &Presented,
    now: i64,
) -> Result<Option<Proven>, JourneyError> {
    let keyring = checker.keyring;
    match presented {
        Presented::SecurityKey(answer) => security_key(conn, checker, user_id, answer, now),
        Presented::Code(code) => {
            for credential in otp::list_confirmed(conn, user_id)? {
                let secret = keyring
                    .open(&credential.secret_sealed, &seal_context(&credential.id))
                    .map(TotpSecret::from_bytes)?;
                if let Some(step) = secret.verify(code, now, credential.last_used_step)
                    && otp::use_step(conn, &credential.id, step)?
                {
                    otp::mark_used(conn, &credential.id, now)?;
                    return Ok(Some(Proven::Authenticator(credential.id)));
                }
            }
            Ok(None)
        }
        Presented::RecoveryCode(code) => {
            let Some(normalised) = normalise_recovery_code(code) else {
                return Ok(None);
            };
            let hash = recovery_code_hash(keyring, user_id, &normalised);
            Ok(
                recovery_codes::use_code(conn, user_id, &hash, now)?
                    .then_some(Proven::RecoveryCode),
            )
        }
    }
}

/// The WebAuthn answer against the session's challenge (taken once) and the person's keys; the
/// key's new counter is written only if no other login with it got there first.
fn security_key(
    conn: &mut DbConnection,
    checker: Checker<'_>,
    user_id: &str,
    answer: &str,
    now: i64,
) -> Result<Option<Proven>, JourneyError> {
    let Some(state) =
        security_keys::take_ceremony(conn, checker.session_id_hash, passkeys::AUTHENTICATE, now)?
    else {
        return Ok(None);
    };
    let keys = security_keys::list_for_user(conn, user_id)?;
    let used = checker
        .passkeys
        .finish_authentication(answer, &state, |id| {
            keys.iter()
                .find(|k| k.credential_id == id)
                .map(|k| (k.credential.clone(), k.counter))
        });
    let used = match used {
        Ok(used) => used,
        Err(why) => {
            tracing::info!(%why, "a passkey answer was refused");
            return Ok(None);
        }
    };
    let Some(row) = keys.iter().find(|k| k.credential_id == used.credential_id) else {
        return Ok(None);
    };
    if !security_keys::record_use(
        conn,
        &row.id,
        used.read_counter,
        used.counter,
        &used.credential,
        now,
    )? {
        return Ok(None);
    }
    Ok(Some(Proven::SecurityKey {
        id: row.id.clone(),
        synced: row.backup_eligible,
    }))
}

/// How many recovery codes a set has.
pub const RECOVERY_CODES: usize = 10;
/// Random bytes per code: 80 bits, sixteen base32 characters.
const RECOVERY_CODE_BYTES: usize = 10;

/// A new set of recovery codes, as shown once (`ABCD-EFGH-JKLM-NPQR`), and their hashes.
pub fn new_recovery_codes(keyring: &Keyring, user_id: &str) -> (Vec<String>, Vec<String>) {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; RECOVERY_CODE_BYTES];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            let plain = BASE32_NOPAD.encode(&bytes);
            let hash = recovery_code_hash(keyring, user_id, &plain);
            let shown = plain
                .as_bytes()
                .chunks(4)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join("-");
            (shown, hash)
        })
        .unzip()
}

/// The code as stored: upper case, without the dashes and spaces people type between groups;
/// `None` when it cannot be a recovery code at all.
fn normalise_recovery_code(code: &str) -> Option<String> {
    let plain: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let length = BASE32_NOPAD.encode_len(RECOVERY_CODE_BYTES);
    (plain.len() == length && BASE32_NOPAD.decode(plain.as_bytes()).is_ok()).then_some(plain)
}

/// The keyed hash of a recovery code, bound to its person: a stolen table reveals no code
/// and cannot be tried offline without the server's key.
fn recovery_code_hash(keyring: &Keyring, user_id: &str, normalised: &str) -> String {
    keyring.mac(
        "recovery-code",
        format!("{user_id}:{normalised}").as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shown_code_normalises_to_what_was_hashed_however_it_is_typed() {
        let keyring = Keyring::new(&[7; 32]);
        let (shown, hashes) = new_recovery_codes(&keyring, "person");
        assert_eq!(shown.len(), RECOVERY_CODES);
        assert_eq!(hashes.len(), RECOVERY_CODES);
        for (code, hash) in shown.iter().zip(&hashes) {
            assert_eq!(code.len(), 19, "{code}");
            for typed in [code.clone(), code.to_lowercase(), code.replace('-', " ")] {
                let normalised = normalise_recovery_code(&typed).unwrap();
                assert_eq!(&recovery_code_hash(&keyring, "person", &normalised), hash);
            }
            let normalised = normalise_recovery_code(code).unwrap();
            assert_ne!(&recovery_code_hash(&keyring, "other", &normalised), hash);
        }
        let unique: std::collections::HashSet<_> = shown.iter().collect();
        assert_eq!(unique.len(), RECOVERY_CODES);
    }

    #[test]
    fn what_cannot_be_a_recovery_code_is_refused_before_any_lookup() {
        for typed in [
            "",
            "123456",
            "ABCD-EFGH-JKLM-NPQ",
            "ABCD-EFGH-JKLM-NPQR1",
            "ABCD-EFGH-JKLM-NP!R",
        ] {
            assert!(normalise_recovery_code(typed).is_none(), "{typed}");
        }
    }
}
