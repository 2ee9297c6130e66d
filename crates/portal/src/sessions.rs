//! The portal's own server-side sessions, kept in memory: a session cookie names one by a
//! random key (only its SHA-256 is stored), and holds who logged in, their tokens and the
//! message to confirm the last action. Also the logins on their way through the IdP, and the
//! logout tokens seen (against replay). One portal process owns its sessions; several portal
//! nodes would put this behind a shared store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::config::SessionSettings;
use crate::oidc::login::{PendingLogin, Person, SignedIn, Tokens};

type Key = [u8; 32];

/// A new random cookie value and the key it is stored under.
fn new_key() -> (String, Key) {
    let value = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let key = key_of(&value);
    (value, key)
}

fn key_of(value: &str) -> Key {
    Sha256::digest(value.as_bytes()).into()
}

/// What the page shows once after an action: a confirmation or what went wrong.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Flash {
    pub kind: FlashKind,
    pub text: String,
}

#[derive(Debug, Clone, Copy, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlashKind {
    Done,
    Refused,
}

/// What changes during a session: the person's claims and tokens (at a refresh) and the flash.
pub struct SessionData {
    pub person: Person,
    pub id_token: String,
    pub tokens: Tokens,
    pub flash: Option<Flash>,
}

pub struct Session {
    /// The IdP session and person, fixed for the session's life (back-channel logout names them).
    pub sid: Option<String>,
    pub sub: String,
    pub created_at: i64,
    last_seen: std::sync::atomic::AtomicI64,
    /// Held across a refresh, so two requests never spend the same refresh token.
    pub data: tokio::sync::Mutex<SessionData>,
}

#[derive(Default)]
struct Inner {
    sessions: HashMap<Key, Arc<Session>>,
    logins: HashMap<Key, PendingLogin>,
    /// Logout token ids, and until when they count.
    logout_tokens: HashMap<String, i64>,
}

pub struct Sessions {
    settings: SessionSettings,
    inner: Mutex<Inner>,
}

impl Sessions {
    pub fn new(settings: SessionSettings) -> Self {
        Self {
            settings,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves plain maps behind: still usable.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn alive(&self, session: &Session, now: i64) -> bool {
        let last = session.last_seen.load(std::sync::atomic::Ordering::Relaxed);
        now - last < self.settings.idle_minutes * 60
            && now - session.created_at < self.settings.absolute_hours * 3600
    }

    /// Keeps a login until the browser is back; the value for the login cookie.
    pub fn begin_login(&self, pending: PendingLogin, now: i64) -> String {
        let (value, key) = new_key();
        let mut inner = self.lock();
        let limit = self.settings.login_minutes * 60;
        inner.logins.retain(|_, l| now - l.started_at < limit);
        inner.logins.insert(key, pending);
        value
    }

    /// The login of this cookie, once: a second callback with the same cookie finds nothing.
    pub fn take_login(&self, cookie: &str, now: i64) -> Option<PendingLogin> {
        let pending = self.lock().logins.remove(&key_of(cookie))?;
        (now - pending.started_at < self.settings.login_minutes * 60).then_some(pending)
    }

    /// A new session for a person who just logged in; the value for the session cookie.
    pub fn start(&self, signed_in: SignedIn, now: i64) -> String {
        let (value, key) = new_key();
        let session = Arc::new(Session {
            sid: signed_in.person.sid.clone(),
            sub: signed_in.person.sub.clone(),
            created_at: now,
            last_seen: now.into(),
            data: tokio::sync::Mutex::new(SessionData {
                person: signed_in.person,
                id_token: signed_in.id_token,
                tokens: signed_in.tokens,
                flash: None,
            }),
        });
        let mut inner = self.lock();
        inner.sessions.retain(|_, s| self.alive(s, now));
        inner.sessions.insert(key, session);
        value
    }

    /// The live session of this cookie (and it counts as used now).
    pub fn find(&self, cookie: &str, now: i64) -> Option<Arc<Session>> {
        let key = key_of(cookie);
        let mut inner = self.lock();
        let session = inner.sessions.get(&key)?.clone();
        if !self.alive(&session, now) {
            inner.sessions.remove(&key);
            return None;
        }
        session
            .last_seen
            .store(now, std::sync::atomic::Ordering::Relaxed);
        Some(session)
    }

    /// Ends the session of this cookie.
    pub fn end(&self, cookie: &str) -> Option<Arc<Session>> {
        self.lock().sessions.remove(&key_of(cookie))
    }

    /// Ends the sessions a logout token names: those of `sid` (of `sub` when both are given),
    /// or every session of `sub`. How many ended.
    pub fn end_for(&self, sid: Option<&str>, sub: Option<&str>) -> usize {
        let mut inner = self.lock();
        let before = inner.sessions.len();
        inner.sessions.retain(|_, s| {
            let named = match (sid, sub) {
                (Some(sid), sub) => {
                    s.sid.as_deref() == Some(sid) && sub.is_none_or(|sub| s.sub == sub)
                }
                (None, Some(sub)) => s.sub == sub,
                (None, None) => false,
            };
            !named
        });
        before - inner.sessions.len()
    }

    /// Remembers a logout token id until `until`; false when it was seen before (a replay).
    pub fn first_use_of_logout_token(&self, jti: &str, until: i64, now: i64) -> bool {
        let mut inner = self.lock();
        inner.logout_tokens.retain(|_, u| *u >= now);
        if inner.logout_tokens.contains_key(jti) {
            return false;
        }
        inner.logout_tokens.insert(jti.to_owned(), until);
        true
    }

    /// How many sessions are live (for the log and the tests).
    pub fn count(&self) -> usize {
        self.lock().sessions.len()
    }
}
