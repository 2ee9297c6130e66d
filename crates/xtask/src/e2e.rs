//! `cargo xtask e2e`: only the browser suite; `cargo xtask screenshots`: the tour of every
//! screen in Dutch and English, written as PNGs into docs/screenshots/.

use anyhow::Result;

use crate::postgres::{self, Server};
use crate::system;
use crate::test::run_tests;
use crate::util::{repo_root, step, unix_seconds};

const STEPS: usize = 4;
const SUITE: &str = "test(/^e2e::/)";
/// The tours in Dutch and English, which photograph every stop.
const SCREENS: &str = "test(/^e2e::accessibility::every_screen_in_/)";

/// The browser suite (`tests/it/e2e`), with `args` for the runner after its filter.
pub fn run_e2e(args: &[String]) -> Result<()> {
    let mut runner = vec![
        "-p".to_owned(),
        "idp".to_owned(),
        "-E".to_owned(),
        SUITE.to_owned(),
    ];
    runner.extend_from_slice(args);
    run_browser_tests(&runner, &[])
}

/// Replaces docs/screenshots/*.png with the tour's screens, in Dutch and English.
pub fn run_screenshots() -> Result<()> {
    let folder = repo_root().join("docs").join("screenshots");
    std::fs::create_dir_all(&folder)?;
    for entry in std::fs::read_dir(&folder)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "png") {
            std::fs::remove_file(&path)?;
        }
    }
    let runner = ["-p", "idp", "-E", SCREENS].map(str::to_owned);
    run_browser_tests(
        &runner,
        &[("HCC_SCREENSHOTS", folder.display().to_string())],
    )?;
    let count = std::fs::read_dir(&folder)?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "png"))
        .count();
    println!("{count} screenshots in {}", folder.display());
    Ok(())
}

fn run_browser_tests(runner: &[String], env: &[(&str, String)]) -> Result<()> {
    let locked = repo_root().join("Cargo.lock").is_file();
    step(
        1,
        STEPS,
        "System packages (libpq for pq-sys)",
        system::ensure_libpq,
    )?;
    step(
        2,
        STEPS,
        "Chromium and chromedriver",
        system::ensure_chromium,
    )?;
    let server = step(3, STEPS, "PostgreSQL for the tests", postgres::provide)?;
    let prefix = format!("e{}_{}", unix_seconds(), std::process::id());
    let result = step(4, STEPS, "The browser suite", || {
        run_tests(&server, &prefix, runner, env, locked)
    });
    if let Server::Existing(url) = &server {
        postgres::drop_leftover_databases(url, &prefix);
    }
    drop(server);
    result
}
