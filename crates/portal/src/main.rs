//! The `portal` binary: load the configuration, run. `portal serve` is the same as `portal`;
//! `portal health` is the container image's health check.

use std::process::ExitCode;

use portal::config::Settings;
use portal::startup::Application;
use tracing_subscriber::EnvFilter;

#[actix_web::main]
async fn main() -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    match std::env::args().nth(1).as_deref() {
        None | Some("serve") => {}
        Some("health") => return Ok(health(&Settings::load()?)),
        Some(other) => anyhow::bail!(
            "unknown command {other:?}: the portal serves (`portal serve`) or checks that it \
             does (`portal health`)"
        ),
    }
    let settings = Settings::load()?;
    Application::build(settings, None)?
        .run_until_stopped()
        .await?;
    Ok(ExitCode::SUCCESS)
}

/// `portal health`: exit 0 when the portal on this machine (the configured port) answers
/// `/health/live` with 200, else 1 with the reason on stderr. Liveness only: the portal serves
/// its pages (a "not available" page at worst) while the IdP is down.
fn health(settings: &Settings) -> ExitCode {
    let server = &settings.server;
    match hcc_ops::health::probe(
        &server.host,
        server.port,
        "/health/live",
        hcc_ops::health::TIMEOUT,
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("unhealthy: {e:#}");
            ExitCode::FAILURE
        }
    }
}
