//! spawn_app(): one IdP per test on its own database, with an SMTP sink and a movable clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use idp::clock::{SharedClock, ShiftedClock};
use idp::config::{MailTransportKind, Settings, SmtpTls};
use idp::startup::Application;
use idp::state::IdpState;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// Runs one async test body against both backends, as two tests.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() { super::$name($crate::helpers::Backend::Postgres).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() { super::$name($crate::helpers::Backend::Sqlite).await }
        }
    )*};
}

fn pg_admin_url() -> String {
    std::env::var("IDP_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A fresh database for one test; dropped again when the test ends.
pub struct TestDatabase {
    pub url: String,
    pg_name: Option<String>,
    _dir: tempfile::TempDir,
}

impl TestDatabase {
    pub fn create(backend: Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        match backend {
            Backend::Sqlite => Self {
                url: dir.path().join("idp.sqlite").to_string_lossy().into_owned(),
                pg_name: None,
                _dir: dir,
            },
            Backend::Postgres => {
                let prefix =
                    std::env::var("IDP_TEST_DB_PREFIX").unwrap_or_else(|_| "idp_test".to_owned());
                let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple()).to_lowercase();
                let admin = pg_admin_url();
                let mut conn = PgConnection::establish(&admin).unwrap_or_else(|e| {
                    panic!("PostgreSQL at {admin} is required for the tests: {e}")
                });
                conn.batch_execute(&format!("CREATE DATABASE \"{name}\""))
                    .unwrap();
                let mut url = url::Url::parse(&admin).unwrap();
                url.set_path(&name);
                Self {
                    url: url.to_string(),
                    pg_name: Some(name),
                    _dir: dir,
                }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name
            && let Ok(mut conn) = PgConnection::establish(&pg_admin_url())
        {
            let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
        }
    }
}

/// A mail as the SMTP sink received it.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub raw: String,
}

impl ReceivedMail {
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.raw.split("\r\n\r\n").next()?;
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }

    /// The decoded body of the part with this content type.
    pub fn part(&self, content_type: &str) -> String {
        let start = self
            .raw
            .find(&format!("Content-Type: {content_type}"))
            .unwrap_or_else(|| panic!("no {content_type} part"));
        let rest = &self.raw[start..];
        let body_start = rest.find("\r\n\r\n").unwrap() + 4;
        let body = &rest[body_start..];
        let end = body.find("\r\n--").unwrap_or(body.len());
        let encoded = &body[..end];
        if rest[..body_start].contains("quoted-printable") {
            decode_quoted_printable(encoded)
        } else if rest[..body_start].contains("base64") {
            let compact: String = encoded.split_whitespace().collect();
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .unwrap(),
            )
            .unwrap()
        } else {
            encoded.to_owned()
        }
    }

    pub fn text(&self) -> String {
        self.part("text/plain")
    }

    pub fn html(&self) -> String {
        self.part("text/html")
    }

    /// The first link into the IdP found in the text body.
    pub fn link(&self) -> String {
        let text = self.text();
        text.split_whitespace()
            .find(|w| w.starts_with("http://") || w.starts_with("https://"))
            .expect("a link in the mail")
            .to_owned()
    }
}

fn decode_quoted_printable(input: &str) -> String {
    let joined = input.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// An SMTP server in the test process that accepts and keeps every mail.
#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    mails: Arc<Mutex<Vec<ReceivedMail>>>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    pub async fn start_on(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let store = mails.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let _ = serve_smtp(stream, store).await;
                });
            }
        });
        Self { port, mails }
    }

    pub fn mails(&self) -> Vec<ReceivedMail> {
        self.mails.lock().unwrap().clone()
    }

    pub fn mails_to(&self, address: &str) -> Vec<ReceivedMail> {
        self.mails()
            .into_iter()
            .filter(|m| m.rcpt_to.iter().any(|r| r == address))
            .collect()
    }

    /// Waits (up to 10 s) until `count` mails for `address` have arrived.
    pub async fn wait_for(&self, address: &str, count: usize) -> Vec<ReceivedMail> {
        for _ in 0..200 {
            let mails = self.mails_to(address);
            if mails.len() >= count {
                return mails;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "expected {count} mail(s) to {address}, got {}",
            self.mails_to(address).len()
        );
    }
}

async fn serve_smtp(
    stream: tokio::net::TcpStream,
    store: Arc<Mutex<Vec<ReceivedMail>>>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP\r\n").await?;
    let mut mail_from = String::new();
    let mut rcpt_to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            write
                .write_all(b"250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                .await?;
        } else if upper.starts_with("MAIL FROM:") {
            mail_from = command[10..].trim().trim_matches(['<', '>']).to_owned();
            rcpt_to.clear();
            write.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            rcpt_to.push(command[8..].trim().trim_matches(['<', '>']).to_owned());
            write.write_all(b"250 OK\r\n").await?;
        } else if upper == "DATA" {
            write.write_all(b"354 go ahead\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(
                    line.strip_prefix('.')
                        .filter(|_| line.starts_with(".."))
                        .unwrap_or(&line),
                );
            }
            store.lock().unwrap().push(ReceivedMail {
                mail_from: mail_from.clone(),
                rcpt_to: rcpt_to.clone(),
                raw: data,
            });
            write.write_all(b"250 queued\r\n").await?;
        } else if upper == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            write.write_all(b"250 OK\r\n").await?;
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub state: IdpState,
    pub clock: ShiftedClock,
    pub smtp: SmtpSink,
    pub client: reqwest::Client,
    worker: tokio::task::AbortHandle,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    _db: TestDatabase,
}

