//! The IdP as a separate process on loopback: started with the release binary, timed until it
//! answers discovery, and watched for its resident memory (/proc/<pid>/status, VmRSS).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

pub struct IdpProcess {
    child: Child,
    pub base: String,
    /// From spawn to the first discovery answer.
    pub ready_after: Duration,
    peak_kib: Arc<AtomicU64>,
    sampling: Arc<AtomicBool>,
}

impl IdpProcess {
    pub async fn start(
        binary: &Path,
        database_url: &str,
        encryption_key: &str,
        data_dir: &Path,
    ) -> Result<Self> {
        let port = free_port()?;
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let child = Command::new(binary)
            .arg("serve")
            .env("IDP_PROFILE", "dev")
            .env("IDP_ISSUER", &base)
            .env("IDP_SERVER__HOST", "127.0.0.1")
            .env("IDP_SERVER__PORT", port.to_string())
            .env("IDP_DATABASE__URL", database_url)
            .env("IDP_SECRETS__ENCRYPTION_KEY", encryption_key)
            .env("IDP_DATA_DIR", data_dir)
            .env("IDP_MAIL__TRANSPORT", "file")
            .env("IDP_MAIL__FILE_DIR", data_dir.join("mail"))
            // Every login of the bench comes from 127.0.0.1.
            .env("IDP_THROTTLE__PARKED_REQUESTS_PER_IP_PER_HOUR", "10000000")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("could not start {}", binary.display()))?;
        let mut process = Self {
            child,
            base,
            ready_after: Duration::ZERO,
            peak_kib: Arc::default(),
            sampling: Arc::default(),
        };
        let http = reqwest::Client::new();
        let discovery = format!("{}/.well-known/openid-configuration", process.base);
        loop {
            if let Some(status) = process.child.try_wait()? {
                bail!("the IdP exited before it was ready ({status})");
            }
            if http
                .get(&discovery)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                break;
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!("the IdP did not answer discovery within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        process.ready_after = started.elapsed();
        Ok(process)
    }

    /// Resident memory now, in KiB.
    pub fn rss_kib(&self) -> u64 {
        rss_of(self.child.id())
    }

    /// Samples RSS every 50 ms until [`Self::stop_sampling`]; the highest seen so far.
    pub fn start_sampling(&self) {
        self.peak_kib.store(self.rss_kib(), Ordering::SeqCst);
        self.sampling.store(true, Ordering::SeqCst);
        let (pid, peak, on) = (
            self.child.id(),
            self.peak_kib.clone(),
            self.sampling.clone(),
        );
        std::thread::spawn(move || {
            while on.load(Ordering::SeqCst) {
                peak.fetch_max(rss_of(pid), Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(50));
            }
        });
    }

    pub fn stop_sampling(&self) -> u64 {
        self.sampling.store(false, Ordering::SeqCst);
        self.peak_kib.load(Ordering::SeqCst)
    }
}

impl Drop for IdpProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rss_of(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
