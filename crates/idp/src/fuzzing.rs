//! The bodies of the fuzz targets in `crates/idp/fuzz` (`cargo xtask fuzz`), one function per
//! target taking the raw input: each feeds it to the real entry point and panics only when a
//! rule that must hold for every input is broken. `tests/it/fuzz_corpus.rs` replays the kept
//! corpus through the same functions on stable, so a fixed crash stays fixed.
//!
//! Inputs are text where the entry point only ever sees a `&str`; targets that take several
//! values read one per line. The authorize, token, registration and `id_token_hint` targets run
//! against one real `IdpState` per process: SQLite in memory, three registered clients (below),
//! a signing key generated at start-up and a clock that stands still. Nothing in the server uses
//! this module.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::Engine;
use diesel::{Connection, SqliteConnection};
use serde_json::Value;

use crate::clock::{Clock, UnixTime};
use crate::config::Settings;
use crate::crypto::hash_hex;
use crate::domain::password::{MAX_LENGTH, PasswordPolicy, PersonalDetails};
use crate::domain::totp::{SKEW, step_at};
use crate::domain::{Email, NewPassword, PasswordViolation, RedirectUri, TotpSecret};
use crate::oidc::authorize::{self, AuthorizeParams, Decision};
use crate::oidc::client::{self, AuthMethod, Client};
use crate::oidc::client_auth::{self, BasicCredentials};
use crate::oidc::error::{OAuthError, OAuthErrorCode};
use crate::oidc::form::FormParams;
use crate::oidc::registration::{
    ClientMetadata, MAX_CLIENT_NAME_CHARS, RegistrationRules, validate_metadata,
};
use crate::oidc::{logout, token};
use crate::state::IdpState;
use crate::storage::models::ClientRow;
use crate::storage::{Db, DbError, clients};

/// A target's body: the raw input in, a panic when a rule is broken.
pub type Body = fn(&[u8]);

/// Every target by name, as `crates/idp/fuzz/fuzz_targets/<name>.rs` and
/// `crates/idp/fuzz/corpus/<name>/` are named.
pub const TARGETS: &[(&str, Body)] = &[
    ("authorize", authorize),
    ("email", email),
    ("form", form),
    ("id_token_hint", id_token_hint),
    ("password", password),
    ("redirect_uri", redirect_uri),
    ("registration", registration),
    ("token", token),
    ("totp", totp),
];

/// The harness clock: the time every target runs at.
pub const NOW: UnixTime = 1_800_000_000;
/// The secret of the harness's confidential clients.
pub const CLIENT_SECRET: &str = "fuzz-secret";

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

fn has_pair(url: &url::Url, name: &str, value: &str) -> bool {
    url.query_pairs().any(|(k, v)| k == name && v == value)
}

/// A form-encoded protocol body (token, revocation, introspection): `FormParams::parse`
/// refuses exactly the bodies that repeat a parameter, and gives every other parameter's value,
/// an empty one as omitted.
pub fn form(data: &[u8]) {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(data).into_owned().collect();
    let mut names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let repeated = names.len() != pairs.len();
    match FormParams::parse(data) {
        Err(e) => assert!(repeated, "refused without a repeated parameter: {e}"),
        Ok(form) => {
            assert!(!repeated, "a repeated parameter was accepted");
            for (name, value) in &pairs {
                let expected = Some(value.as_str()).filter(|v| !v.is_empty());
                assert_eq!(form.get(name), expected, "parameter {name:?}");
                assert_eq!(form.require(name).ok(), expected, "parameter {name:?}");
            }
        }
    }
}

