//! spawn_app(): one IdP per test on its own database, with an SMTP sink and a movable clock;
//! `both_backends!` runs a test on PostgreSQL and on SQLite. The people and programs that use
//! the app are in `driver`.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use idp::clock::{SharedClock, ShiftedClock};
use idp::config::{MailTransportKind, Settings, SmtpTls};
use idp::startup::Application;
use idp::state::IdpState;

use crate::driver::SmtpSink;

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

/// `host:port` of the PostgreSQL server the tests use.
pub fn pg_target() -> String {
    let url = url::Url::parse(&pg_admin_url()).unwrap();
    format!(
        "{}:{}",
        url.host_str().unwrap_or("127.0.0.1"),
        url.port().unwrap_or(5432)
    )
}

/// Ends every server connection to `database`, as `pg_terminate_backend` by an administrator
/// (or a failover) does.
pub fn terminate_connections(database: &str) {
    let mut conn = PgConnection::establish(&pg_admin_url()).unwrap();
    conn.batch_execute(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = '{}' AND pid <> pg_backend_pid()",
        database.replace('\'', "")
    ))
    .unwrap();
}

/// Waits (at most 10 s) until no server process of `url`'s database is in the middle of a
/// statement or transaction: after a node was killed, whatever it sent last (a COMMIT, say)
/// has landed or been rolled back.
pub async fn wait_until_quiet(url: &str) {
    let database = url::Url::parse(url)
        .unwrap()
        .path()
        .trim_start_matches('/')
        .replace('\'', "");
    let sql = format!(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = '{database}' \
         AND state IN ('active', 'idle in transaction') AND pid <> pg_backend_pid()"
    );
    let started = std::time::Instant::now();
    while crate::driver::count_rows(&pg_admin_url(), &sql) > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still busy: {sql}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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

pub struct TestApp {
    pub address: String,
    pub state: IdpState,
    pub clock: ShiftedClock,
    pub smtp: SmtpSink,
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
    /// The clock to share (another node's); `None`: a clock of its own.
    pub clock: Option<ShiftedClock>,
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
    // WebAuthn needs a domain name: the tests' software authenticators answer as a browser
    // at localhost on the same port would (`driver::passkey`).
    settings.passkeys.rp_id = "localhost".to_owned();
    settings.passkeys.origin = format!("http://localhost:{port}");
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
    let clock = options.clock.unwrap_or_default();
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
        worker,
        server,
        _db: db,
    }
}

/// A second IdP node beside `first`, as behind a load balancer: the same PostgreSQL database,
/// issuer, encryption key, clock and SMTP server, its own port, workers and key refresher
/// (refreshing every second).
pub async fn second_node(first: &TestApp) -> TestApp {
    let settings = &first.state.settings;
    let (url, issuer, key) = (
        settings.database.url.clone(),
        settings.issuer.clone(),
        settings.secrets.encryption_key.clone(),
    );
    spawn_app_with(
        Backend::Postgres,
        Options {
            smtp_port: Some(first.smtp.port),
            clock: Some(first.clock.clone()),
            settings: Some(Box::new(move |s| {
                s.database.url = url;
                s.issuer = issuer;
                s.secrets.encryption_key = key;
                s.keys.refresh_seconds = 1;
            })),
            ..Options::default()
        },
    )
    .await
}

/// A plain HTTP client without cookies (a relying party's back end).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A node of the IdP that browsers and relying parties can be pointed at.
pub trait Node {
    fn address(&self) -> &str;
}

impl Node for TestApp {
    fn address(&self) -> &str {
        &self.address
    }
}

impl TestApp {
    /// Waits until the background work the server started so far (forgot-password requests
    /// are handled after the answer) has finished.
    pub async fn background_done(&self) {
        self.state.background.wait(Duration::from_secs(10)).await;
    }
}

/// A PostgreSQL server of one test's own (initdb in a temporary directory, loopback, a free
/// port), so that the test can stop and restart it without touching the server the other tests
/// share. As root its files belong to the `postgres` user and its tools run as that user.
pub struct PrivatePostgres {
    pub port: u16,
    bin: std::path::PathBuf,
    dir: tempfile::TempDir,
}

impl PrivatePostgres {
    pub fn start() -> Self {
        let bin = ["initdb", "pg_ctl"]
            .iter()
            .all(|tool| which(tool).is_some())
            .then(|| which("pg_ctl").unwrap().parent().unwrap().to_path_buf())
            .or_else(|| {
                let mut dirs: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
                    .ok()?
                    .flatten()
                    .map(|e| e.path().join("bin"))
                    .filter(|d| d.join("initdb").exists())
                    .collect();
                dirs.sort_by_key(|d| {
                    let version = d.parent().and_then(|v| v.file_name());
                    version.and_then(|v| v.to_str()?.parse::<u32>().ok())
                });
                dirs.pop()
            })
            .expect("initdb and pg_ctl (PostgreSQL's server package)");
        let dir = tempfile::tempdir().unwrap();
        if is_root() {
            let status = std::process::Command::new("chown")
                .args(["postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success());
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let server = Self { port, bin, dir };
        let data = server.data();
        server.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        server.start_again();
        server
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A fast shutdown, as an administrator's restart or a failover: every session is ended.
    pub fn stop(&self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    pub fn start_again(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log.to_string_lossy(),
                "-w",
                "start",
            ],
        );
    }

    fn data(&self) -> String {
        self.dir.path().join("data").to_string_lossy().into_owned()
    }

    /// `tool` of the server's package, as the user that owns its files.
    fn command(&self, tool: &str) -> std::process::Command {
        let program = self.bin.join(tool);
        if is_root() {
            let mut command = std::process::Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            std::process::Command::new(program)
        }
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let output = self.command(tool).args(args).output().unwrap();
        assert!(
            output.status.success(),
            "{tool} {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self
            .command("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "stop"])
            .output();
    }
}

fn is_root() -> bool {
    std::env::var("USER").is_ok_and(|u| u == "root")
        || std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

fn which(tool: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(tool))
            .find(|p| p.is_file())
    })
}
