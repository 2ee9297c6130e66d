//! The `idp` binary: parse the command line, load the configuration, run.

use clap::Parser;
use idp::admin::cli::{Cli, Command, run_admin};
use idp::config::Settings;
use idp::startup::{Application, open_database};

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    idp::telemetry::init();
    let cli = Cli::parse();
    let settings = Settings::load()?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            Application::build(settings, None)
                .await?
                .run_until_stopped()
                .await?
        }
        Command::Migrate => {
            open_database(&settings).await?;
            println!("Database is up to date.");
        }
        Command::Admin(command) => run_admin(settings, command).await?,
    }
    Ok(())
}