/// The query string of `GET /authorize`, decided without a session. Whatever the decision, a
/// redirect goes only to the redirect URI presented (which the client registered), carries
/// `error`, `state` and `iss` as sent, and a request kept for after the login holds a redirect
/// URI that parses again when it is answered.
pub fn authorize(data: &[u8]) {
    let Some(query) = text(data) else { return };
    let Ok(params) = actix_web::web::Query::<AuthorizeParams>::from_query(query) else {
        return;
    };
    let params = params.into_inner();
    let presented = params.redirect_uri.clone();
    let sent_state = params.state.clone();
    let h = harness();
    let decision = h
        .block_on(authorize::decide(&h.state, params, None))
        .unwrap_or_else(|fault| panic!("a request made the authorization endpoint fail: {fault}"));
    match decision {
        Decision::Page(_) => {}
        Decision::Refuse(refusal) => {
            assert_eq!(Some(refusal.redirect_uri.as_str()), presented.as_deref());
            let issuer = &h.state.settings.issuer;
            let location = refusal.location(issuer);
            let url = url::Url::parse(&location)
                .unwrap_or_else(|e| panic!("the error redirect {location:?} is no URL: {e}"));
            assert!(url.fragment().is_none(), "{location}");
            assert!(has_pair(&url, "iss", issuer), "{location}");
            assert!(has_pair(&url, "error", refusal.error), "{location}");
            if let Some(state) = &refusal.state {
                assert_eq!(Some(state), sent_state.as_ref());
                assert!(has_pair(&url, "state", state), "{location}");
            }
        }
        Decision::Login(request) | Decision::Consent(request) => {
            assert_eq!(Some(request.redirect_uri.as_str()), presented.as_deref());
            assert_eq!(request.redirect().as_str(), request.redirect_uri);
            assert!(
                request.scope.split(' ').any(|s| s == "openid"),
                "{request:?}"
            );
            assert!(
                request.max_age != Some(0) || request.prompt_login,
                "{request:?}"
            );
        }
        Decision::Issue(..) => panic!("a code was issued without a session"),
    }
}

/// A token request: the first line is the `Authorization` header (empty: none), the rest the
/// body. Client authentication and the grant never fail with a server error, and without a
/// code or refresh token nothing is issued for a person (client_credentials still works).
pub fn token(data: &[u8]) {
    let (header, body) = match data.iter().position(|&b| b == b'\n') {
        Some(end) => (&data[..end], &data[end + 1..]),
        None => (&[][..], data),
    };
    let Some(header) = text(header) else { return };
    let Ok(form) = FormParams::parse(body) else {
        return;
    };
    let Ok(basic) = BasicCredentials::from_authorization(Some(header).filter(|h| !h.is_empty()))
    else {
        return;
    };
    let by_basic = basic.is_some();
    let h = harness();
    let client = match h.block_on(client_auth::authenticate(&h.state, basic, &form)) {
        Ok(client) => client,
        Err(e) => {
            assert_not_a_fault(&e);
            return;
        }
    };
    assert_eq!(
        by_basic,
        client.auth_method == AuthMethod::ClientSecretBasic
    );
    match h.block_on(token::grant(&h.state, &client, &form)) {
        Ok(response) => {
            assert!(client.allows_grant(client::GRANT_CLIENT_CREDENTIALS));
            assert!(response.refresh_token.is_none() && response.id_token.is_none());
        }
        Err(e) => assert_not_a_fault(&e),
    }
}

fn assert_not_a_fault(e: &OAuthError) {
    assert!(
        !matches!(
            e.code,
            OAuthErrorCode::ServerError | OAuthErrorCode::TemporarilyUnavailable
        ),
        "a request made the endpoint fail: {e}"
    );
}

/// An RFC 7591 registration body. Metadata accepted under the strict rules is accepted under
/// the lenient ones too, and an accepted client, once stored, matches every redirect URI it
/// registered exactly (the store is rolled back after).
pub fn registration(data: &[u8]) {
    let Ok(metadata) = serde_json::from_slice::<ClientMetadata>(data) else {
        return;
    };
    let strict = validate_metadata(
        &metadata,
        RegistrationRules {
            allow_http_loopback: false,
            allow_private_backchannel: false,
        },
    );
    let lenient = validate_metadata(
        &metadata,
        RegistrationRules {
            allow_http_loopback: true,
            allow_private_backchannel: true,
        },
    );
    if strict.is_ok() {
        assert!(lenient.is_ok(), "allowed more, accepted less: {lenient:?}");
    }
    for new in [strict, lenient].into_iter().flatten() {
        assert_eq!(new.check(), Ok(()));
        let name_chars = new.name.chars().count();
        assert!((1..=MAX_CLIENT_NAME_CHARS).contains(&name_chars), "{new:?}");
        assert!(!new.name.chars().any(char::is_control), "{new:?}");
        let redirect_uris = new.redirect_uris.clone();
        let post_logout = new.post_logout_redirect_uris.clone();
        let grants = new.grant_types.clone();
        let stored = stored_and_rolled_back(new);
        for uri in &redirect_uris {
            assert_eq!(stored.redirect_uri(uri.as_str()).as_ref(), Some(uri));
        }
        for uri in &post_logout {
            assert_eq!(
                stored.post_logout_redirect_uri(uri.as_str()).as_ref(),
                Some(uri)
            );
        }
        assert!(grants.iter().all(|g| stored.allows_grant(g)));
    }
}

