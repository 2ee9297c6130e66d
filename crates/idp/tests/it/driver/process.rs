//! The `idp` binary as operators run it: started in a process of its own on a fresh database
//! (configured by `IDP_*` variables only), its log read line by line from stderr.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStderr};

use crate::helpers::{Backend, TestDatabase};

pub struct IdpProcess {
    pub address: String,
    pub db: TestDatabase,
    child: Child,
    lines: Lines<BufReader<ChildStderr>>,
    /// Everything logged so far.
    pub log: String,
    _dir: tempfile::TempDir,
}

impl IdpProcess {
    /// Starts `idp serve` with `IDP_LOG_FORMAT=log_format` and waits until it listens.
    pub async fn start(backend: Backend, log_format: &str) -> Self {
        let db = TestDatabase::create(backend);
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let key = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            rand::random::<[u8; 32]>(),
        );
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_idp"))
            .arg("serve")
            .current_dir(dir.path())
            .env("IDP_CONFIG_DIR", dir.path())
            .env("IDP_ISSUER", format!("http://127.0.0.1:{port}"))
            .env("IDP_SERVER__PORT", port.to_string())
            .env("IDP_SERVER__WORKERS", "1")
            .env("IDP_DATABASE__URL", &db.url)
            .env("IDP_DATA_DIR", dir.path())
            .env("IDP_MAIL__FILE_DIR", dir.path().join("mail"))
            .env("IDP_SECRETS__ENCRYPTION_KEY", key)
            .env("IDP_LOG_FORMAT", log_format)
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut process = Self {
            address: format!("http://127.0.0.1:{port}"),
            db,
            child,
            lines,
            log: String::new(),
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

    /// Stops the process; returns all it logged.
    pub async fn stop(mut self) -> String {
        self.child.kill().await.unwrap();
        while let Ok(Some(line)) = self.lines.next_line().await {
            self.log.push_str(&line);
            self.log.push('\n');
        }
        self.log
    }
}
