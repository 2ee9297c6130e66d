//! Project automation, run as `cargo xtask <command>` (an alias in .cargo/config.toml).
//!
//! - `cargo xtask test`: everything CI checks (libpq, Chromium, fmt, clippy, PostgreSQL, tests
//!   with the browser suite).
//! - `cargo xtask e2e`: only the browser suite; `cargo xtask screenshots`: docs/screenshots/.
//! - `cargo xtask demo`: the quick start: the IdP on SQLite and the portal, with an invited EK88
//!   superuser.
//! - `cargo xtask bench`: the IdP against the limits of its own work (docs/benchmarks.md).
//! - `cargo xtask fuzz`: the cargo-fuzz targets of crates/idp/fuzz, each for a bounded time.
//! - `cargo xtask soak`: the long load test with faults.

mod bench;
mod demo;
mod e2e;
mod fuzz;
mod postgres;
mod soak;
mod system;
mod test;
mod util;

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;

const USAGE: &str = "\
Usage: cargo xtask <command> [options]

Commands:
  test [--no-lint] [ARGS...]  What CI runs: install libpq, Chromium and chromedriver if
                              missing, cargo fmt --check,
                              cargo clippy -D warnings, then the tests on PostgreSQL.
                              --no-lint skips fmt and clippy; ARGS go to the test runner
                              (cargo nextest run if installed, else cargo test), e.g. a filter.
                              PostgreSQL: IDP_TEST_PG_URL or DATABASE_URL (an admin URL; the
                              tests create their own databases), else 127.0.0.1:5432,
                              else a throwaway cluster in a temp dir.
  e2e [ARGS...]               Only the browser suite (Chromium through chromedriver; installs
                              Debian's chromium and chromium-driver if missing), PostgreSQL
                              as for `test`; ARGS go to the test runner after its filter.
  screenshots                 The browser suite's tour of every screen, in Dutch and English,
                              written as PNGs into docs/screenshots/ (old PNGs removed).
  demo                        Build and start the IdP on SQLite (./data) and the employer
                              portal (registered as a client if missing), create the
                              organisation EK88, invite its superuser, print the link.
  bench [--quick]             Release builds of the IdP and crates/bench, PostgreSQL as for
                              `test`, then the IdP under load against the limits of its work
                              on the same cores; writes docs/benchmarks.md (--quick: a smoke
                              run of a few seconds that writes nothing).
  fuzz [--seconds N] [TARGET...]
                              The cargo-fuzz targets of crates/idp/fuzz (default: all), N
                              seconds each (default 60), from the kept corpus in
                              crates/idp/fuzz/corpus; installs cargo-fuzz if missing, needs
                              the nightly toolchain. Fails on a crash, naming its input.
  soak [--seconds N] [--people N] [--kill-every N]
                              PostgreSQL as for `test`, then N people (300) logging in and
                              refreshing for N seconds (300) while every N seconds (20) all
                              of the IdP's database connections are killed; prints requests,
                              statuses, p50/p99; fails on anything but a success or a 503,
                              or on a half-written row.
  help                        This text.
";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    match command.as_str() {
        "test" => timed("cargo xtask test", || {
            test::run_all(&test::Options::parse(rest))
        }),
        "e2e" => timed("cargo xtask e2e", || e2e::run_e2e(&rest)),
        "screenshots" => timed("cargo xtask screenshots", e2e::run_screenshots),
        "demo" => report(demo::run_demo()),
        "bench" => timed("cargo xtask bench", || bench::run_bench(&rest)),
        "fuzz" => timed("cargo xtask fuzz", || fuzz::run_fuzz(&rest)),
        "soak" => timed("cargo xtask soak", || soak::run_soak(&rest)),
        // Hidden: checks the throwaway-cluster path of `test` in isolation.
        "pg-throwaway-check" => timed("pg-throwaway-check", postgres::throwaway_check),
        // Internal: started by a throwaway cluster, cleans it up if xtask gets killed.
        "pg-watchdog" => report(postgres::watchdog(&rest).map(|()| ExitCode::SUCCESS)),
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        "" => {
            eprint!("{USAGE}");
            ExitCode::FAILURE
        }
        other => {
            eprintln!("error: unknown command `{other}`\n");
            eprint!("{USAGE}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a command and prints its outcome and total time, also on failure.
fn timed(name: &str, f: impl FnOnce() -> Result<()>) -> ExitCode {
    let started = Instant::now();
    let result = f();
    let elapsed = util::format_duration(started.elapsed());
    match result {
        Ok(()) => {
            println!("\n{name}: all steps passed in {elapsed}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("\nerror: {err:#}");
            eprintln!("{name}: FAILED after {elapsed}");
            ExitCode::FAILURE
        }
    }
}

fn report(result: Result<ExitCode>) -> ExitCode {
    result.unwrap_or_else(|err| {
        eprintln!("\nerror: {err:#}");
        ExitCode::FAILURE
    })
}
