//! The `portal` binary: load the configuration, run. `portal serve` is the same as `portal`.

use portal::config::Settings;
use portal::startup::Application;
use tracing_subscriber::EnvFilter;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    match std::env::args().nth(1).as_deref() {
        None | Some("serve") => {}
        Some(other) => {
            anyhow::bail!("unknown command {other:?}: the portal only serves (`portal serve`)")
        }
    }
    let settings = Settings::load()?;
    Application::build(settings, None)?
        .run_until_stopped()
        .await?;
    Ok(())
}