/// The client as `client::register` stores it, in a transaction that is rolled back.
fn stored_and_rolled_back(new: client::NewClient) -> Client {
    let h = harness();
    let stored = h.block_on(h.state.db.run(move |conn| {
        let mut stored = None;
        let rolled_back = conn.transaction::<(), DbError, _>(|conn| {
            stored = Some(client::register(conn, new, NOW)?.client);
            Err(diesel::result::Error::RollbackTransaction.into())
        });
        match (rolled_back, stored) {
            (Err(DbError::Query(diesel::result::Error::RollbackTransaction)), Some(client)) => {
                Ok(client)
            }
            (Err(e), _) => Err(e),
            (Ok(()), _) => Err(DbError::Cancelled),
        }
    }));
    stored.unwrap_or_else(|e| panic!("storing an accepted client failed: {e}"))
}

/// An `id_token_hint` (RP-Initiated Logout), as three lines: the `client_id` sent with it
/// (empty: none), the `typ` to sign with (empty: "JWT"), and the hint. A hint that starts with
/// `{` is taken as claims and signed with the real key first, so the checks after the
/// signature are reached; any other is used as it is. Without one line break the whole input
/// is the hint. A hint we did not sign never counts; a signed one counts only as an ID token of
/// our issuer for the client.
pub fn id_token_hint(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let mut lines = text.splitn(3, '\n');
    let (client_id, typ, hint) = match (lines.next(), lines.next(), lines.next()) {
        (Some(client_id), Some(typ), Some(hint)) => (
            Some(client_id).filter(|c| !c.is_empty()),
            Some(typ).filter(|t| !t.is_empty()),
            hint,
        ),
        _ => (None, None, text),
    };
    let h = harness();
    let (hint, claims) = if hint.starts_with('{') {
        let Ok(claims) = serde_json::from_str::<Value>(hint) else {
            return;
        };
        let signed = h
            .state
            .keys
            .sign(typ, &claims)
            .unwrap_or_else(|e| panic!("signing the claims failed: {e}"));
        (signed, Some(claims))
    } else {
        (hint.to_owned(), None)
    };
    let Some((subject, client)) = logout::id_token_hint(&h.state, &hint, client_id) else {
        return;
    };
    let Some(claims) = claims else {
        panic!("a token we did not sign counted as a hint: {hint:?}");
    };
    let claim = |name: &str| claims.get(name).and_then(Value::as_str);
    assert_eq!(claim("sub"), Some(subject.as_str()), "{claims}");
    assert_eq!(
        claim("iss"),
        Some(h.state.settings.issuer.as_str()),
        "{claims}"
    );
    assert!(claims.get("events").is_none_or(Value::is_null), "{claims}");
    assert!(typ.is_none_or(|t| t.eq_ignore_ascii_case("JWT")), "{typ:?}");
    assert!(client_id.is_none_or(|id| id == client), "{client:?}");
    let audience = match claims.get("aud") {
        Some(Value::String(aud)) => aud == &client,
        Some(Value::Array(aud)) => aud.iter().any(|a| a.as_str() == Some(client.as_str())),
        _ => false,
    };
    assert!(audience, "{client:?} is not in the audience of {claims}");
}

