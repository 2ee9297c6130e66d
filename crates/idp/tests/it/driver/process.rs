//! The `idp` binary as operators run it: started in a process of its own on a fresh database
//! (configured by `IDP_*` variables only), its log read line by line from stderr; and
//! `idp admin …` as HCC staff run it on the server ([`AdminCli`]), against a test app's database.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStderr};

use secrecy::ExposeSecret;
use serde_json::Value;

use crate::helpers::{Backend, Node, TestApp, TestDatabase};

pub struct IdpProcess {
    pub address: String,
    /// The database it serves.
    pub database_url: String,
    child: Child,
    lines: Lines<BufReader<ChildStderr>>,
    /// Everything logged so far.
    pub log: String,
    _db: Option<TestDatabase>,
    _dir: tempfile::TempDir,
}

impl Node for IdpProcess {
    fn address(&self) -> &str {
        &self.address
    }
}

impl IdpProcess {
    /// Starts `idp serve` with `IDP_LOG_FORMAT=log_format` on a fresh database and waits until
    /// it listens.
    pub async fn start(backend: Backend, log_format: &str) -> Self {
        let db = TestDatabase::create(backend);
        let key = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            rand::random::<[u8; 32]>(),
        );
        let env = vec![
            ("IDP_DATABASE__URL", db.url.clone()),
            ("IDP_SECRETS__ENCRYPTION_KEY", key),
            ("IDP_LOG_FORMAT", log_format.to_owned()),
        ];
        Self::launch(env, None, Some(db)).await
    }

    /// Another node beside `app`, as behind a load balancer: the same database, issuer,
    /// master key and SMTP sink, a port and process of its own.
    pub async fn beside(app: &TestApp) -> Self {
        let settings = &app.state.settings;
        let key = settings.secrets.encryption_key.as_ref().unwrap();
        let env = vec![
            ("IDP_DATABASE__URL", settings.database.url.clone()),
            (
                "IDP_SECRETS__ENCRYPTION_KEY",
                key.expose_secret().to_owned(),
            ),
            ("IDP_LOG_FORMAT", "text".to_owned()),
            ("IDP_MAIL__TRANSPORT", "smtp".to_owned()),
            ("IDP_MAIL__SMTP__HOST", "127.0.0.1".to_owned()),
            ("IDP_MAIL__SMTP__PORT", settings.mail.smtp.port.to_string()),
            ("IDP_MAIL__SMTP__TLS", "none".to_owned()),
            (
                "IDP_OIDC__BACKCHANNEL_ALLOW_PRIVATE_NETWORKS",
                "true".to_owned(),
            ),
        ];
        Self::launch(env, Some(settings.issuer.clone()), None).await
    }

    async fn launch(
        env: Vec<(&'static str, String)>,
        issuer: Option<String>,
        db: Option<TestDatabase>,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let database_url = env
            .iter()
            .find(|(k, _)| *k == "IDP_DATABASE__URL")
            .map(|(_, v)| v.clone())
            .unwrap();
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_idp"))
            .arg("serve")
            .current_dir(dir.path())
            .env("IDP_CONFIG_DIR", dir.path())
            .env(
                "IDP_ISSUER",
                issuer.unwrap_or_else(|| format!("http://127.0.0.1:{port}")),
            )
            .env("IDP_SERVER__PORT", port.to_string())
            .env("IDP_SERVER__WORKERS", "1")
            .env("IDP_DATA_DIR", dir.path())
            .env("IDP_MAIL__FILE_DIR", dir.path().join("mail"))
            .envs(env)
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut process = Self {
            address: format!("http://127.0.0.1:{port}"),
            database_url,
            child,
            lines,
            log: String::new(),
            _db: db,
            _dir: dir,
        };
        // The listening line is logged once the socket is bound.
        process.read_until("HCC Identity listening").await;
        process
    }

    /// Reads the log until a line contains `text` (at most 20 s); returns that line.
    pub async fn read_until(&mut self, text: &str) -> String {
        let read = async {
            while let Some(line) = self.lines.next_line().await.unwrap() {
                self.log.push_str(&line);
                self.log.push('\n');
                if line.contains(text) {
                    return line;
                }
            }
            panic!("the process ended before logging {text:?}:\n{}", self.log);
        };
        tokio::time::timeout(Duration::from_secs(20), read)
            .await
            .unwrap_or_else(|_| panic!("{text:?} was not logged"))
    }

    /// Sends SIGTERM, as an orchestrator stopping the node does, and waits (at most `limit`)
    /// for the process to end: its exit code (`None`: ended by a signal) and all it logged.
    pub async fn terminate(mut self, limit: Duration) -> (Option<i32>, String) {
        let pid = self.child.id().expect("the process runs");
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let status = tokio::time::timeout(limit, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("still running {limit:?} after SIGTERM"))
            .unwrap();
        while let Ok(Some(line)) = self.lines.next_line().await {
            self.log.push_str(&line);
            self.log.push('\n');
        }
        (status.code(), self.log)
    }

    /// Kills the process (SIGKILL: no shutdown of any kind); returns all it logged.
    pub async fn stop(mut self) -> String {
        self.child.kill().await.unwrap();
        while let Ok(Some(line)) = self.lines.next_line().await {
            self.log.push_str(&line);
            self.log.push('\n');
        }
        self.log
    }
}

