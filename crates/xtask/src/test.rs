//! `cargo xtask test`: what CI runs.

use std::process::Command;

use anyhow::Result;

use crate::postgres::{self, Server};
use crate::system;
use crate::util::{cargo, repo_root, run, skip_step, step, succeeds, unix_seconds};

const STEPS: usize = 6;

pub struct Options {
    /// Skip `cargo fmt --check` and `cargo clippy`.
    pub no_lint: bool,
    /// Passed on to the test runner (e.g. a test name filter).
    pub runner_args: Vec<String>,
}

impl Options {
    pub fn parse(args: Vec<String>) -> Options {
        let mut no_lint = false;
        let mut runner_args = Vec::new();
        let mut after_separator = false;
        for arg in args {
            if !after_separator && arg == "--no-lint" {
                no_lint = true;
            } else {
                after_separator |= arg == "--";
                runner_args.push(arg);
            }
        }
        Options {
            no_lint,
            runner_args,
        }
    }
}

pub fn run_all(options: &Options) -> Result<()> {
    // --locked keeps CI honest about Cargo.lock; without a lock file there is nothing to keep.
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
        "Chromium and chromedriver (the browser suite)",
        system::ensure_chromium,
    )?;
    if options.no_lint {
        skip_step(3, STEPS, "cargo fmt --all --check", "--no-lint");
        skip_step(4, STEPS, "cargo clippy", "--no-lint");
    } else {
        step(3, STEPS, "cargo fmt --all --check", check_formatting)?;
        step(4, STEPS, "cargo clippy (warnings are errors)", || {
            clippy(locked)
        })?;
    }
    let server = step(5, STEPS, "PostgreSQL for the tests", postgres::provide)?;
    let prefix = format!("t{}_{}", unix_seconds(), std::process::id());
    let result = step(6, STEPS, "Tests (the browser suite among them)", || {
        run_tests(&server, &prefix, &options.runner_args, &[], locked)
    });
    if let Server::Existing(url) = &server {
        // A throwaway cluster is deleted as a whole; on a shared server clean up after us.
        postgres::drop_leftover_databases(url, &prefix);
    }
    drop(server);
    result
}

fn check_formatting() -> Result<()> {
    run(cargo().args(["fmt", "--all", "--check"]))
        .map_err(|err| err.context("code is not formatted: run `cargo fmt --all`"))
}

fn clippy(locked: bool) -> Result<()> {
    let mut cmd = cargo();
    cmd.args(["clippy", "--workspace", "--all-targets"]);
    if locked {
        cmd.arg("--locked");
    }
    cmd.args(["--", "-D", "warnings"]);
    run(&mut cmd)
}

/// The tests on `server`, with `runner_args` for the runner and `extra_env` for the tests.
pub fn run_tests(
    server: &Server,
    prefix: &str,
    runner_args: &[String],
    extra_env: &[(&str, String)],
    locked: bool,
) -> Result<()> {
    let url = server.url();
    let with_env = |cmd: &mut Command| {
        cmd.env("IDP_TEST_PG_URL", &url)
            .env("IDP_TEST_DB_PREFIX", prefix);
        for (name, value) in extra_env {
            cmd.env(name, value);
        }
    };
    println!(
        "IDP_TEST_PG_URL={} IDP_TEST_DB_PREFIX={prefix}",
        postgres::redact(&url)
    );

    let nextest = succeeds(cargo().args(["nextest", "--version"]));
    let mut cmd = cargo();
    if nextest {
        cmd.args(["nextest", "run", "--workspace"]);
        if nextest_supports_no_tests_option() {
            // Like `cargo test`: a run (or a filter) without tests is not an error.
            cmd.arg("--no-tests=warn");
        }
    } else {
        cmd.args(["test", "--workspace"]);
    }
    if locked {
        cmd.arg("--locked");
    }
    cmd.args(runner_args);
    with_env(&mut cmd);
    run(&mut cmd)?;

    if nextest {
        // nextest does not run doc tests.
        if runner_args.is_empty() {
            let mut doc = cargo();
            doc.args(["test", "--workspace", "--doc"]);
            if locked {
                doc.arg("--locked");
            }
            with_env(&mut doc);
            run(&mut doc)?;
        } else {
            println!("doc tests skipped: arguments were given for nextest ({runner_args:?})");
        }
    }
    Ok(())
}

fn nextest_supports_no_tests_option() -> bool {
    cargo()
        .args(["nextest", "run", "--help"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("--no-tests"))
}