/// Redirect URIs, as two lines: one registered, one presented at login (without a line break
/// both are the input). The rule sets nest, an accepted URI is kept exactly as written and
/// stays a valid redirect URI with the response's parameters appended, and a registered URI
/// matches only itself (or, for a native client, its own loopback URI on another port).
pub fn redirect_uri(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let (registered, presented) = text.split_once('\n').unwrap_or((text, text));
    let parsed = [registered, presented].map(redirect_rules);
    if let [Some(a), Some(b)] = &parsed {
        assert_eq!(a.same_loopback_target(b), b.same_loopback_target(a));
    }
    for application_type in ["web", "native"] {
        let client = Client::from_row(client_row(
            "fuzz-redirect",
            "none",
            &["authorization_code"],
            &[registered],
            application_type,
        ));
        let Some(matched) = client.redirect_uri(presented) else {
            continue;
        };
        assert_eq!(matched.as_str(), presented);
        if registered != presented {
            assert_eq!(application_type, "native");
            let [Some(a), Some(b)] = &parsed else {
                panic!("a loopback match of a URI that does not parse");
            };
            assert!(a.same_loopback_target(b));
        }
    }
}

/// The rules for one redirect URI (see [`redirect_uri`]); the URI if it is one under any.
fn redirect_rules(input: &str) -> Option<RedirectUri> {
    let web_strict = RedirectUri::parse(input, false);
    let web = RedirectUri::parse(input, true);
    let native = RedirectUri::parse_native(input);
    let any = RedirectUri::parse_registered(input);
    assert!(web_strict.is_err() || web.is_ok(), "{input:?}");
    assert_eq!(any.is_ok(), web.is_ok() || native.is_ok(), "{input:?}");
    let uri = any.ok()?;
    assert_eq!(uri.as_str(), input);
    let location = uri.with_params(&[("code", "c0de"), ("state", "a b&c=d#e")]);
    let url = url::Url::parse(&location)
        .unwrap_or_else(|e| panic!("{input:?} answered at {location:?}, no URL: {e}"));
    assert!(url.fragment().is_none(), "{location}");
    assert!(has_pair(&url, "code", "c0de"), "{location}");
    assert!(has_pair(&url, "state", "a b&c=d#e"), "{location}");
    assert!(
        RedirectUri::parse_registered(&location).is_ok(),
        "{input:?} answered at {location:?}"
    );
    Some(uri)
}

/// An e-mail address: one that is accepted is normalised, and normalising it again changes
/// nothing (it is stored, looked up and compared in that form).
pub fn email(data: &[u8]) {
    let Some(input) = text(data) else { return };
    let Ok(email) = Email::parse(input) else {
        return;
    };
    assert_eq!(
        Email::parse(email.as_str()).as_ref(),
        Ok(&email),
        "{input:?} normalised"
    );
    assert_eq!(email.as_str(), email.as_str().to_lowercase());
    assert!(!email.local_part().is_empty(), "{email}");
}

/// The password policy, as three lines: the account's e-mail local part, the password, the
/// confirmation (absent: the password). An accepted password keeps every rule of the manual; a
/// refused one has each violation once, and a mismatch exactly when the two differ.
pub fn password(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let mut lines = text.splitn(3, '\n');
    let local_part = lines.next().unwrap_or_default();
    let password = lines.next().unwrap_or_default();
    let confirmation = lines.next().unwrap_or(password);
    let policy = PasswordPolicy {
        min_length: 16,
        min_score: 4,
        person: PersonalDetails {
            email: local_part,
            ..PersonalDetails::default()
        },
    };
    match NewPassword::parse(password, confirmation, &policy) {
        Ok(accepted) => {
            assert_eq!(accepted.expose(), password);
            assert_eq!(password, confirmation);
            assert!((16..=MAX_LENGTH).contains(&password.chars().count()));
            assert!(password.chars().any(char::is_uppercase));
            assert!(password.chars().any(|c| c.is_ascii_digit()));
            assert!(!password.chars().all(char::is_alphanumeric));
        }
        Err(violations) => {
            assert!(!violations.is_empty());
            for (i, violation) in violations.iter().enumerate() {
                assert!(!violations[..i].contains(violation), "{violations:?}");
            }
            assert_eq!(
                violations.contains(&PasswordViolation::Mismatch),
                password != confirmation
            );
        }
    }
}