/// `idp admin …` run as a process of its own on the server of a [`TestApp`]: the same database,
/// master key, issuer and SMTP sink, configured by `IDP_*` variables only.
pub struct AdminCli {
    env: Vec<(&'static str, String)>,
    _dir: tempfile::TempDir,
}

/// What one command did.
#[derive(Debug)]
pub struct CliRun {
    /// The exit code (`None`: ended by a signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl CliRun {
    pub fn succeeded(&self) -> bool {
        self.code == Some(0)
    }
}

impl TestApp {
    /// The command line on this app's server.
    pub fn admin_cli(&self) -> AdminCli {
        let dir = tempfile::tempdir().unwrap();
        let settings = &self.state.settings;
        let key = settings.secrets.encryption_key.as_ref().unwrap();
        let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
        let env = vec![
            ("IDP_CONFIG_DIR", path("config")),
            ("IDP_DATA_DIR", path("data")),
            ("IDP_ISSUER", settings.issuer.clone()),
            ("IDP_DATABASE__URL", settings.database.url.clone()),
            ("IDP_DATABASE__POOL_SIZE", "2".to_owned()),
            (
                "IDP_SECRETS__ENCRYPTION_KEY",
                key.expose_secret().to_owned(),
            ),
            ("IDP_MAIL__TRANSPORT", "smtp".to_owned()),
            ("IDP_MAIL__SMTP__HOST", "127.0.0.1".to_owned()),
            ("IDP_MAIL__SMTP__PORT", settings.mail.smtp.port.to_string()),
            ("IDP_MAIL__SMTP__TLS", "none".to_owned()),
            ("IDP_MAIL__SMTP__TIMEOUT_SECONDS", "2".to_owned()),
            ("RUST_LOG", "warn".to_owned()),
        ];
        AdminCli { env, _dir: dir }
    }
}

impl AdminCli {
    /// `idp admin <args>`, to its end (at most a minute).
    pub async fn run(&self, args: &[&str]) -> CliRun {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_idp"));
        command
            .arg("admin")
            .args(args)
            .env_remove("DATABASE_URL")
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        let output = tokio::time::timeout(Duration::from_secs(60), command.output())
            .await
            .unwrap_or_else(|_| panic!("`idp admin {}` did not end", args.join(" ")))
            .unwrap();
        CliRun {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// `idp admin --json <args>`, which must succeed: its stdout, one JSON document.
    pub async fn json(&self, args: &[&str]) -> Value {
        let run = self.run_json(args).await;
        assert!(
            run.succeeded(),
            "`idp admin --json {}` failed: {run:?}",
            args.join(" ")
        );
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
            panic!(
                "`idp admin --json {}` printed no single JSON document ({e}): {:?}",
                args.join(" "),
                run.stdout
            )
        })
    }

    /// `idp admin --json <args>`, which must fail: its exit code and the failure document
    /// (`{"error", "detail"}`, the last line on stderr). Nothing goes to stdout.
    pub async fn json_failure(&self, args: &[&str]) -> (i32, Value) {
        let run = self.run_json(args).await;
        let code = run.code.expect("an exit code");
        assert_ne!(
            code,
            0,
            "`idp admin --json {}` succeeded: {run:?}",
            args.join(" ")
        );
        assert_eq!(run.stdout, "", "a failure prints no answer");
        let last = run.stderr.lines().rev().find(|l| !l.trim().is_empty());
        let failure = last
            .and_then(|l| serde_json::from_str(l).ok())
            .unwrap_or_else(|| panic!("no failure document on stderr: {:?}", run.stderr));
        (code, failure)
    }

    async fn run_json(&self, args: &[&str]) -> CliRun {
        let mut with_flag = vec!["--json"];
        with_flag.extend_from_slice(args);
        self.run(&with_flag).await
    }
}
