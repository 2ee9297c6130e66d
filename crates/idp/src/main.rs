//! The `idp` binary: parse the command line, load the configuration, run.

use std::process::ExitCode;

use idp::admin::cli::{Cli, Command, run_admin};
use idp::config::Settings;
use idp::startup::{Application, open_database};

#[actix_web::main]
async fn main() -> anyhow::Result<ExitCode> {
    idp::telemetry::init();
    let cli = Cli::parse_args();
    let settings = Settings::load();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            Application::build(settings?, None)
                .await?
                .run_until_stopped()
                .await?
        }
        Command::Migrate => {
            open_database(&settings?).await?;
            println!("Database is up to date.");
        }
        Command::Health => return Ok(health(&settings?)),
        // `idp admin` reports its own failures: as text, or as JSON with `--json`.
        Command::Admin(admin) => return Ok(run_admin(settings, admin).await),
    }
    Ok(ExitCode::SUCCESS)
}

/// `idp health`, the container's health check (the image has no curl): readiness, not just
/// liveness, so a node whose database is unreachable is reported unhealthy. Why not, on stderr,
/// is what `docker inspect` shows of a failed check.
fn health(settings: &Settings) -> ExitCode {
    let server = &settings.server;
    match hcc_ops::health::probe(
        &server.host,
        server.port,
        "/health/ready",
        hcc_ops::health::TIMEOUT,
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("unhealthy: {e:#}");
            ExitCode::FAILURE
        }
    }
}