/// TOTP verification, as three lines: the time, the step last accepted (empty: none) and the
/// code typed, against the RFC 6238 test secret. A code is accepted only within the skew window,
/// after the last step and when it is that step's code; the current code is accepted, once.
pub fn totp(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let mut lines = text.splitn(3, '\n');
    let (Some(now), Some(last_used), Some(code)) = (lines.next(), lines.next(), lines.next())
    else {
        return;
    };
    let Ok(now) = now.trim().parse::<i64>() else {
        return;
    };
    let last_used = match last_used.trim() {
        "" => None,
        step => match step.parse::<i64>() {
            Ok(step) => Some(step),
            Err(_) => return,
        },
    };
    let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
    let current = step_at(now);
    if let Some(step) = secret.verify(code, now, last_used) {
        assert!((current - SKEW..=current + SKEW).contains(&step), "{step}");
        assert!(last_used.is_none_or(|last| step > last), "{step}");
        let typed: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        assert_eq!(secret.code_at(step), typed);
    }
    // Steps before the epoch all have the code of time 0, so the window is not meaningful there.
    if current > SKEW {
        let code = secret.code_at(current);
        let accepted = secret.verify(&code, now, None);
        assert!(accepted.is_some_and(|step| step >= current), "{accepted:?}");
        assert_eq!(secret.verify(&code, now, accepted), None, "replayed");
    }
}

/// A client row as `client::register` would store it, with the harness secret for a
/// confidential client.
fn client_row(
    client_id: &str,
    auth_method: &str,
    grant_types: &[&str],
    redirect_uris: &[&str],
    application_type: &str,
) -> ClientRow {
    let list = |values: &[&str]| serde_json::to_string(values).unwrap_or_default();
    ClientRow {
        client_id: client_id.to_owned(),
        secret_hash: (auth_method != "none").then(|| hash_hex(CLIENT_SECRET.as_bytes())),
        name: client_id.to_owned(),
        redirect_uris: list(redirect_uris),
        post_logout_redirect_uris: list(&["https://rp.example/logged-out"]),
        backchannel_logout_uri: None,
        grant_types: list(grant_types),
        token_endpoint_auth_method: auth_method.to_owned(),
        scope: "openid profile email organisation offline_access".to_owned(),
        first_party: false,
        created_at: NOW,
        application_type: application_type.to_owned(),
        metadata: "{}".to_owned(),
    }
}

/// The clients registered in the harness, named in the corpus.
fn harness_clients() -> [ClientRow; 3] {
    [
        client_row(
            "fuzz-web",
            "client_secret_post",
            &["authorization_code", "refresh_token"],
            &[
                "https://rp.example/cb",
                "https://rp.example/cb?tenant=ek88",
                "http://127.0.0.1:8080/cb",
            ],
            "web",
        ),
        client_row(
            "fuzz-native",
            "none",
            &["authorization_code"],
            &["http://127.0.0.1/cb", "com.example.app:/oauth2redirect"],
            "native",
        ),
        client_row(
            "fuzz-service",
            "client_secret_basic",
            &["client_credentials"],
            &[],
            "web",
        ),
    ]
}

struct StillClock;

impl Clock for StillClock {
    fn now(&self) -> UnixTime {
        NOW
    }
}

/// One `IdpState` per process, on a database in memory.
struct Harness {
    runtime: tokio::runtime::Runtime,
    state: IdpState,
    /// Keeps the in-memory database alive while the pool replaces its connection.
    _database: Mutex<SqliteConnection>,
}

impl Harness {
    fn start() -> anyhow::Result<Self> {
        let url = "file:idp-fuzzing?mode=memory&cache=shared";
        let database = SqliteConnection::establish(url)?;
        let db = Db::connect(url, 1, Duration::from_secs(10))?;
        db.migrate()?;
        {
            let mut conn = db.get()?;
            for row in harness_clients() {
                clients::insert(&mut conn, &row)?;
            }
        }
        let mut settings = Settings::defaults()?;
        let master_key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        settings.secrets.encryption_key = Some(master_key.into());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let state = runtime.block_on(IdpState::build(settings, db, Arc::new(StillClock)))?;
        Ok(Self {
            runtime,
            state,
            _database: Mutex::new(database),
        })
    }

    fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        Harness::start().unwrap_or_else(|e| panic!("the fuzzing harness did not start: {e:#}"))
    })
}