impl Drop for TestApp {
    /// Stop the server and the outbox worker before the database goes away.
    fn drop(&mut self) {
        self.worker.abort();
        self.server.abort();
    }
}

/// A change to the settings, applied last.
pub type SettingsChange = Box<dyn FnOnce(&mut Settings)>;

#[derive(Default)]
pub struct Options {
    /// SMTP port to send to; `None`: a sink started for this app.
    pub smtp_port: Option<u16>,
    /// Enables dynamic client registration with this initial access token.
    pub initial_access_token: Option<String>,
    /// Changes the settings last, before the app starts.
    pub settings: Option<SettingsChange>,
}

impl Options {
    /// Options that only change the settings.
    pub fn settings(change: impl FnOnce(&mut Settings) + 'static) -> Self {
        Self {
            settings: Some(Box::new(change)),
            ..Self::default()
        }
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, Options::default()).await
}

pub async fn spawn_app_with(backend: Backend, options: Options) -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        idp::telemetry::init();
    }
    let smtp = SmtpSink::start().await;
    let db = TestDatabase::create(backend);
    let mut settings = Settings::defaults().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    settings.issuer = format!("http://127.0.0.1:{port}");
    settings.server.workers = 1;
    settings.database.url = db.url.clone();
    settings.database.pool_size = 5;
    settings.data_dir = db._dir.path().to_path_buf();
    settings.mail.transport = MailTransportKind::Smtp;
    settings.mail.smtp.host = "127.0.0.1".to_owned();
    settings.mail.smtp.port = options.smtp_port.unwrap_or(smtp.port);
    settings.mail.smtp.tls = SmtpTls::None;
    settings.mail.smtp.timeout_seconds = 2;
    settings.mail.poll_interval_ms = 50;
    settings.mail.retry_base_seconds = 1;
    settings.mail.retry_max_seconds = 2;
    settings.password.hash_concurrency = 2;
    settings.oidc.initial_access_token = options.initial_access_token.map(Into::into);
    // The tests' relying parties listen on loopback; the rule itself has tests of its own.
    settings.oidc.backchannel_allow_private_networks = true;
    let key = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());
    settings.secrets.encryption_key = Some(key.into());
    if let Some(change) = options.settings {
        change(&mut settings);
    }
    let clock = ShiftedClock::default();
    let shared: SharedClock = Arc::new(clock.clone());
    let app = Application::build_with_listener(settings, Some(shared), listener)
        .await
        .expect("the IdP starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    let worker = app.worker_abort_handle();
    let server = tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        state,
        clock,
        smtp,
        client: browser(),
        worker,
        server,
        _db: db,
    }
}

/// A plain HTTP client without cookies (a relying party's back end).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A browser: keeps cookies, does not follow redirects (tests look at each one).
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl TestApp {
    /// A link from a mail, checked to point at this IdP.
    pub fn local(&self, link: &str) -> String {
        assert!(
            link.starts_with(&self.address),
            "{link} does not point at {}",
            self.address
        );
        link.to_owned()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .unwrap()
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.address))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Runs an admin command line against this app's database (`idp admin …`).
    pub async fn create_organisation(&self, name: &str) -> String {
        let name = idp::domain::OrganisationName::parse(name).unwrap();
        let now = self.state.now();
        self.state
            .db
            .run(move |conn| idp::storage::organisations::insert(conn, &name, now))
            .await
            .unwrap()
            .id
    }
}

pub fn csrf_token(html: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse("input[name=csrf_token]").unwrap();
    doc.select(&sel)
        .next()
        .and_then(|e| e.value().attr("value"))
        .expect("a CSRF token in the form")
        .to_owned()
}

/// The text of the element matched by `selector`, whitespace folded.
pub fn text_of(html: &str, selector: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(selector).unwrap();
    doc.select(&sel)
        .map(|e| {
            e.text()
                .collect::<Vec<_>>()
                .join(" ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// The control labelled `label` (by <label for>), as an element id.
pub fn control_labelled(html: &str, label: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse("label").unwrap();
    doc.select(&sel).find_map(|l| {
        let text: String = l.text().collect::<Vec<_>>().join(" ");
        let text = text.replace('*', "");
        (text.split_whitespace().collect::<Vec<_>>().join(" ") == label)
            .then(|| l.value().attr("for").map(str::to_owned))
            .flatten()
    })
}

pub fn attr(html: &str, selector: &str, name: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(selector).unwrap();
    doc.select(&sel)
        .next()
        .and_then(|e| e.value().attr(name).map(str::to_owned))
}
